package io.messenger.cluster;

import java.util.concurrent.CompletableFuture;

/**
 * What the application sees of the cluster: a way to get a command into the replicated,
 * totally ordered log, and the node's current view of who leads.
 */
public interface Replicator {

    /**
     * Appends a command to the log if this node leads. The future completes with the
     * {@link StateMachine}'s result once the command is committed and applied on this node,
     * and only after {@link #status()} shows an applied index at least as high as its own.
     * It fails with {@link NotLeaderException} when this node does not lead or stops
     * leading before the command commits; in the latter case the command may still commit
     * under the next leader, which is why clients resend and the state machine deduplicates.
     */
    CompletableFuture<Object> propose(byte[] command);

    /** A consistent snapshot of this node's view. Thread-safe. */
    ClusterStatus status();

    /** Registers a listener told of every change of role, epoch or leader. */
    void addListener(ClusterListener listener);
}
