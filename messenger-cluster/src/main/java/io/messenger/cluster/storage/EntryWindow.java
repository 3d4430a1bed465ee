package io.messenger.cluster.storage;

import io.messenger.proto.peer.Entry;

/**
 * The newest entries of the log held in memory, with consecutive indexes: everything not yet
 * durable plus a bounded number of recent durable entries. A ring buffer, so that trimming the
 * front and truncating the back are both cheap.
 */
final class EntryWindow {

    private Entry[] ring = new Entry[64];
    private int head;
    private int size;
    // Index of the entry at head; when empty, the index the next added entry must have.
    private long firstIndex = 1;

    long firstIndex() {
        return firstIndex;
    }

    int size() {
        return size;
    }

    boolean contains(long index) {
        return index >= firstIndex && index < firstIndex + size;
    }

    Entry get(long index) {
        if (!contains(index)) {
            throw new IndexOutOfBoundsException("index " + index + " is not in the window ["
                    + firstIndex + ", " + (firstIndex + size) + ")");
        }
        return ring[slot(index - firstIndex)];
    }

    void add(Entry entry) {
        if (entry.getIndex() != firstIndex + size) {
            throw new IllegalArgumentException("window expects index " + (firstIndex + size)
                    + ", got " + entry.getIndex());
        }
        if (size == ring.length) {
            grow();
        }
        ring[slot(size)] = entry;
        size++;
    }

    /** Drops {@code index} and every later entry; an index before the window empties it. */
    void removeFrom(long index) {
        while (size > 0 && firstIndex + size - 1 >= index) {
            size--;
            ring[slot(size)] = null;
        }
        if (size == 0) {
            firstIndex = index;
        }
    }

    /** Makes an empty window expect {@code index} next (a log that starts after a compacted base). */
    void startAt(long index) {
        if (size != 0) {
            throw new IllegalStateException("window is not empty");
        }
        firstIndex = index;
    }

    void removeFirst() {
        if (size == 0) {
            throw new IllegalStateException("window is empty");
        }
        ring[head] = null;
        head = (head + 1) & (ring.length - 1);
        size--;
        firstIndex++;
    }

    private int slot(long offset) {
        return (int) ((head + offset) & (ring.length - 1));
    }

    private void grow() {
        Entry[] bigger = new Entry[ring.length * 2];
        for (int i = 0; i < size; i++) {
            bigger[i] = ring[slot(i)];
        }
        ring = bigger;
        head = 0;
    }
}
