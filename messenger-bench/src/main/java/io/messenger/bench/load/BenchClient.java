package io.messenger.bench.load;

import java.util.concurrent.CompletableFuture;

/**
 * One connected bench client of a {@link ChatSystem}.
 */
public interface BenchClient extends AutoCloseable {

    /**
     * Sends a chat line. The future completes once the system has durably accepted it (the messenger's
     * ack, a JetStream publish ack); it fails with {@link Backpressure} when the client's own buffer is
     * full, which the generator answers by retrying the same message shortly.
     */
    CompletableFuture<?> send(String text);

    @Override
    void close();

    /** The client refused a send because its outgoing buffer is full; nothing was sent. */
    final class Backpressure extends RuntimeException {
        public Backpressure(String message) {
            super(message, null, false, false);
        }
    }
}
