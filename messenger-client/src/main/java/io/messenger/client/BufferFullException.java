package io.messenger.client;

/** A send was refused at once because the outgoing buffer already holds the maximum of unacknowledged sends. */
public class BufferFullException extends MessengerException {

    private final int capacity;

    public BufferFullException(int capacity) {
        super("The outgoing buffer is full: " + capacity
                + " messages are still waiting for the server to acknowledge them; try again once some are sent.");
        this.capacity = capacity;
    }

    /** The configured bound of the outgoing buffer. */
    public int capacity() {
        return capacity;
    }
}
