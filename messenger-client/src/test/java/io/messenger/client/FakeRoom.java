package io.messenger.client;

import io.messenger.proto.client.Deliver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The replicated room state several {@link FakeServer}s share, standing in for the cluster: one message order,
 * per-client dedup of send sequences (a resend is acked with its original room sequence).
 */
public final class FakeRoom {

    final String name;
    private final List<Deliver> messages = new ArrayList<>();
    private final Map<String, Map<Long, Long>> appliedByClient = new HashMap<>();
    private final Map<String, Long> highestApplied = new HashMap<>();
    /** The nodes sharing this room; a committed message goes to the sessions of all of them. */
    final List<FakeServer> nodes = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Node ids in the order their sockets accepted a connection, which a frozen node's kernel still does. */
    final List<Integer> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Positions in {@link #accepted} of the connections that were welcomed, in order. */
    final List<Integer> welcomed = new java.util.concurrent.CopyOnWriteArrayList<>();

    public FakeRoom(String name) {
        this.name = name;
    }

    /** Records that node {@code nodeId} accepted a connection; returns its position in {@link #accepted}. */
    synchronized int accept(int nodeId) {
        accepted.add(nodeId);
        return accepted.size() - 1;
    }

    /**
     * The nodes tried from position {@code from} of {@link #accepted} up to and including the first one that
     * welcomed the client; what a later reconnect tried (a loaded machine may stall long enough to cause one)
     * is left out. Empty while none welcomed it yet.
     */
    List<Integer> triedUntilWelcome(int from) {
        for (int at : welcomed) {
            if (at >= from) {
                return List.copyOf(accepted.subList(from, at + 1));
            }
        }
        return List.of();
    }

    /** Result of applying one send: its room sequence and whether it was new. */
    record Applied(long roomSeq, boolean fresh, Deliver deliver) {
    }

    synchronized Applied apply(String clientId, String sender, long seq, String text) {
        Map<Long, Long> applied = appliedByClient.computeIfAbsent(clientId, k -> new HashMap<>());
        Long existing = applied.get(seq);
        if (existing != null) {
            return new Applied(existing, false, messages.get((int) (existing - 1)));
        }
        Deliver d = Deliver.newBuilder().setRoom(name).setRoomSeq(messages.size() + 1L).setSender(sender)
                .setText(text).setServerTimeMs(System.currentTimeMillis()).build();
        messages.add(d);
        applied.put(seq, d.getRoomSeq());
        highestApplied.merge(clientId, seq, Math::max);
        return new Applied(d.getRoomSeq(), true, d);
    }

    /** Adds a message from someone not connected through a fake server. */
    public synchronized Deliver post(String sender, String text) {
        Deliver d = Deliver.newBuilder().setRoom(name).setRoomSeq(messages.size() + 1L).setSender(sender)
                .setText(text).setServerTimeMs(System.currentTimeMillis()).build();
        messages.add(d);
        return d;
    }

    synchronized List<Deliver> after(long roomSeq) {
        return List.copyOf(messages.subList((int) Math.min(roomSeq, messages.size()), messages.size()));
    }

    synchronized List<Deliver> lastN(int n) {
        return List.copyOf(messages.subList(Math.max(0, messages.size() - n), messages.size()));
    }

    public synchronized long roomSeq() {
        return messages.size();
    }

    synchronized long highestApplied(String clientId) {
        return highestApplied.getOrDefault(clientId, 0L);
    }

    public synchronized List<String> texts() {
        return messages.stream().map(Deliver::getText).toList();
    }
}
