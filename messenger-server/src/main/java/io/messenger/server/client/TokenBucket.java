package io.messenger.server.client;

import java.util.function.LongSupplier;

/**
 * A token bucket on a monotonic clock: it starts full with {@link SendRate#burst()} tokens
 * and refills continuously at {@link SendRate#perSecond()}; each send takes one token. Not
 * thread-safe: a connection's bucket lives on its event loop, a user's shared bucket is used
 * under its own lock ({@link SendRateLimiter}).
 */
final class TokenBucket {

    private final double perNano;
    private final double capacity;
    private final LongSupplier nanoClock;
    private double tokens;
    private long lastNanos;

    /** @param nanoClock monotonic nanoseconds ({@code System::nanoTime} outside tests) */
    TokenBucket(SendRate rate, LongSupplier nanoClock) {
        this.perNano = rate.perSecond() / 1e9;
        this.capacity = rate.burst();
        this.nanoClock = nanoClock;
        this.tokens = capacity;
        this.lastNanos = nanoClock.getAsLong();
    }

    /** Takes one token if there is one. */
    boolean tryTake() {
        refill();
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }

    /** Gives back a token taken for a send that another bucket then refused. */
    void giveBack() {
        tokens = Math.min(capacity, tokens + 1);
    }

    /** Whole tokens available now. */
    long available() {
        refill();
        return (long) tokens;
    }

    private void refill() {
        long now = nanoClock.getAsLong();
        long elapsed = now - lastNanos; // monotonic: never negative, overflow-safe subtraction
        if (elapsed > 0) {
            tokens = Math.min(capacity, tokens + elapsed * perNano);
            lastNanos = now;
        }
    }
}
