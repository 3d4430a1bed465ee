package io.messenger.cluster;

/** Told of changes of this node's role, epoch or known leader, on the cluster's thread. */
@FunctionalInterface
public interface ClusterListener {
    void onLeadershipChange(ClusterStatus status);
}
