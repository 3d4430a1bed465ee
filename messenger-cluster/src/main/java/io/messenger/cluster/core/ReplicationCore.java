package io.messenger.cluster.core;

import com.google.protobuf.ByteString;
import io.messenger.cluster.ClusterStatus;
import io.messenger.cluster.NotLeaderException;
import io.messenger.cluster.Role;
import io.messenger.cluster.storage.DurableState;
import io.messenger.cluster.storage.LogStorage;
import io.messenger.proto.peer.Append;
import io.messenger.proto.peer.AppendResult;
import io.messenger.proto.peer.Elected;
import io.messenger.proto.peer.ElectionToken;
import io.messenger.proto.peer.Entry;
import io.messenger.proto.peer.EpochAnswer;
import io.messenger.proto.peer.EpochQuery;
import io.messenger.proto.peer.Heartbeat;
import io.messenger.proto.peer.HeartbeatReply;
import io.messenger.proto.peer.InstallSnapshotResult;
import io.messenger.proto.peer.PeerEnvelope;
import io.messenger.proto.peer.PeerProtocolVersion;
import io.messenger.proto.peer.TokenReceipt;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * The consensus core of one node: ring election plus Raft-style log replication, as a pure
 * state machine in the style of etcd-raft. Ticks, peer messages, proposals and fsync
 * progress go in; election state to persist, messages to send and committed entries come
 * out of {@link #drain()}. No threads, sockets, clock or I/O: the caller drives it from one
 * thread, which is what makes deterministic simulation possible.
 *
 * <p><b>Algorithm.</b> Leaders are chosen by the ring vote described in {@link RingElection}
 * (Chang–Roberts ring carrying Raft's vote): a backup that hears no leader for the election
 * timeout plus a random jitter starts one; a node that heard a live leader within the
 * election timeout drops tokens (leader stickiness). Above epoch 1 the election is preceded
 * by a pre-vote probe (Raft thesis 9.6) that raises no epoch: without it a node that times
 * out alone (rejoining before its link to the leader is back) would promise itself a newer
 * epoch, refuse the leader's appends with it and so depose a leader the others still hear.
 * Replication is Raft's (Ongaro and Ousterhout 2014, sections 5.3 and 5.4): the leader
 * opens its epoch with an empty entry,
 * streams appends (previous index and epoch, a bounded batch of entries, its commit index)
 * pipelined per backup; a backup checks the previous entry, truncates only a conflicting
 * suffix, appends, and acknowledges only what is durable. The leader commits the highest
 * index durable on a majority whose entry is of its own epoch; earlier entries commit with
 * it (Raft's figure 8 rule). Every envelope carries the sender's epoch: older epochs are
 * refused with a reply that tells the sender the newer one, and a leader that learns a newer
 * epoch, or has not heard a majority for the election timeout, steps down.
 *
 * <p><b>Driver contract.</b> Call {@link #drain()} after every input and handle the
 * {@link Ready} in order: save its state with fsync, then send, then apply. Report fsync
 * progress of the log with {@link #durable(long)}. A restart is a new core built from the
 * same log (its durable part) and the last saved {@link DurableState}; entries are then
 * committed, and handed out, again from index 1.
 */
public final class ReplicationCore {

    /**
     * Highest epoch the core accepts or starts. Far above anything real elections reach, and
     * far enough below {@link Long#MAX_VALUE} that {@code epoch + 1} can never overflow; a
     * message naming a higher (or, read as a signed uint64, negative) epoch is ignored.
     */
    public static final long MAX_EPOCH = Long.MAX_VALUE / 2;

    private final CoreConfig config;
    private final LogStorage log;
    private final RandomGenerator random;
    private final RingElection ring;
    private final RoleLifecycle role;
    private final int self;
    private final List<Integer> peers;
    private final Set<Integer> unreachable = new HashSet<>();
    /**
     * Peers that did not acknowledge a token hop, with the ticks until they are tried again;
     * forgotten at once when heard from.
     */
    private final Map<Integer, Integer> silent = new LinkedHashMap<>();
    /** The last token this node handed on and is waiting to see acknowledged, or null. */
    private ElectionToken hopToken;
    private int hopPeer;
    private int hopTicksLeft;
    private final Map<Integer, PeerProgress> progress = new LinkedHashMap<>();

    // Durable election state (epoch promised or learned, and to which initiator).
    private DurableState state;
    private DurableState stateToSave;

    private long highestSeenEpoch;
    private int leaderId;
    private String leaderAddress = "";
    /**
     * Each member's client endpoint as that member announced it in its own hello (this
     * node's from its config): never taken from a message about another node, so a peer
     * cannot make backups redirect clients elsewhere.
     */
    private final Map<Integer, String> clientAddresses = new HashMap<>();
    private long commitIndex;
    private long handedOutIndex;
    private long durableIndex;

    // Backup side of replication, for the current leader and epoch only.
    private long matchedFromLeader;
    private long ackedMatch;
    private long ackOwedUpTo;
    private int ticksSinceLeaderContact;
    private int electionCountdown;

    /** Epoch of the election this incarnation started and has not yet decided, or 0. */
    private long electionInFlight;
    /** Epoch of the pre-vote probe this node sent and has not yet decided, or 0. */
    private long probeInFlight;
    /**
     * The highest epoch of another node's probe this node passed on while its own probe was out, and the lowest
     * initiator id among those probes: two survivors whose probes crossed must not both open that epoch (see
     * onProbeHome). Cleared whenever this node sends a probe.
     */
    private long joinedProbeEpoch;
    private int joinedProbeInitiator;
    /**
     * The leader whose link this backup saw close (a link that was up and went down), 0 if none:
     * while that link stays down, status() names no leader. A link that never came up (a node
     * just started, or a peer whose port nobody listens on) does not count: the leader it hears
     * is named.
     */
    private int lostLinkToLeader;
    /** Elections started since a leader was last adopted; widens the backoff. */
    private int failedElections;
    /** Elections this node opened since it started; read by the driver for its metrics. */
    private long electionsOpened;
    private static final int MAX_BACKOFF_SHIFT = 3;
    private int heartbeatCountdown;

    private final List<Outbound> outbox = new ArrayList<>();
    private boolean statusChanged;

    // Lost disks (see the README, "Lost disks").
    /**
     * Whether this node votes, promises, takes part in elections and counts toward majorities.
     * False for a node that lost its state (or has not yet learned that it founded the cluster):
     * it is then a learner that receives appends until it is restored.
     */
    private boolean voter;
    /** Backups found needing entries below the log's first index, not yet taken by the driver. */
    private final Set<Integer> snapshotsToSend = new LinkedHashSet<>();
    /** InstallSnapshot chunks from the leader this node follows, not yet taken by the driver. */
    private final List<PeerEnvelope> snapshotChunks = new ArrayList<>();
    /** Set when this node finished restoring; reported once by {@link #drain()}. */
    private boolean restoredNow;
    /** While not a voter: the restore barrier the current leader named, or 0. */
    private long restoreBarrier;
    /** Members heard from since this core was built (a restoring node must hear from all). */
    private final Set<Integer> heardSinceStart = new HashSet<>();
    /** Highest sender epoch in any envelope since this core was built. */
    private long heardEpochFloor;
    private int epochQueryCountdown;
    /**
     * An empty node that has not yet learned whether the cluster exists: it founds it once
     * every member says it is fresh too, and turns restoring once anyone says otherwise.
     */
    private boolean fresh;
    /** While fresh: members that said, since this core was built, that they were fresh too. */
    private final Set<Integer> freshPeers = new HashSet<>();
    /** While fresh: the incarnation each fresh peer's query named. */
    private final Map<Integer, Long> freshIncarnations = new HashMap<>();
    /** Whether this incarnation founded the cluster. */
    private boolean founded;
    /** Random per core (process start), named in this node's epoch queries. */
    private final long incarnation;

    /**
     * Builds the core of one node over its log and its last saved election state.
     *
     * @param random source of election jitter; seed it for reproducible runs
     */
    public ReplicationCore(CoreConfig config, LogStorage log, DurableState state, RandomGenerator random) {
        this(config, log, state, random, true);
    }

    /**
     * Builds the core of one node that may be a non-voting learner.
     *
     * @param voter false for a node whose state was lost (or that has not yet learned whether
     *     it founded the cluster): it never votes, promises or starts elections, and its
     *     acknowledgements tell the leader not to count it, until it is restored from a live
     *     leader or, if {@link #startFresh() fresh}, founds a new cluster (either reported by
     *     {@link Ready#restored()})
     */
    public ReplicationCore(CoreConfig config, LogStorage log, DurableState state, RandomGenerator random,
            boolean voter) {
        this.voter = voter;
        this.incarnation = random.nextLong();
        this.config = Objects.requireNonNull(config, "config");
        this.log = Objects.requireNonNull(log, "log");
        this.random = Objects.requireNonNull(random, "random");
        Objects.requireNonNull(state, "state");
        this.self = config.selfId();
        this.ring = new RingElection(config);
        this.peers = config.memberIds().stream().filter(id -> id != self).sorted().toList();
        clientAddresses.put(self, config.clientAddress());
        if (log.lastEpoch() > state.epoch()) {
            // Entries of an epoch reached the disk before the epoch itself did: never go below them.
            state = new DurableState(log.lastEpoch(), 0);
            stateToSave = state;
        }
        this.state = state;
        this.highestSeenEpoch = state.epoch();
        this.durableIndex = Math.min(log.durableIndex(), log.lastIndex());
        this.role = new RoleLifecycle(state.promisedTo() != 0 && voter ? Role.ELECTING : Role.BACKUP);
        this.ticksSinceLeaderContact = config.electionTimeoutTicks();
        resetElectionCountdown();
        if (peers.isEmpty()) {
            // Alone: nobody to wait for, elect itself on the first tick.
            electionCountdown = 1;
        }
    }

    // ------------------------------------------------------------------ inputs

    /** Advances logical time by one tick: heartbeats, election timeouts, step-down checks. */
    public void tick() {
        if (role.is(Role.STOPPED)) {
            return;
        }
        if (ticksSinceLeaderContact < Integer.MAX_VALUE) {
            ticksSinceLeaderContact++;
        }
        checkTokenHop();
        if (role.is(Role.LEADER)) {
            for (PeerProgress p : progress.values()) {
                p.ticksSinceHeard++;
                p.ticksSinceProgress++;
                if (p.snapshotRetryTicks > 0) {
                    p.snapshotRetryTicks--;
                }
            }
            if (!hasMajorityContact()) {
                stepDown();
                return;
            }
            if (--heartbeatCountdown <= 0) {
                heartbeatCountdown = config.heartbeatTicks();
                int stallTicks = Math.max(2 * config.heartbeatTicks(), config.electionTimeoutTicks() / 2);
                for (PeerProgress p : progress.values()) {
                    // Only up to the backup's known match: that much of its log is durable and
                    // matches ours, even if it restarted and forgot (etcd-raft does the same).
                    send(p.peerId, envelope().setHeartbeat(Heartbeat.newBuilder()
                            .setCommitIndex(Math.min(commitIndex, p.matchIndex))
                            .setRestoreBarrier(p.restoring ? p.restoreBarrier : 0)));
                    if (!p.inflight.isEmpty() && p.ticksSinceProgress >= stallTicks) {
                        // Appends or their answers were lost: probe again rather than wait forever.
                        p.resetToProbe();
                    }
                    sendAppends(p);
                }
            }
        } else if (voter && --electionCountdown <= 0) {
            startElection();
        } else if (!voter && --epochQueryCountdown <= 0) {
            // A restoring node must hear from every member before it votes; backups rarely
            // talk to each other, so it asks.
            epochQueryCountdown = 2 * config.heartbeatTicks();
            for (int peer : peers) {
                if (!(fresh ? freshPeers : heardSinceStart).contains(peer) && !unreachable.contains(peer)) {
                    send(peer, envelope().setEpochQuery(EpochQuery.newBuilder().setFresh(fresh)
                            .setIncarnation(incarnation)));
                }
            }
        }
    }

    /** Handles one message from a peer. Messages of unknown senders or versions are ignored. */
    public void receive(PeerEnvelope envelope) {
        if (role.is(Role.STOPPED) || envelope.getFrom() == self || !isMember(envelope.getFrom())
                || envelope.getProtocolVersion() != PeerProtocolVersion.PEER_PROTOCOL_V1_VALUE
                || !epochsInRange(envelope)) {
            return;
        }
        highestSeenEpoch = Math.max(highestSeenEpoch, envelope.getEpoch());
        silent.remove(envelope.getFrom());
        heardSinceStart.add(envelope.getFrom());
        heardEpochFloor = Math.max(heardEpochFloor, envelope.getEpoch());
        boolean peerFresh = envelope.hasEpochQuery() ? envelope.getEpochQuery().getFresh()
                : envelope.hasEpochAnswer() && envelope.getEpochAnswer().getFresh();
        if (fresh) {
            if (peerFresh) {
                freshPeers.add(envelope.getFrom());
                if (envelope.hasEpochQuery()) {
                    freshIncarnations.put(envelope.getFrom(), envelope.getEpochQuery().getIncarnation());
                }
            } else if (!freshPeers.contains(envelope.getFrom())) {
                // A member with state that never said it was empty: the cluster exists, and this
                // empty node must be restored. (A peer that said it was empty and is now a
                // founder is no such evidence: it was empty after this node came up.)
                fresh = false;
                statusChanged = true;
            }
        }
        if (role.is(Role.LEADER) && envelope.getEpoch() == state.epoch()) {
            // Any message of this epoch shows the backup alive and reachable (a token, a receipt,
            // an answer to an old append), not only the answers to this leader's heartbeats.
            PeerProgress heard = progress.get(envelope.getFrom());
            if (heard != null) {
                heard.ticksSinceHeard = 0;
            }
        }
        switch (envelope.getBodyCase()) {
            case ELECTION_TOKEN -> {
                if (!voter) {
                    // A learner takes no part in elections: no promise, no receipt either, so the
                    // sender passes the token on past it as past a silent node.
                    return;
                }
                ElectionToken token = envelope.getElectionToken();
                send(envelope.getFrom(), envelope().setTokenReceipt(TokenReceipt.newBuilder()
                        .setEpoch(token.getEpoch()).setInitiator(token.getInitiator()).setProbe(token.getProbe())));
                onToken(token);
            }
            case TOKEN_RECEIPT -> onTokenReceipt(envelope.getFrom(), envelope.getTokenReceipt());
            case ELECTED -> onElected(envelope.getElected().getEpoch(), envelope.getElected().getLeader());
            case APPEND -> onAppend(envelope);
            case HEARTBEAT -> onHeartbeat(envelope);
            case INSTALL_SNAPSHOT -> {
                if (admitLeader(envelope)) {
                    snapshotChunks.add(envelope);
                }
            }
            case INSTALL_SNAPSHOT_RESULT -> onSnapshotResult(envelope);
            case APPEND_RESULT, HEARTBEAT_REPLY -> onReply(envelope);
            case EPOCH_QUERY -> {
                Long seenFresh = freshIncarnations.get(envelope.getFrom());
                boolean answerFresh = fresh || (founded && seenFresh != null
                        && seenFresh == envelope.getEpochQuery().getIncarnation());
                send(envelope.getFrom(), envelope().setEpochAnswer(EpochAnswer.newBuilder().setFresh(answerFresh)));
            }
            case EPOCH_ANSWER -> {
                // Only its envelope's epoch and freshness matter (taken above).
            }
            default -> {
                // Hello and rejection belong to the transport's handshake, not to consensus.
            }
        }
    }

    /** Whether every epoch the envelope names lies in [0, {@link #MAX_EPOCH}]. */
    private static boolean epochsInRange(PeerEnvelope envelope) {
        if (!validEpoch(envelope.getEpoch())) {
            return false;
        }
        return switch (envelope.getBodyCase()) {
            case ELECTION_TOKEN -> validEpoch(envelope.getElectionToken().getEpoch())
                    && validEpoch(envelope.getElectionToken().getCandidateLastEpoch());
            case TOKEN_RECEIPT -> validEpoch(envelope.getTokenReceipt().getEpoch());
            case ELECTED -> validEpoch(envelope.getElected().getEpoch());
            case APPEND -> validEpoch(envelope.getAppend().getPrevEpoch())
                    && envelope.getAppend().getEntriesList().stream().allMatch(e -> validEpoch(e.getEpoch()));
            case INSTALL_SNAPSHOT -> validEpoch(envelope.getInstallSnapshot().getSnapshotEpoch());
            default -> true;
        };
    }

    private static boolean validEpoch(long epoch) {
        return epoch >= 0 && epoch <= MAX_EPOCH;
    }

    /**
     * Tells the core whether a peer's connection is up. Tokens skip peers known to be down,
     * and an election is not started while fewer than a majority are reachable (it would
     * only burn epochs). A reconnected backup is probed afresh. A new core counts every peer
     * as reachable; a driver should report each peer down at start until its link is up,
     * since a token handed to a dead peer that nobody reported is lost (the election then
     * retries, but through the same dead peer).
     */
    public void peerConnectivity(int peerId, boolean connected) {
        if (peerId == self || !isMember(peerId)) {
            return;
        }
        if (peerId == leaderId && !role.is(Role.LEADER) && connected == unreachable.contains(peerId)) {
            statusChanged = true; // the leader status() names appears or disappears
        }
        if (connected) {
            unreachable.remove(peerId);
            PeerProgress p = progress.get(peerId);
            if (role.is(Role.LEADER) && p != null) {
                p.resetToProbe();
                sendAppends(p);
            }
        } else {
            unreachable.add(peerId);
            if (peerId == leaderId && !role.is(Role.LEADER)) {
                lostLinkToLeader = peerId;
                leaderLinkLost(peerId);
            }
        }
    }

    /**
     * The link to the leader closed, as it does at once when the leader's process dies (its
     * kernel closes the sockets). Rather than wait out the election timeout, this node counts
     * the leader as silent now and schedules its election by rank: the first reachable node
     * after the lost leader in ring order goes first, each later one a slot later (see
     * {@link RingElection#lossDelayTicks}), and a node that joins another's probe defers its
     * own. So the survivors of a leader's death do not open rival elections of one epoch, each
     * of which would cost an epoch. It changes only timing: a probe still needs a majority
     * that hears no live leader, so a link that closed under a living leader deposes nothing.
     */
    private void leaderLinkLost(int leader) {
        if (!voter) {
            return;
        }
        ticksSinceLeaderContact = Math.max(ticksSinceLeaderContact, config.electionTimeoutTicks());
        electionCountdown = Math.min(electionCountdown, ring.lossDelayTicks(leader, unreachable));
    }

    /**
     * Records the client endpoint a member announced for itself (in its authenticated
     * hello): the address this node names when that member leads.
     */
    public void memberClientAddress(int memberId, String clientAddress) {
        Objects.requireNonNull(clientAddress, "clientAddress");
        if (memberId == self || !isMember(memberId)) {
            return;
        }
        clientAddresses.put(memberId, clientAddress);
        if (memberId == leaderId) {
            setLeader(leaderId);
        }
    }

    /**
     * Appends a command to the log if this node leads, and starts replicating it.
     *
     * @return the command's log index; it is committed once a later {@link Ready} hands it out
     * @throws NotLeaderException naming the known leader when this node does not lead
     */
    public long propose(ByteString command) throws NotLeaderException {
        Objects.requireNonNull(command, "command");
        if (!role.is(Role.LEADER)) {
            throw new NotLeaderException(leaderId, leaderAddress);
        }
        long index = log.lastIndex() + 1;
        log.append(List.of(Entry.newBuilder().setEpoch(state.epoch()).setIndex(index).setCommand(command).build()));
        for (PeerProgress p : progress.values()) {
            sendAppends(p);
        }
        maybeCommit();
        return index;
    }

    /**
     * Reports that the log is fsync'd up to {@code durableIndex}. The core trusts no more
     * than the log itself reports, so a late report about since-truncated entries is harmless.
     */
    public void durable(long durableIndex) {
        long d = Math.min(durableIndex, Math.min(log.durableIndex(), log.lastIndex()));
        if (d <= this.durableIndex) {
            return;
        }
        this.durableIndex = d;
        if (role.is(Role.LEADER)) {
            maybeCommit();
        }
    }

    /** Stops the core for good: it accepts nothing more and proposals fail. */
    public void stop() {
        if (!role.is(Role.STOPPED)) {
            changeRole(Role.STOPPED);
            leaderId = 0;
            leaderAddress = "";
        }
    }

    // ------------------------------------------------------------------ outputs

    /** Takes everything produced since the previous call; see {@link Ready} for the order of handling. */
    public Ready drain() {
        return drain(Integer.MAX_VALUE);
    }

    /**
     * Like {@link #drain()}, but hands out at most {@code maxCommitted} committed entries; the
     * rest come with later calls ({@link #hasCommittedToHandOut()} tells whether some wait). A
     * driver uses it to keep a long commit (a restarted node's whole log) from occupying the
     * thread that must also answer heartbeats.
     */
    public Ready drain(int maxCommitted) {
        if (maxCommitted < 1) {
            throw new IllegalArgumentException("maxCommitted must be positive, got " + maxCommitted);
        }
        maybeFinishRestore();
        if (role.is(Role.BACKUP) && leaderId != 0) {
            long match = Math.min(durableIndex, matchedFromLeader);
            if (match > ackedMatch || (ackOwedUpTo > 0 && match >= ackOwedUpTo)) {
                send(leaderId, envelope().setAppendResult(AppendResult.newBuilder()
                        .setSuccess(true).setMatchIndex(match).setRestoring(!voter)));
                ackedMatch = Math.max(ackedMatch, match);
                if (match >= ackOwedUpTo) {
                    ackOwedUpTo = 0;
                }
            }
        }
        List<Entry> committed = List.of();
        if (commitIndex > handedOutIndex) {
            long upTo = Math.min(commitIndex, handedOutIndex + maxCommitted);
            committed = new ArrayList<>((int) (upTo - handedOutIndex));
            for (long i = handedOutIndex + 1; i <= upTo; i++) {
                committed.add(log.entry(i));
            }
            handedOutIndex = upTo;
        }
        Ready ready = new Ready(stateToSave, outbox, committed, statusChanged, restoredNow);
        stateToSave = null;
        outbox.clear();
        statusChanged = false;
        restoredNow = false;
        return ready;
    }

    /**
     * The restore rule. A learner becomes a voter once (1) the leader it follows named a restore
     * barrier, a no-op the leader appended after it learned that this node is restoring; (2) that
     * barrier is committed and durable in this node's log, matching the leader's (so this log
     * holds every entry committed before this node came back, and every entry the node's lost
     * incarnation could have been counted for, all of which precede the barrier); and (3) it has
     * heard from every other member since it started, so that its epoch can be raised to at
     * least every epoch any member had promised before this node came back, which covers every
     * epoch its lost incarnation could have promised (an initiator promises first). The README's
     * "Lost disks" section has the argument.
     */
    private void maybeFinishRestore() {
        if (fresh && freshPeers.containsAll(peers)) {
            // Every member told this incarnation it is fresh too: a brand-new cluster, and this
            // node founds it. It has never voted or acknowledged anything, so it may vote with
            // an empty log (entries committed without it stay on a majority of the others).
            fresh = false;
            founded = true;
            voter = true;
            restoredNow = true;
            statusChanged = true;
            resetElectionCountdown();
            if (peers.isEmpty()) {
                electionCountdown = 1;
            }
            return;
        }
        if (voter || restoreBarrier == 0 || leaderId == 0 || !role.is(Role.BACKUP)) {
            return;
        }
        long b = restoreBarrier;
        if (matchedFromLeader < b || durableIndex < b || commitIndex < b || !heardSinceStart.containsAll(peers)) {
            return;
        }
        voter = true;
        restoredNow = true;
        statusChanged = true;
        restoreBarrier = 0;
        if (heardEpochFloor > state.epoch()) {
            // Never promise again an epoch the lost incarnation might have promised.
            learnEpoch(heardEpochFloor);
        }
    }

    /**
     * Tells the core that the state machine holds the state through {@code index} (restored from
     * a snapshot before the first input): entries up to it are committed and are not handed out
     * by {@link #drain()}.
     */
    public void snapshotRestored(long index) {
        handedOutIndex = Math.max(handedOutIndex, index);
        commitIndex = Math.max(commitIndex, index);
    }

    /**
     * Tells the core, before the first input, that this node knew entries through {@code index}
     * to be committed before it restarted (the driver saved that lower bound, never above what
     * its log then held durably: see {@code CommittedIndexStore}). Those entries are handed out
     * by {@link #drain()} at once, so a restarted node replays its log tail while its links come
     * up instead of after its leader's first heartbeat (etcd restarts from the commit index of
     * its saved hard state the same way). A committed entry is never truncated, and any entry a
     * later leader sends at a committed index is the committed one, so the entries this log
     * holds at those indexes are the committed ones, whatever happened to the log since. A
     * bound above the log's end is cut to it; one that does not continue the state already
     * handed out (the log no longer holds the entries after it) is ignored.
     *
     * @return the commit index afterwards
     */
    public long committedBeforeRestart(long index) {
        if (index > commitIndex && handedOutIndex >= log.firstIndex() - 1) {
            commitIndex = Math.max(commitIndex, Math.min(index, log.lastIndex()));
        }
        return commitIndex;
    }

    /**
     * Leader side of InstallSnapshot: backups that need entries this leader's log no longer holds
     * (compacted into a snapshot), each reported once per transfer. The driver streams its latest
     * snapshot to each; the backup's acknowledgement of the installed snapshot (an ordinary
     * successful append result) resumes appends, and {@link #snapshotTransferEnded} reports a
     * transfer that gave up.
     */
    public Set<Integer> takeSnapshotsToSend() {
        if (snapshotsToSend.isEmpty()) {
            return Set.of();
        }
        Set<Integer> out = Set.copyOf(snapshotsToSend);
        snapshotsToSend.clear();
        return out;
    }

    /**
     * Leader side: the transfer to {@code peerId} ended without an install (the backup refused it,
     * or it made no progress); another is requested after a pause if the backup still needs it.
     */
    public void snapshotTransferEnded(int peerId) {
        PeerProgress p = progress.get(peerId);
        if (p != null && p.snapshotting) {
            p.snapshotting = false;
            p.snapshotRetryTicks = 10 * config.heartbeatTicks();
        }
    }

    /**
     * Backup side of InstallSnapshot: the chunks admitted since the last call, from the leader this
     * node follows (fenced by epoch like appends; a chunk also counts as contact from the leader).
     * The driver writes them into an incoming snapshot off this thread and calls
     * {@link #installSnapshot} once one is complete and verified.
     */
    public List<PeerEnvelope> takeSnapshotChunks() {
        if (snapshotChunks.isEmpty()) {
            return List.of();
        }
        List<PeerEnvelope> out = List.copyOf(snapshotChunks);
        snapshotChunks.clear();
        return out;
    }

    /**
     * Backup side: a snapshot of the state through ({@code index}, {@code epoch}) received from a
     * leader is durable in this node's snapshot store. Its entries are committed (a leader
     * snapshots only what it applied), so they are in every later leader's log: this log is reset
     * to continue from it unless it already holds that entry, the commit index moves to it, and
     * an acknowledgement of {@code index} goes to the leader once the reset is durable.
     *
     * @return true if the driver must now restore the state machine from the snapshot (it runs
     *     between the applies of the entries handed out before and after it); false if this node
     *     already committed that far and the snapshot adds nothing
     */
    public boolean installSnapshot(long index, long epoch) {
        if (role.is(Role.STOPPED) || index <= commitIndex) {
            return false;
        }
        boolean holdsIt = index >= log.firstIndex() - 1 && index <= log.lastIndex() && log.epochAt(index) == epoch;
        if (!holdsIt) {
            log.resetTo(index, epoch);
            durableIndex = Math.min(log.durableIndex(), log.lastIndex());
            matchedFromLeader = index;
            ackedMatch = Math.min(ackedMatch, index - 1);
        } else {
            matchedFromLeader = Math.max(matchedFromLeader, index);
        }
        commitIndex = index;
        handedOutIndex = index;
        ackOwedUpTo = Math.max(ackOwedUpTo, index);
        statusChanged = true;
        return true;
    }

    /**
     * Marks a learner as fresh: its data directory was empty and it never voted. Call right
     * after building it; see {@link #isFresh()}.
     */
    public void startFresh() {
        if (voter) {
            throw new IllegalStateException("only a learner can be fresh");
        }
        fresh = true;
    }

    /** Whether this node is empty and still waiting to learn whether the cluster exists. */
    public boolean isFresh() {
        return fresh;
    }

    /** Whether this node votes and counts toward majorities (false while restoring). */
    public boolean isVoter() {
        return voter;
    }

    /** While restoring: the barrier index the current leader named, or 0 if none yet. */
    public long restoreBarrier() {
        return restoreBarrier;
    }

    /**
     * This node's current view; {@code appliedIndex} is the last entry handed out by {@link #drain()}. A backup
     * that saw its link to its leader close names no leader while it stays down: that link closes at once when
     * the leader's process dies,
     * and a client sent to a dead leader's address would only find its port closed, while one told that no
     * leader is known waits for the election (the client server holds its Hello). Only what is reported changes;
     * the backup still follows that leader, and names it again as soon as the link is back.
     */
    public ClusterStatus status() {
        boolean leaderCutOff = leaderId != 0 && leaderId != self && lostLinkToLeader == leaderId
                && unreachable.contains(leaderId);
        return new ClusterStatus(self, role.current(), state.epoch(), leaderCutOff ? 0 : leaderId,
                leaderCutOff ? "" : leaderAddress, log.lastIndex(), commitIndex, handedOutIndex,
                peers.size() - unreachable.size());
    }

    /** The current role. */
    public Role role() {
        return role.current();
    }

    /** The durable election state as last changed (saved, or about to be by the next drain). */
    public DurableState durableState() {
        return state;
    }

    /** Whether committed entries wait to be handed out by a later {@link #drain(int)}. */
    public boolean hasCommittedToHandOut() {
        return handedOutIndex < commitIndex;
    }

    /** Highest index known committed. */
    public long commitIndex() {
        return commitIndex;
    }

    /** How many elections this node has opened (as initiator) since it was built. */
    public long electionsOpened() {
        return electionsOpened;
    }

    /**
     * While leading: the highest index {@code peerId} has confirmed durable and matching;
     * {@code -1} when not leading or {@code peerId} is not a backup of this leader.
     */
    public long matchIndex(int peerId) {
        PeerProgress p = role.is(Role.LEADER) ? progress.get(peerId) : null;
        return p == null ? -1 : p.matchIndex;
    }

    // ------------------------------------------------------------------ election

    private void startElection() {
        resetElectionCountdown();
        if (!voter) {
            return;
        }
        if (peers.size() - unreachable.size() + 1 < config.majority()) {
            // Cut off from a majority: an election could not finish, and a higher epoch
            // would only disturb the leader once the network heals.
            return;
        }
        if (Math.max(highestSeenEpoch, state.epoch()) >= MAX_EPOCH) {
            return; // unreachable through validated input; never let epoch + 1 overflow
        }
        long epoch = Math.max(highestSeenEpoch, state.epoch()) + 1;
        if (role.is(Role.LEADER)) {
            throw new IllegalStateException("a leader does not start elections");
        }
        if (epoch > 1) {
            // Pre-vote first: promising the epoch to itself would make this node refuse the
            // current leader's appends with a newer epoch, which deposes a leader that the
            // others still hear (a node rejoining before its links to the leader are back).
            // Epoch 1 cannot be newer than any leader's, so a fresh cluster skips the round.
            probeInFlight = epoch;
            joinedProbeEpoch = 0;
            joinedProbeInitiator = 0;
            forward(ring.open(epoch, log.epochAt(durableIndex), durableIndex).toBuilder().setProbe(true).build());
            return;
        }
        openElection(epoch);
    }

    private void openElection(long epoch) {
        electionsOpened++;
        promise(epoch, self);
        changeRole(Role.ELECTING);
        followNobody();
        electionInFlight = epoch;
        failedElections = Math.min(failedElections + 1, MAX_BACKOFF_SHIFT);
        resetElectionCountdown();
        ElectionToken token = ring.open(epoch, log.epochAt(durableIndex), durableIndex);
        forward(token);
    }

    /** A pre-vote probe: passed on by every node that hears no live leader; nobody promises anything. */
    private void onProbe(ElectionToken token) {
        if (token.getInitiator() == self) {
            onTokenHome(token);
            return;
        }
        if (leaderLive()) {
            return; // leader stickiness: this is exactly the election the probe asks about
        }
        if (state.promisedTo() != 0 && state.epoch() >= token.getEpoch()) {
            // An election of that epoch is under way already: a probe coming home would only open a rival one.
            return;
        }
        // Its initiator is about to open the election this node would: defer rather than add a
        // rival of the same epoch.
        resetElectionCountdown();
        if (probeInFlight != 0) {
            // Its own probe is out too: they crossed.
            if (token.getEpoch() > joinedProbeEpoch) {
                joinedProbeEpoch = token.getEpoch();
                joinedProbeInitiator = token.getInitiator();
            } else if (token.getEpoch() == joinedProbeEpoch) {
                joinedProbeInitiator = Math.min(joinedProbeInitiator, token.getInitiator());
            }
        }
        forward(ring.join(token, log.epochAt(durableIndex), durableIndex));
    }

    private void onProbeHome(ElectionToken token) {
        if (token.getEpoch() != probeInFlight || role.is(Role.LEADER) || leaderLive() || !ring.hasMajority(token)) {
            return; // a stale copy, a leader heard meanwhile, or too few: the countdown retries
        }
        probeInFlight = 0;
        if (state.promisedTo() != 0 && state.epoch() >= token.getEpoch()) {
            return; // another node opened this epoch meanwhile and this node promised it: let it finish
        }
        if (joinedProbeEpoch >= token.getEpoch() && joinedProbeInitiator < self) {
            // Two survivors probed at once and each passed on the other's probe, so both would come home and
            // open rival elections of one epoch, costing an epoch. The lower id opens; this node waits for it,
            // its countdown reset when it joined, and retries only if that election does not finish.
            return;
        }
        if (Math.max(highestSeenEpoch, state.epoch()) >= MAX_EPOCH) {
            return;
        }
        openElection(Math.max(highestSeenEpoch, state.epoch()) + 1);
    }

    private void onToken(ElectionToken token) {
        if (token.getProbe()) {
            onProbe(token);
            return;
        }
        long epoch = token.getEpoch();
        highestSeenEpoch = Math.max(highestSeenEpoch, epoch);
        if (token.getInitiator() == self) {
            onTokenHome(token);
            return;
        }
        if (leaderLive()) {
            return; // leader stickiness: a healthy leader is not disturbed by a node that lost it
        }
        boolean newer = epoch > state.epoch();
        boolean duplicate = epoch == state.epoch() && state.promisedTo() == token.getInitiator();
        if (!newer && !duplicate) {
            if (epoch == state.epoch()) {
                // A rival election of this epoch is under way: give it time rather than add a third.
                resetElectionCountdown();
            }
            return; // this epoch (or a higher one) is promised to another token
        }
        if (newer) {
            promise(epoch, token.getInitiator());
            changeRole(Role.ELECTING);
            followNobody();
            electionInFlight = 0;
            resetElectionCountdown();
        }
        forward(ring.join(token, log.epochAt(durableIndex), durableIndex));
    }

    private void forward(ElectionToken token) {
        Set<Integer> skip = unreachable;
        if (!silent.isEmpty()) {
            skip = new HashSet<>(unreachable);
            skip.addAll(silent.keySet());
        }
        int next = ring.nextHop(token, skip);
        hopToken = null;
        if (next == self) {
            onTokenHome(token);
        } else if (next != 0) {
            send(next, envelope().setElectionToken(token));
            hopToken = token;
            hopPeer = next;
            hopTicksLeft = 2 * config.heartbeatTicks();
        }
    }

    private void onTokenReceipt(int from, TokenReceipt receipt) {
        if (hopToken != null && from == hopPeer && receipt.getEpoch() == hopToken.getEpoch()
                && receipt.getInitiator() == hopToken.getInitiator() && receipt.getProbe() == hopToken.getProbe()) {
            hopToken = null;
        }
    }

    /** A successor that did not acknowledge the token in time is passed over, as if down. */
    private void checkTokenHop() {
        if (!silent.isEmpty()) {
            silent.replaceAll((peer, left) -> left - 1);
            silent.values().removeIf(left -> left <= 0);
        }
        if (hopToken != null && --hopTicksLeft <= 0) {
            ElectionToken token = hopToken;
            hopToken = null;
            // Passed over for a while only: a silence mark that never expired could cut the
            // ring for good, since backups rarely hear from each other.
            silent.put(hopPeer, 2 * config.electionTimeoutTicks());
            if (!role.is(Role.LEADER) && leaderId == 0 && token.getEpoch() >= state.epoch()) {
                forward(token); // still undecided and still this node's business
            }
        }
    }

    private void onTokenHome(ElectionToken token) {
        if (token.getProbe()) {
            onProbeHome(token);
            return;
        }
        long epoch = token.getEpoch();
        if (epoch != electionInFlight || state.epoch() != epoch || state.promisedTo() != self) {
            return; // an abandoned election, or a copy of a decided one: never announce twice
        }
        if (!ring.hasMajority(token)) {
            return; // retried with a higher epoch when the election countdown runs out
        }
        electionInFlight = 0;
        Elected elected = Elected.newBuilder()
                .setEpoch(epoch)
                .setLeader(token.getCandidate())
                .addAllParticipants(token.getParticipantsList())
                .build();
        for (int peer : peers) {
            send(peer, envelope().setElected(elected));
        }
        onElected(epoch, token.getCandidate());
    }

    private void onElected(long epoch, int leader) {
        highestSeenEpoch = Math.max(highestSeenEpoch, epoch);
        if (epoch < state.epoch() || !isMember(leader)) {
            return;
        }
        if (epoch == state.epoch() && (leaderId == leader || role.is(Role.LEADER))) {
            return; // duplicate announcement (one leader per epoch: nothing else can be news)
        }
        if (leader == self) {
            if (!voter || epoch > state.epoch() || state.promisedTo() == 0 || !role.is(Role.ELECTING)) {
                return; // only a participant that promised this epoch may take it
            }
            becomeLeader();
            return;
        }
        if (epoch > state.epoch()) {
            learnEpoch(epoch);
        }
        follow(leader);
    }

    private boolean leaderLive() {
        if (role.is(Role.LEADER)) {
            return hasMajorityContact();
        }
        return leaderId != 0 && ticksSinceLeaderContact < config.electionTimeoutTicks();
    }

    private void promise(long epoch, int initiator) {
        setState(new DurableState(epoch, initiator));
    }

    private void learnEpoch(long epoch) {
        setState(new DurableState(epoch, 0));
        if (role.is(Role.LEADER)) {
            stepDown();
        }
        // Whatever was matched under the old epoch says nothing about the new leader's log.
        followNobody();
    }

    private void setState(DurableState next) {
        if (next.epoch() < state.epoch()) {
            throw new IllegalStateException("epoch would go back from " + state.epoch() + " to " + next.epoch());
        }
        if (next.epoch() != state.epoch()) {
            statusChanged = true;
        }
        state = next;
        stateToSave = next;
        highestSeenEpoch = Math.max(highestSeenEpoch, next.epoch());
    }

    // ------------------------------------------------------------------ roles

    private void changeRole(Role next) {
        if (role.current() != next) {
            statusChanged = true;
        }
        role.transition(next);
        if (next != Role.LEADER) {
            progress.clear();
        }
    }

    private void becomeLeader() {
        changeRole(Role.LEADER);
        electionInFlight = 0;
        probeInFlight = 0;
        failedElections = 0;
        hopToken = null;
        setLeader(self);
        resetBackupState();
        long opening = log.lastIndex() + 1;
        // The empty entry of the new epoch lets earlier entries commit (Raft section 5.4.2).
        log.append(List.of(Entry.newBuilder().setEpoch(state.epoch()).setIndex(opening).build()));
        progress.clear();
        for (int peer : peers) {
            progress.put(peer, new PeerProgress(peer, opening));
        }
        heartbeatCountdown = 0;
        for (PeerProgress p : progress.values()) {
            send(p.peerId, envelope().setHeartbeat(Heartbeat.newBuilder().setCommitIndex(0)));
            sendAppends(p);
        }
        heartbeatCountdown = config.heartbeatTicks();
        maybeCommit();
    }

    private void stepDown() {
        changeRole(Role.BACKUP);
        followNobody();
        progress.clear();
        resetElectionCountdown();
    }

    private void follow(int leader) {
        boolean newLeader = leaderId != leader || !role.is(Role.BACKUP);
        if (newLeader) {
            changeRole(Role.BACKUP);
            resetBackupState();
            progress.clear();
        }
        electionInFlight = 0;
        probeInFlight = 0;
        failedElections = 0;
        hopToken = null;
        setLeader(leader);
        ticksSinceLeaderContact = 0;
        resetElectionCountdown();
    }

    private void followNobody() {
        setLeader(0);
        resetBackupState();
    }

    private void setLeader(int id) {
        String address = id == 0 ? "" : clientAddresses.getOrDefault(id, "");
        if (id != leaderId || !address.equals(leaderAddress)) {
            statusChanged = true;
        }
        leaderId = id;
        leaderAddress = address;
    }

    private void resetBackupState() {
        matchedFromLeader = 0;
        ackedMatch = 0;
        ackOwedUpTo = 0;
        restoreBarrier = 0;
    }

    private void resetElectionCountdown() {
        int timeout = config.electionTimeoutTicks();
        // The jitter window widens with each election this node started without a leader
        // emerging, so rival initiators drift apart (randomized backoff).
        int jitter = timeout << Math.max(0, failedElections - 1);
        electionCountdown = timeout + random.nextInt(jitter + 1);
    }

    private boolean hasMajorityContact() {
        int heard = 1;
        for (PeerProgress p : progress.values()) {
            if (!p.restoring && p.ticksSinceHeard < config.electionTimeoutTicks()) {
                heard++;
            }
        }
        return heard >= config.majority();
    }

    // ------------------------------------------------------------------ backup side

    /**
     * Fences a leader message: refuses an older epoch (answering with this node's epoch so
     * the sender steps down) and adopts the sender as leader otherwise.
     *
     * @return whether the message is from the leader this node now follows
     */
    private boolean admitLeader(PeerEnvelope envelope) {
        long epoch = envelope.getEpoch();
        if (epoch < state.epoch()) {
            send(envelope.getFrom(), envelope().setAppendResult(AppendResult.newBuilder().setSuccess(false)));
            return false;
        }
        if (epoch == state.epoch() && role.is(Role.LEADER)) {
            // Two leaders in one epoch cannot happen; refuse rather than corrupt the log.
            return false;
        }
        if (epoch > state.epoch()) {
            learnEpoch(epoch);
        }
        follow(envelope.getFrom());
        return true;
    }

    private void onHeartbeat(PeerEnvelope envelope) {
        Heartbeat heartbeat = envelope.getHeartbeat();
        if (!admitLeader(envelope)) {
            return;
        }
        if (voter) {
            advanceCommit(heartbeat.getCommitIndex());
        } else {
            // The leader's view of this node may come from its lost incarnation: trust only
            // what this incarnation matched itself.
            advanceCommit(Math.min(heartbeat.getCommitIndex(), matchedFromLeader));
            if (heartbeat.getRestoreBarrier() > 0) {
                restoreBarrier = heartbeat.getRestoreBarrier();
            }
        }
        send(envelope.getFrom(), envelope().setHeartbeatReply(HeartbeatReply.newBuilder()
                .setMatchIndex(Math.min(durableIndex, matchedFromLeader)).setRestoring(!voter)));
    }

    private void onAppend(PeerEnvelope envelope) {
        Append append = envelope.getAppend();
        if (!admitLeader(envelope)) {
            return;
        }
        long prevIndex = append.getPrevIndex();
        List<Entry> entries = append.getEntriesList();
        long base = log.firstIndex() - 1;
        boolean prevMatches = false;
        if (prevIndex < base) {
            // Entries up to the base are in this node's snapshot, so committed, so the same as the
            // leader's: skip those the append repeats and take the rest as continuing the base.
            int covered = (int) Math.min(entries.size(), base - prevIndex);
            entries = entries.subList(covered, entries.size());
            prevIndex += covered;
            prevMatches = true;
        }
        if (prevIndex > log.lastIndex()) {
            reject(envelope.getFrom(), log.lastIndex() + 1);
            return;
        }
        if (!prevMatches && log.epochAt(prevIndex) != append.getPrevEpoch()) {
            // Skip back over the whole conflicting epoch at once; committed entries always match.
            long conflictEpoch = log.epochAt(prevIndex);
            long hint = prevIndex;
            while (hint - 1 > commitIndex && log.epochAt(hint - 1) == conflictEpoch) {
                hint--;
            }
            reject(envelope.getFrom(), Math.max(hint, commitIndex + 1));
            return;
        }
        int firstNew = 0;
        while (firstNew < entries.size()) {
            Entry e = entries.get(firstNew);
            if (e.getIndex() > log.lastIndex()) {
                break;
            }
            if (log.epochAt(e.getIndex()) != e.getEpoch()) {
                // Only a conflicting suffix goes; a matching one, even from an old reordered
                // append, stays.
                if (e.getIndex() <= commitIndex) {
                    throw new IllegalStateException("safety violation: entry " + e.getIndex()
                            + " is committed but conflicts with the leader's log");
                }
                log.truncateFrom(e.getIndex());
                durableIndex = Math.min(durableIndex, e.getIndex() - 1);
                break;
            }
            firstNew++;
        }
        if (firstNew < entries.size()) {
            log.append(entries.subList(firstNew, entries.size()));
        }
        long last = prevIndex + entries.size();
        matchedFromLeader = Math.max(matchedFromLeader, last);
        // Answered by drain() once everything up to `last` is durable (possibly at once).
        ackOwedUpTo = Math.max(ackOwedUpTo, last);
        advanceCommit(Math.min(append.getCommitIndex(), matchedFromLeader));
    }

    private void reject(int to, long hint) {
        send(to, envelope().setAppendResult(AppendResult.newBuilder().setSuccess(false).setHintIndex(hint)
                .setRestoring(!voter)));
    }

    private void advanceCommit(long index) {
        if (index > commitIndex) {
            // Never lower: after a snapshot the commit index may lie past a log cut short by a crash.
            commitIndex = Math.max(commitIndex, Math.min(index, log.lastIndex()));
        }
    }

    // ------------------------------------------------------------------ leader side

    private void onReply(PeerEnvelope envelope) {
        if (envelope.getEpoch() > state.epoch()) {
            if (role.is(Role.LEADER)) {
                stepDown(); // a newer epoch exists: this leadership is over
            }
            return;
        }
        PeerProgress p = progress.get(envelope.getFrom());
        if (envelope.getEpoch() < state.epoch() || !role.is(Role.LEADER) || p == null) {
            return;
        }
        p.ticksSinceHeard = 0;
        boolean restoring = envelope.hasHeartbeatReply() ? envelope.getHeartbeatReply().getRestoring()
                : envelope.getAppendResult().getRestoring();
        if (restoring && !p.restoring) {
            // The backup lost its state: what it acknowledged before is gone. Count it for
            // nothing, replicate to it from scratch, and append a barrier it must hold
            // (committed) before it may vote again. Everything its lost incarnation could have
            // acknowledged to this leader precedes the barrier.
            p.restoring = true;
            p.matchIndex = 0;
            p.resetToProbe();
            p.restoreBarrier = appendBarrier();
        } else if (!restoring && p.restoring) {
            p.restoring = false;
            p.restoreBarrier = 0;
        }
        if (envelope.hasHeartbeatReply()) {
            long match = Math.min(envelope.getHeartbeatReply().getMatchIndex(), log.lastIndex());
            if (match > p.matchIndex) {
                p.matchIndex = match;
                p.acknowledge(match);
                maybeCommit();
            }
            sendAppends(p);
            return;
        }
        AppendResult result = envelope.getAppendResult();
        p.ticksSinceProgress = 0;
        if (result.getSuccess()) {
            long match = Math.min(result.getMatchIndex(), log.lastIndex());
            p.matchIndex = Math.max(p.matchIndex, match);
            p.acknowledge(p.matchIndex);
            p.probing = false;
            p.nextIndex = Math.max(p.nextIndex, p.matchIndex + 1);
            maybeCommit();
        } else {
            long hint = result.getHintIndex();
            if (hint == 0) {
                return;
            }
            if (hint <= p.matchIndex) {
                if (!p.restoring) {
                    return; // an answer to an append overtaken by later progress
                }
                // A restoring backup may have lost its disk again since it acknowledged that
                // match; it counts for nothing, so believing it costs no safety.
                p.matchIndex = hint - 1;
            }
            p.inflight.clear();
            p.probing = true;
            p.nextIndex = Math.max(p.matchIndex + 1, Math.min(hint, log.lastIndex() + 1));
        }
        sendAppends(p);
    }

    /**
     * Chunk answers are the driver's flow control; here they only show the backup alive (above).
     * A refusal ends the transfer; an install means the backup's log now continues from the
     * snapshot's index, so appends resume after it (or another snapshot is sent, if this log was
     * compacted past it meanwhile). Its match is counted once it acknowledges that durably.
     */
    private void onSnapshotResult(PeerEnvelope envelope) {
        PeerProgress p = progress.get(envelope.getFrom());
        if (p == null || envelope.getEpoch() != state.epoch() || !role.is(Role.LEADER) || !p.snapshotting) {
            return;
        }
        InstallSnapshotResult result = envelope.getInstallSnapshotResult();
        if (!result.getRefused().isEmpty()) {
            snapshotTransferEnded(p.peerId);
        } else if (result.getInstalled()) {
            p.snapshotting = false;
            p.inflight.clear();
            p.probing = true;
            p.nextIndex = Math.max(p.nextIndex, Math.min(result.getSnapshotIndex() + 1, log.lastIndex() + 1));
            sendAppends(p);
        }
    }

    private void sendAppends(PeerProgress p) {
        if (!role.is(Role.LEADER)) {
            return;
        }
        int limit = p.probing ? 1 : config.maxInflightAppends();
        while (p.inflight.size() < limit) {
            boolean hasEntries = p.nextIndex <= log.lastIndex();
            boolean needsProbe = p.inflight.isEmpty() && p.matchIndex < p.nextIndex - 1;
            if (!hasEntries && !needsProbe) {
                return;
            }
            if (p.nextIndex < log.firstIndex()) {
                // The entries it needs are compacted into a snapshot; only a snapshot can catch it up.
                if (!p.snapshotting && p.snapshotRetryTicks == 0) {
                    p.snapshotting = true;
                    snapshotsToSend.add(p.peerId);
                }
                return;
            }
            p.snapshotting = false;
            long prev = p.nextIndex - 1;
            List<Entry> entries = log.entries(p.nextIndex, config.maxAppendEntries(), config.maxAppendBytes());
            send(p.peerId, envelope().setAppend(Append.newBuilder()
                    .setPrevIndex(prev)
                    .setPrevEpoch(log.epochAt(prev))
                    .addAllEntries(entries)
                    .setCommitIndex(commitIndex)));
            if (p.inflight.isEmpty()) {
                p.ticksSinceProgress = 0;
            }
            long last = prev + entries.size();
            p.inflight.addLast(last);
            p.nextIndex = last + 1;
        }
    }

    /** Appends an empty entry of this leader's epoch (a restore barrier) and returns its index. */
    private long appendBarrier() {
        long index = log.lastIndex() + 1;
        log.append(List.of(Entry.newBuilder().setEpoch(state.epoch()).setIndex(index).build()));
        for (PeerProgress other : progress.values()) {
            sendAppends(other);
        }
        return index;
    }

    private void maybeCommit() {
        if (!role.is(Role.LEADER)) {
            return;
        }
        long[] matches = new long[progress.size() + 1];
        int i = 0;
        matches[i++] = durableIndex;
        for (PeerProgress p : progress.values()) {
            if (!p.restoring) {
                matches[i++] = p.matchIndex; // a restoring backup counts toward no majority
            }
        }
        if (i < config.majority()) {
            return;
        }
        matches = Arrays.copyOf(matches, i);
        Arrays.sort(matches);
        long candidate = matches[matches.length - config.majority()];
        // Only an entry of the leader's own epoch commits by counting (Raft figure 8).
        if (candidate > commitIndex && log.epochAt(candidate) == state.epoch()) {
            commitIndex = candidate;
        }
    }

    // ------------------------------------------------------------------ plumbing

    private boolean isMember(int nodeId) {
        return nodeId == self || peers.contains(nodeId);
    }

    private PeerEnvelope.Builder envelope() {
        return PeerEnvelope.newBuilder()
                .setProtocolVersion(PeerProtocolVersion.PEER_PROTOCOL_V1_VALUE)
                .setFrom(self)
                .setEpoch(state.epoch());
    }

    private void send(int to, PeerEnvelope.Builder envelope) {
        outbox.add(new Outbound(to, envelope.build()));
    }
}
