package io.messenger.server.client;

import static io.messenger.proto.client.ClientEnvelope.BodyCase.ACK;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.DELIVER;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.PONG;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.WELCOME;
import static io.messenger.server.client.Frames.buf;
import static io.messenger.server.client.Frames.envelope;
import static io.messenger.server.client.Frames.frame;
import static io.messenger.server.client.Frames.hello;
import static io.messenger.server.client.Frames.send;
import static io.messenger.server.client.Frames.written;
import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.cluster.Replicator;
import io.messenger.cluster.Role;
import io.messenger.proto.client.Bye;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Ping;
import io.messenger.proto.client.Rejection;
import io.messenger.proto.client.SendFailed;
import io.messenger.proto.client.WhoRequest;
import io.messenger.server.InProcessReplicator;
import io.messenger.server.chat.ChatLimits;
import io.messenger.server.chat.ChatStateMachine;
import io.messenger.server.chat.LocalConnections;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The session protocol of one connection, over an EmbeddedChannel and an in-process log. */
class ClientSessionHandlerTest {

    private final LocalConnections connections = new LocalConnections();
    private final ChatStateMachine chat = new ChatStateMachine(1, ChatLimits.DEFAULTS, connections);
    private final InProcessReplicator replicator = InProcessReplicator.direct(chat);
    private final ChannelGroup group = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final List<EmbeddedChannel> channels = new ArrayList<>();
    private final ClientTraffic traffic = new ClientTraffic();

    private EmbeddedChannel connect(Replicator log, int maxInFlight) {
        ClientServerContext context = new ClientServerContext(1, log, chat, connections, 4096, 64 * 1024,
                Duration.ofSeconds(10), maxInFlight, () -> 5_000L, traffic);
        EmbeddedChannel ch = new EmbeddedChannel(new ClientServerInitializer(context, group));
        channels.add(ch);
        return ch;
    }

    private EmbeddedChannel connect() {
        return connect(replicator, 256);
    }

    private static List<ClientEnvelope> exchange(EmbeddedChannel ch, ClientEnvelope... frames) {
        for (ClientEnvelope f : frames) {
            if (ch.isOpen()) {
                ch.writeInbound(buf(frame(f)));
            }
        }
        ch.runPendingTasks();
        return written(ch);
    }

    private EmbeddedChannel joined(String user, String clientId) {
        EmbeddedChannel ch = connect();
        assertThat(exchange(ch, hello(user, "lobby", clientId))).extracting(ClientEnvelope::getBodyCase)
                .startsWith(WELCOME);
        return ch;
    }

    @AfterEach
    void finish() {
        channels.forEach(EmbeddedChannel::finishAndReleaseAll);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "''              | lobby  | c1   | INVALID_USERNAME",
        "_alice          | lobby  | c1   | INVALID_USERNAME",
        "al ice          | lobby  | c1   | INVALID_USERNAME",
        "abcdefghijabcdefghijabcdefghijabc | lobby | c1 | INVALID_USERNAME",
        "alice           | ''     | c1   | INVALID_ROOM",
        "alice           | -room  | c1   | INVALID_ROOM",
        "alice           | ro/om  | c1   | INVALID_ROOM",
        "alice           | lobby  | ''   | INVALID_CLIENT_ID",
        "alice           | lobby  | a.b  | INVALID_CLIENT_ID",
    })
    void invalidNamesAreRefusedWithASentence(String user, String room, String clientId, Rejection.Reason reason) {
        EmbeddedChannel ch = connect();
        List<ClientEnvelope> out = exchange(ch, hello(user, room, clientId));
        assertThat(out).singleElement().satisfies(e -> {
            assertThat(e.getRejection().getReason()).isEqualTo(reason);
            assertThat(e.getRejection().getMessage()).endsWith(".").contains("letters");
        });
        assertThat(ch.isOpen()).isFalse();
        assertThat(connections.size()).isZero();
    }

    @Test
    void longestValidNamesAreAccepted() {
        String name = "a".repeat(32);
        EmbeddedChannel ch = connect();
        assertThat(exchange(ch, hello(name, "R.o_o-m9", "x".repeat(64)))).extracting(ClientEnvelope::getBodyCase)
                .containsExactly(WELCOME);
    }

    @Test
    void backupAnswersWithTheLeadersAddress() {
        replicator.become(Role.BACKUP, 3, 2, "127.0.0.1:7002");
        EmbeddedChannel ch = connect();
        assertThat(exchange(ch, hello("alice", "lobby", "phone"))).singleElement().satisfies(e -> {
            Rejection r = e.getRejection();
            assertThat(r.getReason()).isEqualTo(Rejection.Reason.NOT_LEADER);
            assertThat(r.getLeaderAddress()).isEqualTo("127.0.0.1:7002");
            assertThat(r.getLeaderId()).isEqualTo(2);
        });
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void duringAnElectionTheClientIsToldToRetryOnceTheHelloHasWaitedLongEnough() {
        replicator.become(Role.ELECTING, 3, 0, "");
        EmbeddedChannel ch = connect();
        assertThat(exchange(ch, hello("alice", "lobby", "phone"))).isEmpty();
        List<ClientEnvelope> out = new ArrayList<>();
        long step = ClientSessionHandler.PAUSED_KEEP_ALIVE_INTERVAL.toMillis();
        for (long waited = 0; waited <= HelloWaitingRoom.DEFAULT_PATIENCE.toMillis(); waited += step) {
            // In steps: an EmbeddedChannel runs every due timer inside a write, the deadline's too.
            ch.advanceTimeBy(step, TimeUnit.MILLISECONDS);
            ch.runScheduledPendingTasks();
            out.addAll(written(ch));
        }
        assertThat(out).filteredOn(e -> e.getBodyCase() != PONG).singleElement().satisfies(e ->
                assertThat(e.getRejection().getReason()).isEqualTo(Rejection.Reason.ELECTION_IN_PROGRESS));
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void firstFrameMustBeHello() {
        EmbeddedChannel ch = connect();
        assertThat(exchange(ch, send(1, "hi"))).singleElement().satisfies(e ->
                assertThat(e.getRejection().getReason()).isEqualTo(Rejection.Reason.PROTOCOL_ERROR));
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void tooLongOrEmptyTextFailsTheSendButKeepsTheSession() {
        EmbeddedChannel ch = joined("alice", "phone");
        List<ClientEnvelope> out = exchange(ch, send(1, "x".repeat(4097)), send(2, "   "),
                send(3, "é".repeat(2049)), send(4, "é".repeat(2048)));
        assertThat(out).hasSize(5);
        assertThat(out.get(0).getSendFailed().getReason()).isEqualTo(SendFailed.Reason.TOO_LONG);
        assertThat(out.get(0).getSendFailed().getMessage()).contains("4097").contains("4096");
        assertThat(out.get(1).getSendFailed().getReason()).isEqualTo(SendFailed.Reason.EMPTY);
        assertThat(out.get(2).getSendFailed().getReason()).as("limit is in UTF-8 bytes")
                .isEqualTo(SendFailed.Reason.TOO_LONG);
        assertThat(out.get(3).getBodyCase()).isEqualTo(ACK);
        assertThat(out.get(3).getAck().getSeq()).isEqualTo(4);
        assertThat(out.get(4).getBodyCase()).isEqualTo(DELIVER);
        assertThat(ch.isOpen()).isTrue();
    }

    @Test
    void sendsAreCountedAsAcceptedDeduplicatedOrRejectedByReasonAndDeliveriesAsWritten() {
        EmbeddedChannel bob = joined("bob", "bob-phone");
        EmbeddedChannel alice = joined("alice", "phone");
        exchange(alice, send(1, "hi"), send(1, "hi"), send(2, "  "), send(3, "x".repeat(4097)), send(0, "zero"));
        written(bob);

        assertThat(traffic.sendsAccepted()).isEqualTo(1);
        assertThat(traffic.sendsDeduplicated()).isEqualTo(1);
        assertThat(traffic.sendsRejected(SendFailed.Reason.EMPTY)).isEqualTo(1);
        assertThat(traffic.sendsRejected(SendFailed.Reason.TOO_LONG)).isEqualTo(1);
        assertThat(traffic.sendsRejected(SendFailed.Reason.BAD_SEQUENCE)).isEqualTo(1);
        assertThat(traffic.deliveries()).as("one live copy each to alice and bob").isEqualTo(2);
        assertThat(traffic.slowConsumerDisconnects()).isZero();
    }

    @Test
    void pingIsAnsweredAndWhoListsTheRoom() {
        joined("bob", "bob-phone");
        EmbeddedChannel ch = joined("alice", "phone");
        List<ClientEnvelope> out = exchange(ch,
                envelope().setPing(Ping.newBuilder().setNonce(77)).build(),
                envelope().setWhoRequest(WhoRequest.getDefaultInstance()).build());
        assertThat(out.get(0).getPong().getNonce()).isEqualTo(77);
        assertThat(out.get(1).getWhoReply().getMembersList()).containsExactly("alice", "bob");
    }

    @Test
    void byeClosesTheSessionAndAnnouncesTheLeave() {
        EmbeddedChannel bob = joined("bob", "bob-phone");
        EmbeddedChannel alice = joined("alice", "phone");
        written(bob);
        exchange(alice, envelope().setBye(Bye.getDefaultInstance()).build());
        alice.runPendingTasks();
        assertThat(alice.isOpen()).isFalse();
        assertThat(chat.members("lobby")).containsExactly("bob");
        assertThat(written(bob)).singleElement().satisfies(e ->
                assertThat(e.getPresence().getUsername()).isEqualTo("alice"));
        assertThat(chat.earliestDetachedMs()).as("a clean leave does not linger").isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void lostConnectionDetachesTheSessionButKeepsItsSlot() {
        EmbeddedChannel alice = joined("alice", "phone");
        alice.close();
        alice.runPendingTasks();
        assertThat(chat.earliestDetachedMs()).isEqualTo(5_000L);
        assertThat(chat.members("lobby")).containsExactly("alice");
        assertThat(connections.size()).isZero();
    }

    @Test
    void aConnectionStopsReadingWhileTooManySendsAreUncommitted() {
        ManualReplicator slow = new ManualReplicator(chat);
        EmbeddedChannel ch = connect(slow, 4);
        exchange(ch, hello("alice", "lobby", "phone"));
        slow.commit(1);
        ch.runPendingTasks();
        assertThat(written(ch)).extracting(ClientEnvelope::getBodyCase).containsExactly(WELCOME);

        byte[] burst = new byte[0];
        for (int i = 1; i <= 10; i++) {
            byte[] f = frame(send(i, "m" + i));
            byte[] joinedBytes = new byte[burst.length + f.length];
            System.arraycopy(burst, 0, joinedBytes, 0, burst.length);
            System.arraycopy(f, 0, joinedBytes, burst.length, f.length);
            burst = joinedBytes;
        }
        ch.writeInbound(buf(burst));
        ch.runPendingTasks();
        assertThat(slow.pending()).as("at most 4 proposals in flight").isEqualTo(4);
        assertThat(ch.config().isAutoRead()).isFalse();

        slow.commit(4);
        ch.runPendingTasks();
        assertThat(slow.pending()).as("held sends go out as commits drain").isEqualTo(4);
        assertThat(ch.config().isAutoRead()).isFalse();
        slow.commit(4);
        ch.runPendingTasks();
        assertThat(slow.pending()).isEqualTo(2);
        assertThat(ch.config().isAutoRead()).as("reading resumes at half the limit").isTrue();
        slow.commit(2);
        ch.runPendingTasks();
        assertThat(written(ch).stream().filter(e -> e.getBodyCase() == ACK).map(e -> e.getAck().getSeq()))
                .containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L);
    }

    @Test
    void aConnectionWhoseReadingIsPausedHearsAPongUntilReadingResumes() {
        ManualReplicator slow = new ManualReplicator(chat);
        EmbeddedChannel ch = connect(slow, 2);
        exchange(ch, hello("alice", "lobby", "phone"));
        slow.commit(1);
        assertThat(written(ch)).extracting(ClientEnvelope::getBodyCase).containsExactly(WELCOME);
        long every = ClientSessionHandler.PAUSED_KEEP_ALIVE_INTERVAL.toMillis();

        exchange(ch, send(1, "one"), send(2, "two"));
        assertThat(ch.config().isAutoRead()).isFalse();
        for (int round = 0; round < 8; round++) {
            // No commit for 8 intervals (2 s): the client's Pings sit unread, yet it hears from us.
            ch.advanceTimeBy(every, TimeUnit.MILLISECONDS);
            ch.runScheduledPendingTasks();
            assertThat(written(ch)).as("interval %d", round).singleElement().satisfies(e -> {
                assertThat(e.getBodyCase()).isEqualTo(PONG);
                assertThat(e.getPong().getNonce()).as("answers no Ping").isZero();
            });
        }

        slow.commit(2);
        ch.runPendingTasks();
        assertThat(ch.config().isAutoRead()).isTrue();
        assertThat(written(ch)).extracting(ClientEnvelope::getBodyCase).doesNotContain(PONG);
        ch.advanceTimeBy(4 * every, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(written(ch)).as("no Pong once reading resumed").isEmpty();
    }

    @Test
    void thePausedConnectionsPongsStopWhenItCloses() {
        ManualReplicator slow = new ManualReplicator(chat);
        EmbeddedChannel ch = connect(slow, 1);
        exchange(ch, hello("alice", "lobby", "phone"));
        slow.commit(1);
        written(ch);
        exchange(ch, send(1, "one"));
        assertThat(ch.config().isAutoRead()).isFalse();
        long every = ClientSessionHandler.PAUSED_KEEP_ALIVE_INTERVAL.toMillis();
        ch.advanceTimeBy(every, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(written(ch)).extracting(ClientEnvelope::getBodyCase).containsExactly(PONG);

        ch.close();
        ch.runPendingTasks();
        ch.advanceTimeBy(every, TimeUnit.MILLISECONDS);
        assertThat(ch.runScheduledPendingTasks()).as("nothing left scheduled: the keep-alive was cancelled")
                .isEqualTo(-1L);
    }

    @Test
    void sendsAfterTheBurstKeepTheirOrder() {
        EmbeddedChannel ch = joined("alice", "phone");
        List<ClientEnvelope> out = exchange(ch, send(1, "one"), send(2, "two"), send(3, "three"));
        assertThat(out.stream().filter(e -> e.getBodyCase() == DELIVER).map(e -> e.getDeliver().getText()))
                .containsExactly("one", "two", "three");
    }
}
