package io.messenger.bench.cluster;

import java.io.IOException;
import java.time.Duration;

/**
 * A replicated system whose leader can be found, killed and brought back, node by node: the messenger's
 * nodes ({@link NodeControl}) or the nats-servers the bench started.
 */
public interface KillableCluster {

    /** The node that leads now, waiting up to {@code timeout} for one; 0 if none appears. */
    int awaitLeader(Duration timeout) throws InterruptedException;

    /** Kills the node at once (SIGKILL) and returns when it is gone. */
    void kill(int node) throws IOException, InterruptedException;

    /** Polls the survivors until they name a leader other than {@code killed}; leader 0 if none in time. */
    NodeControl.Election awaitNewLeader(int killed, Duration timeout) throws InterruptedException;

    /** The epoch (term) {@code node} reports now; -1 when it does not answer or the system does not tell. */
    default long epochOf(int node) throws InterruptedException {
        return -1;
    }

    /** Starts the killed node again and waits until it answers. */
    void restart(int node, Duration timeout) throws IOException, InterruptedException;
}
