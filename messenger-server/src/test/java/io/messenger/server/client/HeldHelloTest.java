package io.messenger.server.client;

import static io.messenger.proto.client.ClientEnvelope.BodyCase.ACK;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.PONG;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.WELCOME;
import static io.messenger.server.client.Frames.buf;
import static io.messenger.server.client.Frames.frame;
import static io.messenger.server.client.Frames.hello;
import static io.messenger.server.client.Frames.send;
import static io.messenger.server.client.Frames.written;
import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.cluster.Role;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Rejection;
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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A Hello that arrives while the node knows no leader waits in the node's {@link HelloWaitingRoom}: it is served
 * when this node takes office, redirected when another does, answered {@code ELECTION_IN_PROGRESS} after the
 * room's patience, and answered at once when the room is full. Time is the EmbeddedChannel's, moved by hand.
 */
class HeldHelloTest {

    private static final Duration PATIENCE = Duration.ofMillis(1500);

    private final LocalConnections connections = new LocalConnections();
    private final ChatStateMachine chat = new ChatStateMachine(1, ChatLimits.DEFAULTS, connections);
    private final InProcessReplicator replicator = InProcessReplicator.direct(chat);
    private final ChannelGroup group = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final List<EmbeddedChannel> channels = new ArrayList<>();
    private HelloWaitingRoom room = new HelloWaitingRoom(10, PATIENCE);
    private ClientServerInitializer initializer;

    @BeforeEach
    void electing() {
        replicator.become(Role.ELECTING, 3, 0, "");
        initializer = initializer(room);
    }

    @AfterEach
    void finish() {
        channels.forEach(EmbeddedChannel::finishAndReleaseAll);
    }

    private ClientServerInitializer initializer(HelloWaitingRoom waitingRoom) {
        ClientServerContext context = new ClientServerContext(1, replicator, chat, connections, 4096, 64 * 1024,
                Duration.ofSeconds(10), 256, () -> 5_000L);
        return new ClientServerInitializer(context, group, null, HelloVerifications.INLINE, waitingRoom);
    }

    private EmbeddedChannel connect() {
        EmbeddedChannel ch = new EmbeddedChannel(initializer);
        ch.freezeTime();
        channels.add(ch);
        return ch;
    }

    /** What the channel wrote, without the keep-alive Pongs of a held Hello. */
    private static List<ClientEnvelope> answers(EmbeddedChannel ch) {
        return written(ch).stream().filter(e -> e.getBodyCase() != PONG).toList();
    }

    private static void write(EmbeddedChannel ch, ClientEnvelope... frames) {
        for (ClientEnvelope f : frames) {
            ch.writeInbound(buf(frame(f)));
        }
        ch.runPendingTasks();
    }

    private static void advance(EmbeddedChannel ch, Duration by) {
        ch.advanceTimeBy(by.toMillis(), TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        ch.runPendingTasks();
    }

    @Test
    void heldHelloIsServedWhenThisNodeTakesOfficeAndWhatFollowedItIsHandledInOrder() {
        EmbeddedChannel ch = connect();
        write(ch, hello("alice", "lobby", "phone"), send(1, "one"), send(2, "two"));
        assertThat(answers(ch)).isEmpty();
        assertThat(ch.isOpen()).isTrue();
        assertThat(ch.config().isAutoRead()).isFalse();
        assertThat(room.size()).isEqualTo(1);

        replicator.become(Role.LEADER, 3, 1, "127.0.0.1:7001");
        ch.runPendingTasks();

        List<ClientEnvelope> out = answers(ch).stream()
                .filter(e -> e.getBodyCase() == WELCOME || e.getBodyCase() == ACK).toList();
        assertThat(out).extracting(ClientEnvelope::getBodyCase).containsExactly(WELCOME, ACK, ACK);
        assertThat(out.subList(1, 3)).extracting(e -> e.getAck().getSeq()).containsExactly(1L, 2L);
        assertThat(ch.config().isAutoRead()).isTrue();
        assertThat(room.size()).isZero();
        assertThat(chat.members("lobby")).containsExactly("alice");
    }

    @Test
    void heldHelloIsRedirectedWhenAnotherNodeTakesOffice() {
        EmbeddedChannel ch = connect();
        write(ch, hello("alice", "lobby", "phone"));
        assertThat(answers(ch)).isEmpty();

        replicator.become(Role.BACKUP, 3, 2, "127.0.0.1:7002");
        ch.runPendingTasks();

        assertThat(answers(ch)).singleElement().satisfies(e -> {
            Rejection r = e.getRejection();
            assertThat(r.getReason()).isEqualTo(Rejection.Reason.NOT_LEADER);
            assertThat(r.getLeaderId()).isEqualTo(2);
            assertThat(r.getLeaderAddress()).isEqualTo("127.0.0.1:7002");
        });
        assertThat(ch.isOpen()).isFalse();
        assertThat(room.size()).isZero();
    }

    @Test
    void aChangeThatNamesNoLeaderKeepsTheHelloWaiting() {
        EmbeddedChannel ch = connect();
        write(ch, hello("alice", "lobby", "phone"));

        replicator.become(Role.ELECTING, 4, 0, "");
        ch.runPendingTasks();

        assertThat(answers(ch)).isEmpty();
        assertThat(ch.isOpen()).isTrue();
        assertThat(room.size()).isEqualTo(1);
    }

    @Test
    void heldHelloHearsKeepAlivesAndIsToldToRetryAfterThePatience() {
        EmbeddedChannel ch = connect();
        write(ch, hello("alice", "lobby", "phone"));

        advance(ch, PATIENCE.minusMillis(1));
        List<ClientEnvelope> meanwhile = written(ch);
        assertThat(meanwhile).isNotEmpty().allSatisfy(e -> assertThat(e.getBodyCase()).isEqualTo(PONG));
        assertThat(ch.isOpen()).isTrue();

        advance(ch, Duration.ofMillis(1));
        assertThat(answers(ch)).singleElement().satisfies(e ->
                assertThat(e.getRejection().getReason()).isEqualTo(Rejection.Reason.ELECTION_IN_PROGRESS));
        assertThat(ch.isOpen()).isFalse();
        assertThat(room.size()).isZero();
    }

    @Test
    void aFullRoomAnswersAtOnce() {
        room = new HelloWaitingRoom(1, PATIENCE);
        initializer = initializer(room);
        EmbeddedChannel first = connect();
        write(first, hello("alice", "lobby", "phone"));
        EmbeddedChannel second = connect();
        write(second, hello("bob", "lobby", "laptop"));

        assertThat(answers(first)).isEmpty();
        assertThat(answers(second)).singleElement().satisfies(e ->
                assertThat(e.getRejection().getReason()).isEqualTo(Rejection.Reason.ELECTION_IN_PROGRESS));
        assertThat(second.isOpen()).isFalse();
        assertThat(room.size()).isEqualTo(1);
    }

    @Test
    void aConnectionThatClosesWhileHeldLeavesTheRoom() {
        EmbeddedChannel ch = connect();
        write(ch, hello("alice", "lobby", "phone"));
        assertThat(room.size()).isEqualTo(1);

        ch.close();
        ch.runPendingTasks();

        assertThat(room.size()).isZero();
        replicator.become(Role.LEADER, 3, 1, "127.0.0.1:7001");
        ch.runPendingTasks();
        assertThat(connections.size()).isZero();
        assertThat(chat.members("lobby")).isEmpty();
    }

    @Test
    void aNodeThatKnowsTheLeaderStillRedirectsAtOnce() {
        replicator.become(Role.BACKUP, 3, 2, "127.0.0.1:7002");
        EmbeddedChannel ch = connect();
        write(ch, hello("alice", "lobby", "phone"));
        assertThat(answers(ch)).singleElement().satisfies(e ->
                assertThat(e.getRejection().getReason()).isEqualTo(Rejection.Reason.NOT_LEADER));
        assertThat(room.size()).isZero();
    }
}
