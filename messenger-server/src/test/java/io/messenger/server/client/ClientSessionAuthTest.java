package io.messenger.server.client;

import static io.messenger.proto.client.ClientEnvelope.BodyCase.WELCOME;
import static io.messenger.server.client.Frames.buf;
import static io.messenger.server.client.Frames.frame;
import static io.messenger.server.client.Frames.written;
import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.cluster.Role;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Hello;
import io.messenger.proto.client.Rejection;
import io.messenger.server.InProcessReplicator;
import io.messenger.server.auth.TokenMinter;
import io.messenger.server.auth.TokenVerifier;
import io.messenger.server.chat.ChatLimits;
import io.messenger.server.chat.ChatStateMachine;
import io.messenger.server.chat.LocalConnections;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The session pipeline of a node with a token key: a Hello opens a session only with a valid token. */
class ClientSessionAuthTest {

    private static final Instant NOW = Instant.parse("2026-12-06T23:00:00Z");
    private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private final LocalConnections connections = new LocalConnections();
    private final ChatStateMachine chat = new ChatStateMachine(1, ChatLimits.DEFAULTS, connections);
    private final InProcessReplicator replicator = InProcessReplicator.direct(chat);
    private final ChannelGroup group = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final List<EmbeddedChannel> channels = new ArrayList<>();
    private final TokenMinter minter = TokenMinter.hmac(KEY);

    private EmbeddedChannel connect() {
        ClientServerContext context = new ClientServerContext(1, replicator, chat, connections, 4096, 64 * 1024,
                Duration.ofSeconds(10), 256, () -> 5_000L, new ClientTraffic(),
                TokenVerifier.hmac(KEY, Clock.fixed(NOW, ZoneOffset.UTC)));
        EmbeddedChannel ch = new EmbeddedChannel(new ClientServerInitializer(context, group));
        channels.add(ch);
        return ch;
    }

    private static List<ClientEnvelope> hello(EmbeddedChannel ch, String user, String room, String token) {
        ch.writeInbound(buf(frame(Frames.envelope().setHello(Hello.newBuilder().setUsername(user).setRoom(room)
                .setClientId("phone").setToken(token)).build())));
        ch.runPendingTasks();
        return written(ch);
    }

    @AfterEach
    void finish() {
        channels.forEach(EmbeddedChannel::finishAndReleaseAll);
    }

    private void assertRejected(List<ClientEnvelope> out, EmbeddedChannel ch, Rejection.Reason reason, String says) {
        assertThat(out).singleElement().satisfies(e -> {
            assertThat(e.getRejection().getReason()).isEqualTo(reason);
            assertThat(e.getRejection().getMessage()).contains(says);
        });
        assertThat(ch.isOpen()).as("the refused connection is closed").isFalse();
        assertThat(connections.size()).as("no session was registered").isZero();
        assertThat(chat.members("lobby")).as("nothing reached the log").isEmpty();
    }

    @Test
    void aValidTokenOpensTheSession() {
        EmbeddedChannel ch = connect();
        assertThat(hello(ch, "alice", "lobby", minter.mint("alice", List.of("lobby"), Duration.ofHours(1), NOW)))
                .extracting(ClientEnvelope::getBodyCase).containsExactly(WELCOME);
        assertThat(chat.members("lobby")).containsExactly("alice");
    }

    @Test
    void aHelloWithoutATokenIsRefusedBeforeAnythingIsProposed() {
        EmbeddedChannel ch = connect();
        assertRejected(hello(ch, "admin", "lobby", ""), ch, Rejection.Reason.UNAUTHENTICATED, "sent none");
    }

    @Test
    void aTokenForAnotherUserIsRefused() {
        EmbeddedChannel ch = connect();
        String bobs = minter.mint("bob", null, Duration.ofHours(1), NOW);
        assertRejected(hello(ch, "admin", "lobby", bobs), ch, Rejection.Reason.UNAUTHENTICATED, "another user");
    }

    @Test
    void anExpiredTokenIsRefused() {
        EmbeddedChannel ch = connect();
        String old = minter.mint("alice", null, Duration.ofMinutes(1), NOW.minus(Duration.ofHours(1)));
        assertRejected(hello(ch, "alice", "lobby", old), ch, Rejection.Reason.UNAUTHENTICATED, "expired");
    }

    @Test
    void aRoomTheTokenDoesNotListIsRefused() {
        EmbeddedChannel ch = connect();
        String devOnly = minter.mint("alice", List.of("dev"), Duration.ofHours(1), NOW);
        assertRejected(hello(ch, "alice", "lobby", devOnly), ch, Rejection.Reason.ROOM_NOT_ALLOWED, "room lobby");
    }

    @Test
    void aBackupRefusesABadTokenInsteadOfNamingTheLeader() {
        replicator.become(Role.BACKUP, 3, 2, "127.0.0.1:7002");
        EmbeddedChannel ch = connect();
        List<ClientEnvelope> out = hello(ch, "admin", "lobby", "");
        assertRejected(out, ch, Rejection.Reason.UNAUTHENTICATED, "token");
        assertThat(out.get(0).getRejection().getLeaderAddress()).isEmpty();
    }
}
