package io.messenger.cluster.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.cluster.ClusterConfig;
import io.messenger.cluster.Member;
import io.messenger.cluster.testing.FreePorts;
import com.google.protobuf.ByteString;
import io.messenger.proto.peer.Append;
import io.messenger.proto.peer.Entry;
import io.messenger.proto.peer.Heartbeat;
import io.messenger.proto.peer.PeerEnvelope;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeerTransportTest {

    @TempDir
    Path dir;

    private final List<PeerTransport> started = new ArrayList<>();

    @AfterEach
    void stop() {
        started.forEach(PeerTransport::close);
    }

    /** Records what one transport reports. */
    static final class Recorder implements PeerEvents {
        final List<PeerEnvelope> envelopes = new CopyOnWriteArrayList<>();
        final Map<Integer, Boolean> connectivity = new ConcurrentHashMap<>();
        final List<String> changes = new CopyOnWriteArrayList<>();

        @Override
        public void envelope(PeerEnvelope envelope) {
            envelopes.add(envelope);
        }

        @Override
        public void peerConnectivity(int peerId, boolean up) {
            connectivity.put(peerId, up);
            changes.add(peerId + (up ? " up" : " down"));
        }
    }

    private static List<Member> members(int... ports) {
        List<Member> members = new ArrayList<>();
        for (int i = 0; i < ports.length; i++) {
            members.add(new Member(i + 1, "127.0.0.1", ports[i]));
        }
        return members;
    }

    private ClusterConfig config(int id, List<Member> members, String cluster) {
        return new ClusterConfig(id, members, dir.resolve("n" + id), "127.0.0.1", "127.0.0.1:1", cluster,
                Duration.ofMillis(50), Duration.ofMillis(1500), ClusterConfig.DEFAULT_MAX_FRAME_BYTES, 64, 1 << 20);
    }

    private PeerTransport start(ClusterConfig config, PeerEvents events) {
        PeerTransport transport = new PeerTransport(config, PeerLinkSettings.from(config), events).start();
        started.add(transport);
        return transport;
    }

    private static PeerEnvelope heartbeat(int from, long commit) {
        return PeerEnvelope.newBuilder().setProtocolVersion(1).setFrom(from).setEpoch(1)
                .setHeartbeat(Heartbeat.newBuilder().setCommitIndex(commit)).build();
    }

    private static PeerEnvelope append(int from, long index, int bytes) {
        return PeerEnvelope.newBuilder().setProtocolVersion(1).setFrom(from).setEpoch(1)
                .setAppend(Append.newBuilder().setPrevIndex(index - 1).addEntries(Entry.newBuilder().setIndex(index)
                        .setEpoch(1).setCommand(ByteString.copyFrom(new byte[bytes])))).build();
    }

    @Test
    void heartbeatsGetThroughWhileAppendsFillTheirOwnLane() {
        List<Member> members = members(FreePorts.next(), FreePorts.next());
        Recorder receiver = new Recorder();
        PeerTransport sender = start(config(1, members, "c"), new Recorder());
        start(config(2, members, "c"), receiver);
        await().atMost(Duration.ofSeconds(30)).until(() -> sender.connectedPeers().contains(2) && sender.appendLaneUp(2));
        // Queue appends until the append lane refuses more (its queue or write buffer is full).
        long index = 0;
        while (sender.send(2, append(1, ++index, 256 * 1024))) {
            assertThat(index).isLessThan(1_000_000);
        }
        long dropped = sender.dropped(2);
        assertThat(dropped).isPositive();
        // The control lane has its own queue and buffer: the heartbeat is neither refused nor dropped.
        assertThat(sender.send(2, heartbeat(1, 42))).isTrue();
        await().atMost(Duration.ofSeconds(30)).until(() -> receiver.envelopes.stream()
                .anyMatch(e -> e.hasHeartbeat() && e.getHeartbeat().getCommitIndex() == 42));
        assertThat(receiver.envelopes.stream().filter(PeerEnvelope::hasAppend).count()).isPositive();
    }

    @Test
    void threeNodesLinkUpAndExchangeEnvelopesInOrder() {
        List<Member> members = members(FreePorts.next(), FreePorts.next(), FreePorts.next());
        Recorder[] recorders = {new Recorder(), new Recorder(), new Recorder()};
        PeerTransport[] transports = new PeerTransport[3];
        for (int i = 0; i < 3; i++) {
            transports[i] = start(config(i + 1, members, "c"), recorders[i]);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> transports[0].connectedPeers().size() == 2
                && transports[1].connectedPeers().size() == 2 && transports[2].connectedPeers().size() == 2);
        assertThat(recorders[0].connectivity).containsEntry(2, true).containsEntry(3, true);
        for (int i = 1; i <= 1000; i++) {
            assertThat(transports[0].send(2, heartbeat(1, i))).isTrue();
            assertThat(transports[0].send(3, heartbeat(1, i))).isTrue();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> recorders[1].envelopes.size() == 1000
                && recorders[2].envelopes.size() == 1000);
        for (int i = 0; i < 1000; i++) {
            assertThat(recorders[1].envelopes.get(i).getHeartbeat().getCommitIndex()).isEqualTo(i + 1);
        }
        assertThat(transports[0].dropped()).isZero();
    }

    @Test
    void sendsToAnUnreachablePeerAreDroppedAndCountedThenTheLinkComesBackAfterRestart() {
        List<Member> members = members(FreePorts.next(), FreePorts.next());
        Recorder one = new Recorder();
        PeerTransport first = start(config(1, members, "c"), one);
        assertThat(first.send(2, heartbeat(1, 1))).isFalse();
        assertThat(first.dropped(2)).isEqualTo(1);

        Recorder two = new Recorder();
        PeerTransport second = start(config(2, members, "c"), two);
        await().atMost(Duration.ofSeconds(10)).until(() -> first.connectedPeers().contains(2));
        second.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> !first.connectedPeers().contains(2));
        assertThat(one.changes).containsExactly("2 up", "2 down");

        Recorder again = new Recorder();
        start(config(2, members, "c"), again);
        await().atMost(Duration.ofSeconds(10)).until(() -> first.connectedPeers().contains(2));
        assertThat(first.send(2, heartbeat(1, 9))).isTrue();
        await().atMost(Duration.ofSeconds(30)).until(() -> again.envelopes.size() == 1);
    }

    @Test
    void nodesOfAnotherClusterNeverLink() {
        List<Member> members = members(FreePorts.next(), FreePorts.next());
        PeerTransport first = start(config(1, members, "blue"), new Recorder());
        PeerTransport second = start(config(2, members, "green"), new Recorder());
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(10))
                .until(() -> first.connectedPeers().isEmpty() && second.connectedPeers().isEmpty());
    }

    @Test
    void aPeerThatDialsInIsRedialledAtOnceInsteadOfAfterTheBackoff() {
        List<Member> members = members(FreePorts.next(), FreePorts.next());
        // A backoff far longer than the wait below: only the early redial can link 1 to 2 in time.
        PeerLinkSettings slowRedial = new PeerLinkSettings(Duration.ofMillis(50), Duration.ofMillis(1500),
                Duration.ofSeconds(120), Duration.ofSeconds(120), 64);
        PeerTransport first = new PeerTransport(config(1, members, "c"), slowRedial, new Recorder()).start();
        started.add(first);
        await().atMost(Duration.ofSeconds(30)).until(() -> first.redialPending(2)); // 2 is not up yet

        PeerTransport second = start(config(2, members, "c"), new Recorder());
        await().atMost(Duration.ofSeconds(30)).until(() -> second.connectedPeers().contains(1));
        await().atMost(Duration.ofSeconds(30)).until(() -> first.connectedPeers().contains(2)
                && first.appendLaneUp(2));
        assertThat(first.redialPending(2)).isFalse();
    }

    @Test
    void idleLinksStayUpOnKeepalives() {
        List<Member> members = members(FreePorts.next(), FreePorts.next());
        PeerLinkSettings quick = new PeerLinkSettings(Duration.ofMillis(100), Duration.ofMillis(1000),
                Duration.ofMillis(20), Duration.ofSeconds(1), 64);
        Recorder one = new Recorder();
        PeerTransport first = new PeerTransport(config(1, members, "c"), quick, one).start();
        started.add(first);
        Recorder two = new Recorder();
        started.add(new PeerTransport(config(2, members, "c"), quick, two).start());
        await().atMost(Duration.ofSeconds(10)).until(() -> first.connectedPeers().contains(2));
        // Several silence timeouts (1 s, ten keepalive periods, so a stalled thread does not flap the link)
        // pass with no traffic but keepalives.
        await().during(Duration.ofMillis(3500)).atMost(Duration.ofSeconds(10))
                .until(() -> first.connectedPeers().contains(2));
        assertThat(one.changes).containsExactly("2 up");
        assertThat(two.envelopes).isEmpty();
    }

    @Test
    void aFullQueueDropsInsteadOfBuffering() {
        List<Member> members = members(FreePorts.next(), FreePorts.next());
        ClusterConfig config = config(1, members, "c");
        PeerTransport first = new PeerTransport(config, new PeerLinkSettings(Duration.ofMillis(50),
                Duration.ofMillis(1000), Duration.ofMillis(20), Duration.ofSeconds(1), 8), new Recorder()).start();
        started.add(first);
        Recorder two = new Recorder();
        start(config(2, members, "c"), two);
        await().atMost(Duration.ofSeconds(10)).until(() -> first.connectedPeers().contains(2));
        int accepted = 0;
        for (int i = 0; i < 100_000; i++) {
            if (first.send(2, heartbeat(1, i))) {
                accepted++;
            }
        }
        int sent = accepted;
        assertThat(first.dropped(2)).isEqualTo(100_000 - accepted);
        await().atMost(Duration.ofSeconds(10)).until(() -> two.envelopes.size() + first.dropped(2) >= 100_000
                || two.envelopes.size() >= sent);
        assertThat(two.envelopes.size()).isLessThanOrEqualTo(sent);
    }
}
