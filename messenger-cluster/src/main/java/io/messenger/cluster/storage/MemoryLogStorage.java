package io.messenger.cluster.storage;

import io.messenger.proto.peer.Entry;
import java.util.ArrayList;
import java.util.List;

/**
 * A log kept in memory whose durability advances only when told ({@link #makeDurable}),
 * for tests and the deterministic simulation: {@link #crash()} loses exactly what a power
 * cut would lose, the entries not yet fsync'd. {@link #compactTo} drops exactly the durable
 * entries asked for (the base it leaves survives a crash, as the file-backed log's does).
 */
public final class MemoryLogStorage implements LogStorage {

    private final ArrayList<Entry> entries = new ArrayList<>();
    private long baseIndex;
    private long baseEpoch;
    private long durableIndex;

    @Override
    public long firstIndex() {
        return baseIndex + 1;
    }

    @Override
    public long lastIndex() {
        return baseIndex + entries.size();
    }

    @Override
    public long lastEpoch() {
        return entries.isEmpty() ? baseEpoch : entries.get(entries.size() - 1).getEpoch();
    }

    @Override
    public long epochAt(long index) {
        if (index == 0) {
            return 0;
        }
        if (index == baseIndex) {
            return baseEpoch;
        }
        checkIndex(index);
        return at(index).getEpoch();
    }

    @Override
    public Entry entry(long index) {
        checkIndex(index);
        return at(index);
    }

    @Override
    public List<Entry> entries(long fromIndex, int maxEntries, long maxBytes) {
        if (fromIndex <= baseIndex || fromIndex < 1) {
            throw new IndexOutOfBoundsException("no entry at index " + fromIndex + " (the log starts at "
                    + firstIndex() + ")");
        }
        List<Entry> out = new ArrayList<>();
        long bytes = 0;
        for (long i = fromIndex; i <= lastIndex() && out.size() < maxEntries; i++) {
            Entry e = at(i);
            bytes += e.getSerializedSize();
            if (!out.isEmpty() && bytes > maxBytes) {
                break;
            }
            out.add(e);
        }
        return out;
    }

    @Override
    public void append(List<Entry> newEntries) {
        long expectedIndex = lastIndex() + 1;
        long epoch = lastEpoch();
        for (Entry e : newEntries) {
            if (e.getIndex() != expectedIndex) {
                throw new IllegalArgumentException("entry index " + e.getIndex() + " does not continue the log at "
                        + expectedIndex);
            }
            if (e.getEpoch() < epoch) {
                throw new IllegalArgumentException("entry " + e.getIndex() + " has epoch " + e.getEpoch()
                        + ", below the preceding " + epoch);
            }
            epoch = e.getEpoch();
            expectedIndex++;
        }
        entries.addAll(newEntries);
    }

    @Override
    public void truncateFrom(long index) {
        if (index < 1) {
            throw new IndexOutOfBoundsException("cannot truncate from index " + index);
        }
        if (index <= baseIndex) {
            throw new IllegalArgumentException("cannot truncate from " + index + ": entries up to " + baseIndex
                    + " are compacted");
        }
        while (lastIndex() >= index) {
            entries.remove(entries.size() - 1);
        }
        durableIndex = Math.min(durableIndex, index - 1);
    }

    @Override
    public long compactTo(long index) {
        long upTo = Math.min(index, durableIndex);
        if (upTo <= baseIndex) {
            return firstIndex();
        }
        long epoch = epochAt(upTo);
        entries.subList(0, (int) (upTo - baseIndex)).clear();
        entries.trimToSize();
        baseIndex = upTo;
        baseEpoch = epoch;
        return firstIndex();
    }

    @Override
    public void resetTo(long index, long epoch) {
        if (index < 1 || epoch < 1) {
            throw new IllegalArgumentException("a snapshot base needs an index and epoch of at least 1, not "
                    + index + "/" + epoch);
        }
        entries.clear();
        entries.trimToSize();
        baseIndex = index;
        baseEpoch = epoch;
        // Durable at once, like a compaction's base: the caller made the snapshot durable first.
        durableIndex = index;
    }

    @Override
    public long durableIndex() {
        return durableIndex;
    }

    /**
     * Marks the log fsync'd up to {@code index} (capped at the last entry; never goes back).
     *
     * @return the durable index afterwards
     */
    public long makeDurable(long index) {
        durableIndex = Math.max(durableIndex, Math.min(index, lastIndex()));
        return durableIndex;
    }

    /** Marks every entry fsync'd and returns the durable index. */
    public long makeAllDurable() {
        return makeDurable(lastIndex());
    }

    /** Loses the entries that were not fsync'd, as a crash would. */
    public void crash() {
        if (durableIndex < lastIndex()) {
            truncateFrom(Math.max(durableIndex, baseIndex) + 1);
        }
    }

    @Override
    public void close() {
        // Nothing to release: the entries live on the heap.
    }

    private Entry at(long index) {
        return entries.get((int) (index - baseIndex - 1));
    }

    private void checkIndex(long index) {
        if (index <= baseIndex || index < 1 || index > lastIndex()) {
            throw new IndexOutOfBoundsException("no entry at index " + index + " (the log holds " + firstIndex()
                    + ".." + lastIndex() + ")");
        }
    }
}
