package io.messenger.client;

import java.util.function.IntSupplier;

/**
 * What a client reports about itself: reconnects, resends, the depth of its outgoing buffer and the time from
 * send to acknowledgement. {@link #NONE} records nothing and needs no metrics library; {@link MicrometerClientMetrics}
 * is the only class that touches Micrometer, and it is loaded only when the builder was given a registry, so an
 * application without Micrometer on its class path never loads a Micrometer type.
 */
interface ClientMetrics {

    /** Records nothing. */
    ClientMetrics NONE = new ClientMetrics() {
        @Override
        public void reconnecting() {
        }

        @Override
        public void resent(int sends) {
        }

        @Override
        public void acknowledged(long sendNanos) {
        }

        @Override
        public void close() {
        }
    };

    /** The client lost its session and starts looking for the leader again. Event loop. */
    void reconnecting();

    /** This many unacknowledged sends were written again to a new session. Event loop. */
    void resent(int sends);

    /** A send made at {@code sendNanos} ({@link System#nanoTime()}) was acknowledged now. Event loop. */
    void acknowledged(long sendNanos);

    /** The client is closed or failed: its buffer no longer counts in the depth gauge. */
    void close();

    /**
     * Metrics for a client whose outgoing buffer depth {@code pendingSends} reports; {@code registry} is a
     * Micrometer {@code MeterRegistry} or null. Typed {@code Object} so that this interface, which every client
     * loads, names no Micrometer type.
     */
    static ClientMetrics of(Object registry, IntSupplier pendingSends) {
        return registry == null ? NONE : MicrometerClientMetrics.create(registry, pendingSends);
    }
}
