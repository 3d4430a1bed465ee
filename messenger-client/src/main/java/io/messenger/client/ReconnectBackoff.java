package io.messenger.client;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Capped exponential backoff with "equal jitter": attempt n waits between half and all of
 * {@code min(max, initial * 2^(n-1))}, so many clients cut off by the same failover do not reconnect in step.
 */
final class ReconnectBackoff {

    private final long initialNanos;
    private final long maxNanos;

    ReconnectBackoff(Duration initial, Duration max) {
        this.initialNanos = initial.toNanos();
        this.maxNanos = Math.max(initialNanos, max.toNanos());
    }

    /** Delay before the given consecutive failed attempt (1-based). */
    long delayNanos(int attempt) {
        int shift = Math.min(Math.max(attempt, 1) - 1, 30);
        long ceiling = Math.min(maxNanos, initialNanos << shift);
        if (ceiling <= 0 || ceiling > maxNanos) {
            ceiling = maxNanos;
        }
        long half = ceiling / 2;
        return half + ThreadLocalRandom.current().nextLong(ceiling - half + 1);
    }
}
