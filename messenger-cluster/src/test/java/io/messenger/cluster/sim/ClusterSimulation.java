package io.messenger.cluster.sim;

import com.google.protobuf.ByteString;
import io.messenger.cluster.NotLeaderException;
import io.messenger.cluster.PeerMessageValidator;
import io.messenger.cluster.Role;
import io.messenger.cluster.core.CoreConfig;
import io.messenger.cluster.core.Outbound;
import io.messenger.cluster.core.Ready;
import io.messenger.cluster.core.ReplicationCore;
import io.messenger.cluster.storage.DurableState;
import io.messenger.cluster.storage.LogStorage;
import io.messenger.cluster.storage.MemoryLogStorage;
import io.messenger.proto.peer.Entry;
import io.messenger.proto.peer.InstallSnapshot;
import io.messenger.proto.peer.InstallSnapshotResult;
import io.messenger.proto.peer.PeerEnvelope;
import io.messenger.proto.peer.PeerProtocolVersion;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * A deterministic simulation of a cluster of {@link ReplicationCore}s: one seeded random
 * source drives a {@link PriorityQueue} of timed events (ticks, message deliveries, fsync
 * completions, client proposals and faults: drops, duplicates, reordering through random
 * delays, partitions and healing, crashes and restarts). After every event the safety
 * invariants are checked; at the end the faults stop and the cluster must converge.
 * The same seed replays the same run exactly.
 */
public final class ClusterSimulation {

    /** Knobs of one run; the defaults are what the JUnit suite uses. */
    public record Options(int chaosTicks, int quietTicks, double dropRate, double duplicateRate,
            int maxDelay, int crashAfterSendPerMille, boolean trace, int wipePercent, boolean diskLossRule,
            boolean snapshots, CommitHints commitHints) {

        /**
         * @param wipePercent of crashes, how many restart with an empty disk (a lost data
         *     directory: log and election state gone), as long as at most a minority is restoring
         * @param diskLossRule whether a wiped node restarts as a non-voting learner until
         *     restored (the rule); false restarts it as a voter, as before the rule existed,
         *     which is what the original fault test found unsafe
         * @param snapshots whether nodes snapshot their applied state now and then and compact
         *     their logs behind it (keeping a few entries), so that lagging, restarted and wiped
         *     nodes must be caught up by InstallSnapshot
         * @param commitHints what each node saves as its restart hint of the commit index (see
         *     {@link CommitHints})
         */
        public Options {
        }

        public static Options defaults() {
            return new Options(300, 400, 0.05, 0.03, 8, 4, false, 25, true, true, CommitHints.SAFE);
        }

        public Options withTrace(boolean on) {
            return new Options(chaosTicks, quietTicks, dropRate, duplicateRate, maxDelay, crashAfterSendPerMille, on,
                    wipePercent, diskLossRule, snapshots, commitHints);
        }

        public Options withWipes(int percent, boolean rule) {
            return new Options(chaosTicks, quietTicks, dropRate, duplicateRate, maxDelay, crashAfterSendPerMille, trace,
                    percent, rule, snapshots, commitHints);
        }

        public Options withSnapshots(boolean on) {
            return new Options(chaosTicks, quietTicks, dropRate, duplicateRate, maxDelay, crashAfterSendPerMille, trace,
                    wipePercent, diskLossRule, on, commitHints);
        }

        public Options withCommitHints(CommitHints hints) {
            return new Options(chaosTicks, quietTicks, dropRate, duplicateRate, maxDelay, crashAfterSendPerMille, trace,
                    wipePercent, diskLossRule, snapshots, hints);
        }
    }

    /**
     * The restart hint of the commit index ({@code ReplicationCore.committedBeforeRestart}), kept on
     * the simulated disk: it survives crashes and is lost with a wiped disk.
     */
    public enum CommitHints {
        /** No hint: a restarted node applies only what a leader tells it is committed. */
        OFF,
        /**
         * What the real node saves: the applied index bounded by the log's durable index, after
         * most applies (not all, so that some hints are stale at the crash).
         */
        SAFE,
        /**
         * A wrong hint, the log's last index (entries not yet committed among them): the
         * simulation must find that a restarted node then applies what was never committed.
         */
        UNSAFE_LAST_INDEX
    }

    /** What one run did, for the summary line. */
    public record Result(long steps, int elections, long commits, int wipes, int restores, int snapshotsTaken,
            int snapshotsInstalled, int hintedRestarts) {
    }

    /** Thrown when an invariant breaks; the message says how to replay the run. */
    public static final class InvariantViolation extends AssertionError {
        InvariantViolation(String message) {
            super(message);
        }
    }

    private static final int HEARTBEAT = 3;
    private static final int ELECTION = 20;

    private enum Kind { TICK, DELIVER, FSYNC, CHAOS, PROPOSE, RESTART, HEAL, SNAPSHOT, TRANSFER_TIMEOUT }

    /** A node's durable snapshot: its applied state through {@code index}, whose entry has {@code epoch}. */
    private record Snap(long index, long epoch) {
    }

    /** {@code destWipes}: for a delivery, how often the destination had been wiped when it was sent. */
    private record Event(long time, long seq, Kind kind, int node, PeerEnvelope envelope, int destWipes) {
        Event(long time, long seq, Kind kind, int node, PeerEnvelope envelope) {
            this(time, seq, kind, node, envelope, -1);
        }
    }

    private record EntryId(long epoch, long index) {
    }

    /** What the first log to hold an (epoch, index) had there: every later holder must agree. */
    private record EntryFact(ByteString command, long prevEpoch) {
    }

    private final int size;
    private final long seed;
    private final Options options;
    private final SplittableRandom random;
    private final List<Integer> ids;
    private final int majority;
    private final PriorityQueue<Event> queue = new PriorityQueue<>((a, b) -> a.time != b.time
            ? Long.compare(a.time, b.time) : Long.compare(a.seq, b.seq));
    private final Map<Integer, SimNode> nodes = new HashMap<>();
    private final Set<Long> cutLinks = new HashSet<>();
    private final Map<EntryId, EntryFact> facts = new HashMap<>();
    private final Map<Long, Integer> leaderOfEpoch = new HashMap<>();
    /** The committed log as first reported by any node; index i at position i - 1. */
    private final List<Entry> committed = new ArrayList<>();
    /** Lowest epoch at which each committed index was reported committed. */
    private final List<Long> commitEpoch = new ArrayList<>();
    private long seqCounter;
    private long now;
    private long steps;
    private int elections;
    private int proposals;
    private int wipes;
    private int restores;
    private int snapshotsTaken;
    private int snapshotsInstalled;
    /** Restarts that applied entries by the commit hint before hearing any leader. */
    private int hintedRestarts;
    private boolean chaos = true;
    private final List<String> trace = new ArrayList<>();

    /** One simulated machine: a disk that survives crashes and a core that does not. */
    private final class SimNode {
        final int id;
        MemoryLogStorage disk = new MemoryLogStorage();
        final LogStorage log;
        DurableState saved = DurableState.INITIAL;
        /** Durable standing: false from a wipe until the core reports it restored. */
        boolean member = true;
        /** Set at a crash that will lose the disk; applied at the restart. */
        boolean wipeAtRestart;
        int wipes;
        ReplicationCore core;
        PeerMessageValidator validator;
        int incarnation;
        boolean up;
        long appliedIndex;
        long lastLeaderEpoch = -1;
        /** While now is below this, the process is frozen (GC pause, SIGSTOP): no ticks, no input. */
        long pausedUntil;
        /** The latest durable snapshot (survives crashes, lost with a wiped disk), or null. */
        Snap snapshot;
        /** The saved restart hint of the commit index (survives crashes, lost with a wiped disk). */
        long committedHint;

        boolean paused() {
            return now < pausedUntil;
        }

        SimNode(int id) {
            this.id = id;
            this.log = new CheckedLog(this);
        }

        void start() {
            incarnation++;
            CoreConfig config = new CoreConfig(id, ids, HEARTBEAT, ELECTION, 1 + random.nextInt(4),
                    64 + random.nextInt(256), 1 + random.nextInt(4), "10.0.0." + id + ":7000");
            validator = new PeerMessageValidator(id, Set.copyOf(ids), 4, 64 + 255);
            if (snapshot != null && (snapshot.index() > disk.lastIndex() || snapshot.index() < disk.firstIndex() - 1
                    || disk.epochAt(snapshot.index()) != snapshot.epoch())) {
                disk.resetTo(snapshot.index(), snapshot.epoch()); // an install cut short by the crash
            }
            core = new ReplicationCore(config, log, saved,
                    new SplittableRandom(seed * 7919 + id * 131L + incarnation), member || !options.diskLossRule());
            up = true;
            pausedUntil = 0;
            appliedIndex = 0;
            lastLeaderEpoch = -1;
            if (snapshot != null) {
                core.snapshotRestored(snapshot.index());
                appliedIndex = snapshot.index();
            }
            if (committedHint > appliedIndex && core.committedBeforeRestart(committedHint) > appliedIndex) {
                hintedRestarts++;
            }
        }
    }

    /** The node's log, checking every append against what other logs hold at that position. */
    private final class CheckedLog implements LogStorage {
        private final SimNode node;

        CheckedLog(SimNode node) {
            this.node = node;
        }

        @Override
        public long lastIndex() {
            return node.disk.lastIndex();
        }

        @Override
        public long firstIndex() {
            return node.disk.firstIndex();
        }

        @Override
        public long compactTo(long index) {
            return node.disk.compactTo(index);
        }

        @Override
        public void resetTo(long index, long epoch) {
            node.disk.resetTo(index, epoch);
        }

        @Override
        public long lastEpoch() {
            return node.disk.lastEpoch();
        }

        @Override
        public long epochAt(long index) {
            return node.disk.epochAt(index);
        }

        @Override
        public Entry entry(long index) {
            return node.disk.entry(index);
        }

        @Override
        public List<Entry> entries(long fromIndex, int maxEntries, long maxBytes) {
            return node.disk.entries(fromIndex, maxEntries, maxBytes);
        }

        @Override
        public void append(List<Entry> entries) {
            long prevEpoch = node.disk.lastEpoch();
            for (Entry e : entries) {
                EntryFact fact = new EntryFact(e.getCommand(), prevEpoch);
                EntryFact known = facts.putIfAbsent(new EntryId(e.getEpoch(), e.getIndex()), fact);
                if (known != null && !known.equals(fact)) {
                    fail("log matching: node " + node.id + " appends (epoch " + e.getEpoch() + ", index "
                            + e.getIndex() + ") with command/previous epoch " + describe(fact)
                            + " but another log holds " + describe(known));
                }
                prevEpoch = e.getEpoch();
            }
            node.disk.append(entries);
        }

        @Override
        public void truncateFrom(long index) {
            node.disk.truncateFrom(index);
        }

        @Override
        public long durableIndex() {
            return node.disk.durableIndex();
        }

        @Override
        public void close() {
            node.disk.close();
        }
    }

    public ClusterSimulation(int size, long seed, Options options) {
        this.size = size;
        this.seed = seed;
        this.options = options;
        this.random = new SplittableRandom(seed);
        this.ids = IntStream.rangeClosed(1, size).boxed().toList();
        this.majority = size / 2 + 1;
        for (int id : ids) {
            SimNode n = new SimNode(id);
            nodes.put(id, n);
            n.start();
            schedule(random.nextInt(2), Kind.TICK, id, null);
            schedule(1 + random.nextInt(3), Kind.FSYNC, id, null);
        }
        schedule(5 + random.nextInt(20), Kind.CHAOS, 0, null);
        if (options.snapshots()) {
            for (int id : ids) {
                schedule(5 + random.nextInt(20), Kind.SNAPSHOT, id, null);
            }
        }
        schedule(1 + random.nextInt(4), Kind.PROPOSE, 0, null);
    }

    /** Runs the chaos phase, then the quiet phase, checking invariants after every step. */
    public Result run() {
        try {
            while (now < options.chaosTicks()) {
                step();
            }
            quiet();
            checkLogMatchingPairwise();
            return new Result(steps, elections, committed.size(), wipes, restores, snapshotsTaken, snapshotsInstalled,
                    hintedRestarts);
        } catch (InvariantViolation e) {
            throw e;
        } catch (RuntimeException | AssertionError e) {
            InvariantViolation v = new InvariantViolation(header() + "unexpected " + e + replay());
            v.initCause(e);
            throw v;
        }
    }

    // ------------------------------------------------------------------ the schedule

    private void schedule(long delay, Kind kind, int node, PeerEnvelope envelope) {
        queue.add(new Event(now + delay, seqCounter++, kind, node, envelope));
    }

    private void step() {
        Event e = queue.poll();
        now = e.time();
        steps++;
        SimNode n = nodes.get(e.node());
        switch (e.kind()) {
            case TICK -> {
                if (n.up && !n.paused()) {
                    n.core.tick();
                    afterInput(n);
                }
                // A node is sometimes slow: its next tick comes late (clock skew, GC pause).
                schedule(chaos && random.nextInt(20) == 0 ? 2 + random.nextInt(3) : 1, Kind.TICK, n.id, null);
            }
            case DELIVER -> {
                int from = e.envelope().getFrom();
                if (e.destWipes() >= 0 && e.destWipes() != n.wipes) {
                    // Sent to the node's lost incarnation: its connection died with it.
                    traceEvent(() -> "lost with the wiped incarnation: " + from + "->" + n.id);
                } else if (n.up && n.paused()) {
                    // Waits in the socket buffer until the process runs again.
                    queue.add(new Event(n.pausedUntil, seqCounter++, Kind.DELIVER, n.id, e.envelope(), e.destWipes()));
                } else if (n.up && !cutLinks.contains(link(from, n.id))) {
                    traceEvent(() -> "deliver " + from + "->" + n.id + " " + brief(e.envelope()));
                    // Correct cores never send what a node's intake validation would refuse
                    // (maxima: the largest any simulated node is configured with).
                    String refusal = n.validator.problemWith(e.envelope(), n.core.durableState().epoch());
                    if (refusal != null) {
                        throw new AssertionError("intake validation refused a correct core's message "
                                + brief(e.envelope()) + ": " + refusal);
                    }
                    n.core.receive(e.envelope());
                    afterInput(n);
                }
            }
            case FSYNC -> {
                if (n.up && !n.paused()) {
                    long last = n.disk.lastIndex();
                    long durable = n.disk.durableIndex();
                    long target = random.nextInt(3) == 0 || !chaos ? last
                            : durable + random.nextLong(last - durable + 1);
                    n.core.durable(n.disk.makeDurable(target));
                    afterInput(n);
                }
                schedule(chaos ? 1 + random.nextInt(4) : 1, Kind.FSYNC, n.id, null);
            }
            case PROPOSE -> {
                if (e.node() != 0) {
                    propose(n);
                } else {
                    propose(nodes.get(ids.get(random.nextInt(size))));
                    schedule(1 + random.nextInt(6), Kind.PROPOSE, 0, null);
                }
            }
            case CHAOS -> {
                if (chaos) {
                    injectFault();
                    schedule(5 + random.nextInt(30), Kind.CHAOS, 0, null);
                }
            }
            case RESTART -> restart(n);
            case HEAL -> heal();
            case SNAPSHOT -> {
                if (n.up && !n.paused()) {
                    takeSnapshot(n);
                }
                schedule(5 + random.nextInt(25), Kind.SNAPSHOT, n.id, null);
            }
            case TRANSFER_TIMEOUT -> {
                // The sender gives up a transfer that did not end in an install (lost chunks or answers).
                if (n.up && n.paused() && n.incarnation == e.destWipes()) {
                    queue.add(new Event(n.pausedUntil, seqCounter++, Kind.TRANSFER_TIMEOUT, n.id, e.envelope(),
                            e.destWipes()));
                } else if (n.up && n.incarnation == e.destWipes()) {
                    n.core.snapshotTransferEnded(e.envelope().getFrom());
                    afterInput(n);
                }
            }
            default -> throw new IllegalStateException("unknown event " + e.kind());
        }
        checkEveryStep();
    }

    private void afterInput(SimNode n) {
        Ready ready = n.core.drain();
        if (ready.stateToSave() != null) {
            n.saved = ready.stateToSave();
        }
        if (ready.restored()) {
            if (n.member && options.diskLossRule()) {
                fail("node " + n.id + " reported restored but never lost its disk");
            }
            n.member = true;
            restores++;
            traceEvent(() -> "node " + n.id + " restored");
        }
        for (Outbound o : ready.messages()) {
            send(n.id, o);
        }
        for (Entry entry : ready.committed()) {
            apply(n, entry);
        }
        for (int peer : n.core.takeSnapshotsToSend()) {
            sendSnapshot(n, peer);
        }
        for (PeerEnvelope chunk : n.core.takeSnapshotChunks()) {
            receiveSnapshot(n, chunk);
        }
        boolean electionTraffic = ready.messages().stream().anyMatch(o -> o.envelope().hasElectionToken());
        int crashPerMille = electionTraffic ? 10 * options.crashAfterSendPerMille() : options.crashAfterSendPerMille();
        if (chaos && !ready.messages().isEmpty() && random.nextInt(1000) < crashPerMille) {
            // Crash right after the messages left: the moments where a lost non-durable
            // tail or a forgotten promise would hurt.
            checkLeaderAfterInput(n);
            crash(n);
            return;
        }
        checkLeaderAfterInput(n);
    }

    private void checkLeaderAfterInput(SimNode n) {
        if (n.core.role() == Role.LEADER) {
            long epoch = n.core.status().epoch();
            Integer known = leaderOfEpoch.putIfAbsent(epoch, n.id);
            if (known != null && known != n.id) {
                fail("two leaders in epoch " + epoch + ": nodes " + known + " and " + n.id);
            }
            if (n.lastLeaderEpoch != epoch) {
                n.lastLeaderEpoch = epoch;
                elections++;
                traceEvent(() -> "node " + n.id + " leads epoch " + epoch);
                checkLeaderCompleteness(n, epoch);
            }
        }
    }

    private void send(int from, Outbound o) {
        if (o.to() == from) {
            fail("node " + from + " sent a message to itself: " + brief(o.envelope()));
        }
        if (cutLinks.contains(link(from, o.to()))) {
            return;
        }
        if (chaos && random.nextDouble() < options.dropRate()) {
            return;
        }
        int destWipes = nodes.get(o.to()).wipes;
        queue.add(new Event(now + delay(), seqCounter++, Kind.DELIVER, o.to(), o.envelope(), destWipes));
        if (chaos && random.nextDouble() < options.duplicateRate()) {
            queue.add(new Event(now + delay(), seqCounter++, Kind.DELIVER, o.to(), o.envelope(), destWipes));
        }
    }

    /** Mostly quick, now and then slow: later messages overtake earlier ones. */
    private int delay() {
        return random.nextInt(8) == 0 ? random.nextInt(options.maxDelay() + 1) : random.nextInt(2);
    }

    private void propose(SimNode n) {
        if (!n.up || n.paused()) {
            return;
        }
        try {
            String command = "c" + proposals;
            n.core.propose(ByteString.copyFromUtf8(command));
            proposals++;
            traceEvent(() -> "node " + n.id + " proposes " + command);
        } catch (NotLeaderException e) {
            if (n.core.role() == Role.LEADER) {
                fail("leader " + n.id + " refused a proposal: " + e.getMessage());
            }
        }
        afterInput(n);
    }

    // ------------------------------------------------------------------ snapshots

    /**
     * Snapshots the node's applied state (only at an index its log holds durably, as the real
     * node does) and compacts the log behind it, keeping 0-5 entries.
     */
    private void takeSnapshot(SimNode n) {
        long index = n.appliedIndex;
        if (index == 0 || (n.snapshot != null && index <= n.snapshot.index()) || index > n.disk.durableIndex()
                || index < n.disk.firstIndex()) {
            return;
        }
        n.snapshot = new Snap(index, n.disk.epochAt(index));
        snapshotsTaken++;
        long first = n.disk.compactTo(index - random.nextInt(6));
        traceEvent(() -> "node " + n.id + " snapshots at " + index + ", log now starts at " + first);
    }

    /** Leader side of InstallSnapshot: the whole snapshot as one message through the faulty network. */
    private void sendSnapshot(SimNode leader, int peer) {
        Snap snap = leader.snapshot;
        if (snap == null) {
            fail("leader " + leader.id + " asked to send a snapshot it does not have (log starts at "
                    + leader.disk.firstIndex() + ")");
        }
        traceEvent(() -> "node " + leader.id + " sends its snapshot at " + snap.index() + " to " + peer);
        send(leader.id, new Outbound(peer, PeerEnvelope.newBuilder()
                .setProtocolVersion(PeerProtocolVersion.PEER_PROTOCOL_V1_VALUE)
                .setFrom(leader.id)
                .setEpoch(leader.core.durableState().epoch())
                .setInstallSnapshot(InstallSnapshot.newBuilder().setSnapshotIndex(snap.index())
                        .setSnapshotEpoch(snap.epoch()).setCommitIndex(leader.core.commitIndex()))
                .build()));
        // The sender's stall timer: a transfer that did not end in an install is given up.
        queue.add(new Event(now + 30 + random.nextInt(30), seqCounter++, Kind.TRANSFER_TIMEOUT, leader.id,
                PeerEnvelope.newBuilder().setFrom(peer).build(), leader.incarnation));
    }

    /**
     * Backup side: the snapshot arrived whole (the real transfer verifies every file first); it
     * is made durable, then installed, then acknowledged. It must be committed state.
     */
    private void receiveSnapshot(SimNode n, PeerEnvelope chunk) {
        InstallSnapshot snap = chunk.getInstallSnapshot();
        long index = snap.getSnapshotIndex();
        if (index > committed.size() || committed.get((int) index - 1).getEpoch() != snap.getSnapshotEpoch()) {
            fail("node " + n.id + " received a snapshot at (epoch " + snap.getSnapshotEpoch() + ", index " + index
                    + ") that is not committed state (" + committed.size() + " entries committed)");
        }
        if (n.snapshot == null || n.snapshot.index() < index) {
            n.snapshot = new Snap(index, snap.getSnapshotEpoch());
        }
        if (n.core.installSnapshot(index, snap.getSnapshotEpoch())) {
            snapshotsInstalled++;
            n.appliedIndex = Math.max(n.appliedIndex, index);
            traceEvent(() -> "node " + n.id + " installs the snapshot at " + index);
        }
        send(n.id, new Outbound(chunk.getFrom(), PeerEnvelope.newBuilder()
                .setProtocolVersion(PeerProtocolVersion.PEER_PROTOCOL_V1_VALUE)
                .setFrom(n.id)
                .setEpoch(chunk.getEpoch())
                .setInstallSnapshotResult(InstallSnapshotResult.newBuilder().setSnapshotIndex(index).setInstalled(true))
                .build()));
    }

    /** Whether the node holds committed entry ({@code index}, {@code epoch}) durably: in its log or its snapshot. */
    private static boolean holds(SimNode n, long index, long epoch) {
        if (n.snapshot != null && index <= n.snapshot.index()) {
            return true; // a snapshot is committed state only
        }
        return n.disk.durableIndex() >= index && index >= n.disk.firstIndex() - 1 && n.disk.epochAt(index) == epoch;
    }

    // ------------------------------------------------------------------ faults

    private void injectFault() {
        int choice = random.nextInt(10);
        if (choice < 3) {
            crash(nodes.get(ids.get(random.nextInt(size))));
        } else if (choice < 6) {
            partition();
        } else if (choice < 8) {
            pause(nodes.get(ids.get(random.nextInt(size))));
        } else {
            heal();
        }
    }

    /**
     * Freezes a node long enough for the others to move on; when it wakes it still believes
     * what it believed (a stale leader), and sometimes a client proposal is the first thing
     * it handles.
     */
    private void pause(SimNode n) {
        if (!n.up || n.paused()) {
            return;
        }
        n.pausedUntil = now + 10 + random.nextInt(70);
        traceEvent(() -> "pause " + n.id + " until " + n.pausedUntil);
        if (random.nextBoolean()) {
            queue.add(new Event(n.pausedUntil, seqCounter++, Kind.PROPOSE, n.id, null));
        }
    }

    private void crash(SimNode n) {
        if (!n.up) {
            return;
        }
        n.up = false;
        n.disk.crash();
        long notMembers = nodes.values().stream().filter(o -> !o.member || o.wipeAtRestart).count();
        if (chaos && options.wipePercent() > 0 && random.nextInt(100) < options.wipePercent()
                && notMembers + (n.member ? 1 : 0) <= size - majority) {
            // The data directory is lost too: the node comes back empty. At most a minority is
            // ever without its state at once (with a majority lost, the cluster rightly stops).
            n.wipeAtRestart = true;
        }
        traceEvent(() -> "crash " + n.id + (n.wipeAtRestart ? " (disk lost)" : ""));
        // Now and then nobody notices (a peer never linked since its own restart): tokens
        // must then get past the dead node by the missing receipt.
        boolean noticed = random.nextInt(10) < 7;
        for (SimNode other : nodes.values()) {
            if (noticed && other != n && other.up) {
                other.core.peerConnectivity(n.id, false);
                afterInput(other);
            }
        }
        // Quick restarts matter: a node back within a tick or two still gets the answers
        // to what it sent before crashing.
        schedule(random.nextBoolean() ? 1 + random.nextInt(3) : 1 + random.nextInt(40), Kind.RESTART, n.id, null);
    }

    private void restart(SimNode n) {
        if (n.up) {
            return;
        }
        if (n.wipeAtRestart) {
            n.wipeAtRestart = false;
            n.disk = new MemoryLogStorage();
            n.saved = DurableState.INITIAL;
            n.snapshot = null;
            n.committedHint = 0;
            n.member = !options.diskLossRule(); // without the rule it votes at once, as before
            n.wipes++;
            wipes++;
        }
        traceEvent(() -> "restart " + n.id + " saved " + n.saved + " log " + n.disk.lastIndex()
                + " committed hint " + n.committedHint
                + (n.member ? "" : " (restoring)"));
        n.start();
        for (SimNode other : nodes.values()) {
            if (other == n) {
                continue;
            }
            if (!other.up || cutLinks.contains(link(n.id, other.id))) {
                n.core.peerConnectivity(other.id, false);
            } else {
                other.core.peerConnectivity(n.id, true);
                afterInput(other);
            }
        }
        afterInput(n);
    }

    private void partition() {
        List<Integer> side = new ArrayList<>();
        for (int id : ids) {
            if (random.nextBoolean()) {
                side.add(id);
            }
        }
        boolean oneWay = random.nextInt(5) == 0;
        boolean noticed = random.nextInt(10) < 7;
        traceEvent(() -> "partition " + side + (oneWay ? " one-way" : "") + (noticed ? "" : " unnoticed"));
        for (int a : side) {
            for (int b : ids) {
                if (side.contains(b)) {
                    continue;
                }
                cutLinks.add(link(a, b));
                if (!oneWay) {
                    cutLinks.add(link(b, a));
                }
                if (noticed) {
                    notifyConnectivity(a, b, false);
                    notifyConnectivity(b, a, false);
                }
            }
        }
        schedule(5 + random.nextInt(60), Kind.HEAL, 0, null);
    }

    private void heal() {
        if (cutLinks.isEmpty()) {
            return;
        }
        traceEvent(() -> "heal");
        cutLinks.clear();
        for (int a : ids) {
            for (int b : ids) {
                if (a != b && nodes.get(b).up) {
                    notifyConnectivity(a, b, true);
                }
            }
        }
    }

    private void notifyConnectivity(int at, int peer, boolean connected) {
        SimNode n = nodes.get(at);
        if (n.up) {
            n.core.peerConnectivity(peer, connected);
            afterInput(n);
        }
    }

    /** Stops every fault, brings every node back, and requires a leader and a converged log. */
    private void quiet() {
        chaos = false;
        for (SimNode n : nodes.values()) {
            n.pausedUntil = 0;
        }
        heal();
        for (SimNode n : nodes.values()) {
            restart(n);
        }
        long deadline = now + options.quietTicks();
        long marker = -1;
        long markerEpoch = -1;
        while (now < deadline) {
            step();
            SimNode leader = stableLeader();
            if (leader == null) {
                continue;
            }
            if (leader.core.status().epoch() != markerEpoch) {
                // A new leader: an earlier final entry may have been lost with the old one.
                markerEpoch = leader.core.status().epoch();
                try {
                    marker = leader.core.propose(ByteString.copyFromUtf8("final"));
                } catch (NotLeaderException e) {
                    fail("leader " + leader.id + " refused the final proposal");
                }
                afterInput(leader);
            }
            long target = marker;
            // Every wiped node must be restored too (each has heard from all by now).
            if (target > 0 && nodes.values().stream().allMatch(n -> n.appliedIndex >= target && n.member)
                    && committed.size() >= target
                    && committed.get((int) target - 1).getCommand().toStringUtf8().equals("final")) {
                return;
            }
        }
        StringBuilder state = new StringBuilder();
        for (SimNode n : nodes.values()) {
            state.append("\n  node ").append(n.id).append(": ").append(n.core.status())
                    .append(" durable=").append(n.disk.durableIndex()).append(" saved=").append(n.saved);
        }
        fail("liveness: no single leader with a converged log " + options.quietTicks()
                + " quiet ticks after the faults stopped (final entry at " + marker + ")" + state);
    }

    private SimNode stableLeader() {
        SimNode leader = null;
        for (SimNode n : nodes.values()) {
            if (n.core.role() == Role.LEADER) {
                if (leader != null) {
                    return null;
                }
                leader = n;
            }
        }
        if (leader == null) {
            return null;
        }
        for (SimNode n : nodes.values()) {
            if (n.core.status().leaderId() != leader.id) {
                return null;
            }
        }
        return leader;
    }

    // ------------------------------------------------------------------ invariants

    private void apply(SimNode n, Entry entry) {
        long index = n.appliedIndex + 1;
        if (entry.getIndex() != index) {
            fail("node " + n.id + " applied index " + entry.getIndex() + " after " + n.appliedIndex);
        }
        n.appliedIndex = index;
        long epoch = n.core.status().epoch();
        if (index <= committed.size()) {
            Entry known = committed.get((int) index - 1);
            if (!known.equals(entry)) {
                fail("apply order: node " + n.id + " applied " + brief(entry) + " at " + index
                        + " where another node applied " + brief(known));
            }
            if (epoch < commitEpoch.get((int) index - 1)) {
                commitEpoch.set((int) index - 1, epoch);
            }
        } else {
            committed.add(entry);
            commitEpoch.add(epoch);
        }
        switch (options.commitHints()) {
            case SAFE -> {
                if (index % 3 != 0) {
                    n.committedHint = Math.max(n.committedHint, Math.min(index, n.disk.durableIndex()));
                }
            }
            case UNSAFE_LAST_INDEX -> n.committedHint = Math.max(n.committedHint, n.disk.lastIndex());
            case OFF -> { }
        }
    }

    private void checkEveryStep() {
        // Committed entries never disappear: a majority always holds the last one durably,
        // and by log matching everything before it.
        if (committed.isEmpty()) {
            return;
        }
        int last = committed.size();
        long epoch = committed.get(last - 1).getEpoch();
        if (!options.diskLossRule()) {
            return; // wiped voters break this at once; the rule-less run looks for the real damage
        }
        // With lost disks: a node without its state (restoring) stands in for a holder, since it
        // counts toward no majority; once it votes again it must be a holder itself.
        int holders = 0;
        for (SimNode n : nodes.values()) {
            if (!n.member || holds(n, last, epoch)) {
                holders++;
            }
        }
        if (holders < majority) {
            fail("committed entry " + last + " (epoch " + epoch + ") is durable on only " + holders
                    + " nodes (restoring ones included), fewer than a majority");
        }
    }

    /**
     * Log matching over whole logs, independent of the per-append check: wherever two logs
     * hold the same (epoch, index), they are identical up to it.
     */
    private void checkLogMatchingPairwise() {
        for (SimNode a : nodes.values()) {
            for (SimNode b : nodes.values()) {
                if (a.id >= b.id) {
                    continue;
                }
                long i = Math.min(a.disk.lastIndex(), b.disk.lastIndex());
                long floor = Math.max(a.disk.firstIndex(), b.disk.firstIndex()) - 1;
                while (i > floor && a.disk.epochAt(i) != b.disk.epochAt(i)) {
                    i--;
                }
                for (long j = Math.max(a.disk.firstIndex(), b.disk.firstIndex()); j <= i; j++) {
                    if (!a.disk.entry(j).equals(b.disk.entry(j))) {
                        fail("log matching: nodes " + a.id + " and " + b.id + " share (epoch " + a.disk.epochAt(i)
                                + ", index " + i + ") but differ at " + j);
                    }
                }
            }
        }
    }

    /** Every entry committed in an earlier epoch is in the log of the new leader. */
    private void checkLeaderCompleteness(SimNode leader, long epoch) {
        for (int i = committed.size(); i >= 1; i--) {
            if (commitEpoch.get(i - 1) < epoch) {
                Entry expected = committed.get(i - 1);
                if (leader.snapshot != null && i <= leader.snapshot.index()) {
                    return; // in its snapshot, which holds committed state only
                }
                if (leader.disk.lastIndex() < i || i < leader.disk.firstIndex()
                        || !leader.disk.entry(i).equals(expected)) {
                    fail("leader completeness: node " + leader.id + " leads epoch " + epoch
                            + " without committed entry " + brief(expected));
                }
                return; // log matching covers everything before it
            }
        }
    }

    // ------------------------------------------------------------------ reporting

    private void fail(String message) {
        throw new InvariantViolation(header() + message + replay());
    }

    private String header() {
        return "simulation of " + size + " nodes, seed " + seed + ", step " + steps + ", tick " + now + ": ";
    }

    private String replay() {
        StringBuilder b = new StringBuilder();
        b.append("\nReplay exactly: mvn -B -o -pl messenger-cluster -am test -Dtest=ClusterSimulationTest")
                .append(" -Dsurefire.failIfNoSpecifiedTests=false -Dsim.size=").append(size)
                .append(" -Dsim.seed=").append(seed).append(" [-Dsim.trace=true]");
        if (!trace.isEmpty()) {
            b.append("\nLast events:");
            for (String t : trace.subList(Math.max(0, trace.size() - 400), trace.size())) {
                b.append("\n  ").append(t);
            }
        }
        return b.toString();
    }

    private void traceEvent(java.util.function.Supplier<String> what) {
        if (options.trace()) {
            trace.add("t=" + now + " " + what.get());
        }
    }

    private static long link(int from, int to) {
        return ((long) from << 32) | to;
    }

    private static String describe(EntryFact f) {
        return "'" + f.command().toStringUtf8() + "'/prev epoch " + f.prevEpoch();
    }

    private static String brief(Entry e) {
        return "(epoch " + e.getEpoch() + ", index " + e.getIndex() + ", '" + e.getCommand().toStringUtf8() + "')";
    }

    private static String brief(PeerEnvelope e) {
        String body = switch (e.getBodyCase()) {
            case APPEND -> "Append(prev " + e.getAppend().getPrevIndex() + "/" + e.getAppend().getPrevEpoch()
                    + ", " + e.getAppend().getEntriesCount() + " entries, commit " + e.getAppend().getCommitIndex() + ")";
            case APPEND_RESULT -> "AppendResult(" + e.getAppendResult().getSuccess() + ", match "
                    + e.getAppendResult().getMatchIndex() + ", hint " + e.getAppendResult().getHintIndex() + ")";
            case ELECTION_TOKEN -> "Token(epoch " + e.getElectionToken().getEpoch() + ", initiator "
                    + e.getElectionToken().getInitiator() + ", participants " + e.getElectionToken().getParticipantsList()
                    + ", candidate " + e.getElectionToken().getCandidate() + ")";
            case ELECTED -> "Elected(epoch " + e.getElected().getEpoch() + ", leader " + e.getElected().getLeader() + ")";
            case HEARTBEAT -> "Heartbeat(commit " + e.getHeartbeat().getCommitIndex() + ")";
            case HEARTBEAT_REPLY -> "HeartbeatReply(match " + e.getHeartbeatReply().getMatchIndex() + ")";
            default -> e.getBodyCase().toString();
        };
        return "[epoch " + e.getEpoch() + "] " + body;
    }
}
