package io.messenger.bench.load;

import org.HdrHistogram.Histogram;

/**
 * Percentiles of one latency distribution, in microseconds.
 */
public record LatencySummary(long count, long p50, long p90, long p99, long p999, long max) {

    public static final LatencySummary EMPTY = new LatencySummary(0, 0, 0, 0, 0, 0);

    public static LatencySummary of(Histogram micros) {
        if (micros.getTotalCount() == 0) {
            return EMPTY;
        }
        return new LatencySummary(micros.getTotalCount(),
                micros.getValueAtPercentile(50), micros.getValueAtPercentile(90),
                micros.getValueAtPercentile(99), micros.getValueAtPercentile(99.9), micros.getMaxValue());
    }
}
