package io.messenger.server.chat;

import io.messenger.proto.chat.ClientSendsSnapshot;

/**
 * What one client id has sent: the highest applied send sequence and, for a window of
 * recent sequences, the room sequence each got, so a resend is acknowledged with its
 * original place instead of being applied twice.
 *
 * <p>Only a send above the highest applied one is ever recorded (anything at or below it is a
 * resend), so the remembered sequences strictly increase: the window is a ring of two primitive
 * arrays, searched by bisection, and a snapshot copies it with two array copies instead of
 * walking boxed map entries on the apply thread.
 */
final class ClientSends {

    private static final int INITIAL_CAPACITY = 16;

    private final int window;
    private long highest;
    /** The ring: entry i (0 = oldest) is at {@code (head + i) % seqs.length}; grows up to {@code window}. */
    private long[] seqs;
    private long[] roomSeqs;
    private int head;
    private int size;

    ClientSends(int window) {
        if (window < 1) {
            throw new IllegalArgumentException("the dedup window must hold at least one send, got " + window);
        }
        this.window = window;
        int capacity = Math.min(window, INITIAL_CAPACITY);
        this.seqs = new long[capacity];
        this.roomSeqs = new long[capacity];
    }

    long highest() {
        return highest;
    }

    boolean applied(long seq) {
        return seq <= highest;
    }

    /** The room sequence of an applied send, or 0 if it fell out of the window. */
    long roomSeqOf(long seq) {
        int lo = 0;
        int hi = size - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int at = slot(mid);
            if (seqs[at] < seq) {
                lo = mid + 1;
            } else if (seqs[at] > seq) {
                hi = mid - 1;
            } else {
                return roomSeqs[at];
            }
        }
        return 0;
    }

    /** Records send {@code seq}, which must be above every send recorded before, at {@code roomSeq}. */
    void record(long seq, long roomSeq) {
        if (seq <= highest) {
            throw new IllegalArgumentException("send " + seq + " is not above the highest applied send " + highest);
        }
        highest = seq;
        if (size == window) {
            // Full: the newest entry takes the oldest one's slot.
            seqs[head] = seq;
            roomSeqs[head] = roomSeq;
            head = (head + 1) % seqs.length;
            return;
        }
        if (size == seqs.length) {
            int capacity = (int) Math.min(window, 2L * seqs.length);
            seqs = unrolled(seqs, capacity);
            roomSeqs = unrolled(roomSeqs, capacity);
            head = 0;
        }
        int at = slot(size);
        seqs[at] = seq;
        roomSeqs[at] = roomSeq;
        size++;
    }

    private int slot(int i) {
        return (head + i) % seqs.length;
    }

    /** The ring's entries oldest first, in a new array of {@code length} (at least {@link #size}). */
    private long[] unrolled(long[] ring, int length) {
        long[] out = new long[length];
        int first = Math.min(size, ring.length - head);
        System.arraycopy(ring, head, out, 0, first);
        System.arraycopy(ring, 0, out, first, size - first);
        return out;
    }

    /** A copy of this client's record, cheap enough for the apply thread; turned into protobuf elsewhere. */
    Captured capture(String clientId) {
        return new Captured(clientId, highest, unrolled(seqs, size), unrolled(roomSeqs, size));
    }

    /** What {@link #capture} copied: the window oldest first. */
    record Captured(String clientId, long highest, long[] seqs, long[] roomSeqs) {

        ClientSendsSnapshot toProto() {
            ClientSendsSnapshot.Builder b = ClientSendsSnapshot.newBuilder().setClientId(clientId).setHighest(highest);
            for (int i = 0; i < seqs.length; i++) {
                b.addSeqs(seqs[i]).addRoomSeqs(roomSeqs[i]);
            }
            return b.build();
        }
    }

    static ClientSends restore(ClientSendsSnapshot s, int window) {
        ClientSends sends = new ClientSends(window);
        // A window recorded with a larger dedup window keeps its newest entries.
        for (int i = Math.max(0, s.getSeqsCount() - window); i < s.getSeqsCount(); i++) {
            sends.record(s.getSeqs(i), s.getRoomSeqs(i));
        }
        sends.highest = Math.max(sends.highest, s.getHighest());
        return sends;
    }

    @Override
    public String toString() {
        StringBuilder out = new StringBuilder("highest=").append(highest).append(" window={");
        for (int i = 0; i < size; i++) {
            int at = slot(i);
            out.append(i == 0 ? "" : ", ").append(seqs[at]).append('=').append(roomSeqs[at]);
        }
        return out.append('}').toString();
    }

    /** For tests: the remembered sequences, oldest first. */
    long[] rememberedSeqs() {
        return unrolled(seqs, size);
    }
}
