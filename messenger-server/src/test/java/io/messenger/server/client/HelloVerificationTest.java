package io.messenger.server.client;

import static io.messenger.proto.client.ClientEnvelope.BodyCase.ACK;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.PONG;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.WELCOME;
import static io.messenger.server.client.Frames.buf;
import static io.messenger.server.client.Frames.frame;
import static io.messenger.server.client.Frames.written;
import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Hello;
import io.messenger.proto.client.Ping;
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
import java.io.ByteArrayOutputStream;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An ES256 node checks a Hello's token on the verification pool, not the event loop: the test holds each check back
 * (its executor only collects the checks) and runs it when it chooses.
 */
class HelloVerificationTest {

    private static final Instant NOW = Instant.parse("2026-12-07T03:00:00Z");
    private static final KeyPair KEYS = ecKeys();

    private final LocalConnections connections = new LocalConnections();
    private final ChatStateMachine chat = new ChatStateMachine(1, ChatLimits.DEFAULTS, connections);
    private final InProcessReplicator replicator = InProcessReplicator.direct(chat);
    private final ChannelGroup group = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final List<EmbeddedChannel> channels = new ArrayList<>();
    private final TokenMinter minter = TokenMinter.privateKey(KEYS.getPrivate());
    private final TokenVerifier es256 = TokenVerifier.publicKey(KEYS.getPublic(), Clock.fixed(NOW, ZoneOffset.UTC));
    /** The checks handed to the pool and not run yet. */
    private final ArrayDeque<Runnable> heldBack = new ArrayDeque<>();

    private static KeyPair ecKeys() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(256);
            return g.generateKeyPair();
        } catch (java.security.GeneralSecurityException e) {
            throw new AssertionError(e);
        }
    }

    private EmbeddedChannel connect(Executor pool) {
        ClientServerContext context = new ClientServerContext(1, replicator, chat, connections, 4096, 64 * 1024,
                Duration.ofSeconds(10), 256, () -> 5_000L, new ClientTraffic(), es256);
        EmbeddedChannel ch = new EmbeddedChannel(new ClientServerInitializer(context, group, null,
                HelloVerifications.on(pool)));
        channels.add(ch);
        return ch;
    }

    private EmbeddedChannel connect() {
        return connect(heldBack::add);
    }

    @AfterEach
    void finish() {
        channels.forEach(EmbeddedChannel::finishAndReleaseAll);
    }

    private ClientEnvelope hello(String user, String token) {
        return Frames.envelope().setHello(Hello.newBuilder().setUsername(user).setRoom("lobby").setClientId(user + "-phone")
                .setToken(token)).build();
    }

    private String token(String user) {
        return minter.mint(user, null, Duration.ofHours(1), NOW);
    }

    /** Frames in one inbound buffer, as one read from the socket delivers them. */
    private static void writeInOneRead(EmbeddedChannel ch, ClientEnvelope... envelopes) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (ClientEnvelope e : envelopes) {
            bytes.writeBytes(frame(e));
        }
        ch.writeInbound(buf(bytes.toByteArray()));
        ch.runPendingTasks();
    }

    private void runHeldBackChecks() {
        while (!heldBack.isEmpty()) {
            heldBack.pollFirst().run();
        }
    }

    @Test
    void nothingReadAfterTheHelloIsHandledBeforeItsCheckEndsThenAllOfItInOrder() {
        EmbeddedChannel ch = connect();
        writeInOneRead(ch, hello("alice", token("alice")), Frames.send(1, "first"),
                Frames.envelope().setPing(Ping.newBuilder().setNonce(7)).build());

        assertThat(heldBack).as("the check went to the pool").hasSize(1);
        assertThat(written(ch)).as("nothing answered while the check runs").isEmpty();
        assertThat(ch.config().isAutoRead()).as("reading stops during the check").isFalse();
        assertThat(chat.members("lobby")).as("no session proposed yet").isEmpty();

        runHeldBackChecks();
        ch.runPendingTasks();

        List<ClientEnvelope> out = written(ch);
        assertThat(out).extracting(ClientEnvelope::getBodyCase).contains(WELCOME, ACK, PONG);
        List<ClientEnvelope.BodyCase> order = out.stream().map(ClientEnvelope::getBodyCase)
                .filter(b -> b == WELCOME || b == ACK || b == PONG).toList();
        assertThat(order).as("the Hello, then the Send, then the Ping").containsExactly(WELCOME, ACK, PONG);
        assertThat(out.stream().filter(e -> e.getBodyCase() == PONG).findFirst().orElseThrow().getPong().getNonce())
                .isEqualTo(7);
        assertThat(chat.members("lobby")).containsExactly("alice");
        assertThat(ch.config().isAutoRead()).as("reading resumes").isTrue();
    }

    @Test
    void whileOneCheckIsHeldBackTheEventLoopServesAnotherConnection() {
        EmbeddedChannel slow = connect();
        writeInOneRead(slow, hello("alice", token("alice")));
        EmbeddedChannel other = connect(Runnable::run); // its check runs at once
        writeInOneRead(other, hello("bob", token("bob")));

        assertThat(written(other)).extracting(ClientEnvelope::getBodyCase).contains(WELCOME);
        assertThat(chat.members("lobby")).containsExactly("bob");
        assertThat(written(slow)).isEmpty();

        runHeldBackChecks();
        slow.runPendingTasks();
        assertThat(written(slow)).extracting(ClientEnvelope::getBodyCase).contains(WELCOME);
        assertThat(chat.members("lobby")).containsExactlyInAnyOrder("alice", "bob");
    }

    @Test
    void aTokenRefusedOnThePoolIsAnsweredOnTheEventLoopAndWhatFollowedIsDropped() {
        EmbeddedChannel ch = connect();
        String forBob = token("bob");
        writeInOneRead(ch, hello("alice", forBob), Frames.send(1, "sneaky"));
        runHeldBackChecks();
        ch.runPendingTasks();

        assertThat(written(ch)).singleElement().satisfies(e -> {
            assertThat(e.getRejection().getReason()).isEqualTo(Rejection.Reason.UNAUTHENTICATED);
            assertThat(e.getRejection().getMessage()).contains("another user");
        });
        assertThat(ch.isOpen()).isFalse();
        assertThat(connections.size()).isZero();
        assertThat(chat.members("lobby")).isEmpty();
    }

    @Test
    void aConnectionThatClosesDuringItsCheckIsForgotten() {
        EmbeddedChannel ch = connect();
        writeInOneRead(ch, hello("alice", token("alice")), Frames.send(1, "lost"));
        ch.close();
        runHeldBackChecks();
        ch.runPendingTasks();

        assertThat(connections.size()).as("no session registered for a closed connection").isZero();
        assertThat(chat.members("lobby")).isEmpty();
    }

    @Test
    void aFullVerificationQueueAnswersServerBusyWithASentence() {
        EmbeddedChannel ch = connect(task -> {
            throw new RejectedExecutionException("queue full");
        });
        writeInOneRead(ch, hello("alice", token("alice")));

        assertThat(written(ch)).singleElement().satisfies(e -> {
            assertThat(e.getRejection().getReason()).isEqualTo(Rejection.Reason.SERVER_BUSY);
            assertThat(e.getRejection().getMessage()).contains("busy checking other sign-ins");
        });
        assertThat(ch.isOpen()).isFalse();
        assertThat(chat.members("lobby")).isEmpty();
    }

    @Test
    void tooManyFramesBeforeTheHelloIsAnsweredIsAProtocolError() {
        EmbeddedChannel ch = connect();
        ClientEnvelope[] frames = new ClientEnvelope[ClientSessionHandler.MAX_FRAMES_WHILE_VERIFYING + 2];
        frames[0] = hello("alice", token("alice"));
        for (int i = 1; i < frames.length; i++) {
            frames[i] = Frames.envelope().setPing(Ping.newBuilder().setNonce(i)).build();
        }
        writeInOneRead(ch, frames);

        assertThat(written(ch)).singleElement().satisfies(e ->
                assertThat(e.getRejection().getReason()).isEqualTo(Rejection.Reason.PROTOCOL_ERROR));
        runHeldBackChecks();
        ch.runPendingTasks();
        assertThat(chat.members("lobby")).isEmpty();
    }
}
