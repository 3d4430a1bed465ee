package io.messenger.server.client;

import static io.messenger.server.client.Frames.buf;
import static io.messenger.server.client.Frames.frame;
import static io.messenger.server.client.Frames.hello;
import static io.messenger.server.client.Frames.written;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Rejection;
import io.messenger.server.InProcessReplicator;
import io.messenger.server.chat.ChatLimits;
import io.messenger.server.chat.ChatStateMachine;
import io.messenger.server.chat.LocalConnections;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The client pipeline fed with raw bytes: framing, limits and decoding failures. */
class ClientPipelineTest {

    private final LocalConnections connections = new LocalConnections();
    private final ChatStateMachine chat = new ChatStateMachine(1, ChatLimits.DEFAULTS, connections);
    private final InProcessReplicator replicator = InProcessReplicator.direct(chat);
    private final ClientServerContext context = new ClientServerContext(1, replicator, chat, connections,
            4096, 64 * 1024, Duration.ofSeconds(10), 256, () -> 1_000L);
    private EmbeddedChannel channel;

    private EmbeddedChannel newChannel() {
        channel = new EmbeddedChannel(new ClientServerInitializer(context,
                new DefaultChannelGroup(GlobalEventExecutor.INSTANCE)));
        return channel;
    }

    @AfterEach
    void finish() {
        if (channel != null) {
            channel.finishAndReleaseAll();
        }
    }

    @Test
    void pipelineHandlersAreNamed() {
        assertThat(newChannel().pipeline().names()).containsSubsequence(
                ClientPipeline.FRAME_DECODER, ClientPipeline.FRAME_ENCODER, ClientPipeline.PROTOBUF_DECODER,
                ClientPipeline.PROTOBUF_ENCODER, ClientPipeline.IDLE_STATE, ClientPipeline.SESSION);
    }

    @Test
    void helloSplitAtEveryByteBoundaryIsWelcomed() {
        byte[] bytes = frame(hello("alice", "lobby", "phone"));
        for (int split = 1; split < bytes.length; split++) {
            EmbeddedChannel ch = newChannel();
            ch.writeInbound(buf(Arrays.copyOfRange(bytes, 0, split)));
            assertThat(written(ch)).as("nothing before the frame is complete (split %d)", split).isEmpty();
            ch.writeInbound(buf(Arrays.copyOfRange(bytes, split, bytes.length)));
            List<ClientEnvelope> out = written(ch);
            assertThat(out).as("split at %d", split).hasSize(1);
            assertThat(out.get(0).getBodyCase()).isEqualTo(ClientEnvelope.BodyCase.WELCOME);
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void framesFedOneByteAtATimeAreAllDecoded() {
        EmbeddedChannel ch = newChannel();
        byte[] hello = frame(hello("alice", "lobby", "phone"));
        byte[] send = frame(Frames.send(1, "hi there"));
        byte[] both = new byte[hello.length + send.length];
        System.arraycopy(hello, 0, both, 0, hello.length);
        System.arraycopy(send, 0, both, hello.length, send.length);
        for (byte b : both) {
            ch.writeInbound(buf(new byte[] {b}));
        }
        ch.runPendingTasks();
        assertThat(written(ch)).extracting(ClientEnvelope::getBodyCase).containsExactly(
                ClientEnvelope.BodyCase.WELCOME, ClientEnvelope.BodyCase.ACK, ClientEnvelope.BodyCase.DELIVER);
    }

    @Test
    void oversizedFrameClosesTheConnectionWithOneLogLine() {
        ListAppender<ILoggingEvent> logs = captureLogs();
        try {
            EmbeddedChannel ch = newChannel();
            ch.writeInbound(buf(frame(hello("alice", "lobby", "phone"))));
            written(ch);
            // Claims 10 MiB: refused from the header alone, nothing of that size is allocated.
            ch.writeInbound(buf(new byte[] {0, (byte) 0xA0, 0, 0, 1, 2, 3, 4, 5, 6}));
            ch.runPendingTasks();
            List<ClientEnvelope> out = written(ch);
            assertThat(out).singleElement().satisfies(e -> {
                assertThat(e.getRejection().getReason()).isEqualTo(Rejection.Reason.PROTOCOL_ERROR);
                assertThat(e.getRejection().getMessage()).contains("65536");
            });
            assertThat(ch.isOpen()).isFalse();
            assertThat(logs.list).hasSize(1);
            assertThat(logs.list.get(0).getThrowableProxy()).isNull();
        } finally {
            releaseLogs(logs);
        }
    }

    @Test
    void malformedFrameClosesTheConnectionWithOneLogLine() {
        ListAppender<ILoggingEvent> logs = captureLogs();
        try {
            EmbeddedChannel ch = newChannel();
            byte[] garbage = {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x01, 0x02};
            byte[] one = frame(garbage);
            byte[] two = new byte[one.length * 2];
            System.arraycopy(one, 0, two, 0, one.length);
            System.arraycopy(one, 0, two, one.length, one.length);
            ch.writeInbound(buf(two));
            ch.runPendingTasks();
            assertThat(written(ch)).singleElement().satisfies(e ->
                    assertThat(e.getRejection().getReason()).isEqualTo(Rejection.Reason.PROTOCOL_ERROR));
            assertThat(ch.isOpen()).isFalse();
            assertThat(logs.list).hasSize(1);
            assertThat(logs.list.get(0).getThrowableProxy()).isNull();
        } finally {
            releaseLogs(logs);
        }
    }

    @Test
    void negativeLengthIsMalformed() {
        EmbeddedChannel ch = newChannel();
        ch.writeInbound(buf(new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xF0, 1}));
        assertThat(written(ch)).singleElement().satisfies(e ->
                assertThat(e.getRejection().getReason()).isEqualTo(Rejection.Reason.PROTOCOL_ERROR));
        assertThat(ch.isOpen()).isFalse();
    }

    @Test
    void wrongProtocolVersionIsRefused() {
        EmbeddedChannel ch = newChannel();
        ch.writeInbound(buf(frame(hello("alice", "lobby", "phone").toBuilder().setProtocolVersion(2).build())));
        assertThat(written(ch)).singleElement().satisfies(e -> {
            assertThat(e.getRejection().getReason()).isEqualTo(Rejection.Reason.UNSUPPORTED_VERSION);
            assertThat(e.getRejection().getMessage()).contains("version 1").contains("version 2");
        });
        assertThat(ch.isOpen()).isFalse();
        assertThat(connections.size()).isZero();
    }

    @Test
    void silentConnectionIsClosedAfterTheIdleTimeout() {
        EmbeddedChannel ch = newChannel();
        ch.writeInbound(buf(frame(hello("alice", "lobby", "phone"))));
        written(ch);
        ch.advanceTimeBy(9, java.util.concurrent.TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).isTrue();
        ch.advanceTimeBy(2, java.util.concurrent.TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        ch.runPendingTasks();
        assertThat(ch.isOpen()).isFalse();
        assertThat(chat.earliestDetachedMs()).as("the session keeps its slot, detached").isEqualTo(1_000L);
    }

    @Test
    void connectionWithoutHelloIsClosedAtTheHelloDeadline() {
        EmbeddedChannel ch = newChannel();
        ch.advanceTimeBy(ClientLimits.DEFAULT_HELLO_TIMEOUT.toMillis() - 100, java.util.concurrent.TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).as("still within the hello deadline").isTrue();
        assertThat(written(ch)).isEmpty();
        ch.advanceTimeBy(200, java.util.concurrent.TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
        ch.runPendingTasks();
        assertThat(written(ch)).singleElement().satisfies(e -> {
            assertThat(e.getRejection().getReason()).isEqualTo(Rejection.Reason.HELLO_TIMEOUT);
            assertThat(e.getRejection().getMessage()).contains("5000 ms").endsWith(".");
        });
        assertThat(ch.isOpen()).as("closed long before the 10 s idle timeout").isFalse();
    }

    @Test
    void helloDeadlineIsConfigurable() {
        ClientServerContext quick = new ClientServerContext(1, replicator, chat, connections, 4096, 64 * 1024,
                Duration.ofSeconds(10), 256, () -> 1_000L, new ClientTraffic(), new ClientLimits(Duration.ofMillis(300)));
        channel = new EmbeddedChannel(new ClientServerInitializer(quick, new DefaultChannelGroup(GlobalEventExecutor.INSTANCE)));
        channel.advanceTimeBy(301, java.util.concurrent.TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
        channel.runPendingTasks();
        assertThat(written(channel)).extracting(e -> e.getRejection().getReason())
                .containsExactly(Rejection.Reason.HELLO_TIMEOUT);
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void helloInTimeCancelsTheDeadline() {
        EmbeddedChannel ch = newChannel();
        ch.advanceTimeBy(4, java.util.concurrent.TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        ch.writeInbound(buf(frame(hello("alice", "lobby", "phone"))));
        assertThat(written(ch)).extracting(ClientEnvelope::getBodyCase).containsExactly(ClientEnvelope.BodyCase.WELCOME);
        ch.advanceTimeBy(4, java.util.concurrent.TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        ch.runPendingTasks();
        assertThat(written(ch)).as("no HELLO_TIMEOUT after a Hello").isEmpty();
        assertThat(ch.isOpen()).isTrue();
    }

    private static ListAppender<ILoggingEvent> captureLogs() {
        Logger server = (Logger) LoggerFactory.getLogger("io.messenger.server");
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        server.setLevel(Level.INFO);
        server.addAppender(appender);
        return appender;
    }

    private static void releaseLogs(ListAppender<ILoggingEvent> appender) {
        Logger server = (Logger) LoggerFactory.getLogger("io.messenger.server");
        server.detachAppender(appender);
        server.setLevel(null);
    }
}
