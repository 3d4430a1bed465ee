package io.messenger.cluster.core;

import com.google.protobuf.ByteString;
import io.messenger.cluster.NotLeaderException;
import io.messenger.cluster.Role;
import io.messenger.cluster.storage.DurableState;
import io.messenger.cluster.storage.MemoryLogStorage;
import io.messenger.proto.peer.Entry;
import io.messenger.proto.peer.PeerEnvelope;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Predicate;
import java.util.stream.IntStream;

/**
 * A hand-driven cluster of cores for unit tests: messages queue in one FIFO and move only
 * when a test says so, fsync happens only when asked, links can be cut per direction.
 */
final class CoreHarness {

    static final int HEARTBEAT = 2;
    static final int ELECTION = 10;

    final Map<Integer, Node> nodes = new LinkedHashMap<>();
    final ArrayDeque<Outbound> network = new ArrayDeque<>();
    /** Every message any node sent, dropped or not. */
    final List<Outbound> sent = new ArrayList<>();
    final Set<Long> cut = new HashSet<>();
    final List<Integer> ids;
    private final long seed;
    int maxAppendEntries = 64;
    boolean autoDurable = true;
    /** Messages for which this is false are dropped when sent. */
    Predicate<Outbound> appendFilter = o -> true;

    /** One simulated node: its disk (log and saved state), its core, and what it applied. */
    final class Node {
        final int id;
        final MemoryLogStorage log = new MemoryLogStorage();
        DurableState saved = DurableState.INITIAL;
        ReplicationCore core;
        final List<Entry> applied = new ArrayList<>();
        boolean up = true;
        /** Durable standing: false from a wipe until the core reports it restored. */
        boolean voter = true;

        Node(int id) {
            this.id = id;
            start();
        }

        void start() {
            core = new ReplicationCore(config(id), log, saved, new SplittableRandom(seed * 31 + id), voter);
            // What each peer's hello would announce for itself.
            for (int peer : ids) {
                core.memberClientAddress(peer, config(peer).clientAddress());
            }
            applied.clear();
            up = true;
        }

        void crash() {
            up = false;
            log.crash();
        }

        void restart() {
            start();
        }

        /** Restarts this node with an empty disk (lost data directory) as a restoring learner. */
        void wipeAndRestart() {
            if (log.lastIndex() > 0) {
                log.truncateFrom(1);
            }
            log.makeAllDurable();
            saved = DurableState.INITIAL;
            voter = false;
            start();
        }

        /** Replaces this node's disk with {@code entries} (all durable) and {@code state}, and restarts it. */
        void load(List<Entry> entries, DurableState state) {
            if (log.lastIndex() > 0) {
                log.truncateFrom(1);
            }
            log.append(entries);
            log.makeAllDurable();
            saved = state;
            start();
        }

        void fsync() {
            core.durable(log.makeAllDurable());
        }

        Role role() {
            return core.role();
        }
    }

    CoreHarness(int size, long seed) {
        this.seed = seed;
        this.ids = IntStream.rangeClosed(1, size).boxed().toList();
        for (int id : ids) {
            nodes.put(id, new Node(id));
        }
    }

    CoreConfig config(int id) {
        return new CoreConfig(id, ids, HEARTBEAT, ELECTION, maxAppendEntries, 1 << 20, 4, "host:" + (7000 + id));
    }

    Node node(int id) {
        return nodes.get(id);
    }

    /** Drains every up node: saves state, queues messages, records applied entries. */
    void drainAll() {
        for (Node n : nodes.values()) {
            if (!n.up) {
                continue;
            }
            if (autoDurable) {
                n.core.durable(n.log.makeAllDurable());
            }
            Ready r = n.core.drain();
            if (r.stateToSave() != null) {
                n.saved = r.stateToSave();
            }
            if (r.restored()) {
                n.voter = true;
            }
            for (Outbound o : r.messages()) {
                sent.add(o);
                if (!cut.contains(link(n.id, o.to())) && appendFilter.test(o)) {
                    network.add(o);
                }
            }
            n.applied.addAll(r.committed());
        }
    }

    static long link(int from, int to) {
        return ((long) from << 32) | to;
    }

    /** Cuts every link of {@code id}; both ends notice, as the transport's silence detector would. */
    void isolate(int id) {
        for (int other : ids) {
            if (other != id) {
                cut.add(link(id, other));
                cut.add(link(other, id));
                connectivity(id, other, false);
                connectivity(other, id, false);
            }
        }
    }

    void heal() {
        cut.clear();
        for (int a : ids) {
            for (int b : ids) {
                if (a != b && node(b).up) {
                    connectivity(a, b, true);
                }
            }
        }
    }

    private void connectivity(int at, int peer, boolean up) {
        if (node(at).up) {
            node(at).core.peerConnectivity(peer, up);
        }
    }

    /** Delivers queued messages (and what they cause) until the network is quiet. */
    void deliverAll() {
        drainAll();
        int guard = 0;
        while (!network.isEmpty()) {
            if (++guard > 1_000_000) {
                throw new AssertionError("network never went quiet");
            }
            deliver(network.poll());
            drainAll();
        }
    }

    void deliver(Outbound o) {
        Node to = nodes.get(o.to());
        int from = o.envelope().getFrom();
        if (to.up && !cut.contains(link(from, o.to()))) {
            to.core.receive(o.envelope());
        }
    }

    /** Drops queued messages that match. */
    void dropWhere(Predicate<Outbound> which) {
        network.removeIf(which);
    }

    /** Ticks every up node once and lets the network settle. */
    void tickAll() {
        for (Node n : nodes.values()) {
            if (n.up) {
                n.core.tick();
            }
        }
        deliverAll();
    }

    void ticks(int count) {
        for (int i = 0; i < count; i++) {
            tickAll();
        }
    }

    /** Ticks until some node leads (at most {@code max} ticks) and returns it. */
    Node awaitLeader(int max) {
        for (int i = 0; i < max; i++) {
            tickAll();
            Node leader = leader();
            if (leader != null) {
                return leader;
            }
        }
        throw new AssertionError("no leader after " + max + " ticks");
    }

    Node leader() {
        Node found = null;
        long bestEpoch = -1;
        for (Node n : nodes.values()) {
            if (n.up && n.role() == Role.LEADER && n.core.status().epoch() > bestEpoch) {
                found = n;
                bestEpoch = n.core.status().epoch();
            }
        }
        return found;
    }

    long propose(Node leader, String text) {
        try {
            long index = leader.core.propose(ByteString.copyFromUtf8(text));
            deliverAll();
            return index;
        } catch (NotLeaderException e) {
            throw new AssertionError(e);
        }
    }

    static Entry entry(long epoch, long index, String text) {
        return Entry.newBuilder().setEpoch(epoch).setIndex(index).setCommand(ByteString.copyFromUtf8(text)).build();
    }

    static PeerEnvelope.Builder envelopeFrom(int from, long epoch) {
        return PeerEnvelope.newBuilder().setProtocolVersion(1).setFrom(from).setEpoch(epoch);
    }
}
