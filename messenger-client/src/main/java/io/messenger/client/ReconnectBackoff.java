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

    /**
     * Consecutive attempts after which the delay stops growing while nodes answer that an
     * election is under way: the third delay (up to four times the initial one, 200 ms by default).
     */
    static final int ELECTING_MAX_ATTEMPT = 3;

    /**
     * Delay before the given consecutive failed attempt (1-based) when the last node answered
     * that it is electing a leader: as {@link #delayNanos}, but never past attempt
     * {@value #ELECTING_MAX_ATTEMPT}. A live node that is electing will soon name a leader, so the
     * client keeps asking often instead of sleeping through the end of the election.
     */
    long delayWhileElectingNanos(int attempt) {
        return delayNanos(Math.min(attempt, ELECTING_MAX_ATTEMPT));
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
