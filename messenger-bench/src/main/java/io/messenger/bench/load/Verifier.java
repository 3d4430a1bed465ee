package io.messenger.bench.load;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Checks, while a run measures, that every acknowledged message reaches every member of its room exactly
 * once and in order: per sender in counter order, and per room in one order shared by all receivers.
 *
 * <p>Clients are numbered 0..n-1 and all join before the first send, so every member expects every
 * message of its room from counter 1. A receiver that never gets any of its own messages is taken to be
 * served by a system that does not echo to the sender; one that gets some must get all of them.
 * Thread-safe: acks and deliveries may arrive on any thread.
 */
public final class Verifier {

    /** How many example sentences a verdict keeps, so a broken run does not print a million lines. */
    static final int MAX_EXAMPLES = 10;
    /** How many duplicate deliveries are kept by identity, for attributing them to leader kills. */
    static final int MAX_RECORDED = 100_000;

    private final int[] roomOf;
    private final BitSet[] acked;
    private final Receiver[] receivers;
    private final Map<Integer, Map<Long, Long>> roomOrder = new ConcurrentHashMap<>();
    private final List<String> examples = new ArrayList<>();
    private final long[] counts = new long[Kind.values().length];
    private final List<MessageRef> duplicateMessages = new ArrayList<>();

    /** @param roomOfClient room number of each client, indexed by client */
    public Verifier(int[] roomOfClient) {
        this.roomOf = roomOfClient.clone();
        int n = roomOf.length;
        this.acked = new BitSet[n];
        this.receivers = new Receiver[n];
        for (int i = 0; i < n; i++) {
            acked[i] = new BitSet();
            receivers[i] = new Receiver(n);
        }
    }

    /** The system acknowledged (committed) message {@code counter} of {@code sender}. */
    public void acked(int sender, long counter) {
        BitSet bits = acked[sender];
        synchronized (bits) {
            bits.set(toBit(counter));
        }
    }

    /**
     * {@code receiver} got message {@code counter} of {@code sender}.
     *
     * @param roomSeq the system's position of the message in the room, or 0 when it has none
     */
    public void delivered(int receiver, int sender, long counter, long roomSeq) {
        if (sender < 0 || sender >= roomOf.length || counter < 1) {
            violation(Kind.UNEXPECTED, "client " + receiver + " got message " + counter + " of unknown sender " + sender);
            return;
        }
        if (roomOf[sender] != roomOf[receiver]) {
            violation(Kind.UNEXPECTED, "client " + receiver + " (room " + roomOf[receiver] + ") got message "
                    + counter + " of client " + sender + " from room " + roomOf[sender]);
            return;
        }
        Receiver r = receivers[receiver];
        synchronized (r) {
            BitSet got = r.delivered[sender];
            int bit = toBit(counter);
            if (got.get(bit)) {
                violation(Kind.DUPLICATE, "client " + receiver + " got message " + counter + " of client " + sender
                        + " twice");
                synchronized (examples) {
                    if (duplicateMessages.size() < MAX_RECORDED) {
                        duplicateMessages.add(new MessageRef(receiver, sender, counter));
                    }
                }
            } else {
                if (counter < r.lastCounter[sender]) {
                    violation(Kind.REORDERED, "client " + receiver + " got message " + counter + " of client "
                            + sender + " after message " + r.lastCounter[sender]);
                }
                got.set(bit);
                r.lastCounter[sender] = Math.max(r.lastCounter[sender], counter);
            }
            if (roomSeq > 0) {
                if (roomSeq <= r.lastRoomSeq) {
                    violation(Kind.REORDERED, "client " + receiver + " got room position " + roomSeq + " after "
                            + r.lastRoomSeq);
                }
                r.lastRoomSeq = Math.max(r.lastRoomSeq, roomSeq);
            }
        }
        if (roomSeq > 0) {
            long key = ((long) sender << 40) | counter;
            Long previous = roomOrder.computeIfAbsent(roomOf[sender], k -> new ConcurrentHashMap<>())
                    .putIfAbsent(roomSeq, key);
            if (previous != null && previous != key) {
                violation(Kind.ORDER_MISMATCH, "room " + roomOf[sender] + " position " + roomSeq + " is message "
                        + counter + " of client " + sender + " for client " + receiver + " but message "
                        + (previous & ((1L << 40) - 1)) + " of client " + (previous >>> 40) + " for another");
            }
        }
    }

    /** Acknowledged deliveries still missing right now: 0 once the run has drained. */
    public long outstanding() {
        long missing = 0;
        for (int receiver = 0; receiver < receivers.length; receiver++) {
            for (int sender : membersOf(roomOf[receiver])) {
                missing += missing(receiver, sender).cardinality();
            }
        }
        return missing;
    }

    /** Final judgement; call once sending has stopped and deliveries have drained (or timed out). */
    public Verdict verify() {
        long ackedTotal = 0;
        for (BitSet bits : acked) {
            synchronized (bits) {
                ackedTotal += bits.cardinality();
            }
        }
        long lost = 0;
        for (int receiver = 0; receiver < receivers.length; receiver++) {
            for (int sender : membersOf(roomOf[receiver])) {
                BitSet missing = missing(receiver, sender);
                lost += missing.cardinality();
                if (!missing.isEmpty()) {
                    example("client " + receiver + " never got " + missing.cardinality()
                            + " acknowledged message(s) of client " + sender + ", first " + (missing.nextSetBit(0) + 1));
                }
            }
        }
        synchronized (examples) {
            return new Verdict(ackedTotal, lost, counts[Kind.DUPLICATE.ordinal()], counts[Kind.REORDERED.ordinal()],
                    counts[Kind.ORDER_MISMATCH.ordinal()], counts[Kind.UNEXPECTED.ordinal()],
                    List.copyOf(examples));
        }
    }

    /** Duplicate deliveries seen so far (the first 100,000). */
    public List<MessageRef> duplicateMessages() {
        synchronized (examples) {
            return List.copyOf(duplicateMessages);
        }
    }

    /** Acknowledged messages some member has not received, at most {@code limit} of them. */
    public List<MessageRef> lostMessages(int limit) {
        List<MessageRef> lost = new ArrayList<>();
        for (int receiver = 0; receiver < receivers.length; receiver++) {
            for (int sender : membersOf(roomOf[receiver])) {
                BitSet missing = missing(receiver, sender);
                for (int bit = missing.nextSetBit(0); bit >= 0 && lost.size() < limit;
                        bit = missing.nextSetBit(bit + 1)) {
                    lost.add(new MessageRef(receiver, sender, bit + 1L));
                }
            }
        }
        return lost;
    }

    private BitSet missing(int receiver, int sender) {
        BitSet missing;
        BitSet bits = acked[sender];
        synchronized (bits) {
            missing = (BitSet) bits.clone();
        }
        Receiver r = receivers[receiver];
        synchronized (r) {
            if (receiver == sender && r.delivered[sender].isEmpty()) {
                return new BitSet(); // the system does not echo a sender's own messages
            }
            missing.andNot(r.delivered[sender]);
        }
        return missing;
    }

    private List<Integer> membersOf(int room) {
        List<Integer> members = new ArrayList<>();
        for (int i = 0; i < roomOf.length; i++) {
            if (roomOf[i] == room) {
                members.add(i);
            }
        }
        return members;
    }

    private void violation(Kind kind, String sentence) {
        synchronized (examples) {
            counts[kind.ordinal()]++;
            if (examples.size() < MAX_EXAMPLES) {
                examples.add(sentence);
            }
        }
    }

    private void example(String sentence) {
        synchronized (examples) {
            if (examples.size() < MAX_EXAMPLES) {
                examples.add(sentence);
            }
        }
    }

    private static int toBit(long counter) {
        if (counter < 1 || counter > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("counter out of range: " + counter);
        }
        return (int) (counter - 1);
    }

    private enum Kind { DUPLICATE, REORDERED, ORDER_MISMATCH, UNEXPECTED }

    /** What one receiver has seen; guarded by its own monitor. */
    private static final class Receiver {
        final BitSet[] delivered;
        final long[] lastCounter;
        long lastRoomSeq;

        Receiver(int clients) {
            delivered = new BitSet[clients];
            lastCounter = new long[clients];
            for (int i = 0; i < clients; i++) {
                delivered[i] = new BitSet();
            }
        }
    }

    /** One message as one member saw (or missed) it. */
    public record MessageRef(int receiver, int sender, long counter) {}

    /** Outcome of a run's checks. Any non-zero violation count makes the run a failure. */
    public record Verdict(long acked, long lost, long duplicates, long reordered, long orderMismatches,
            long unexpected, List<String> examples) {

        public boolean ok() {
            return lost == 0 && duplicates == 0 && reordered == 0 && orderMismatches == 0 && unexpected == 0;
        }

        /** One sentence for the terminal: "ok" or what went wrong. */
        public String summary() {
            if (ok()) {
                return "ok (" + acked + " acked, all delivered once, in order)";
            }
            List<String> parts = new ArrayList<>();
            if (lost > 0) {
                parts.add(lost + " lost");
            }
            if (duplicates > 0) {
                parts.add(duplicates + " duplicate");
            }
            if (reordered > 0) {
                parts.add(reordered + " reordered");
            }
            if (orderMismatches > 0) {
                parts.add(orderMismatches + " room-order mismatch");
            }
            if (unexpected > 0) {
                parts.add(unexpected + " misrouted");
            }
            return "FAILURE: " + String.join(", ", parts);
        }
    }
}
