package io.messenger.server.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Deliver;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.local.LocalServerChannel;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.protobuf.ProtobufEncoder;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The slow-consumer cap on frames written from another thread (the apply thread), over an
 * in-JVM channel whose event loop the test can hold up so that those frames stay queued.
 */
class ChannelConnectionTest {

    /** A Deliver of about 4 KiB, like a message at the default size limit. */
    private static final ClientEnvelope BIG = ClientSessionHandler.envelope()
            .setDeliver(Deliver.newBuilder().setRoom("lobby").setSender("bob").setText("y".repeat(4000))).build();
    private static final long FRAME_BYTES = ClientPipeline.LENGTH_FIELD_BYTES + BIG.getSerializedSize();

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
    private final AtomicLong peerReceived = new AtomicLong();
    private Channel server;
    private Channel channel;
    private ListAppender<ILoggingEvent> logs;

    @BeforeEach
    void connect() throws InterruptedException {
        LocalAddress address = new LocalAddress("slow-consumer-" + UUID.randomUUID());
        server = new ServerBootstrap().group(group).channel(LocalServerChannel.class)
                .childHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        if (msg instanceof io.netty.buffer.ByteBuf b) {
                            peerReceived.addAndGet(b.readableBytes());
                        }
                        ReferenceCountUtil.release(msg);
                    }
                })
                .bind(address).sync().channel();
        channel = new Bootstrap().group(group).channel(LocalChannel.class)
                .option(io.netty.channel.ChannelOption.WRITE_BUFFER_WATER_MARK, ClientServer.WATER_MARK)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(ClientPipeline.FRAME_ENCODER,
                                        new LengthFieldPrepender(ClientPipeline.LENGTH_FIELD_BYTES))
                                .addLast(ClientPipeline.PROTOBUF_ENCODER, new ProtobufEncoder());
                    }
                })
                .connect(address).sync().channel();
        logs = new ListAppender<>();
        logs.start();
        Logger logger = (Logger) LoggerFactory.getLogger(ChannelConnection.class);
        logger.setLevel(Level.INFO);
        logger.addAppender(logs);
    }

    @AfterEach
    void close() throws InterruptedException {
        Logger logger = (Logger) LoggerFactory.getLogger(ChannelConnection.class);
        logger.detachAppender(logs);
        logger.setLevel(null);
        channel.close().sync();
        server.close().sync();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    /** Holds the event loop until the returned latch is released, so writes from here stay queued. */
    private CountDownLatch holdEventLoop() throws InterruptedException {
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        channel.eventLoop().execute(() -> {
            held.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(held.await(5, TimeUnit.SECONDS)).isTrue();
        return release;
    }

    @Test
    void framesQueuedFromAnotherThreadBeyondTheCapCloseTheConnectionAsASlowConsumer() throws Exception {
        ClientTraffic traffic = new ClientTraffic();
        ChannelConnection connection = new ChannelConnection(channel, traffic);
        long frames = 2 * ChannelConnection.SLOW_CONSUMER_BYTES / FRAME_BYTES; // 32 MiB worth
        CountDownLatch release = holdEventLoop();
        try {
            for (long i = 0; i < frames; i++) {
                connection.send(BIG);
            }
            assertThat(logs.list).as("closed once more than 16 MiB waited").singleElement().satisfies(e ->
                    assertThat(e.getFormattedMessage()).contains("closing client connection")
                            .contains("the client reads too slowly (more than 16 MiB waiting to be sent)"));
            assertThat(connection.queuedBytes()).isLessThanOrEqualTo(ChannelConnection.SLOW_CONSUMER_BYTES);
            assertThat(traffic.slowConsumerDisconnects()).isEqualTo(1);
        } finally {
            release.countDown();
        }
        assertThat(channel.closeFuture().await(5, TimeUnit.SECONDS)).isTrue();
        await().atMost(Duration.ofSeconds(30)).until(() -> connection.queuedBytes() == 0);
        connection.send(BIG);
        assertThat(connection.queuedBytes()).as("nothing more is queued for a closed connection").isZero();
    }

    @Test
    void framesAreUncountedOnceWrittenSoBurstsThatDrainNeverAddUp() throws Exception {
        ChannelConnection connection = new ChannelConnection(channel);
        long frames = ChannelConnection.SLOW_CONSUMER_BYTES / 2 / FRAME_BYTES; // 8 MiB worth
        for (int burst = 0; burst < 4; burst++) {
            CountDownLatch release = holdEventLoop();
            try {
                for (long i = 0; i < frames; i++) {
                    connection.send(BIG);
                }
                assertThat(connection.queuedBytes()).isEqualTo(frames * FRAME_BYTES);
            } finally {
                release.countDown();
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> connection.queuedBytes() == 0);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> peerReceived.get() == 4 * frames * FRAME_BYTES);
        assertThat(channel.isActive()).as("32 MiB in bursts the client read").isTrue();
        assertThat(logs.list).isEmpty();
    }
}
