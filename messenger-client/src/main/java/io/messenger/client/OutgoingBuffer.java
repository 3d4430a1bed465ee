package io.messenger.client;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The bounded buffer of sends not yet acknowledged, in sequence order. Capacity is reserved from any thread
 * (so a full buffer fails the caller at once); everything else runs on the client's event loop.
 */
final class OutgoingBuffer {

    /** One numbered send, the future its caller holds and when it was made ({@link System#nanoTime()}). */
    record PendingSend(long seq, String text, CompletableFuture<Long> future, long sentNanos) {
    }

    private final int capacity;
    private final AtomicInteger reserved = new AtomicInteger();
    private final Map<Long, PendingSend> pending = new LinkedHashMap<>();
    private long nextSeq = 1;

    OutgoingBuffer(int capacity) {
        this.capacity = capacity;
    }

    int capacity() {
        return capacity;
    }

    /** Claims room for one send; false when the buffer is full. Any thread. */
    boolean reserve() {
        while (true) {
            int now = reserved.get();
            if (now >= capacity) {
                return false;
            }
            if (reserved.compareAndSet(now, now + 1)) {
                return true;
            }
        }
    }

    /** Gives back a reservation that never became a pending send. Any thread. */
    void unreserve() {
        reserved.decrementAndGet();
    }

    /** Sends reserved or pending. Any thread. */
    int size() {
        return reserved.get();
    }

    /** Numbers a reserved send and keeps it until acknowledged. Event loop. */
    PendingSend add(String text, CompletableFuture<Long> future, long sentNanos) {
        PendingSend send = new PendingSend(nextSeq++, text, future, sentNanos);
        pending.put(send.seq(), send);
        return send;
    }

    /** Removes the send with this sequence (acknowledged or refused), or returns null if unknown. Event loop. */
    PendingSend remove(long seq) {
        PendingSend send = pending.remove(seq);
        if (send != null) {
            reserved.decrementAndGet();
        }
        return send;
    }

    /** The pending sends in sequence order. Event loop. */
    Collection<PendingSend> inOrder() {
        return pending.values();
    }

    /** Removes and returns every pending send. Event loop. */
    java.util.List<PendingSend> drain() {
        java.util.List<PendingSend> all = java.util.List.copyOf(pending.values());
        pending.clear();
        reserved.addAndGet(-all.size());
        return all;
    }
}
