package io.messenger.cluster.storage;

import java.util.ArrayDeque;

/**
 * Decides how far the log is durable from the order of queued changes. Every append gets a
 * sequence number; an fsync covering sequence {@code s} makes durable only the appends numbered
 * up to {@code s} that are still in the log, so an fsync finishing after a truncation cannot
 * vouch for entries appended in place of the truncated ones. Not thread-safe: the log's lock guards it.
 */
final class DurabilityTracker {

    /** Appended entries not yet covered by an fsync; {@code lastIndex} shrinks if a truncation cuts into them. */
    private static final class PendingAppend {
        final long seq;
        final long firstIndex;
        long lastIndex;

        PendingAppend(long seq, long firstIndex, long lastIndex) {
            this.seq = seq;
            this.firstIndex = firstIndex;
            this.lastIndex = lastIndex;
        }
    }

    // Sequence numbers and indexes both increase along this queue: an entry appended later either
    // has a higher index or replaced (truncated) everything from its index on.
    private final ArrayDeque<PendingAppend> pending = new ArrayDeque<>();
    private long durableIndex;

    DurabilityTracker(long durableIndex) {
        this.durableIndex = durableIndex;
    }

    long durableIndex() {
        return durableIndex;
    }

    void appended(long seq, long firstIndex, long lastIndex) {
        pending.addLast(new PendingAppend(seq, firstIndex, lastIndex));
    }

    /** Forgets entries from {@code index} on; the durable index drops to at most {@code index - 1} at once. */
    void truncatedFrom(long index) {
        while (!pending.isEmpty() && pending.peekLast().firstIndex >= index) {
            pending.pollLast();
        }
        if (!pending.isEmpty() && pending.peekLast().lastIndex >= index) {
            pending.peekLast().lastIndex = index - 1;
        }
        durableIndex = Math.min(durableIndex, index - 1);
    }

    /**
     * Everything queued up to sequence {@code seq} is written and fsync'd.
     *
     * @return true if the durable index advanced
     */
    boolean fsyncedThrough(long seq) {
        long durable = durableIndex;
        while (!pending.isEmpty() && pending.peekFirst().seq <= seq) {
            durable = Math.max(durable, pending.pollFirst().lastIndex);
        }
        if (durable > durableIndex) {
            durableIndex = durable;
            return true;
        }
        return false;
    }
}
