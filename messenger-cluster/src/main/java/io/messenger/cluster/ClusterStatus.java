package io.messenger.cluster;

/**
 * One node's view of the cluster at one moment.
 *
 * @param leaderId 0 when no leader is known (an election is under way)
 * @param leaderClientAddress the leader's client endpoint as host:port, or empty if unknown
 */
public record ClusterStatus(
        int nodeId,
        Role role,
        long epoch,
        int leaderId,
        String leaderClientAddress,
        long lastIndex,
        long commitIndex,
        long appliedIndex,
        int connectedPeers) {

    public boolean isLeader() {
        return role == Role.LEADER;
    }
}
