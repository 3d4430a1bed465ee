package io.messenger.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.cluster.testing.FreePorts;
import io.messenger.cluster.testing.RawPeer;
import io.messenger.cluster.testing.RecordingStateMachine;
import io.messenger.proto.peer.Heartbeat;
import io.messenger.proto.peer.PeerEnvelope;
import io.messenger.proto.peer.PeerHello;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A real node fed absurd messages over a real socket by a process that passed the handshake. */
class HostilePeerInputTest {

    @TempDir
    Path dir;

    @Test
    void theRedirectNamesTheAddressTheLeaderAnnouncedInItsHelloNotOneFromAHeartbeat() throws Exception {
        int port1 = FreePorts.next();
        try (ClusterNode node = ClusterNode.start(twoMembers(port1), new RecordingStateMachine());
             RawPeer peer = new RawPeer(port1)) {
            peer.send(RawPeer.envelope(2, 0).setHello(PeerHello.newBuilder().setNodeId(2).setCluster("c")
                    .setClientAddress("127.0.0.1:7002")).build());
            assertThat(peer.read().getHello().getClientAddress()).isEqualTo("127.0.0.1:7001");
            peer.send(RawPeer.envelope(2, 1).setHeartbeat(Heartbeat.newBuilder()
                    .setLeaderClientAddress("attacker:6666")).build());
            await().atMost(Duration.ofSeconds(20)).until(() -> node.status().leaderId() == 2);
            assertThat(node.status().leaderClientAddress()).isEqualTo("127.0.0.1:7002");
            assertThat(node.propose(new byte[] {1})).failsWithin(Duration.ofSeconds(20))
                    .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                    .havingCause().isInstanceOfSatisfying(NotLeaderException.class,
                            e -> assertThat(e.leaderClientAddress()).isEqualTo("127.0.0.1:7002"));
        }
    }

    @Test
    void withAPeerSecretAStrangerIsRefusedAndItsHeartbeatIsNeverApplied() throws Exception {
        int port1 = FreePorts.next();
        Path secret = dir.resolve("peer-secret");
        java.nio.file.Files.writeString(secret, "0123456789abcdef0123456789abcdef\n");
        try (ClusterNode node = ClusterNode.start(twoMembers(port1).withPeerSecretFile(secret),
                new RecordingStateMachine());
             RawPeer stranger = new RawPeer(port1)) {
            stranger.send(RawPeer.envelope(2, 0).setHello(PeerHello.newBuilder().setNodeId(2).setCluster("c")
                    .setNonce(com.google.protobuf.ByteString.copyFrom(new byte[32]))).build());
            stranger.send(RawPeer.envelope(2, 0).setProof(io.messenger.proto.peer.PeerProof.newBuilder()
                    .setProof(com.google.protobuf.ByteString.copyFrom(new byte[32]))).build());
            stranger.send(RawPeer.envelope(2, 7).setHeartbeat(Heartbeat.newBuilder()).build());
            PeerEnvelope first = stranger.read();
            assertThat(first.hasHello()).isTrue();
            assertThat(stranger.read().getRejection().getReason()).contains("failed the peer secret challenge");
            stranger.awaitClosedByNode();
            assertThat(node.status().epoch()).isZero();
            assertThat(node.status().leaderId()).isZero();
        }
    }

    private ClusterConfig twoMembers(int port1) {
        return new ClusterConfig(1,
                List.of(new Member(1, "127.0.0.1", port1), new Member(2, "127.0.0.1", FreePorts.next())),
                dir.resolve("node1"), "127.0.0.1", "127.0.0.1:7001", "c", ClusterConfig.DEFAULT_HEARTBEAT,
                ClusterConfig.DEFAULT_ELECTION_TIMEOUT, ClusterConfig.DEFAULT_MAX_FRAME_BYTES,
                ClusterConfig.DEFAULT_MAX_APPEND_ENTRIES, ClusterConfig.DEFAULT_MAX_APPEND_BYTES);
    }

    @Test
    void aHeartbeatWithAHugeEpochIsRefusedAndTheNodeKeepsRunning() throws Exception {
        int port1 = FreePorts.next();
        try (ClusterNode node = ClusterNode.start(twoMembers(port1), new RecordingStateMachine());
             RawPeer peer = new RawPeer(port1)) {
            peer.send(RawPeer.envelope(2, 0).setHello(PeerHello.newBuilder().setNodeId(2).setCluster("c")).build());
            assertThat(peer.read().hasHello()).isTrue();
            for (long epoch : new long[] {Long.MAX_VALUE, -1L, (1L << 32) + 5}) {
                peer.send(RawPeer.envelope(2, epoch).setHeartbeat(Heartbeat.newBuilder().setCommitIndex(0)).build());
            }
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> ((Long) node.statusReport().get("refusedPeerMessages")) == 3);
            // Well past an election timeout: the node is still alive and its epoch untouched.
            PeerEnvelope fine = RawPeer.envelope(2, 3).setHeartbeat(Heartbeat.newBuilder()).build();
            peer.send(fine);
            await().atMost(Duration.ofSeconds(20)).until(() -> node.status().epoch() == 3);
            assertThat(node.status().role()).isNotEqualTo(Role.STOPPED);
            assertThat(node.statusReport()).containsEntry("refusedPeerMessages", 3L);
        }
    }
}
