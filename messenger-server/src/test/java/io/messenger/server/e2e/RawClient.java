package io.messenger.server.e2e;

import io.messenger.proto.client.ClientEnvelope;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import io.netty.handler.codec.protobuf.ProtobufEncoder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A bare protocol client for tests: sends exactly the frames (or bytes) it is told to and
 * queues every frame the server sends back, so tests can speak wrongly on purpose.
 */
final class RawClient implements AutoCloseable {

    private static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());

    final BlockingQueue<ClientEnvelope> received;
    private final Channel channel;

    private RawClient(Channel channel, BlockingQueue<ClientEnvelope> received) {
        this.channel = channel;
        this.received = received;
    }

    static RawClient connect(int port, boolean autoRead) throws InterruptedException {
        BlockingQueue<ClientEnvelope> queue = new LinkedBlockingQueue<>();
        Channel ch = new Bootstrap()
                .group(GROUP)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.AUTO_READ, autoRead)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("frameDecoder", new LengthFieldBasedFrameDecoder(16 << 20, 0, 4, 0, 4))
                                .addLast("frameEncoder", new LengthFieldPrepender(4))
                                .addLast("protobufDecoder", new ProtobufDecoder(ClientEnvelope.getDefaultInstance()))
                                .addLast("protobufEncoder", new ProtobufEncoder())
                                .addLast("collector", new SimpleChannelInboundHandler<ClientEnvelope>() {
                                    @Override
                                    protected void channelRead0(ChannelHandlerContext ctx, ClientEnvelope msg) {
                                        queue.add(msg);
                                    }
                                });
                    }
                })
                .connect("127.0.0.1", port).sync().channel();
        return new RawClient(ch, queue);
    }

    static RawClient connect(int port) throws InterruptedException {
        return connect(port, true);
    }

    void write(ClientEnvelope envelope) {
        channel.writeAndFlush(envelope).syncUninterruptibly();
    }

    /** Writes without flushing, for bursts. */
    void feed(ClientEnvelope envelope) {
        channel.write(envelope);
    }

    void flush() {
        channel.flush();
    }

    /** Writes bytes as they are, below the framing. */
    void writeRaw(byte[] bytes) {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        channel.pipeline().firstContext().writeAndFlush(buf).syncUninterruptibly();
    }

    void read() {
        channel.read();
    }

    void setAutoRead(boolean on) {
        channel.config().setAutoRead(on);
    }

    ClientEnvelope next(Duration timeout) throws InterruptedException {
        ClientEnvelope e = received.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (e == null) {
            throw new AssertionError("no frame from the server within " + timeout + "; open=" + channel.isOpen());
        }
        return e;
    }

    ClientEnvelope next() throws InterruptedException {
        return next(Duration.ofSeconds(5));
    }

    /** The next frame of the given kind, skipping others (collected into {@code skipped}). */
    ClientEnvelope next(ClientEnvelope.BodyCase kind, List<ClientEnvelope> skipped) throws InterruptedException {
        while (true) {
            ClientEnvelope e = next();
            if (e.getBodyCase() == kind) {
                return e;
            }
            if (skipped != null) {
                skipped.add(e);
            }
        }
    }

    ClientEnvelope next(ClientEnvelope.BodyCase kind) throws InterruptedException {
        return next(kind, new ArrayList<>());
    }

    boolean isOpen() {
        return channel.isOpen();
    }

    boolean awaitClosed(Duration timeout) {
        return channel.closeFuture().awaitUninterruptibly(timeout.toMillis());
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }
}
