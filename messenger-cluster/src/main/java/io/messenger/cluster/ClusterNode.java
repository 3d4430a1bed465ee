package io.messenger.cluster;

import com.google.protobuf.ByteString;
import io.messenger.cluster.core.CoreConfig;
import io.messenger.cluster.core.Outbound;
import io.messenger.cluster.core.Ready;
import io.messenger.cluster.core.ReplicationCore;
import io.messenger.cluster.storage.FileStateStore;
import io.messenger.cluster.storage.LogStorageOptions;
import io.messenger.cluster.storage.SegmentedLogStorage;
import io.messenger.cluster.storage.StandingStore;
import java.nio.file.Files;
import io.messenger.cluster.transport.PeerEvents;
import io.messenger.cluster.transport.PeerLinkSettings;
import io.messenger.cluster.transport.PeerTransport;
import io.messenger.proto.peer.Entry;
import io.messenger.proto.peer.PeerEnvelope;
import io.netty.channel.DefaultEventLoop;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Queue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running node of the replicated log: its durable log and election state, its peer
 * links, and the consensus core driven on one dedicated thread (never an I/O thread, since
 * saving election state fsyncs). Every input (a 10 ms tick, a peer message, a link going up
 * or down, a proposal, fsync progress) runs on that thread and is followed by handling the
 * core's output in the order safety needs: save the election state, then send, then apply
 * committed commands to the {@link StateMachine} and complete their proposers' futures.
 *
 * <p>Start one with {@link #start(ClusterConfig, StateMachine)}; {@link #close()} stops it.
 * Proposal futures complete, and listeners are called, on the node's thread right after the
 * command is applied and the status showing it is published: dependent actions must not block
 * (hop to another executor if they do).
 */
public final class ClusterNode implements Replicator, AutoCloseable {

    /** The core's clock: every election and heartbeat duration is counted in these ticks. */
    public static final Duration TICK = Duration.ofMillis(10);

    /** Most queued proposals handed to the core before its output is handled once. */
    static final int PROPOSAL_BATCH = 256;

    /**
     * Most peer messages waiting for the node's thread. Beyond it they are dropped, like the
     * transport drops sends: the protocol retries, and memory stays bounded when the thread
     * falls behind (a slow state machine, a stalled disk).
     */
    static final int MAX_INBOUND_BACKLOG = 10_000;

    /** At most one log line per this interval about refused peer messages. */
    static final Duration REFUSAL_LOG_INTERVAL = Duration.ofSeconds(1);

    /** How long a learner may find no leader before it says a majority may have lost its state. */
    static final Duration LEARNER_WARNING = Duration.ofSeconds(10);

    private static final Logger log = LoggerFactory.getLogger(ClusterNode.class);

    private final ClusterConfig config;
    private final StateMachine stateMachine;
    private final DefaultEventLoop loop;
    private final List<ClusterListener> listeners = new CopyOnWriteArrayList<>();
    private final Queue<Proposal> proposals = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean proposalsScheduled = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Completes once {@link #close()} has released everything. */
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();
    private final AtomicLong applyFailures = new AtomicLong();
    private final AtomicLong leadershipChanges = new AtomicLong();
    private final AtomicLong commits = new AtomicLong();
    private final AtomicLong electionsWon = new AtomicLong();
    private volatile long electionsStarted;
    /** Per backup, entries it lags behind this node's log while this node leads; 0 otherwise. */
    private final Map<Integer, AtomicLong> replicationLag;
    private volatile LongConsumer commitLatencyObserver = nanos -> { };
    private volatile LongConsumer fsyncObserver = nanos -> { };
    private final AtomicInteger inboundBacklog = new AtomicInteger();
    private final AtomicLong inboundDropped = new AtomicLong();
    private final AtomicLong refusedPeerMessages = new AtomicLong();
    private final PeerMessageValidator validator;
    /** Refusals not logged since the last refusal line (one line per interval at most). */
    private long refusalsNotLogged;
    private long lastRefusalLogNanos;

    // Owned by the loop thread.
    private final Map<Long, Proposal> pending = new HashMap<>();
    private FileStateStore stateStore;
    private StandingStore standingStore;
    /** Published from the loop for /status: FRESH, RESTORING or MEMBER. */
    private volatile String standing = "MEMBER";
    private volatile long restoreBarrier;
    private long learnerSinceNanos = System.nanoTime();
    private long lastLearnerWarningNanos;
    private SegmentedLogStorage logStorage;
    private SnapshotManager snapshots;
    private ReplicationCore core;
    private PeerTransport transport;
    private ScheduledFuture<?> ticker;
    private long appliedIndex;
    private long pendingEpoch;

    private volatile ClusterStatus status;

    private ClusterNode(ClusterConfig config, StateMachine stateMachine) {
        this.config = config;
        this.stateMachine = stateMachine;
        this.loop = new DefaultEventLoop(new DefaultThreadFactory("cluster-core-" + config.nodeId()));
        this.validator = PeerMessageValidator.of(config);
        this.status = new ClusterStatus(config.nodeId(), Role.BACKUP, 0, 0, "", 0, 0, 0, 0);
        Map<Integer, AtomicLong> lag = new LinkedHashMap<>();
        for (Member member : config.members()) {
            if (member.id() != config.nodeId()) {
                lag.put(member.id(), new AtomicLong());
            }
        }
        this.replicationLag = Collections.unmodifiableMap(lag);
    }

    /**
     * Opens the node's storage under {@code config.dataDir()} (the log in {@code log/}, the
     * election state beside it), binds the peer port of {@code config.self()}, starts dialling
     * the other members and starts the core. Returns once the node runs; with one member it
     * elects itself within a tick or two.
     *
     * @throws IllegalStateException if the data directory is locked by another node or the
     *     peer port cannot be bound
     * @throws java.io.UncheckedIOException if the storage cannot be opened
     */
    public static ClusterNode start(ClusterConfig config, StateMachine stateMachine) {
        ClusterNode node = new ClusterNode(config, stateMachine);
        try {
            node.loop.submit(node::open).syncUninterruptibly();
        } catch (RuntimeException e) {
            node.closeResources();
            throw e;
        }
        log.info("node {} started: members {}, data in {}, peer port {}:{}", config.nodeId(), config.members(),
                config.dataDir(), config.peerBindHost(), config.self().peerPort());
        return node;
    }

    /** On the loop: everything the core touches is created on the thread that drives it. */
    private void open() {
        // The log first: opening it locks the data directory, so a second node pointed at the same
        // directory is refused before it touches the election state (whose open clears a temp file
        // that a running node may be about to rename).
        logStorage = SegmentedLogStorage.open(config.dataDir().resolve("log"), config.snapshots().logOptions(),
                durableIndex -> onLoop(() -> core.durable(durableIndex)));
        logStorage.observeFsyncs(nanos -> fsyncObserver.accept(nanos));
        boolean hadElectionState = Files.exists(config.dataDir().resolve("election-state"));
        stateStore = FileStateStore.open(config.dataDir());
        // Lost disks: the standing file is written before anything else in an empty directory,
        // so its absence next to state means data from a build before it (a member), and its
        // absence in an empty directory means a first start or a lost disk: a learner either way
        // until every member says it is fresh too (a new cluster) or it is restored.
        standingStore = new StandingStore(config.dataDir());
        StandingStore.Standing saved = standingStore.load();
        boolean nothingDurable = logStorage.lastIndex() == 0 && !hadElectionState;
        boolean empty = false;
        if (saved == StandingStore.Standing.EMPTY) {
            // No standing file: an empty directory is fresh; state without one is a member's
            // from a build before lost-disk handling.
            saved = nothingDurable ? StandingStore.Standing.FRESH : StandingStore.Standing.MEMBER;
            standingStore.save(saved);
        }
        if (saved == StandingStore.Standing.FRESH) {
            // A fresh node writes nothing before it learns that the cluster exists (the first
            // message from a member with state): with nothing written it is still fresh.
            empty = nothingDurable;
            if (!empty) {
                saved = StandingStore.Standing.LEARNER;
                standingStore.save(saved);
            }
        }
        boolean voter = saved == StandingStore.Standing.MEMBER;
        core = new ReplicationCore(CoreConfig.from(config, TICK), logStorage, stateStore.load(),
                new SplittableRandom(), voter);
        if (empty) {
            core.startFresh();
            log.info("node {}: empty data directory; it founds a new cluster if every member is empty too,"
                    + " otherwise it is restored from the leader, and it does not vote until then", config.nodeId());
        } else if (!voter) {
            log.warn("node {}: this node lost its state (or was interrupted while restoring): it takes no part in"
                    + " elections or majorities until it is restored from the leader", config.nodeId());
        }
        standing = voter ? "MEMBER" : empty ? "FRESH" : "RESTORING";
        // Snapshots: the state machine starts from the latest one, and only the log after it is applied.
        snapshots = new SnapshotManager(config.nodeId(), config.dataDir(), config.snapshots(), stateMachine,
                logStorage, loop::execute);
        long restoredIndex = snapshots.restoreLatest();
        if (restoredIndex > 0) {
            core.snapshotRestored(restoredIndex);
            appliedIndex = restoredIndex;
        }
        // A peer counts as reachable only once its link is up. The core starts out trusting
        // every peer, and the transport reports a link as down only after it was once up, so
        // without this a node restarted while a peer is dead would hand every election token
        // to that peer and no election could finish until it returned.
        for (Member member : config.members()) {
            if (member.id() != config.nodeId()) {
                core.peerConnectivity(member.id(), false);
            }
        }
        transport = new PeerTransport(config, PeerLinkSettings.from(config), new PeerEvents() {
            @Override
            public void envelope(PeerEnvelope envelope) {
                if (inboundBacklog.incrementAndGet() > MAX_INBOUND_BACKLOG) {
                    inboundBacklog.decrementAndGet();
                    inboundDropped.incrementAndGet();
                    return;
                }
                onLoop(() -> {
                    inboundBacklog.decrementAndGet();
                    String problem = validator.problemWith(envelope, core.durableState().epoch());
                    if (problem != null) {
                        refuse(envelope, problem);
                        return;
                    }
                    core.receive(envelope);
                });
            }

            @Override
            public void peerConnectivity(int peerId, boolean up) {
                onLoop(() -> core.peerConnectivity(peerId, up));
            }

            @Override
            public void peerClientAddress(int peerId, String clientAddress) {
                onLoop(() -> core.memberClientAddress(peerId, clientAddress));
            }
        }).start();
        ticker = loop.scheduleAtFixedRate(() -> {
            try {
                core.tick();
            } catch (RuntimeException e) {
                halt("a tick", e);
                return;
            }
            handleReady();
        }, TICK.toNanos(), TICK.toNanos(), TimeUnit.NANOSECONDS);
        handleReady();
    }

    /**
     * On the loop: counts a peer message the validator refused and logs it, at most one line
     * per {@link #REFUSAL_LOG_INTERVAL} so that a flood of bad messages cannot flood the log.
     */
    private void refuse(PeerEnvelope envelope, String problem) {
        refusedPeerMessages.incrementAndGet();
        long now = System.nanoTime();
        if (lastRefusalLogNanos != 0 && now - lastRefusalLogNanos < REFUSAL_LOG_INTERVAL.toNanos()) {
            refusalsNotLogged++;
            return;
        }
        log.warn("node {}: refused a {} from peer {}: {}{}", config.nodeId(), envelope.getBodyCase(),
                envelope.getFrom(), problem,
                refusalsNotLogged == 0 ? "" : " (and " + refusalsNotLogged + " more refused since the last such line)");
        refusalsNotLogged = 0;
        lastRefusalLogNanos = now;
    }

    /** Runs an input on the loop, then handles what the core produced. */
    private void onLoop(Runnable input) {
        try {
            loop.execute(() -> {
                if (core == null || closed.get()) {
                    return;
                }
                try {
                    input.run();
                } catch (RuntimeException e) {
                    halt("an input", e);
                    return;
                }
                handleReady();
            });
        } catch (RejectedExecutionException e) {
            // The node is closing: its core takes no more input, and nothing is lost that
            // the protocol relies on (peers retry, the log re-reads durability on restart).
            log.debug("node {} closing, input ignored", config.nodeId());
        }
    }

    @Override
    public CompletableFuture<Object> propose(byte[] command) {
        CompletableFuture<Object> future = new CompletableFuture<>();
        if (closed.get()) {
            future.completeExceptionally(new NotLeaderException(0, ""));
            return future;
        }
        proposals.add(new Proposal(ByteString.copyFrom(command), future, System.nanoTime()));
        if (proposalsScheduled.compareAndSet(false, true)) {
            try {
                loop.execute(this::proposeQueued);
            } catch (RejectedExecutionException e) {
                failQueuedProposals(new NotLeaderException(0, ""));
            }
        }
        return future;
    }

    /** On the loop: hands a batch of queued proposals to the core, then handles the output once. */
    private void proposeQueued() {
        proposalsScheduled.set(false);
        if (closed.get()) {
            failQueuedProposals(new NotLeaderException(0, ""));
            return;
        }
        int batch = 0;
        Proposal proposal;
        while (batch < PROPOSAL_BATCH && (proposal = proposals.poll()) != null) {
            batch++;
            try {
                long index = core.propose(proposal.command);
                proposal.epoch = core.status().epoch();
                pendingEpoch = proposal.epoch;
                pending.put(index, proposal);
            } catch (NotLeaderException e) {
                proposal.future.completeExceptionally(e);
            } catch (RuntimeException e) {
                // The log refused the write (its writer failed): the rest of the batch now
                // meets a stopped core and fails with NotLeaderException.
                proposal.future.completeExceptionally(e);
                halt("a proposal", e);
            }
        }
        if (!proposals.isEmpty() && proposalsScheduled.compareAndSet(false, true)) {
            // Leave room for ticks and peer messages between batches.
            loop.execute(this::proposeQueued);
        }
        handleReady();
    }

    private void failQueuedProposals(NotLeaderException cause) {
        Proposal proposal;
        while ((proposal = proposals.poll()) != null) {
            proposal.future.completeExceptionally(cause);
        }
    }

    /** On the loop: the driver contract of {@link Ready}: save, then send, then apply. */
    private void handleReady() {
        Ready ready = core.drain();
        if (ready.stateToSave() != null) {
            try {
                stateStore.save(ready.stateToSave());
            } catch (RuntimeException e) {
                // Acting on a promise that is not on disk could let two leaders win one epoch:
                // this node must stop rather than send anything.
                log.error("node {} cannot save its election state, stopping: {}", config.nodeId(), e.toString());
                core.stop();
                core.drain();
                publishStatus(true);
                return;
            }
        }
        if (ready.restored()) {
            try {
                standingStore.save(StandingStore.Standing.MEMBER);
            } catch (RuntimeException e) {
                log.error("node {} cannot save its standing, stopping: {}", config.nodeId(), e.toString());
                core.stop();
                core.drain();
                publishStatus(true);
                return;
            }
            log.info("node {}: {}; it now votes and counts toward majorities", config.nodeId(),
                    "RESTORING".equals(standing) ? "restored from the leader" : "founding member of a new cluster");
        }
        for (Outbound message : ready.messages()) {
            transport.send(message.to(), message.envelope());
        }
        List<Runnable> completions = new ArrayList<>();
        for (Entry entry : ready.committed()) {
            apply(entry, completions);
        }
        if (!ready.committed().isEmpty()) {
            snapshots.afterApply(appliedIndex, logStorage.durableIndex());
        }
        for (int peer : core.takeSnapshotsNeeded()) {
            log.warn("node {}: backup {} needs entries below this log's first index {}, which only a snapshot"
                    + " holds now", config.nodeId(), peer, logStorage.firstIndex());
        }
        // Published before any proposer hears of its commit: a caller that has a proposal's
        // result and then reads status() sees an applied index at least that far.
        publishStatus(ready.statusChanged());
        completions.forEach(Runnable::run);
    }

    /**
     * On the loop: the core or its log threw (a failed log writer refuses every write). The core
     * may be half-way through a change, and a leader that cannot write would keep heartbeating
     * and so keep the others from replacing it: the node goes silent for good, like when its
     * election state cannot be saved, and its pending proposals fail.
     */
    private void halt(String during, RuntimeException e) {
        if (core.role() == Role.STOPPED) {
            return;
        }
        log.error("node {}: the consensus core failed during {}, stopping it", config.nodeId(), during, e);
        core.stop();
        core.drain();
        publishStatus(true);
    }

    /** Applies one committed entry; what its proposer is told is added to {@code completions}. */
    private void apply(Entry entry, List<Runnable> completions) {
        long index = entry.getIndex();
        Proposal proposal = pending.remove(index);
        Object result = null;
        Throwable failure = null;
        if (!entry.getCommand().isEmpty()) {
            commits.incrementAndGet();
            try {
                result = stateMachine.apply(index, entry.getCommand());
            } catch (RuntimeException e) {
                applyFailures.incrementAndGet();
                log.error("node {}: the state machine failed on entry {}; its state may now differ from other nodes'",
                        config.nodeId(), index, e);
                failure = e;
            }
        }
        appliedIndex = index;
        if (proposal == null) {
            return;
        }
        CompletableFuture<Object> future = proposal.future;
        if (proposal.epoch != entry.getEpoch()) {
            // Another leader's entry took this index: ours was cut off with our leadership.
            ClusterStatus now = core.status();
            NotLeaderException cause = new NotLeaderException(now.leaderId(), now.leaderClientAddress());
            completions.add(() -> future.completeExceptionally(cause));
        } else if (failure != null) {
            Throwable cause = failure;
            completions.add(() -> future.completeExceptionally(cause));
        } else {
            commitLatencyObserver.accept(System.nanoTime() - proposal.proposedNanos);
            Object value = result;
            completions.add(() -> future.complete(value));
        }
    }

    private void publishStatus(boolean changed) {
        ClusterStatus now = core.status();
        String nextStanding = core.isVoter() ? "MEMBER" : core.isFresh() ? "FRESH" : "RESTORING";
        if (!nextStanding.equals(standing) && "RESTORING".equals(nextStanding)) {
            log.warn("node {}: the cluster exists but this node has no state (a lost or wiped data directory):"
                    + " it is restored from the leader before it votes again", config.nodeId());
        }
        standing = nextStanding;
        restoreBarrier = core.restoreBarrier();
        if (core.isVoter()) {
            learnerSinceNanos = System.nanoTime();
        } else if (now.leaderId() == 0 && System.nanoTime() - learnerSinceNanos > LEARNER_WARNING.toNanos()
                && System.nanoTime() - lastLearnerWarningNanos > LEARNER_WARNING.toNanos()) {
            lastLearnerWarningNanos = System.nanoTime();
            log.error("node {} has no state of its own and has found no leader to restore from for {} s. If a majority"
                    + " of the members lost their data directories, the cluster cannot elect a leader and refuses to"
                    + " serve rather than come up empty and issue room sequences again. Restore those data directories"
                    + " from a backup, or, to start an empty cluster (every message lost), stop every node and wipe"
                    + " every data directory.", config.nodeId(),
                    (System.nanoTime() - learnerSinceNanos) / 1_000_000_000L);
        }
        // Links that are actually up, rather than the core's view (which counts a peer as
        // reachable until a link to it is seen to fail).
        int connected = transport == null ? 0 : transport.connectedPeerCount();
        ClusterStatus next = new ClusterStatus(now.nodeId(), now.role(), now.epoch(), now.leaderId(),
                now.leaderClientAddress(), now.lastIndex(), now.commitIndex(), appliedIndex, connected);
        if (changed && !pending.isEmpty() && (now.role() != Role.LEADER || now.epoch() != pendingEpoch)) {
            // Proposals of a lost leadership may still commit under the next leader, but this
            // node can no longer tell when: the proposer resends and the state machine dedups.
            // Failed before the new role is published, so whoever sees the role sees them failed.
            NotLeaderException cause = new NotLeaderException(now.leaderId(), now.leaderClientAddress());
            List<Proposal> lost = new ArrayList<>(pending.values());
            pending.clear();
            lost.forEach(p -> p.future.completeExceptionally(cause));
        }
        boolean leading = now.role() == Role.LEADER;
        for (Map.Entry<Integer, AtomicLong> peer : replicationLag.entrySet()) {
            long match = leading ? core.matchIndex(peer.getKey()) : -1;
            peer.getValue().set(match < 0 ? 0 : Math.max(0, now.lastIndex() - match));
        }
        electionsStarted = core.electionsOpened();
        ClusterStatus previous = status;
        status = next;
        if (!changed) {
            return;
        }
        if (previous == null || previous.epoch() != next.epoch() || previous.leaderId() != next.leaderId()) {
            leadershipChanges.incrementAndGet();
        }
        if (leading && (previous == null || previous.role() != Role.LEADER)) {
            electionsWon.incrementAndGet();
        }
        log.info("node {}: {} in epoch {}, leader {}", now.nodeId(), now.role(), now.epoch(), now.leaderId());
        for (ClusterListener listener : listeners) {
            try {
                listener.onLeadershipChange(status);
            } catch (RuntimeException e) {
                log.error("node {}: a cluster listener failed", config.nodeId(), e);
            }
        }
    }

    @Override
    public ClusterStatus status() {
        return status;
    }

    @Override
    public void addListener(ClusterListener listener) {
        listeners.add(listener);
    }

    /** How many times this node has seen the epoch or the leader change since it started. */
    public long leadershipChanges() {
        return leadershipChanges.get();
    }

    /** Commands (entries with a command) this node has applied since it started. */
    public long commits() {
        return commits.get();
    }

    /** Elections this node has opened as initiator since it started. */
    public long electionsStarted() {
        return electionsStarted;
    }

    /** Times this node has become leader since it started. */
    public long electionsWon() {
        return electionsWon.get();
    }

    /** The other members' ids, in configuration order. */
    public Set<Integer> peerIds() {
        return replicationLag.keySet();
    }

    /**
     * Entries of this node's log that {@code peerId} has not confirmed, as of the last input
     * handled; 0 while this node does not lead.
     */
    public long replicationLag(int peerId) {
        AtomicLong lag = replicationLag.get(peerId);
        return lag == null ? 0 : lag.get();
    }

    /** Whether this node's link to {@code peerId} is up now. */
    public boolean peerLinkUp(int peerId) {
        PeerTransport links = transport;
        return links != null && links.connectedPeers().contains(peerId);
    }

    /**
     * Installs what is told, in nanoseconds, each commit latency (from {@link #propose} to the
     * commit being applied, for this node's own proposals, so only while it leads) and each log
     * fsync. Both are called on the node's threads: they must be quick and must not throw.
     */
    public void observeLatencies(LongConsumer commitLatency, LongConsumer fsync) {
        commitLatencyObserver = Objects.requireNonNull(commitLatency, "commitLatency");
        fsyncObserver = Objects.requireNonNull(fsync, "fsync");
    }

    /** The configuration this node runs with. */
    public ClusterConfig config() {
        return config;
    }

    /**
     * The node's view as a flat map for the admin endpoint's {@code /status}: the fields of
     * {@link #status()} plus peer-link counters.
     */
    public Map<String, Object> statusReport() {
        ClusterStatus s = status;
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("nodeId", s.nodeId());
        report.put("cluster", config.clusterName());
        report.put("role", s.role().name());
        report.put("epoch", s.epoch());
        report.put("leaderId", s.leaderId());
        report.put("leaderClientAddress", s.leaderClientAddress());
        report.put("lastIndex", s.lastIndex());
        report.put("commitIndex", s.commitIndex());
        report.put("appliedIndex", s.appliedIndex());
        report.put("connectedPeers", s.connectedPeers());
        report.put("members", config.members().size());
        report.put("standing", standing);
        report.put("restoring", !"MEMBER".equals(standing));
        report.put("restoreBarrier", restoreBarrier);
        PeerTransport links = transport;
        report.put("droppedPeerMessages", links == null ? 0L : links.dropped());
        report.put("droppedInboundPeerMessages", inboundDropped.get());
        report.put("refusedPeerMessages", refusedPeerMessages.get());
        report.put("applyFailures", applyFailures.get());
        SnapshotManager snaps = snapshots;
        SegmentedLogStorage logs = logStorage;
        report.put("snapshotIndex", snaps == null ? 0L : snaps.snapshotIndex());
        report.put("firstLogIndex", logs == null ? 1L : logs.firstIndex());
        report.put("logBytes", logs == null ? 0L : logs.sizeInBytes());
        return report;
    }

    /**
     * Stops the node: no more ticks or input, pending proposals fail with
     * {@link NotLeaderException}, peer links close, and the log finishes its fsyncs. Idempotent;
     * a later call waits for the first to finish. Called on the node's own thread (from a
     * listener or a proposal callback) it returns at once and the node stops right after.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            if (!loop.inEventLoop()) {
                stopped.join();
            }
            return;
        }
        if (loop.inEventLoop()) {
            // Called from a listener or a proposal callback: the node's own thread cannot wait
            // for itself to stop, so another thread does the waiting.
            Thread closer = new Thread(this::stop, "cluster-close-" + config.nodeId());
            closer.start();
            return;
        }
        stop();
    }

    private void stop() {
        if (!loop.isShuttingDown()) {
            loop.submit(() -> {
                if (ticker != null) {
                    ticker.cancel(false);
                }
                if (core != null) {
                    core.stop();
                    core.drain();
                    NotLeaderException cause = new NotLeaderException(0, "");
                    pending.values().forEach(p -> p.future.completeExceptionally(cause));
                    pending.clear();
                    failQueuedProposals(cause);
                    publishStatus(true);
                }
            }).awaitUninterruptibly(10, TimeUnit.SECONDS);
        }
        try {
            closeResources();
        } finally {
            stopped.complete(null);
        }
        log.info("node {} stopped", config.nodeId());
    }

    private void closeResources() {
        if (transport != null) {
            transport.close();
        }
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(10, TimeUnit.SECONDS);
        if (snapshots != null) {
            snapshots.close(); // a snapshot being written finishes; its compaction is skipped
        }
        // After the loop: nothing appends any more, so closing finishes every queued fsync.
        if (logStorage != null) {
            logStorage.close();
        }
        failQueuedProposals(new NotLeaderException(0, ""));
    }

    /** A command waiting in the queue, then in the log, for its commit. */
    private static final class Proposal {
        final ByteString command;
        final CompletableFuture<Object> future;
        final long proposedNanos;
        long epoch;

        Proposal(ByteString command, CompletableFuture<Object> future, long proposedNanos) {
            this.command = command;
            this.future = future;
            this.proposedNanos = proposedNanos;
        }
    }
}
