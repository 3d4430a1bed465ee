package io.messenger.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Hello;
import io.messenger.proto.client.Presence;
import io.messenger.proto.client.Rejection;
import io.messenger.proto.client.SendFailed;
import io.messenger.proto.client.Welcome;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Behaviour of {@link MessengerClient} against scripted fake nodes on loopback. */
class MessengerClientTest {

    private static final Duration WAIT = Duration.ofSeconds(10);
    /**
     * Pong timeout of tests that are not about silence: far beyond any stall of a loaded machine, so the exact
     * counts of hellos and reconnects they assert hold. Tests about silence set a short one and assert only on
     * what happened up to the reconnect they caused.
     */
    private static final Duration RELAXED_PONG_TIMEOUT = Duration.ofSeconds(5);
    /** Pong timeout of tests about silence. */
    private static final Duration SHORT_PONG_TIMEOUT = Duration.ofMillis(300);

    private FakeCluster cluster;
    private EventLoopGroup group;
    private FakeRoom room;
    private final List<MessengerClient> clients = new ArrayList<>();

    @BeforeEach
    void setUp() {
        cluster = new FakeCluster("lobby", 2);
        group = cluster.group();
        room = cluster.room();
    }

    @AfterEach
    void tearDown() throws Exception {
        clients.forEach(MessengerClient::close);
        cluster.close();
    }

    private MessengerClient client(String seeds, RecordingListener listener, Consumer<MessengerClient.Builder> tweak) {
        MessengerClient.Builder b = MessengerClient.builder().servers(seeds).username("alice").room("lobby")
                .clientId("alice-laptop").listener(listener).pongTimeout(RELAXED_PONG_TIMEOUT)
                .backoff(Duration.ofMillis(10), Duration.ofMillis(100));
        tweak.accept(b);
        MessengerClient c = b.build();
        clients.add(c);
        return c;
    }

    private static String unusedAddress() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return "127.0.0.1:" + s.getLocalPort();
        }
    }

    private static <T> T join(CompletableFuture<T> f) throws Exception {
        return f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    /** The first event of this state at or after position {@code from}, once there is one. */
    private static ConnectionEvent firstSince(RecordingListener l, int from, ConnectionState state) {
        await().atMost(WAIT).until(() -> l.events.stream().skip(from).anyMatch(e -> e.state() == state));
        return l.events.stream().skip(from).filter(e -> e.state() == state).findFirst().orElseThrow();
    }

    /** The events from position {@code from} up to and including the first RECONNECTED after it. */
    private static List<ConnectionEvent> untilReconnected(RecordingListener l, int from) {
        firstSince(l, from, ConnectionState.RECONNECTED);
        List<ConnectionEvent> out = new ArrayList<>();
        for (ConnectionEvent e : l.events.subList(from, l.events.size())) {
            out.add(e);
            if (e.state() == ConnectionState.RECONNECTED) {
                break;
            }
        }
        return out;
    }

    @Test
    void joinDeliversTheLastTenMessagesAsHistoryThenLiveOnes() throws Exception {
        for (int i = 1; i <= 12; i++) {
            room.post("bob", "old " + i);
        }
        FakeServer s1 = cluster.node(1);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> { });

        join(c.connect());
        assertThat(l.messages).hasSize(10).allMatch(ChatMessage::fromHistory);
        assertThat(l.seqs()).containsExactlyElementsOf(LongStream.rangeClosed(3, 12).boxed().toList());

        s1.post("bob", "live");
        await().atMost(WAIT).until(() -> l.messages.size() == 11);
        ChatMessage live = l.messages.get(10);
        assertThat(live.roomSeq()).isEqualTo(13);
        assertThat(live.fromHistory()).isFalse();
        assertThat(live.sender()).isEqualTo("bob");
        assertThat(live.text()).isEqualTo("live");
        assertThat(l.states()).containsExactly(ConnectionState.CONNECTING, ConnectionState.CONNECTED);
        assertThat(l.events.get(1).nodeId()).isEqualTo(1);
        assertThat(c.state()).isEqualTo(ConnectionState.CONNECTED);
        assertThat(l.threads).hasSize(1);
        assertThat(s1.hellos).singleElement().satisfies(h -> {
            assertThat(h.getResume()).isFalse();
            assertThat(h.getClientId()).isEqualTo("alice-laptop");
        });
    }

    @Test
    void sendCompletesWithTheRoomSequenceAndTheMessageIsDelivered() throws Exception {
        FakeServer s1 = cluster.node(1);
        room.post("bob", "before");
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> { });
        join(c.connect());

        assertThat(join(c.send("hello"))).isEqualTo(2L);
        assertThat(join(c.send("again"))).isEqualTo(3L);
        await().atMost(WAIT).until(() -> l.messages.size() == 3);
        assertThat(l.messages.get(2).sender()).isEqualTo("alice");
        assertThat(s1.received(ClientEnvelope.BodyCase.SEND)).extracting(e -> e.getSend().getSeq())
                .containsExactly(1L, 2L);
        assertThat(c.pendingSends()).isZero();
    }

    @Test
    void followsNotLeaderRedirectToAnAddressOutsideTheSeedList() throws Exception {
        FakeServer backup = cluster.node(1);
        FakeServer leader = cluster.node(2);
        backup.redirectTo(leader);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(backup.hostPort(), l, b -> { });

        assertThat(join(c.connect()).getNodeId()).isEqualTo(2);
        ConnectionEvent connected = l.events.get(1);
        assertThat(connected.state()).isEqualTo(ConnectionState.CONNECTED);
        assertThat(connected.address().getPort()).isEqualTo(leader.address().getPort());
        assertThat(backup.hellos).hasSize(1);
    }

    @Test
    void triesTheNextAddressWhenUnreachableOrInElection() throws Exception {
        FakeServer electing = cluster.node(1);
        electing.refuseWith(Rejection.Reason.ELECTION_IN_PROGRESS, "An election is in progress.");
        FakeServer leader = cluster.node(3);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(unusedAddress() + "," + electing.hostPort() + "," + leader.hostPort(), l, b -> { });

        assertThat(join(c.connect()).getNodeId()).isEqualTo(3);
        assertThat(electing.hellos).isNotEmpty();
    }

    @Test
    void resendsUnacknowledgedSendsInOrderAfterReconnectExactlyOnce() throws Exception {
        FakeServer s1 = cluster.node(1);
        FakeServer s2 = cluster.node(2);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort() + "," + s2.hostPort(), l, b -> { });
        join(c.connect());

        // s1 "crashes" after committing m1 but before acking it; it then only redirects to s2.
        s1.redirectTo(s2);
        s1.dropBeforeAck = true;
        CompletableFuture<Long> m1 = c.send("m1");
        CompletableFuture<Long> m2 = c.send("m2");
        CompletableFuture<Long> m3 = c.send("m3");

        assertThat(join(m1)).isEqualTo(1L);
        assertThat(join(m2)).isEqualTo(2L);
        assertThat(join(m3)).isEqualTo(3L);
        assertThat(room.texts()).containsExactly("m1", "m2", "m3");
        await().atMost(WAIT).until(() -> l.messages.size() == 3);
        assertThat(l.seqs()).containsExactly(1L, 2L, 3L);
        assertThat(l.states()).containsSubsequence(ConnectionState.CONNECTED, ConnectionState.RECONNECTING,
                ConnectionState.RECONNECTED);
        List<Long> resent = s2.received(ClientEnvelope.BodyCase.SEND).stream().map(e -> e.getSend().getSeq()).toList();
        assertThat(resent).isSorted().startsWith(1L).contains(2L, 3L);
        assertThat(s2.hellos).last().satisfies(h -> assertThat(h.getResume()).isTrue());
    }

    @Test
    void leaderSteppingDownRedirectsTheSessionAndItsSends() throws Exception {
        FakeServer s1 = cluster.node(1);
        FakeServer s2 = cluster.node(2);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> { });
        join(c.connect());
        s1.applySends = false;
        CompletableFuture<Long> m1 = c.send("m1");
        await().atMost(WAIT).until(() -> !s1.received(ClientEnvelope.BodyCase.SEND).isEmpty());

        s1.stepDownTo(s2);
        assertThat(join(m1)).isEqualTo(1L);
        assertThat(room.texts()).containsExactly("m1");
        ConnectionEvent reconnected = l.events.get(l.events.size() - 1);
        assertThat(reconnected.state()).isEqualTo(ConnectionState.RECONNECTED);
        assertThat(reconnected.nodeId()).isEqualTo(2);
        assertThat(s1.hellos).hasSize(1);
    }

    @Test
    void sessionClosedByTheServerIsResumedAndTheSendResent() throws Exception {
        FakeServer s1 = cluster.node(1);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> { });
        join(c.connect());
        s1.closeSessionOnSend = true;

        assertThat(join(c.send("m1"))).isEqualTo(1L);
        assertThat(room.texts()).containsExactly("m1");
        assertThat(s1.hellos).hasSize(2);
        assertThat(s1.hellos.get(1).getResume()).isTrue();
        assertThat(s1.hellos.get(1).getResumeAfter()).isZero();
    }

    @Test
    void resumesAfterTheLastSeenMessageWithoutGapsOrDuplicates() throws Exception {
        FakeServer s1 = cluster.node(1);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> { });
        join(c.connect());
        for (int i = 1; i <= 3; i++) {
            s1.post("bob", "live " + i);
        }
        await().atMost(WAIT).until(() -> l.messages.size() == 3);

        s1.refuseWith(Rejection.Reason.SERVER_BUSY, "Busy.");
        s1.dropConnections();
        await().atMost(WAIT).until(() -> c.state() == ConnectionState.RECONNECTING);
        for (int i = 4; i <= 6; i++) {
            room.post("bob", "missed " + i);
        }
        await().atMost(WAIT).until(() -> s1.hellos.size() >= 3);
        // A sloppy server replays from too early: the client must drop what it already has.
        s1.historyOverlap = 2;
        s1.welcome();
        await().atMost(WAIT).until(() -> c.state() == ConnectionState.RECONNECTED);
        s1.post("bob", "live 7");

        await().atMost(WAIT).until(() -> l.messages.size() >= 7);
        assertThat(l.seqs()).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L);
        assertThat(l.messages).noneMatch(ChatMessage::fromHistory);
        // Several refused attempts, yet one RECONNECTING notice for the whole outage.
        assertThat(s1.hellos.size()).isGreaterThan(2);
        assertThat(l.states()).containsExactly(ConnectionState.CONNECTING, ConnectionState.CONNECTED,
                ConnectionState.RECONNECTING, ConnectionState.RECONNECTED);
        Hello resume = s1.hellos.get(s1.hellos.size() - 1);
        assertThat(resume.getResume()).isTrue();
        assertThat(resume.getResumeAfter()).isEqualTo(3L);
    }

    @Test
    void aGapInTheLiveStreamIsFilledByResuming() throws Exception {
        FakeServer s1 = cluster.node(1);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> { });
        join(c.connect());
        s1.withhold = 2;

        s1.post("bob", "one");
        s1.post("bob", "two, lost on the way");
        s1.post("bob", "three");

        await().atMost(WAIT).until(() -> l.messages.size() == 3);
        assertThat(l.seqs()).containsExactly(1L, 2L, 3L);
        assertThat(l.events).filteredOn(e -> e.state() == ConnectionState.RECONNECTING).singleElement()
                .satisfies(e -> assertThat(e.reason()).isEqualTo("message 2 of room lobby did not arrive"));
        assertThat(s1.hellos.get(1).getResumeAfter()).isEqualTo(1L);
    }

    @Test
    void fullBufferFailsTheSendAtOnce() throws Exception {
        FakeServer s1 = cluster.node(1);
        s1.applySends = false;
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> b.maxPendingSends(3));
        join(c.connect());

        List<CompletableFuture<Long>> accepted = List.of(c.send("1"), c.send("2"), c.send("3"));
        CompletableFuture<Long> refused = c.send("4");

        assertThat(refused).isCompletedExceptionally();
        assertThatThrownBy(refused::join).hasCauseInstanceOf(BufferFullException.class)
                .hasMessageContaining("outgoing buffer is full");
        assertThat(accepted).noneMatch(CompletableFuture::isDone);
        assertThat(c.pendingSends()).isEqualTo(3);
    }

    @Test
    void sendsWaitWhileDisconnectedAndGoOutOnConnect() throws Exception {
        FakeServer s1 = cluster.node(1);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> b.maxPendingSends(2));
        CompletableFuture<Long> early = c.send("early");
        assertThat(c.send("second")).isNotDone();
        assertThat(c.send("third")).isCompletedExceptionally();

        join(c.connect());
        assertThat(join(early)).isEqualTo(1L);
    }

    @Test
    void missedPongsTriggerAReconnect() throws Exception {
        FakeServer s1 = cluster.node(1);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> b.pongTimeout(SHORT_PONG_TIMEOUT));
        join(c.connect());
        await().atMost(WAIT).until(() -> !s1.received(ClientEnvelope.BodyCase.PING).isEmpty());
        int before = l.events.size();
        int hellosBefore = s1.hellos.size();

        s1.answerPings = false;
        ConnectionEvent reconnecting = firstSince(l, before, ConnectionState.RECONNECTING);
        s1.answerPings = true;
        assertThat(reconnecting.reason()).contains("no answer").contains("300 ms");
        assertThat(firstSince(l, before, ConnectionState.RECONNECTED).nodeId()).isEqualTo(1);
        await().atMost(WAIT).until(() -> s1.connectionCount() == 1);
        assertThat(s1.hellos.size()).isGreaterThan(hellosBefore);
        assertThat(s1.hellos).last().satisfies(h -> assertThat(h.getResume()).isTrue());
    }

    @Test
    void aLeaderThatStopsAnsweringIsTriedLastSoAnotherNodeWelcomesFirst() throws Exception {
        FakeServer leader = cluster.node(1);
        FakeServer backup = cluster.node(2);
        backup.redirectTo(leader);
        RecordingListener l = new RecordingListener();
        // A handshake timeout far beyond the wait: had the frozen node been tried first, no reconnect in time.
        MessengerClient c = client(leader.hostPort() + "," + backup.hostPort(), l,
                b -> b.pongTimeout(SHORT_PONG_TIMEOUT).connectTimeout(Duration.ofSeconds(60)));
        assertThat(join(c.connect()).getNodeId()).isEqualTo(1);
        int before = room.accepted.size();
        int eventsBefore = l.events.size();

        leader.freeze(); // SIGSTOP: its kernel still accepts connections, nothing answers
        backup.welcome(); // the cluster elected node 2

        List<ConnectionEvent> outage = untilReconnected(l, eventsBefore);
        assertThat(outage.get(outage.size() - 1).nodeId()).isEqualTo(2);
        assertThat(room.triedUntilWelcome(before)).as("nodes tried after the pongs stopped").containsExactly(2);
        assertThat(outage).filteredOn(e -> e.state() == ConnectionState.RECONNECTING).singleElement()
                .satisfies(e -> assertThat(e.reason()).contains("no answer from node 1"));
    }

    @Test
    void aNodeThatTimesOutInTheHandshakeIsTriedAfterTheOthersInTheNextRound() throws Exception {
        FakeServer frozen = cluster.node(1);
        frozen.freeze();
        FakeServer electing2 = cluster.node(2);
        electing2.refuseWith(Rejection.Reason.ELECTION_IN_PROGRESS, "An election is in progress.");
        FakeServer electing3 = cluster.node(3);
        electing3.refuseWith(Rejection.Reason.ELECTION_IN_PROGRESS, "An election is in progress.");
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(frozen.hostPort() + "," + electing2.hostPort() + "," + electing3.hostPort(), l,
                b -> b.connectTimeout(Duration.ofMillis(500)));

        CompletableFuture<Welcome> joined = c.connect();
        await().atMost(WAIT).until(() -> room.accepted.size() >= 5);
        // Round one in seed order; node 1 never answered, so round two tries it after the others.
        assertThat(room.accepted.subList(0, 5)).containsExactly(1, 2, 3, 2, 3);
        electing3.welcome();
        assertThat(join(joined).getNodeId()).isEqualTo(3);
    }

    @Test
    void whileTheOthersElectTheFrozenLeaderIsLeftOutOfTheRounds() throws Exception {
        FakeServer leader = cluster.node(1);
        FakeServer electing2 = cluster.node(2);
        FakeServer electing3 = cluster.node(3);
        electing2.refuseWith(Rejection.Reason.ELECTION_IN_PROGRESS, "An election is in progress.");
        electing3.refuseWith(Rejection.Reason.ELECTION_IN_PROGRESS, "An election is in progress.");
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(leader.hostPort() + "," + electing2.hostPort() + "," + electing3.hostPort(), l,
                b -> b.pongTimeout(SHORT_PONG_TIMEOUT).connectTimeout(Duration.ofSeconds(60)));
        assertThat(join(c.connect()).getNodeId()).isEqualTo(1);
        int before = room.accepted.size();
        int eventsBefore = l.events.size();

        leader.freeze();
        // Rounds of the two live nodes only, for as long as they elect.
        await().atMost(WAIT).until(() -> room.accepted.size() >= before + 3);
        assertThat(room.accepted.subList(before, before + 3)).as("nodes tried after the pongs stopped")
                .containsExactly(2, 3, 2);
        await().atMost(WAIT).until(() -> room.accepted.size() >= before + 6);
        assertThat(room.accepted.subList(before, before + 6)).containsExactly(2, 3, 2, 3, 2, 3);
        electing3.welcome();

        List<ConnectionEvent> outage = untilReconnected(l, eventsBefore);
        assertThat(outage.get(outage.size() - 1).nodeId()).isEqualTo(3);
        assertThat(room.triedUntilWelcome(before)).doesNotContain(1).endsWith(3);
    }

    @Test
    void aNodeThatWasOnlySlowIsTriedAgainAfterAConnectTimeout() throws Exception {
        FakeServer leader = cluster.node(1);
        FakeServer backup = cluster.node(2);
        backup.redirectTo(leader);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(leader.hostPort() + "," + backup.hostPort(), l,
                b -> b.pongTimeout(SHORT_PONG_TIMEOUT).connectTimeout(Duration.ofMillis(300)));
        assertThat(join(c.connect()).getNodeId()).isEqualTo(1);
        int eventsBefore = l.events.size();

        leader.answerPings = false;
        firstSince(l, eventsBefore, ConnectionState.RECONNECTING);
        leader.answerPings = true; // it was alive all along, and the backup keeps naming it

        assertThat(firstSince(l, eventsBefore, ConnectionState.RECONNECTED).nodeId()).isEqualTo(1);
        assertThat(backup.hellos).isNotEmpty();
    }

    @Test
    void aRedirectToTheNodeThatJustStoppedAnsweringIsNotFollowedFirst() throws Exception {
        FakeServer leader = cluster.node(1);
        FakeServer stale = cluster.node(2);
        FakeServer elected = cluster.node(3);
        stale.redirectTo(leader);
        elected.redirectTo(leader);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(leader.hostPort() + "," + stale.hostPort() + "," + elected.hostPort(), l,
                b -> b.pongTimeout(SHORT_PONG_TIMEOUT).connectTimeout(Duration.ofSeconds(60)));
        assertThat(join(c.connect()).getNodeId()).isEqualTo(1);
        int before = room.accepted.size();
        int eventsBefore = l.events.size();

        leader.freeze();
        elected.welcome(); // node 3 won the election; node 2 has not heard yet and still names node 1

        List<ConnectionEvent> outage = untilReconnected(l, eventsBefore);
        assertThat(outage.get(outage.size() - 1).nodeId()).isEqualTo(3);
        // Node 2 named node 1; had the client followed, it would hang in the 60 s handshake of the frozen node.
        assertThat(room.triedUntilWelcome(before)).as("nodes tried after the pongs stopped").containsExactly(2, 3);
        assertThat(stale.hellos).isNotEmpty();
    }

    @Test
    void aNodeThatHoldsTheHelloWithKeepAlivesIsWaitedForBeyondTheConnectTimeout() throws Exception {
        FakeServer electing = cluster.node(1);
        electing.holdHello = Duration.ofMillis(1200); // then it wins the election and welcomes
        FakeServer other = cluster.node(2);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(electing.hostPort() + "," + other.hostPort(), l,
                b -> b.connectTimeout(Duration.ofMillis(800)));

        assertThat(join(c.connect()).getNodeId()).isEqualTo(1);
        assertThat(room.accepted).as("nodes tried").containsExactly(1);
    }

    @Test
    void aHeldHelloIsGivenUpAfterTwiceTheConnectTimeout() throws Exception {
        FakeServer stuck = cluster.node(1);
        stuck.holdHello = Duration.ofSeconds(60); // keep-alives, but never an answer
        FakeServer leader = cluster.node(2);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(stuck.hostPort() + "," + leader.hostPort(), l,
                b -> b.connectTimeout(Duration.ofMillis(300)));

        assertThat(join(c.connect()).getNodeId()).isEqualTo(2);
        assertThat(room.accepted).as("nodes tried").containsExactly(1, 2);
    }

    @Test
    void aPortThatRefusesIsPassedOverAtOnceAndARedirectToItIsNotFollowed() throws Exception {
        String dead = unusedAddress(); // a killed leader: its port refuses connections
        FakeServer stale = cluster.node(2);
        FakeServer elected = cluster.node(3);
        // Node 2 names the dead leader until it hears of the election, then the new leader (not a seed).
        stale.refuse = hello -> Rejection.newBuilder().setReason(Rejection.Reason.NOT_LEADER).setMessage("Elsewhere.")
                .setLeaderId(stale.hellos.size() == 1 ? 1 : 3)
                .setLeaderAddress(stale.hellos.size() == 1 ? dead : elected.hostPort()).build();
        RecordingListener l = new RecordingListener();
        // A backoff step far beyond the wait: any pause between these attempts would fail the join. Following
        // the redirect to the dead port would end the round, and so cost one.
        MessengerClient c = client(dead + "," + stale.hostPort(), l,
                b -> b.backoff(Duration.ofSeconds(60), Duration.ofSeconds(60)));

        assertThat(join(c.connect()).getNodeId()).isEqualTo(3);
        assertThat(room.accepted).as("nodes tried").containsExactly(2, 2, 3);
    }

    @Test
    void aSessionWhoseLeaderStepsDownGoesToTheNamedLeaderWithoutABackoffStep() throws Exception {
        FakeServer s1 = cluster.node(1);
        FakeServer s2 = cluster.node(2);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> b.backoff(Duration.ofSeconds(60), Duration.ofSeconds(60)));
        join(c.connect());
        int eventsBefore = l.events.size();

        s1.stepDownTo(s2);

        assertThat(firstSince(l, eventsBefore, ConnectionState.RECONNECTED).nodeId()).isEqualTo(2);
    }

    @Test
    void aResetConnectionRetriesTheLastLeaderFirst() throws Exception {
        FakeServer backup = cluster.node(1);
        FakeServer leader = cluster.node(2);
        backup.redirectTo(leader);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(backup.hostPort() + "," + leader.hostPort(), l, b -> { });
        assertThat(join(c.connect()).getNodeId()).isEqualTo(2);
        int before = room.accepted.size();

        leader.dropConnections(); // the leader's process restarted: a plain loss, not silence

        await().atMost(WAIT).until(() -> l.saw(ConnectionState.RECONNECTED));
        assertThat(room.accepted.get(before)).as("node tried first after the reset").isEqualTo(2);
        assertThat(l.events.get(l.events.size() - 1).nodeId()).isEqualTo(2);
    }

    @Test
    void terminalRefusalFailsConnect() throws Exception {
        FakeServer s1 = cluster.node(1);
        s1.refuseWith(Rejection.Reason.TOO_MANY_DEVICES, "alice is already online on 2 devices.");
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> { });

        assertThatThrownBy(() -> c.connect().join()).isInstanceOf(CompletionException.class)
                .cause().isInstanceOf(RejectedException.class)
                .hasMessage("alice is already online on 2 devices.")
                .satisfies(e -> assertThat(((RejectedException) e).reason())
                        .isEqualTo(Rejection.Reason.TOO_MANY_DEVICES));
        assertThat(c.state()).isEqualTo(ConnectionState.FAILED);
        await().atMost(WAIT).until(() -> l.saw(ConnectionState.FAILED));
        assertThat(c.send("late")).isCompletedExceptionally();
    }

    @Test
    void terminalRefusalAfterAReconnectIsReportedAndClosesTheClient() throws Exception {
        FakeServer s1 = cluster.node(1);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> { });
        join(c.connect());
        s1.applySends = false;
        CompletableFuture<Long> waiting = c.send("never");
        await().atMost(WAIT).until(() -> !s1.received(ClientEnvelope.BodyCase.SEND).isEmpty());

        s1.refuseWith(Rejection.Reason.INVALID_USERNAME, "The username alice is not allowed.");
        s1.dropConnections();

        await().atMost(WAIT).until(() -> l.saw(ConnectionState.FAILED));
        ConnectionEvent failed = l.events.get(l.events.size() - 1);
        assertThat(failed.cause()).isInstanceOf(RejectedException.class);
        assertThat(failed.reason()).isEqualTo("The username alice is not allowed.");
        assertThatThrownBy(waiting::join).hasCauseInstanceOf(MessengerException.class);
        assertThat(c.state()).isEqualTo(ConnectionState.FAILED);
    }

    @Test
    void joinFailsWithASentenceWhenNoServerAnswers() throws Exception {
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(unusedAddress(), l, b -> b.joinTimeout(Duration.ofMillis(300)));

        assertThatThrownBy(() -> c.connect().get(30, TimeUnit.SECONDS))
                .cause().isInstanceOf(MessengerException.class).hasMessageStartingWith("Could not join room lobby");
        assertThat(c.state()).isEqualTo(ConnectionState.FAILED);
    }

    @Test
    void invalidTextIsRefusedLocallyAndServerRefusalFailsOnlyThatSend() throws Exception {
        FakeServer s1 = cluster.node(1);
        s1.maxMessageBytes = 10;
        s1.refuseText = "bad";
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> { });
        join(c.connect());

        assertThatThrownBy(() -> c.send("   ").join()).cause().isInstanceOf(SendRejectedException.class)
                .satisfies(e -> assertThat(((SendRejectedException) e).reason()).isEqualTo(SendFailed.Reason.EMPTY));
        // Blank by the server's rule (String.isBlank) too, e.g. an em space: refused here, at once.
        assertThat(c.send("\u2003\t").isCompletedExceptionally()).isTrue();
        assertThatThrownBy(() -> c.send("ééééééé").join()).cause().isInstanceOf(SendRejectedException.class)
                .hasMessageContaining("14 bytes").hasMessageContaining("limit is 10");

        CompletableFuture<Long> ok1 = c.send("ok1");
        CompletableFuture<Long> bad = c.send("bad");
        CompletableFuture<Long> ok2 = c.send("ok2");
        assertThat(join(ok1)).isEqualTo(1L);
        assertThat(join(ok2)).isEqualTo(2L);
        assertThatThrownBy(bad::join).cause().isInstanceOf(SendRejectedException.class)
                .hasMessage("Refused by the test.");
        assertThat(c.state()).isEqualTo(ConnectionState.CONNECTED);
    }

    @Test
    void presenceAndWhoKeepTheMemberList() throws Exception {
        FakeServer s1 = cluster.node(1);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> { });
        join(c.connect());
        assertThat(c.members()).containsExactly("alice");

        s1.announce("bob", Presence.Kind.JOINED);
        await().atMost(WAIT).until(() -> l.presence.size() == 1);
        assertThat(l.presence.get(0).kind()).isEqualTo(PresenceEvent.Kind.JOINED);
        assertThat(c.members()).containsExactly("alice", "bob");
        s1.announce("bob", Presence.Kind.LEFT);
        await().atMost(WAIT).until(() -> l.presence.size() == 2);
        assertThat(c.members()).containsExactly("alice");
        assertThat(join(c.who())).containsExactly("alice");
    }

    @Test
    void closeSendsByeAndFailsWaitingSends() throws Exception {
        FakeServer s1 = cluster.node(1);
        s1.applySends = false;
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> { });
        join(c.connect());
        CompletableFuture<Long> waiting = c.send("unacked");

        c.close(); // waits at most 2 s, which a loaded machine may exceed
        join(c.closeAsync());
        assertThat(c.state()).isEqualTo(ConnectionState.CLOSED);
        await().atMost(WAIT).until(() -> !s1.received(ClientEnvelope.BodyCase.BYE).isEmpty());
        assertThat(waiting).isCompletedExceptionally();
        assertThat(l.states()).last().isEqualTo(ConnectionState.CLOSED);
        assertThat(c.send("after")).isCompletedExceptionally();
    }

    @Test
    void closeWaitsForTheAcksOfSendsCommittedBeforeTheBye() throws Exception {
        FakeServer s1 = cluster.node(1);
        s1.ackOnBye = true;
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> { });
        join(c.connect());
        CompletableFuture<Long> m1 = c.send("m1");
        CompletableFuture<Long> m2 = c.send("m2");
        await().atMost(WAIT).until(() -> room.texts().size() == 2);

        join(c.closeAsync());
        // Committed and delivered to everyone else: reporting them as failed would invite a duplicate.
        assertThat(m1).isCompletedWithValue(1L);
        assertThat(m2).isCompletedWithValue(2L);
        assertThat(c.state()).isEqualTo(ConnectionState.CLOSED);
    }

    @Test
    void aThrowingListenerDoesNotStopDelivery() throws Exception {
        FakeServer s1 = cluster.node(1);
        List<Long> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        MessengerClient c = MessengerClient.builder().servers(s1.hostPort()).username("alice").room("lobby")
                .listener(new MessengerListener() {
                    @Override
                    public void onMessage(ChatMessage m) {
                        seen.add(m.roomSeq());
                        throw new IllegalStateException("listener bug (expected by the test)");
                    }
                }).build();
        clients.add(c);
        join(c.connect());
        s1.post("bob", "one");
        s1.post("bob", "two");
        await().atMost(WAIT).until(() -> seen.size() == 2);
        assertThat(join(c.send("three"))).isEqualTo(3L);
    }

    @Test
    void clientsCanShareOneCallbackThread() throws Exception {
        FakeServer s1 = cluster.node(1);
        java.util.concurrent.ExecutorService shared = java.util.concurrent.Executors.newSingleThreadExecutor(
                r -> new Thread(r, "shared-callbacks"));
        try {
            RecordingListener l1 = new RecordingListener();
            RecordingListener l2 = new RecordingListener();
            MessengerClient c1 = client(s1.hostPort(), l1, b -> b.callbackExecutor(shared).clientId("one"));
            MessengerClient c2 = client(s1.hostPort(), l2, b -> b.callbackExecutor(shared).clientId("two")
                    .username("bob"));
            join(c1.connect());
            join(c2.connect());
            for (int i = 1; i <= 50; i++) {
                c1.send("from alice " + i);
            }
            assertThat(join(c2.send("from bob"))).isPositive();
            await().atMost(WAIT).untilAsserted(() -> assertThat(List.of(l1.messages.size(), l2.messages.size(), room.texts().size())).containsExactly(51, 51, 51));
            assertThat(l1.seqs()).isEqualTo(l2.seqs()).isSorted().doesNotHaveDuplicates();
            assertThat(l1.threads).containsExactly("shared-callbacks");
            assertThat(l2.threads).containsExactly("shared-callbacks");
            c1.close();
            c2.close();
            assertThat(shared.isShutdown()).isFalse();
        } finally {
            shared.shutdown();
        }
    }

    @Test
    void closeFromACallbackOnASharedPoolDoesNotWaitForItself() throws Exception {
        FakeServer s1 = cluster.node(1);
        java.util.concurrent.ExecutorService shared = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            CompletableFuture<Long> closeMillis = new CompletableFuture<>();
            MessengerClient[] self = new MessengerClient[1];
            MessengerClient c = MessengerClient.builder().servers(s1.hostPort()).username("alice").room("lobby")
                    .callbackExecutor(shared).listener(new MessengerListener() {
                @Override
                public void onMessage(ChatMessage m) {
                    if (m.roomSeq() == 20) {
                        long start = System.nanoTime();
                        self[0].close();
                        closeMillis.complete(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                    }
                }
            }).build();
            clients.add(c);
            self[0] = c;
            join(c.connect());
            // Drains end and start again on different pool threads while messages trickle in.
            for (int i = 1; i <= 20; i++) {
                s1.post("bob", "m" + i);
            }
            assertThat(join(closeMillis)).as("close() from a callback returns without waiting").isLessThan(1000);
            join(c.closeAsync());
        } finally {
            shared.shutdown();
        }
    }

    @Test
    void closeLeavesASharedEventLoopGroupRunning() throws Exception {
        FakeServer s1 = cluster.node(1);
        MessengerClient c = client(s1.hostPort(), new RecordingListener(), b -> b.eventLoopGroup(group));
        join(c.connect());
        c.close();
        assertThat(group.isShuttingDown()).isFalse();
        assertThat(InetSocketAddress.class).isNotNull();
    }
}
