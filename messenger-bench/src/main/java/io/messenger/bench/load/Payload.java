package io.messenger.bench.load;

/**
 * The text of one bench message: run, sender, per-sender counter and send time, padded to a fixed size.
 *
 * <p>Carrying this in the chat text, rather than beside it, lets a receiver measure send→delivery latency
 * and check exactly-once order with nothing but what the system under test delivered.
 *
 * @param runId distinguishes this run's messages from older ones a room may replay as history
 * @param sender index of the sending client in the run
 * @param counter per-sender number, 1, 2, ... in send order
 * @param sentNanos {@link System#nanoTime()} of the (intended) send, in the bench process
 */
public record Payload(String runId, int sender, long counter, long sentNanos) {

    private static final String TAG = "bench";
    private static final char SEPARATOR = '|';

    /** Encodes as ASCII text of exactly {@code sizeBytes} bytes, or just the header if that is longer. */
    public String encode(int sizeBytes) {
        StringBuilder text = new StringBuilder(Math.max(sizeBytes, 48));
        text.append(TAG).append(SEPARATOR).append(runId).append(SEPARATOR).append(sender)
                .append(SEPARATOR).append(counter).append(SEPARATOR).append(sentNanos).append(SEPARATOR);
        while (text.length() < sizeBytes) {
            text.append('x');
        }
        return text.toString();
    }

    /**
     * Parses a delivered text; {@code null} when it is not a bench message (someone typed in the room, or
     * the text is malformed), so such deliveries are ignored rather than miscounted.
     */
    public static Payload parse(String text) {
        if (text == null || !text.startsWith(TAG + SEPARATOR)) {
            return null;
        }
        int a = TAG.length() + 1;
        int b = text.indexOf(SEPARATOR, a);
        int c = b < 0 ? -1 : text.indexOf(SEPARATOR, b + 1);
        int d = c < 0 ? -1 : text.indexOf(SEPARATOR, c + 1);
        int e = d < 0 ? -1 : text.indexOf(SEPARATOR, d + 1);
        if (e < 0) {
            return null;
        }
        try {
            return new Payload(text.substring(a, b),
                    Integer.parseInt(text, b + 1, c, 10),
                    Long.parseLong(text, c + 1, d, 10),
                    Long.parseLong(text, d + 1, e, 10));
        } catch (NumberFormatException malformed) {
            return null;
        }
    }
}
