package io.messenger.cluster;

import com.google.protobuf.ByteString;
import io.messenger.cluster.core.CoreConfig;
import io.messenger.cluster.core.Outbound;
import io.messenger.cluster.core.Ready;
import io.messenger.cluster.core.ReplicationCore;
import io.messenger.cluster.storage.CommittedIndexStore;
import io.messenger.cluster.storage.FileStateStore;
import io.messenger.cluster.storage.LogStorageOptions;
import io.messenger.cluster.storage.SegmentedLogStorage;
import io.messenger.cluster.storage.SnapshotStore;
import io.messenger.cluster.storage.StandingStore;
import java.nio.file.Files;
import io.messenger.cluster.transport.PeerEvents;
import io.messenger.cluster.transport.PeerIdentity;
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
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running node of the replicated log: its durable log and election state, its peer
 * links, and the consensus core driven on one dedicated thread (never an I/O thread, since
 * saving election state fsyncs). Every input (a 10 ms tick, a peer message, a link going up
 * or down, a proposal, fsync progress) runs on that thread and is followed by handling the
 * core's output in the order safety needs: save the election state, then send, then hand the
 * committed commands, in order, to the {@link Applier}'s thread, which applies them to the
 * {@link StateMachine} and completes their proposers' futures. The core thread never applies
 * and never waits for the apply thread, so heartbeats and their answers keep flowing while a
 * restarted node replays its log or the state machine is slow; it hands over at most
 * {@link #MAX_HANDOVER} entries per turn, so reading them from the log does not hold it up either.
 *
 * <p>Start one with {@link #start(ClusterConfig, StateMachine)}; {@link #close()} stops it.
 * Proposal futures complete on the apply thread right after the command is applied and the
 * status showing it is published; listeners are called on the core thread. Neither may block
 * (hop to another executor if they must).
 */
public final class ClusterNode implements Replicator, AutoCloseable {

    /** The core's clock: every election and heartbeat duration is counted in these ticks. */
    public static final Duration TICK = Duration.ofMillis(10);

    /** Most queued proposals handed to the core before its output is handled once. */
    static final int PROPOSAL_BATCH = 256;

    /**
     * Most committed entries handed to the apply thread per turn of the core thread; more wait
     * for the next turn, so ticks and peer messages run in between (a restarted node may have
     * its whole log to hand over).
     */
    static final int MAX_HANDOVER = 4096;

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
    private final Applier applier;
    /** Saved from the apply thread (and once at a clean stop); read once at start. */
    private final CommittedIndexStore committedIndex;
    private final AtomicLong leadershipChanges = new AtomicLong();
    private final AtomicLong electionsWon = new AtomicLong();
    private volatile long electionsStarted;
    /** Per backup, entries it lags behind this node's log while this node leads; 0 otherwise. */
    private final Map<Integer, AtomicLong> replicationLag;
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
    private volatile SegmentedLogStorage logStorage; // set once on the loop, read by status readers
    private volatile SnapshotManager snapshots;
    private volatile SnapshotTransfer transfer;
    private ReplicationCore core;
    private PeerTransport transport;
    /** The log tail applied at start by the commit hint, timed for one log line (0 once done). */
    private volatile long replayTarget;
    private long replayFrom;
    private long replayStartNanos;
    /** The peer credentials, loaded beside the storage by {@link #start}. */
    private CompletableFuture<PeerIdentity> peerIdentity;
    private ScheduledFuture<?> ticker;
    private long pendingEpoch;
    /** Whether a turn that hands over the rest of a long commit is already queued. */
    private boolean handoverScheduled;

    /** Written by the core thread (role, epoch, ...) and by the apply thread (applied index). */
    private final AtomicReference<ClusterStatus> status;

    private ClusterNode(ClusterConfig config, StateMachine stateMachine) {
        this.config = config;
        this.stateMachine = stateMachine;
        this.loop = new DefaultEventLoop(new DefaultThreadFactory("cluster-core-" + config.nodeId()));
        this.validator = PeerMessageValidator.of(config);
        this.status = new AtomicReference<>(new ClusterStatus(config.nodeId(), Role.BACKUP, 0, 0, "", 0, 0, 0, 0));
        this.applier = new Applier(config.nodeId(), stateMachine, this::publishApplied);
        this.committedIndex = new CommittedIndexStore(config.dataDir());
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
        node.applier.start();
        // The peer credentials (TLS contexts take a few hundred ms in a fresh JVM) load while the
        // storage opens; open() takes them when it builds the transport.
        node.peerIdentity = new CompletableFuture<>();
        Thread credentials = new Thread(() -> {
            try {
                long begin = System.nanoTime();
                node.peerIdentity.complete(PeerTransport.identityOf(config, PeerLinkSettings.from(config)));
                log.debug("node {}: peer credentials loaded in {} ms", config.nodeId(),
                        (System.nanoTime() - begin) / 1_000_000);
            } catch (RuntimeException | Error e) {
                node.peerIdentity.completeExceptionally(e);
            }
        }, "peer-credentials-" + config.nodeId());
        credentials.setDaemon(true);
        credentials.start();
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
        // Snapshots: the state machine starts from the latest one (which may reset a log whose
        // install was cut short), and only the log after it is applied. Before the core, which
        // reads the log's end.
        snapshots = new SnapshotManager(config.nodeId(), config.dataDir(), config.snapshots(), stateMachine,
                logStorage, loop::execute);
        long restoredIndex = snapshots.restoreLatest();
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
        if (restoredIndex > 0) {
            core.snapshotRestored(restoredIndex);
            applier.startAt(restoredIndex);
        }
        // The log tail this node knew committed before it stopped is applied now, beside the
        // peer links coming up, rather than after the leader's first heartbeat.
        long knownCommitted = knownCommitted(empty);
        if (knownCommitted > restoredIndex) {
            long replayTo = core.committedBeforeRestart(knownCommitted);
            if (replayTo > restoredIndex) {
                log.info("node {}: applies its log through {} ({} entries known committed before the restart)"
                        + " while it links to its peers", config.nodeId(), replayTo, replayTo - restoredIndex);
                replayFrom = restoredIndex;
                replayTarget = replayTo;
                replayStartNanos = System.nanoTime();
            }
        }
        // A hint saved while the apply thread is idle also covers the entries the log made durable
        // after they were applied (a backup may apply an entry before its own fsync of it).
        applier.onIdle(() -> offerCommittedHint(applier.appliedIndex()));
        // A state machine that cannot finish a batch (its store refused a write) no longer follows
        // the log: the node stops, as it does when its own log cannot be written.
        applier.onBatchFailure(e -> onLoop(() -> halt("the state machine's end of a batch", e)));
        // Snapshot capture runs on the apply thread, between two applies.
        applier.onBetweenApplies(index -> snapshots.afterApply(index, logStorage.durableIndex()));
        transfer = new SnapshotTransfer(config.nodeId(), snapshots.store(),
                (int) Math.min(config.maxAppendBytes(), config.maxFrameBytes() / 2),
                (peer, envelope) -> transport != null && transport.send(peer, envelope),
                new SnapshotTransfer.Installer() {
                    @Override
                    public void transferEnded(int peerId) {
                        onLoop(() -> core.snapshotTransferEnded(peerId));
                    }

                    @Override
                    public void received(SnapshotStore.SnapshotMeta snapshot, int leaderId, long epoch) {
                        onLoop(() -> {
                            install(snapshot);
                            transfer.answerInstalled(leaderId, epoch, snapshot.index());
                        });
                    }
                }, () -> status.get().commitIndex());
        // A peer counts as reachable only once its link is up. The core starts out trusting
        // every peer, and the transport reports a link as down only after it was once up, so
        // without this a node restarted while a peer is dead would hand every election token
        // to that peer and no election could finish until it returned.
        for (Member member : config.members()) {
            if (member.id() != config.nodeId()) {
                core.peerConnectivity(member.id(), false);
            }
        }
        PeerIdentity identity;
        try {
            identity = peerIdentity.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            if (e.getCause() instanceof Error cause) {
                throw cause;
            }
            throw e;
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
                    if (envelope.hasInstallSnapshotResult()) {
                        transfer.onResult(envelope.getFrom(), envelope.getEpoch(), envelope.getInstallSnapshotResult());
                    }
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
        }, identity).start();
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
        Ready ready = core.drain(MAX_HANDOVER);
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
        for (int peer : core.takeSnapshotsToSend()) {
            transfer.send(peer, core.durableState().epoch());
        }
        for (PeerEnvelope chunk : core.takeSnapshotChunks()) {
            transfer.onChunk(chunk);
        }
        handOver(ready.committed());
        publishStatus(ready.statusChanged());
        if (core.hasCommittedToHandOut() && !handoverScheduled) {
            handoverScheduled = true;
            loop.execute(() -> {
                handoverScheduled = false;
                if (core != null && !closed.get()) {
                    handleReady();
                }
            });
        }
    }

    /**
     * On the loop: a snapshot received from the leader is durable in the store. The core resets
     * the log to continue from it (unless the log holds its last entry already) and moves its
     * commit point there; the state machine is restored from it on the apply thread, after the
     * entries handed over before and before any handed over later. Crash order: the snapshot is
     * durable first, then the log's reset; a restart in between finds the snapshot ahead of the
     * log and resets the log itself (see {@link SnapshotManager#restoreLatest()}).
     */
    private void install(SnapshotStore.SnapshotMeta snapshot) {
        if (!core.installSnapshot(snapshot.index(), snapshot.epoch())) {
            return;
        }
        applier.runBetweenApplies(() -> {
            long start = System.nanoTime();
            try {
                stateMachine.restore(snapshot.directory());
            } catch (java.io.IOException | RuntimeException e) {
                log.error("node {}: cannot restore the state machine from the installed snapshot at index {}; stopping",
                        config.nodeId(), snapshot.index(), e);
                onLoop(() -> halt("restoring an installed snapshot", new IllegalStateException(e)));
                return;
            }
            snapshots.installed(snapshot);
            applier.restoredTo(snapshot.index());
            log.info("node {}: installed the snapshot at index {} (epoch {}) in {} ms", config.nodeId(),
                    snapshot.index(), snapshot.epoch(), (System.nanoTime() - start) / 1_000_000);
        });
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

    /**
     * On the loop: pairs committed entries with this node's proposals for them and hands them
     * to the apply thread, in log order. A proposal whose index another leader's entry took
     * was cut off with this node's leadership: its future fails.
     */
    private void handOver(List<Entry> committed) {
        if (committed.isEmpty()) {
            return;
        }
        List<Applier.Committed> batch = new ArrayList<>(committed.size());
        NotLeaderException cutOff = null;
        for (Entry entry : committed) {
            long index = entry.getIndex();
            Proposal proposal = pending.remove(index);
            if (proposal == null) {
                batch.add(new Applier.Committed(index, entry.getCommand(), null, 0, null));
                continue;
            }
            NotLeaderException cause = null;
            if (proposal.epoch != entry.getEpoch()) {
                if (cutOff == null) {
                    ClusterStatus now = core.status();
                    cutOff = new NotLeaderException(now.leaderId(), now.leaderClientAddress());
                }
                cause = cutOff;
            }
            batch.add(new Applier.Committed(index, entry.getCommand(), proposal.future, proposal.proposedNanos, cause));
        }
        applier.submit(batch);
    }

    /** On the apply thread, before the futures of entries up to {@code index} complete. */
    private void publishApplied(long index) {
        offerCommittedHint(index);
        if (replayTarget > 0 && index >= replayTarget) {
            long nanos = System.nanoTime() - replayStartNanos;
            log.info("node {}: applied the log tail through {} in {} ms ({} entries/s)", config.nodeId(), replayTarget,
                    nanos / 1_000_000, (replayTarget - replayFrom) * 1_000_000_000L / Math.max(1, nanos));
            replayTarget = 0;
        }
        status.updateAndGet(s -> s.appliedIndex() >= index ? s : new ClusterStatus(s.nodeId(), s.role(), s.epoch(),
                s.leaderId(), s.leaderClientAddress(), s.lastIndex(), s.commitIndex(), index, s.connectedPeers()));
    }

    /**
     * On the loop, at open: the index this node knew committed before it stopped, if the saved
     * hint names an entry this log holds with the same epoch; 0 otherwise. An empty directory
     * drops any hint left in it.
     */
    private long knownCommitted(boolean empty) {
        if (empty) {
            committedIndex.clear();
            return 0;
        }
        CommittedIndexStore.Committed hint = committedIndex.load();
        long index = hint.index();
        if (index == 0 || index < logStorage.firstIndex() - 1) {
            return 0; // none, or covered by the snapshot the log was compacted behind
        }
        if (index > logStorage.lastIndex()) {
            log.warn("node {}: the log ends at {} but held entry {} durably when this node last ran (a lost or"
                    + " damaged log tail); it replays only what its leader says is committed", config.nodeId(),
                    logStorage.lastIndex(), index);
            return 0;
        }
        if (logStorage.epochAt(index) != hint.epoch()) {
            log.warn("node {}: {} names entry {} of epoch {}, which this log holds with epoch {}: a file left from"
                    + " another log, ignored", config.nodeId(), config.dataDir().resolve("committed-index"), index,
                    hint.epoch(), logStorage.epochAt(index));
            return 0;
        }
        return index;
    }

    /**
     * On the apply thread, after a batch and when idle: applied means committed, and bounded by
     * what the log holds durably it is a safe restart hint ({@link CommittedIndexStore}).
     */
    private void offerCommittedHint(long applied) {
        SegmentedLogStorage storage = logStorage;
        if (storage != null) {
            long index = Math.min(applied, storage.durableIndex());
            long epoch;
            try {
                epoch = storage.epochAt(index);
            } catch (IndexOutOfBoundsException compactedOrReset) {
                return; // the log was reset past it (an installed snapshot): a later offer saves
            }
            committedIndex.offer(index, epoch, System.nanoTime());
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
                now.leaderClientAddress(), now.lastIndex(), now.commitIndex(), applier.appliedIndex(), connected);
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
        // The apply thread may have published a higher applied index meanwhile: keep the higher.
        ClusterStatus previous = status.getAndUpdate(s -> s.appliedIndex() <= next.appliedIndex() ? next
                : new ClusterStatus(next.nodeId(), next.role(), next.epoch(), next.leaderId(),
                        next.leaderClientAddress(), next.lastIndex(), next.commitIndex(), s.appliedIndex(),
                        next.connectedPeers()));
        ClusterStatus published = status.get();
        if (!changed) {
            return;
        }
        if (previous == null || previous.epoch() != next.epoch() || previous.leaderId() != next.leaderId()) {
            leadershipChanges.incrementAndGet();
        }
        if (leading && (previous == null || previous.role() != Role.LEADER)) {
            electionsWon.incrementAndGet();
        }
        if (transfer != null) {
            transfer.leadershipChanged(leading, now.epoch());
        }
        log.info("node {}: {} in epoch {}, leader {}", now.nodeId(), now.role(), now.epoch(), now.leaderId());
        for (ClusterListener listener : listeners) {
            try {
                listener.onLeadershipChange(published);
            } catch (RuntimeException e) {
                log.error("node {}: a cluster listener failed", config.nodeId(), e);
            }
        }
    }

    @Override
    public ClusterStatus status() {
        return status.get();
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
        return applier.commits();
    }

    /** Elections this node has opened as initiator since it started. */
    public long electionsStarted() {
        return electionsStarted;
    }

    /** Times this node has become leader since it started. */
    public long electionsWon() {
        return electionsWon.get();
    }

    /** Log index of the latest durable snapshot, 0 if none. */
    public long snapshotIndex() {
        SnapshotManager snaps = snapshots;
        return snaps == null ? 0 : snaps.snapshotIndex();
    }

    /** First index the log still holds (1 until compacted). */
    public long firstLogIndex() {
        SegmentedLogStorage logs = logStorage;
        return logs == null ? 1 : logs.firstIndex();
    }

    /** Bytes of the log's segment files. */
    public long logBytes() {
        SegmentedLogStorage logs = logStorage;
        return logs == null ? 0 : logs.sizeInBytes();
    }

    /** Snapshots this node sent as leader that a backup installed. */
    public long snapshotsSent() {
        SnapshotTransfer transfers = transfer;
        return transfers == null ? 0 : transfers.snapshotsSent();
    }

    /** Snapshots this node received whole from a leader. */
    public long snapshotsReceived() {
        SnapshotTransfer transfers = transfer;
        return transfers == null ? 0 : transfers.snapshotsReceived();
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
        applier.observeCommitLatency(Objects.requireNonNull(commitLatency, "commitLatency"));
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
        ClusterStatus s = status.get();
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
        report.put("applyFailures", applier.applyFailures());
        report.put("applyBacklog", applier.backlog());
        report.put("snapshotIndex", snapshotIndex());
        report.put("firstLogIndex", firstLogIndex());
        report.put("logBytes", logBytes());
        report.put("snapshotsSent", snapshotsSent());
        report.put("snapshotsReceived", snapshotsReceived());
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
        // After the loop: nothing hands entries over any more.
        applier.close();
        if (transfer != null) {
            transfer.close();
        }
        if (snapshots != null) {
            snapshots.close(); // a snapshot being written finishes; its compaction is skipped
        }
        // After the loop: nothing appends any more, so closing finishes every queued fsync.
        if (logStorage != null) {
            logStorage.close();
            // After the applier and the log: the last applied index that the log holds durably
            // (not if the apply thread is still stuck in an apply: it may be saving too).
            long index = Math.min(applier.appliedIndex(), logStorage.durableIndex());
            if (applier.finished() && index > 0 && index >= logStorage.firstIndex() - 1) {
                committedIndex.saveNow(index, logStorage.epochAt(index));
            }
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
