package io.messenger.server.chat;

import io.messenger.cluster.ClusterStatus;
import io.messenger.cluster.Replicator;
import io.messenger.proto.chat.ChatCommand;
import io.messenger.proto.chat.ExpireSessions;
import io.messenger.proto.chat.LeaderChanged;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What only the leader does to sessions, always through the log so every node agrees: on
 * taking office it announces its epoch (detaching the sessions of earlier leaders, whose
 * connections are gone), and it closes sessions that stayed detached past the grace period.
 * Runs on its own small thread; it only proposes, never waits.
 */
public final class LeaderDuties implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LeaderDuties.class);
    /** A proposal not answered by then is given up on, so a lost future cannot stall the duties. */
    static final Duration PROPOSAL_PATIENCE = Duration.ofSeconds(10);

    private final int nodeId;
    private final Replicator replicator;
    private final ChatStateMachine chat;
    private final Duration grace;
    private final LongSupplier clock;
    private final ScheduledExecutorService timer;
    // Touched only on the timer thread.
    private long announcedEpoch;
    private boolean announcing;
    private boolean expiring;

    public LeaderDuties(int nodeId, Replicator replicator, ChatStateMachine chat, Duration grace, LongSupplier clock) {
        this.nodeId = nodeId;
        this.replicator = replicator;
        this.chat = chat;
        this.grace = grace;
        this.clock = clock;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "leader-duties-" + nodeId);
            t.setDaemon(true);
            return t;
        });
    }

    /** Starts watching: reacts at once to leadership changes and checks expiry periodically. */
    public LeaderDuties start() {
        replicator.addListener(status -> {
            if (status.isLeader() && !timer.isShutdown()) {
                try {
                    timer.execute(this::tick);
                } catch (RejectedExecutionException e) {
                    log.debug("leader duties closed; epoch {} not announced here", status.epoch());
                }
            }
        });
        long period = Math.max(10, Math.min(1_000, grace.toMillis() / 4));
        timer.scheduleWithFixedDelay(this::tick, period, period, TimeUnit.MILLISECONDS);
        return this;
    }

    private void tick() {
        try {
            ClusterStatus status = replicator.status();
            if (!status.isLeader()) {
                return;
            }
            if (status.epoch() > announcedEpoch && !announcing) {
                announce(status.epoch());
            }
            long now = clock.getAsLong();
            long before = now - grace.toMillis();
            if (!expiring && chat.earliestDetachedMs() < before) {
                expiring = true;
                propose(ChatCommand.newBuilder().setTimestampMs(now).setProposer(nodeId)
                        .setExpireSessions(ExpireSessions.newBuilder().setDetachedBeforeMs(before)))
                        .orTimeout(PROPOSAL_PATIENCE.toMillis(), TimeUnit.MILLISECONDS)
                        .whenComplete((r, e) -> timer.execute(() -> expiring = false));
            }
        } catch (RuntimeException e) {
            log.warn("leader duties failed this round: {}", e.toString());
        }
    }

    private void announce(long epoch) {
        announcing = true;
        propose(ChatCommand.newBuilder().setTimestampMs(clock.getAsLong()).setProposer(nodeId)
                .setLeaderChanged(LeaderChanged.newBuilder().setLeaderId(nodeId).setEpoch(epoch)))
                .orTimeout(PROPOSAL_PATIENCE.toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((r, e) -> timer.execute(() -> {
                    announcing = false;
                    if (e == null) {
                        announcedEpoch = Math.max(announcedEpoch, epoch);
                        log.info("node {} leads epoch {}; sessions of earlier leaders are detached", nodeId, epoch);
                    } else {
                        log.debug("could not announce epoch {}: {}", epoch, e.toString());
                    }
                }));
    }

    private CompletableFuture<Object> propose(ChatCommand.Builder command) {
        try {
            return replicator.propose(command.build().toByteArray());
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
