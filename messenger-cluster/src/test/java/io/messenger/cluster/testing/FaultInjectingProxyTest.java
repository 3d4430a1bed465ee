package io.messenger.cluster.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.cluster.ClusterConfig;
import io.messenger.cluster.Member;
import io.messenger.cluster.transport.PeerEvents;
import io.messenger.cluster.transport.PeerLinkSettings;
import io.messenger.cluster.transport.PeerTransport;
import io.messenger.proto.peer.Heartbeat;
import io.messenger.proto.peer.PeerEnvelope;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FaultInjectingProxyTest {

    @TempDir
    Path dir;

    private FaultInjectingProxy proxy;
    private PeerTransport sender;
    private PeerTransport receiver;
    private final List<PeerEnvelope> received = new CopyOnWriteArrayList<>();
    private final List<String> senderLinks = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        int receiverPort = FreePorts.next();
        proxy = FaultInjectingProxy.start("1-2", new InetSocketAddress("127.0.0.1", receiverPort));
        // Node 1 reaches node 2 only through the proxy.
        ClusterConfig one = config(1, List.of(new Member(1, "127.0.0.1", FreePorts.next()),
                new Member(2, "127.0.0.1", proxy.port())));
        ClusterConfig two = config(2, List.of(new Member(1, "127.0.0.1", one.self().peerPort()),
                new Member(2, "127.0.0.1", receiverPort)));
        sender = new PeerTransport(one, PeerLinkSettings.from(one), new PeerEvents() {
            @Override
            public void envelope(PeerEnvelope envelope) {
            }

            @Override
            public void peerConnectivity(int peerId, boolean up) {
                senderLinks.add(peerId + (up ? " up" : " down"));
            }
        }).start();
        receiver = new PeerTransport(two, PeerLinkSettings.from(two), new PeerEvents() {
            @Override
            public void envelope(PeerEnvelope envelope) {
                received.add(envelope);
            }

            @Override
            public void peerConnectivity(int peerId, boolean up) {
            }
        }).start();
        await().atMost(Duration.ofSeconds(10)).until(() -> sender.connectedPeers().contains(2));
    }

    @AfterEach
    void stop() {
        sender.close();
        receiver.close();
        proxy.close();
    }

    private ClusterConfig config(int id, List<Member> members) {
        return new ClusterConfig(id, members, dir, "127.0.0.1", "127.0.0.1:1", "c", Duration.ofMillis(50),
                Duration.ofMillis(1500), ClusterConfig.DEFAULT_MAX_FRAME_BYTES, 64, 1 << 20);
    }

    private void send(int from, int to) {
        for (int i = from; i <= to; i++) {
            assertThat(sender.send(2, PeerEnvelope.newBuilder().setProtocolVersion(1).setFrom(1)
                    .setHeartbeat(Heartbeat.newBuilder().setCommitIndex(i)).build())).isTrue();
        }
    }

    private List<Long> commits() {
        return received.stream().map(e -> e.getHeartbeat().getCommitIndex()).toList();
    }

    private static List<Long> range(long from, long to) {
        return java.util.stream.LongStream.rangeClosed(from, to).boxed().toList();
    }

    @Test
    void passesFramesThroughInOrder() {
        send(1, 500);
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 500);
        assertThat(commits()).isEqualTo(range(1, 500));
        assertThat(proxy.framesRelayed()).isGreaterThanOrEqualTo(500);
    }

    @Test
    void dropsWholeFramesWithoutBreakingTheStream() {
        proxy.drop(0.5);
        send(1, 400);
        await().atMost(Duration.ofSeconds(10)).until(() -> proxy.framesDropped() > 0);
        proxy.drop(0);
        send(401, 410);
        await().atMost(Duration.ofSeconds(10)).until(() -> commits().contains(410L));
        assertThat(received.size()).isBetween(10, 409);
        assertThat(commits()).isSorted().containsAll(range(401, 410));
    }

    @Test
    void delaysFramesKeepingOrder() {
        proxy.delay(Duration.ofMillis(300));
        long start = System.nanoTime();
        send(1, 50);
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 50);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
        proxy.delay(Duration.ZERO);
        send(51, 60);
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 60);
        assertThat(commits()).isEqualTo(range(1, 60));
    }

    @Test
    void freezeHoldsTrafficAndUnfreezeReleasesItInOrder() {
        proxy.freeze();
        send(1, 100);
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(10)).until(received::isEmpty);
        proxy.unfreeze();
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 100);
        assertThat(commits()).isEqualTo(range(1, 100));
    }

    @Test
    void severCutsTheLinkUntilHealed() {
        proxy.sever();
        await().atMost(Duration.ofSeconds(10)).until(() -> !sender.connectedPeers().contains(2));
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(10))
                .until(() -> !sender.connectedPeers().contains(2));
        proxy.heal();
        await().atMost(Duration.ofSeconds(10)).until(() -> sender.connectedPeers().contains(2));
        send(1, 5);
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 5);
        assertThat(senderLinks).startsWith("2 up", "2 down").endsWith("2 up");
    }
}
