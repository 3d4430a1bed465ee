package io.messenger.cluster.storage;

import io.messenger.proto.peer.Entry;
import java.util.List;

/**
 * The replicated log as one node stores it: entries with consecutive indexes from
 * {@link #firstIndex()} (1 until a snapshot lets the log be compacted) to {@link #lastIndex()}.
 *
 * <p>Writes are visible to readers at once and become durable later: an implementation
 * writes and fsyncs off the caller's thread (group commit: one fsync covers everything
 * appended since the previous one) and reports progress through the
 * {@link DurabilityListener} it was built with. An entry counts as stored, for commit and
 * for acknowledging a leader, only once {@link #durableIndex()} has reached it.
 *
 * <p>Not thread-safe for writers: one thread appends and truncates; {@code durableIndex}
 * may be read from any thread.
 */
public interface LogStorage extends AutoCloseable {

    /** Index of the last entry, 0 when the log is empty. */
    long lastIndex();

    /**
     * Index of the first entry still held: 1, or one past the base left by {@link #compactTo}.
     * {@code lastIndex() == firstIndex() - 1} when every entry is compacted away.
     */
    default long firstIndex() {
        return 1;
    }

    /**
     * Deletes entries up to at most {@code index} (all of them durable, and covered by a
     * snapshot the caller made durable first). An implementation may keep more than asked (it
     * deletes in whole files, say); the entry just before the new first index stays known as
     * the base, whose epoch {@link #epochAt} still answers. The default keeps everything.
     *
     * @return the first index afterwards
     */
    default long compactTo(long index) {
        return firstIndex();
    }

    /**
     * Replaces the whole log by an empty one that continues a snapshot at ({@code index},
     * {@code epoch}): every entry goes, and the base becomes that point, so the next append is at
     * {@code index + 1}. A node installing a snapshot it received from the leader calls it, after
     * the snapshot itself is durable. Durable once {@link #durableIndex()} reaches {@code index};
     * a crash before that leaves a prefix of the old log (which the snapshot, on restart, resets
     * again). The default refuses: a log that does not support it cannot install snapshots.
     */
    default void resetTo(long index, long epoch) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot be reset to a snapshot");
    }

    /** Epoch of the last entry; the base's epoch when every entry is compacted, 0 when the log is empty. */
    long lastEpoch();

    /**
     * Epoch of the entry at {@code index}; 0 for index 0; the base's epoch for {@code firstIndex() - 1}.
     *
     * @throws IndexOutOfBoundsException if {@code index} is below {@code firstIndex() - 1} or past
     *     {@link #lastIndex()}
     */
    long epochAt(long index);

    /** The entry at {@code index} (firstIndex..lastIndex). */
    Entry entry(long index);

    /**
     * Consecutive entries from {@code fromIndex}, at most {@code maxEntries} and, except that
     * the first is always returned, at most {@code maxBytes} of serialized size. Empty when
     * {@code fromIndex > lastIndex()}.
     */
    List<Entry> entries(long fromIndex, int maxEntries, long maxBytes);

    /**
     * Appends entries whose indexes continue from {@code lastIndex() + 1} and whose epochs
     * do not decrease.
     *
     * @throws IllegalArgumentException if the indexes or epochs do not continue the log
     */
    void append(List<Entry> entries);

    /**
     * Removes the entry at {@code index} and every later one. {@link #durableIndex()}
     * drops to at most {@code index - 1} at once.
     */
    void truncateFrom(long index);

    /** Highest index known to be on disk and fsync'd; never above {@link #lastIndex()}. */
    long durableIndex();

    @Override
    void close();

    /** Told, on the storage's own thread, whenever {@link #durableIndex()} advances. */
    @FunctionalInterface
    interface DurabilityListener {
        void onDurable(long durableIndex);
    }
}
