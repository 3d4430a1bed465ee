package io.messenger.cluster.storage;

import io.messenger.proto.peer.Entry;
import java.util.List;

/**
 * The replicated log as one node stores it: entries with consecutive indexes from 1.
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

    /** Epoch of the last entry, 0 when the log is empty. */
    long lastEpoch();

    /**
     * Epoch of the entry at {@code index}; 0 for index 0.
     *
     * @throws IndexOutOfBoundsException if {@code index} is negative or past {@link #lastIndex()}
     */
    long epochAt(long index);

    /** The entry at {@code index} (1..lastIndex). */
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
