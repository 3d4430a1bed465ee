package io.messenger.server.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The token bucket on a hand-driven monotonic clock. */
class TokenBucketTest {

    private final AtomicLong nanos = new AtomicLong(123_456_789L);

    private int takeAll(TokenBucket b) {
        int n = 0;
        while (b.tryTake()) {
            n++;
        }
        return n;
    }

    @Test
    void startsFullThenRefillsAtTheRateUpToTheBurst() {
        TokenBucket b = new TokenBucket(new SendRate(50, 100), nanos::get);
        assertThat(takeAll(b)).as("a full burst at once").isEqualTo(100);
        assertThat(b.tryTake()).isFalse();
        nanos.addAndGet(19_000_000L); // 19 ms: 0.95 of a token
        assertThat(b.tryTake()).isFalse();
        nanos.addAndGet(1_000_000L); // 20 ms: one token
        assertThat(b.tryTake()).isTrue();
        assertThat(b.tryTake()).isFalse();
        nanos.addAndGet(1_000_000_000L); // one second: 50 tokens
        assertThat(takeAll(b)).isEqualTo(50);
        nanos.addAndGet(3_600_000_000_000L); // an hour of quiet: still only the burst
        assertThat(takeAll(b)).isEqualTo(100);
    }

    @Test
    void perMinuteRatesAndGivingBack() {
        TokenBucket b = new TokenBucket(new SendRate(SendRate.parsePerSecond("6/m"), 1), nanos::get);
        assertThat(b.tryTake()).isTrue();
        assertThat(b.tryTake()).isFalse();
        nanos.addAndGet(9_999_000_000L);
        assertThat(b.tryTake()).as("just under ten seconds").isFalse();
        nanos.addAndGet(1_000_000L);
        assertThat(b.tryTake()).isTrue();
        b.giveBack();
        b.giveBack();
        assertThat(b.available()).as("never above the burst").isEqualTo(1);
    }

    @Test
    void clockNearOverflowStillRefills() {
        nanos.set(Long.MAX_VALUE - 5_000_000L);
        TokenBucket b = new TokenBucket(new SendRate(1000, 1), nanos::get);
        assertThat(b.tryTake()).isTrue();
        nanos.addAndGet(10_000_000L); // wraps past Long.MAX_VALUE, as System.nanoTime may
        assertThat(b.tryTake()).isTrue();
    }

    @Test
    void ratesParseAndPrint() {
        assertThat(SendRate.parsePerSecond("50/s")).isEqualTo(50.0);
        assertThat(SendRate.parsePerSecond("120 / m")).isEqualTo(2.0);
        assertThat(SendRate.parsePerSecond("off")).isInfinite();
        assertThat(SendRate.parsePerSecond("0")).isInfinite();
        assertThat(new SendRate(50, 100)).hasToString("50/s burst 100");
        assertThat(new SendRate(0.5, 3)).hasToString("30/m burst 3");
        assertThat(SendRate.OFF).hasToString("off");
    }

    @Test
    void aUsersBucketIsSharedByItsConnectionsAndForgottenWithTheLast() {
        SendRateLimiter limiter = new SendRateLimiter(SendRate.OFF, new SendRate(1, 3), nanos::get);
        assertThat(limiter.forConnection()).as("connections unlimited").isNull();
        SendRateLimiter.UserBucket phone = limiter.forUser("alice");
        SendRateLimiter.UserBucket laptop = limiter.forUser("alice");
        SendRateLimiter.UserBucket bob = limiter.forUser("bob");
        assertThat(phone.tryTake()).isTrue();
        assertThat(laptop.tryTake()).isTrue();
        assertThat(phone.tryTake()).isTrue();
        assertThat(laptop.tryTake()).as("alice's devices share three").isFalse();
        assertThat(bob.tryTake()).as("bob has his own").isTrue();
        phone.release();
        laptop.release();
        limiter.sweep();
        SendRateLimiter.UserBucket again = limiter.forUser("alice");
        assertThat(again.tryTake()).as("reconnecting every device does not refill the user's bucket").isFalse();
        again.release();
        nanos.addAndGet(3_000_000_000L);
        limiter.sweep();
        assertThat(limiter.users()).as("alice's bucket, refilled and unused, is forgotten; bob's stays").isEqualTo(1);
    }
}
