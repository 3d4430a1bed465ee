package io.messenger.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ReconnectBackoffTest {

    private final ReconnectBackoff backoff = new ReconnectBackoff(Duration.ofMillis(50), Duration.ofSeconds(1));

    @Test
    void delaysGrowWithEqualJitterUpToTheCap() {
        for (int i = 0; i < 1_000; i++) {
            assertThat(backoff.delayNanos(1)).isBetween(ms(25), ms(50));
            assertThat(backoff.delayNanos(3)).isBetween(ms(100), ms(200));
            assertThat(backoff.delayNanos(30)).isBetween(ms(500), ms(1_000));
        }
    }

    @Test
    void whileANodeSaysItIsElectingTheDelayStopsGrowingAtTheThirdAttempt() {
        for (int i = 0; i < 1_000; i++) {
            assertThat(backoff.delayWhileElectingNanos(1)).isBetween(ms(25), ms(50));
            assertThat(backoff.delayWhileElectingNanos(10)).isBetween(ms(100), ms(200));
            assertThat(backoff.delayWhileElectingNanos(Integer.MAX_VALUE)).isBetween(ms(100), ms(200));
        }
    }

    private static long ms(long millis) {
        return Duration.ofMillis(millis).toNanos();
    }
}
