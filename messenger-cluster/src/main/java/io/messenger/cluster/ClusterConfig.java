package io.messenger.cluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Everything a node of the replicated log needs to know, checked in one place.
 *
 * @param nodeId this node's id; must be one of {@code members}
 * @param members every configured node, this one included (static membership)
 * @param dataDir where this node's log segments and election state live
 * @param peerBindHost interface the peer port binds to
 * @param clientAddress this node's client endpoint as clients reach it (host:port); a
 *     backup names the leader's in "not leader" answers
 * @param clusterName nodes of differently named clusters refuse each other
 * @param heartbeatInterval how often the leader heartbeats every backup
 * @param electionTimeout silence after which a backup starts an election, and a leader
 *     that has not heard a majority steps down (jittered by up to the same amount)
 * @param maxFrameBytes hard limit of one peer frame
 * @param maxAppendEntries most entries in one append message
 * @param maxAppendBytes most bytes of entries in one append message
 * @param peerSecretFile the cluster's shared peer secret (at least 16 bytes), which every
 *     peer must prove in the handshake; {@code null} accepts any process that reaches the
 *     peer port (a loud warning at start); with {@code peerTls} it is checked as well
 * @param peerTls the node's peer certificate, key and the cluster's CA: peers then talk mutual
 *     TLS and must present a certificate of that CA naming the node id they announce; {@code null}: none
 * @param snapshots when to snapshot the state machine and how much log to keep behind a snapshot;
 *     {@code null}: {@link SnapshotPolicy#DEFAULTS}
 */
public record ClusterConfig(
        int nodeId,
        List<Member> members,
        Path dataDir,
        String peerBindHost,
        String clientAddress,
        String clusterName,
        Duration heartbeatInterval,
        Duration electionTimeout,
        int maxFrameBytes,
        int maxAppendEntries,
        long maxAppendBytes,
        Path peerSecretFile,
        PeerTlsFiles peerTls,
        SnapshotPolicy snapshots) {

    public static final Duration DEFAULT_HEARTBEAT = Duration.ofMillis(100);
    public static final Duration DEFAULT_ELECTION_TIMEOUT = Duration.ofMillis(500);
    public static final int DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;
    public static final int DEFAULT_MAX_APPEND_ENTRIES = 512;
    public static final long DEFAULT_MAX_APPEND_BYTES = 1024 * 1024;

    public ClusterConfig {
        members = List.copyOf(members);
        snapshots = snapshots == null ? SnapshotPolicy.DEFAULTS : snapshots;
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(peerBindHost, "peerBindHost");
        Objects.requireNonNull(clientAddress, "clientAddress");
        Objects.requireNonNull(clusterName, "clusterName");
        if (members.stream().noneMatch(m -> m.id() == nodeId)) {
            throw new IllegalArgumentException("node id " + nodeId + " is not among the members " + members);
        }
        if (members.stream().map(Member::id).distinct().count() != members.size()) {
            throw new IllegalArgumentException("member ids must be unique: " + members);
        }
        if (heartbeatInterval.toMillis() < 1) {
            throw new IllegalArgumentException("heartbeat interval must be at least 1 ms");
        }
        if (electionTimeout.compareTo(heartbeatInterval.multipliedBy(2)) < 0) {
            throw new IllegalArgumentException("election timeout (" + electionTimeout.toMillis()
                    + " ms) must be at least twice the heartbeat interval (" + heartbeatInterval.toMillis() + " ms)");
        }
        if (maxFrameBytes < 64 * 1024) {
            throw new IllegalArgumentException("max peer frame must be at least 64 KiB");
        }
        if (maxAppendEntries < 1) {
            throw new IllegalArgumentException("max append entries must be positive");
        }
        if (maxAppendBytes < 1 || maxAppendBytes > maxFrameBytes / 2) {
            throw new IllegalArgumentException("max append bytes must be positive and at most half the max frame");
        }
    }

    /** The same with the default snapshot policy. */
    public ClusterConfig(int nodeId, List<Member> members, Path dataDir, String peerBindHost, String clientAddress,
                         String clusterName, Duration heartbeatInterval, Duration electionTimeout, int maxFrameBytes,
                         int maxAppendEntries, long maxAppendBytes, Path peerSecretFile, PeerTlsFiles peerTls) {
        this(nodeId, members, dataDir, peerBindHost, clientAddress, clusterName, heartbeatInterval, electionTimeout,
                maxFrameBytes, maxAppendEntries, maxAppendBytes, peerSecretFile, peerTls, null);
    }

    /** The same without peer TLS. */
    public ClusterConfig(int nodeId, List<Member> members, Path dataDir, String peerBindHost, String clientAddress,
                         String clusterName, Duration heartbeatInterval, Duration electionTimeout, int maxFrameBytes,
                         int maxAppendEntries, long maxAppendBytes, Path peerSecretFile) {
        this(nodeId, members, dataDir, peerBindHost, clientAddress, clusterName, heartbeatInterval, electionTimeout,
                maxFrameBytes, maxAppendEntries, maxAppendBytes, peerSecretFile, null);
    }

    /** The same without a peer secret. */
    public ClusterConfig(int nodeId, List<Member> members, Path dataDir, String peerBindHost, String clientAddress,
                         String clusterName, Duration heartbeatInterval, Duration electionTimeout, int maxFrameBytes,
                         int maxAppendEntries, long maxAppendBytes) {
        this(nodeId, members, dataDir, peerBindHost, clientAddress, clusterName, heartbeatInterval, electionTimeout,
                maxFrameBytes, maxAppendEntries, maxAppendBytes, null, null);
    }

    /** This config with the peer secret read from {@code file} (null: none). */
    public ClusterConfig withPeerSecretFile(Path file) {
        return new ClusterConfig(nodeId, members, dataDir, peerBindHost, clientAddress, clusterName, heartbeatInterval,
                electionTimeout, maxFrameBytes, maxAppendEntries, maxAppendBytes, file, peerTls, snapshots);
    }

    /** This config with peer mutual TLS from {@code files} (null: none). */
    public ClusterConfig withPeerTls(PeerTlsFiles files) {
        return new ClusterConfig(nodeId, members, dataDir, peerBindHost, clientAddress, clusterName, heartbeatInterval,
                electionTimeout, maxFrameBytes, maxAppendEntries, maxAppendBytes, peerSecretFile, files, snapshots);
    }

    /** This config with {@code policy} for snapshots and log compaction. */
    public ClusterConfig withSnapshots(SnapshotPolicy policy) {
        return new ClusterConfig(nodeId, members, dataDir, peerBindHost, clientAddress, clusterName, heartbeatInterval,
                electionTimeout, maxFrameBytes, maxAppendEntries, maxAppendBytes, peerSecretFile, peerTls, policy);
    }

    /** This node's own member entry. */
    public Member self() {
        return members.stream().filter(m -> m.id() == nodeId).findFirst().orElseThrow();
    }

    /** The smallest number of nodes that forms a majority of the configured members. */
    public int majority() {
        return members.size() / 2 + 1;
    }
}
