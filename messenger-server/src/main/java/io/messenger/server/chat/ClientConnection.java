package io.messenger.server.chat;

import io.messenger.proto.client.ClientEnvelope;

/**
 * One client connection attached to this node, as the state machine sees it: a place to
 * write frames to. Implementations are thread-safe; the apply thread calls them.
 */
public interface ClientConnection {

    /** Queues a frame for the client without waiting for it to be written. */
    void send(ClientEnvelope envelope);

    /** Writes a last frame, then closes the connection. */
    void sendAndClose(ClientEnvelope envelope, String reason);

    /** Closes the connection; {@code reason} goes to the one log line. */
    void close(String reason);
}
