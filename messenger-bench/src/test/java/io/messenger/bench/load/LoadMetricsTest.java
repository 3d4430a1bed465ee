package io.messenger.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class LoadMetricsTest {

    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    @Test
    void onlyMeasuredIntervalsCountTowardTotals() {
        LoadMetrics metrics = new LoadMetrics();
        long t = System.nanoTime();
        metrics.recordAck(t, t + 500 * MS); // during warm-up
        metrics.sample(1, false);
        metrics.recordAck(t, t + 2 * MS);
        metrics.recordAck(t, t + 4 * MS);
        metrics.recordDelivery(t, t + 3 * MS);
        metrics.sample(2, true);

        assertThat(metrics.measuredAcks()).isEqualTo(2);
        assertThat(metrics.measuredDeliveries()).isEqualTo(1);
        LatencySummary acks = metrics.ackLatency();
        assertThat(acks.count()).isEqualTo(2);
        assertThat(acks.max()).isBetween(3_990L, 4_010L);
        assertThat(metrics.timeline()).hasSize(2);
        assertThat(metrics.timeline().get(0).measuring()).isFalse();
        assertThat(metrics.timeline().get(1).ackP99Millis()).isBetween(3.9, 4.1);
    }

    @Test
    void pausesBetweenAcksAreRemembered() {
        LoadMetrics metrics = new LoadMetrics();
        long t = System.nanoTime() + 1000 * MS;
        metrics.recordAck(t, t);
        metrics.recordAck(t, t + 5 * MS);
        metrics.recordAck(t, t + 805 * MS);
        metrics.recordAck(t, t + 806 * MS);

        assertThat(metrics.longestGap(t + 100 * MS, t + 200 * MS)).isEqualTo(800 * MS);
        assertThat(metrics.longestGap(t + 900 * MS, t + 1000 * MS)).isZero();
    }

    @Test
    void summaryReadsThePercentilesOfTheHistogram() {
        Histogram histogram = new Histogram(3_600_000_000L, 3);
        for (long v = 1; v <= 1000; v++) {
            histogram.recordValue(v);
        }

        LatencySummary summary = LatencySummary.of(histogram);

        assertThat(summary.count()).isEqualTo(1000);
        assertThat(summary.p50()).isEqualTo(500);
        assertThat(summary.p90()).isEqualTo(900);
        assertThat(summary.p99()).isEqualTo(990);
        assertThat(summary.p999()).isEqualTo(999);
        assertThat(summary.max()).isEqualTo(1000);
        assertThat(LatencySummary.of(new Histogram(3))).isEqualTo(LatencySummary.EMPTY);
    }

    @Test
    void specRejectsNonsenseWithASentence() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new LoadSpec(10, 20, 128, 0, 1,
                java.time.Duration.ZERO, java.time.Duration.ofSeconds(1), java.time.Duration.ZERO))
                .hasMessage("rooms must be between 1 and the number of clients");
    }
}
