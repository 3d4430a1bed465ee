package io.messenger.server;

import com.google.protobuf.ByteString;
import io.messenger.cluster.ClusterListener;
import io.messenger.cluster.ClusterStatus;
import io.messenger.cluster.NotLeaderException;
import io.messenger.cluster.Replicator;
import io.messenger.cluster.Role;
import io.messenger.cluster.StateMachine;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Test double of the cluster: every proposed command is "committed" at once and applied on
 * one thread (the caller's, or a dedicated one), in proposal order. It keeps the log so a
 * test can replay it into a fresh state machine, as a restarted node would.
 */
public final class InProcessReplicator implements Replicator, AutoCloseable {

    private final StateMachine stateMachine;
    private final ExecutorService applier;
    private final List<ClusterListener> listeners = new CopyOnWriteArrayList<>();
    private final List<byte[]> log = new ArrayList<>();
    private volatile ClusterStatus status;
    private long index;

    private InProcessReplicator(StateMachine stateMachine, ExecutorService applier, int nodeId) {
        this.stateMachine = stateMachine;
        this.applier = applier;
        this.status = new ClusterStatus(nodeId, Role.LEADER, 1, nodeId, "127.0.0.1:0", 0, 0, 0, 1);
    }

    /** Applies on the proposing thread (for EmbeddedChannel tests, where that is the event loop). */
    public static InProcessReplicator direct(StateMachine stateMachine) {
        return new InProcessReplicator(stateMachine, null, 1);
    }

    /** Applies on its own thread, like the cluster's apply thread. */
    public static InProcessReplicator threaded(StateMachine stateMachine) {
        return new InProcessReplicator(stateMachine, Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "in-process-apply");
            t.setDaemon(true);
            return t;
        }), 1);
    }

    @Override
    public CompletableFuture<Object> propose(byte[] command) {
        ClusterStatus s = status;
        if (!s.isLeader()) {
            return CompletableFuture.failedFuture(new NotLeaderException(s.leaderId(), s.leaderClientAddress()));
        }
        CompletableFuture<Object> result = new CompletableFuture<>();
        Runnable commit = () -> {
            try {
                synchronized (this) {
                    log.add(command);
                    index++;
                }
                Object outcome = stateMachine.apply(index, ByteString.copyFrom(command));
                stateMachine.endOfBatch(index);
                result.complete(outcome);
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        };
        if (applier == null) {
            synchronized (this) {
                commit.run();
            }
        } else {
            applier.execute(commit);
        }
        return result;
    }

    /** Changes this node's role and tells listeners (on the apply thread when there is one). */
    public void become(Role role, long epoch, int leaderId, String leaderAddress) {
        ClusterStatus old = status;
        status = new ClusterStatus(old.nodeId(), role, epoch, leaderId, leaderAddress, index, index, index, 1);
        Runnable tell = () -> listeners.forEach(l -> l.onLeadershipChange(status));
        if (applier == null) {
            tell.run();
        } else {
            applier.execute(tell);
        }
    }

    /** Feeds every command committed so far into another state machine, as a restart would. */
    public synchronized void replayInto(StateMachine other) {
        for (int i = 0; i < log.size(); i++) {
            other.apply(i + 1, ByteString.copyFrom(log.get(i)));
        }
        other.endOfBatch(log.size());
    }

    public synchronized int logSize() {
        return log.size();
    }

    @Override
    public ClusterStatus status() {
        return status;
    }

    @Override
    public void addListener(ClusterListener listener) {
        listeners.add(listener);
    }

    @Override
    public void close() throws InterruptedException {
        if (applier != null) {
            applier.shutdown();
            applier.awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
