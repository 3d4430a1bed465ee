package io.messenger.bench.load;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Counts and latencies of one run, recorded from any thread, and cut into one-second intervals by
 * {@link #sample}: the intervals make the timeline, and those inside the measurement window add up to
 * the totals.
 */
public final class LoadMetrics {

    /** Latencies up to an hour are tracked; three significant digits keep the histograms small. */
    private static final long HIGHEST_MICROS = TimeUnit.HOURS.toMicros(1);
    private static final int DIGITS = 3;
    /** A pause in acks shorter than this is ordinary jitter, not worth remembering. */
    private static final long GAP_THRESHOLD_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final Recorder ackRecorder = new Recorder(HIGHEST_MICROS, DIGITS);
    private final Recorder deliveryRecorder = new Recorder(HIGHEST_MICROS, DIGITS);
    private final LongAdder acks = new LongAdder();
    private final LongAdder deliveries = new LongAdder();
    private final LongAdder sendErrors = new LongAdder();
    private final Histogram ackTotal = new Histogram(HIGHEST_MICROS, DIGITS);
    private final Histogram deliveryTotal = new Histogram(HIGHEST_MICROS, DIGITS);
    private final AtomicLong lastAckNanos = new AtomicLong(System.nanoTime());
    private final List<AckGap> gaps = new ArrayList<>();
    private final List<TimelinePoint> timeline = new ArrayList<>();
    private long lastSampleNanos = System.nanoTime();
    private long lastAcks;
    private long lastDeliveries;
    private long measuredAcks;
    private long measuredDeliveries;

    /** A message sent (or due) at {@code sentNanos} was acknowledged at {@code nowNanos}. */
    public void recordAck(long sentNanos, long nowNanos) {
        ackRecorder.recordValue(micros(nowNanos - sentNanos));
        acks.increment();
        long previous = lastAckNanos.getAndSet(nowNanos);
        if (nowNanos - previous > GAP_THRESHOLD_NANOS) {
            synchronized (gaps) {
                gaps.add(new AckGap(previous, nowNanos));
            }
        }
    }

    /** A message sent at {@code sentNanos} reached one receiver at {@code nowNanos}. */
    public void recordDelivery(long sentNanos, long nowNanos) {
        deliveryRecorder.recordValue(micros(nowNanos - sentNanos));
        deliveries.increment();
    }

    /** A send failed for good (not backpressure): it is counted, and the run reports it. */
    public void recordSendError() {
        sendErrors.increment();
    }

    public long sendErrors() {
        return sendErrors.sum();
    }

    /**
     * Closes the current interval and appends it to the timeline; when {@code measuring}, the interval
     * also counts toward the totals. Called from one thread only (the run's sampler).
     *
     * @param secondsSinceStart the interval's end, for the chart's x axis
     */
    public synchronized TimelinePoint sample(double secondsSinceStart, boolean measuring) {
        long now = System.nanoTime();
        Histogram ackInterval = ackRecorder.getIntervalHistogram();
        Histogram deliveryInterval = deliveryRecorder.getIntervalHistogram();
        long a = acks.sum();
        long d = deliveries.sum();
        double seconds = (now - lastSampleNanos) / 1e9;
        TimelinePoint point = new TimelinePoint(secondsSinceStart, measuring,
                (a - lastAcks) / seconds, (d - lastDeliveries) / seconds,
                ackInterval.getTotalCount() == 0 ? 0 : ackInterval.getValueAtPercentile(99) / 1000.0,
                deliveryInterval.getTotalCount() == 0 ? 0 : deliveryInterval.getValueAtPercentile(99) / 1000.0);
        if (measuring) {
            ackTotal.add(ackInterval);
            deliveryTotal.add(deliveryInterval);
            measuredAcks += a - lastAcks;
            measuredDeliveries += d - lastDeliveries;
        }
        lastAcks = a;
        lastDeliveries = d;
        lastSampleNanos = now;
        timeline.add(point);
        return point;
    }

    public synchronized LatencySummary ackLatency() {
        return LatencySummary.of(ackTotal);
    }

    public synchronized LatencySummary deliveryLatency() {
        return LatencySummary.of(deliveryTotal);
    }

    public synchronized long measuredAcks() {
        return measuredAcks;
    }

    public synchronized long measuredDeliveries() {
        return measuredDeliveries;
    }

    public synchronized List<TimelinePoint> timeline() {
        return List.copyOf(timeline);
    }

    /** Pauses of more than 20 ms between two consecutive acks, in the order they ended. */
    public List<AckGap> gaps() {
        synchronized (gaps) {
            return List.copyOf(gaps);
        }
    }

    /** Longest pause between acks that overlaps {@code [fromNanos, toNanos]}, in nanoseconds; 0 if none. */
    public long longestGap(long fromNanos, long toNanos) {
        long longest = 0;
        for (AckGap gap : gaps()) {
            if (gap.endNanos() >= fromNanos && gap.startNanos() <= toNanos) {
                longest = Math.max(longest, gap.nanos());
            }
        }
        return longest;
    }

    /**
     * Longest pause between acks that ended in {@code [fromNanos, toNanos)}: the pause a kill at {@code fromNanos}
     * caused, when the next kill comes at {@code toNanos}. A pause that ends after the next kill is that kill's,
     * even though it began (with the last ack before it) inside this window.
     */
    public long longestGapEndingIn(long fromNanos, long toNanos) {
        long longest = 0;
        for (AckGap gap : gaps()) {
            if (gap.endNanos() >= fromNanos && gap.endNanos() < toNanos) {
                longest = Math.max(longest, gap.nanos());
            }
        }
        return longest;
    }

    private static long micros(long nanos) {
        return Math.min(Math.max(nanos / 1000, 0), HIGHEST_MICROS);
    }

    /** A stretch with no ack at all. */
    public record AckGap(long startNanos, long endNanos) {
        public long nanos() {
            return endNanos - startNanos;
        }
    }

    /** One second of a run: rates and p99 latencies (ms) in that second. */
    public record TimelinePoint(double seconds, boolean measuring, double acksPerSecond, double deliveriesPerSecond,
            double ackP99Millis, double deliveryP99Millis) {}
}
