package io.messenger.server.client;

import com.google.protobuf.ByteString;
import io.messenger.cluster.ClusterListener;
import io.messenger.cluster.ClusterStatus;
import io.messenger.cluster.Replicator;
import io.messenger.cluster.Role;
import io.messenger.cluster.StateMachine;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;

/** A leader whose commits happen only when the test says so, to observe in-flight limits. */
final class ManualReplicator implements Replicator {

    private record Proposal(byte[] command, CompletableFuture<Object> result) {}

    private final StateMachine stateMachine;
    private final ArrayDeque<Proposal> pending = new ArrayDeque<>();
    private long index;

    ManualReplicator(StateMachine stateMachine) {
        this.stateMachine = stateMachine;
    }

    @Override
    public synchronized CompletableFuture<Object> propose(byte[] command) {
        Proposal p = new Proposal(command, new CompletableFuture<>());
        pending.add(p);
        return p.result();
    }

    synchronized int pending() {
        return pending.size();
    }

    /** Commits and applies up to {@code n} proposals in order. */
    void commit(int n) {
        for (int i = 0; i < n; i++) {
            Proposal p;
            synchronized (this) {
                p = pending.poll();
                if (p == null) {
                    return;
                }
                index++;
            }
            p.result().complete(stateMachine.apply(index, ByteString.copyFrom(p.command())));
        }
    }

    @Override
    public ClusterStatus status() {
        return new ClusterStatus(1, Role.LEADER, 1, 1, "127.0.0.1:7001", index, index, index, 0);
    }

    @Override
    public void addListener(ClusterListener listener) {
        // This double never changes role.
    }
}
