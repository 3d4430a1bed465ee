package io.messenger.e2e;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What clients felt of each injected fault: the longest stretch without any acknowledgement, across all
 * clients, from the last ack before the fault until the next fault (or the end of the load).
 */
public final class PauseMeter {

    /** The pause observed after one fault. */
    public record Pause(String fault, Duration longestGap) {
    }

    private PauseMeter() {
    }

    /** One pause per fault of the history, measured up to {@code loadEndNanos}. */
    public static List<Pause> measure(History history, long loadEndNanos) {
        long[] acks = history.sends().stream()
                .filter(s -> s.roomSeq().isPresent())
                .mapToLong(History.Send::ackNanos)
                .sorted()
                .toArray();
        List<History.Fault> faults = history.faults();
        List<Pause> pauses = new ArrayList<>();
        for (int i = 0; i < faults.size(); i++) {
            long start = faults.get(i).atNanos();
            long end = i + 1 < faults.size() ? faults.get(i + 1).atNanos() : loadEndNanos;
            long previous = start;
            for (long ack : acks) {
                if (ack < start) {
                    previous = ack;
                }
            }
            long longest = 0;
            for (long ack : acks) {
                if (ack >= start && ack <= end) {
                    longest = Math.max(longest, ack - previous);
                    previous = ack;
                }
            }
            longest = Math.max(longest, end - previous);
            pauses.add(new Pause(faults.get(i).description(), Duration.ofNanos(longest)));
        }
        return pauses;
    }

    /** Median and worst of the pauses, in milliseconds, for the test report. */
    public static String summary(List<Pause> pauses) {
        if (pauses.isEmpty()) {
            return "no faults";
        }
        long[] millis = pauses.stream().mapToLong(p -> p.longestGap().toMillis()).sorted().toArray();
        long median = millis.length % 2 == 1 ? millis[millis.length / 2]
                : (millis[millis.length / 2 - 1] + millis[millis.length / 2]) / 2;
        return "pauses over " + millis.length + " faults: median " + median + " ms, worst "
                + millis[millis.length - 1] + " ms, all " + Arrays.toString(millis);
    }
}
