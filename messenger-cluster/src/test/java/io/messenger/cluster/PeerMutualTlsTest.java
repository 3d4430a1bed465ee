package io.messenger.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.cluster.testing.FreePorts;
import io.messenger.cluster.testing.RawPeer;
import io.messenger.cluster.testing.RecordingStateMachine;
import io.messenger.cluster.testing.TestPki;
import io.messenger.proto.peer.Append;
import io.messenger.proto.peer.Heartbeat;
import io.messenger.proto.peer.Entry;
import io.messenger.proto.peer.PeerEnvelope;
import io.messenger.proto.peer.PeerHello;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Peer mutual TLS against real nodes over real sockets: strangers without a certificate, with
 * one from another CA, or with a member certificate naming another node than they claim, are
 * refused before anything they send reaches the consensus core; members elect and replicate.
 */
class PeerMutualTlsTest {

    private static final TestPki CLUSTER_CA = TestPki.create("test cluster CA");
    private static final TestPki OTHER_CA = TestPki.create("somebody else's CA");

    @TempDir
    Path dir;

    /** Node 1 of members {1, 2, 3}, only node 1 running, with peer mTLS. */
    private ClusterConfig nodeOne(int port1) {
        List<Member> members = List.of(new Member(1, "127.0.0.1", port1), new Member(2, "127.0.0.1", FreePorts.next()),
                new Member(3, "127.0.0.1", FreePorts.next()));
        return config(1, members);
    }

    private ClusterConfig config(int id, List<Member> members) {
        return new ClusterConfig(id, members, dir.resolve("node" + id), "127.0.0.1", "127.0.0.1:700" + id, "c",
                ClusterConfig.DEFAULT_HEARTBEAT, ClusterConfig.DEFAULT_ELECTION_TIMEOUT,
                ClusterConfig.DEFAULT_MAX_FRAME_BYTES, ClusterConfig.DEFAULT_MAX_APPEND_ENTRIES,
                ClusterConfig.DEFAULT_MAX_APPEND_BYTES)
                .withPeerTls(CLUSTER_CA.write(dir.resolve("tls-" + id), "node-" + id, CLUSTER_CA.member(id)));
    }

    private static RawPeer tlsPeer(int port, TestPki trusting, TestPki.Credential presenting) throws IOException {
        SSLContext context = trusting.sslContext(presenting);
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(), port);
        socket.setEnabledProtocols(new String[] {"TLSv1.3"});
        socket.setSoTimeout(20_000);
        return new RawPeer(socket);
    }

    private static PeerEnvelope hello(int id) {
        return RawPeer.envelope(id, 0).setHello(PeerHello.newBuilder().setNodeId(id).setCluster("c")
                .setClientAddress("attacker:6666")).build();
    }

    /** A heartbeat of a higher epoch and an append of a chat command: what a stranger would slip in. */
    private static List<PeerEnvelope> attack(int id) {
        return List.of(RawPeer.envelope(id, 7).setHeartbeat(Heartbeat.newBuilder().setCommitIndex(0)).build(),
                RawPeer.envelope(id, 7).setAppend(Append.newBuilder().setPrevIndex(0).setPrevEpoch(0)
                        .addEntries(Entry.newBuilder().setEpoch(7).setIndex(1)
                                .setCommand(com.google.protobuf.ByteString.copyFrom("FAKE", StandardCharsets.UTF_8)))
                        .setCommitIndex(1)).build());
    }

    /**
     * Plays a stranger: hello, then the attack, then reads whatever the node answers until it
     * closes. Returns what it read; a TLS alert or reset counts as closed.
     */
    private static List<PeerEnvelope> tryToJoin(RawPeer stranger, int claimedId) {
        List<PeerEnvelope> answers = new ArrayList<>();
        try {
            stranger.send(hello(claimedId));
            for (PeerEnvelope e : attack(claimedId)) {
                stranger.send(e);
            }
            PeerEnvelope answer;
            while ((answer = stranger.read()) != null) {
                answers.add(answer);
            }
        } catch (java.net.SocketTimeoutException e) {
            throw new AssertionError("the node kept the stranger's connection open", e);
        } catch (IOException e) {
            // javax.net.ssl.SSLException (an alert: bad or missing certificate) or a reset: refused.
        }
        return answers;
    }

    private static void assertNothingApplied(ClusterNode node, RecordingStateMachine machine) {
        // Long enough for a heartbeat or append that got through to have been applied.
        await().pollDelay(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).until(() -> true);
        assertThat(node.status().epoch()).isZero();
        assertThat(node.status().leaderId()).isZero();
        assertThat(node.status().lastIndex()).isZero();
        assertThat(machine.applied()).isEmpty();
        assertThat(node.status().role()).isNotEqualTo(Role.STOPPED);
    }

    @Test
    void aStrangerWithoutACertificateIsRefusedAndNothingItSendsIsApplied() throws Exception {
        int port = FreePorts.next();
        RecordingStateMachine machine = new RecordingStateMachine();
        try (ClusterNode node = ClusterNode.start(nodeOne(port), machine);
             RawPeer stranger = tlsPeer(port, CLUSTER_CA, null)) {
            assertThat(tryToJoin(stranger, 2)).isEmpty();
            assertNothingApplied(node, machine);
        }
    }

    @Test
    void aPlaintextStrangerIsRefusedAndNothingItSendsIsApplied() throws Exception {
        int port = FreePorts.next();
        RecordingStateMachine machine = new RecordingStateMachine();
        try (ClusterNode node = ClusterNode.start(nodeOne(port), machine); RawPeer stranger = new RawPeer(port)) {
            assertThat(tryToJoin(stranger, 2)).isEmpty();
            assertNothingApplied(node, machine);
        }
    }

    @Test
    void aStrangerWithACertificateOfAnotherCaIsRefusedAndNothingItSendsIsApplied() throws Exception {
        int port = FreePorts.next();
        RecordingStateMachine machine = new RecordingStateMachine();
        // It even trusts the cluster's CA and names node 2 correctly: only the issuer is wrong.
        SSLContext context = CLUSTER_CA.sslContext(OTHER_CA.member(2));
        try (ClusterNode node = ClusterNode.start(nodeOne(port), machine);
             RawPeer stranger = new RawPeer(context.getSocketFactory()
                     .createSocket(InetAddress.getLoopbackAddress(), port))) {
            assertThat(tryToJoin(stranger, 2)).isEmpty();
            assertNothingApplied(node, machine);
        }
    }

    @Test
    void aMemberCertificateNamingAnotherNodeThanItClaimsIsRefusedAndNothingItSendsIsApplied() throws Exception {
        int port = FreePorts.next();
        RecordingStateMachine machine = new RecordingStateMachine();
        try (ClusterNode node = ClusterNode.start(nodeOne(port), machine);
             RawPeer stranger = tlsPeer(port, CLUSTER_CA, CLUSTER_CA.member(3))) {
            List<PeerEnvelope> answers = tryToJoin(stranger, 2);
            assertThat(answers).singleElement().satisfies(e -> assertThat(e.getRejection().getReason())
                    .contains("announces node 2").contains("node 3's"));
            assertNothingApplied(node, machine);
        }
        // A certificate of a node that is not a member is refused as well.
        int port2 = FreePorts.next();
        RecordingStateMachine machine2 = new RecordingStateMachine();
        try (ClusterNode node = ClusterNode.start(nodeOne(port2).withPeerTls(
                        CLUSTER_CA.write(dir.resolve("tls-again"), "node-1", CLUSTER_CA.member(1))), machine2);
             RawPeer stranger = tlsPeer(port2, CLUSTER_CA, CLUSTER_CA.member(9))) {
            assertThat(tryToJoin(stranger, 9)).singleElement()
                    .satisfies(e -> assertThat(e.getRejection().getReason()).contains("not a member"));
            assertNothingApplied(node, machine2);
        }
    }

    @Test
    void theSameSequenceFromTheRightCertificateIsAcceptedSoTheRefusalsAboveAreAboutTheCertificate()
            throws Exception {
        int port = FreePorts.next();
        try (ClusterNode node = ClusterNode.start(nodeOne(port), new RecordingStateMachine());
             RawPeer member = tlsPeer(port, CLUSTER_CA, CLUSTER_CA.member(2))) {
            member.send(hello(2));
            assertThat(member.read().getHello().getNodeId()).isEqualTo(1);
            member.send(attack(2).get(0));
            await().atMost(Duration.ofSeconds(20)).until(() -> node.status().epoch() == 7);
        }
    }

    @Test
    void threeNodesWithMutualTlsElectALeaderAndReplicate() throws Exception {
        List<Member> members = List.of(new Member(1, "127.0.0.1", FreePorts.next()),
                new Member(2, "127.0.0.1", FreePorts.next()), new Member(3, "127.0.0.1", FreePorts.next()));
        List<ClusterNode> nodes = new ArrayList<>();
        List<RecordingStateMachine> machines = new ArrayList<>();
        try {
            for (int id = 1; id <= 3; id++) {
                RecordingStateMachine machine = new RecordingStateMachine();
                machines.add(machine);
                nodes.add(ClusterNode.start(config(id, members), machine));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> nodes.stream().anyMatch(n -> n.status().isLeader())
                    && nodes.stream().allMatch(n -> n.status().connectedPeers() == 2));
            ClusterNode leader = nodes.stream().filter(n -> n.status().isLeader()).findFirst().orElseThrow();
            for (int i = 0; i < 20; i++) {
                leader.propose(("m" + i).getBytes(StandardCharsets.UTF_8)).get(30, TimeUnit.SECONDS);
            }
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> machines.stream().allMatch(m -> m.count() >= 20));
            assertThat(machines.get(1).applied()).isEqualTo(machines.get(0).applied());
            assertThat(machines.get(2).applied()).isEqualTo(machines.get(0).applied());
        } finally {
            nodes.forEach(ClusterNode::close);
        }
    }
}
