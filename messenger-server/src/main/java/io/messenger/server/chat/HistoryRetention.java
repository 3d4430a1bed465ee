package io.messenger.server.chat;

/**
 * How much room history the cluster keeps: per room, at most {@code maxMessages} messages
 * and nothing older than {@code maxAgeMs} of leader time; 0 leaves that bound off. Retention
 * is applied from the committed commands (their room sequences and leader timestamps), never
 * from a node's own clock, so every node deletes exactly the same messages.
 *
 * @param maxMessages messages kept per room, 0 = unlimited
 * @param maxAgeMs age after which messages are deleted, in milliseconds, 0 = unlimited
 */
public record HistoryRetention(long maxMessages, long maxAgeMs) {

    public static final long DEFAULT_MAX_MESSAGES = 1_000_000;
    public static final long DEFAULT_MAX_AGE_MS = 30L * 24 * 3600 * 1000;
    public static final HistoryRetention DEFAULTS = new HistoryRetention(DEFAULT_MAX_MESSAGES, DEFAULT_MAX_AGE_MS);
    public static final HistoryRetention UNLIMITED = new HistoryRetention(0, 0);

    public HistoryRetention {
        if (maxMessages < 0) {
            throw new IllegalArgumentException("history message retention must be 0 (unlimited) or more, got "
                    + maxMessages);
        }
        if (maxAgeMs < 0) {
            throw new IllegalArgumentException("history age retention must be 0 (unlimited) or more, got " + maxAgeMs);
        }
    }

    /**
     * The grain of age retention: a room remembers one age mark per this much leader time and
     * deletes whole spans between marks, so a message goes at most this late (a thousandth of
     * the age, between 1 s and 1 h; 43 minutes for 30 days). Also how often every room is swept.
     */
    public long markSpacingMs() {
        return maxAgeMs == 0 ? Long.MAX_VALUE / 4 : Math.max(1000, Math.min(3_600_000, maxAgeMs / 1000));
    }

    /**
     * Messages past the count bound that wait before the store deletes them in one range: a
     * hundredth of the bound (1 to 10,000), so the store does not get a range tombstone per
     * message. Reads never see them: they stop at the room's first retained sequence.
     */
    public long deleteStep() {
        return maxMessages == 0 ? 1 : Math.max(1, Math.min(10_000, maxMessages / 100));
    }
}
