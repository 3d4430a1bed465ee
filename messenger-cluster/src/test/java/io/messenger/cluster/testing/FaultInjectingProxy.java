package io.messenger.cluster.testing;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP proxy in front of one node's peer port that can drop, delay, freeze or sever the
 * traffic of one link. It works on whole length-prefixed frames (4-byte prefix), so a
 * dropped message never breaks the framing of the ones after it, and frames of one
 * direction keep their order whatever the faults do.
 *
 * <p>Faults apply to both directions of every connection through the proxy. Controls may be
 * called from any thread.
 */
public final class FaultInjectingProxy implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(FaultInjectingProxy.class);
    /** Bigger than any real peer frame; the proxy only needs to find frame boundaries. */
    private static final int MAX_FRAME = 64 * 1024 * 1024;

    private final String name;
    private final Supplier<InetSocketAddress> target;
    private final EventLoopGroup group;
    private final boolean ownsGroup;
    private final Set<Relay> relays = ConcurrentHashMap.newKeySet();
    private final AtomicLong relayed = new AtomicLong();
    private final AtomicLong droppedFrames = new AtomicLong();
    private volatile double dropProbability;
    private volatile long delayNanos;
    private volatile boolean frozen;
    private volatile boolean severed;
    private Channel server;

    private FaultInjectingProxy(String name, Supplier<InetSocketAddress> target, EventLoopGroup group,
                                boolean ownsGroup) {
        this.name = name;
        this.target = target;
        this.group = group;
        this.ownsGroup = ownsGroup;
    }

    /** Starts a proxy on an ephemeral loopback port, with its own I/O thread. */
    public static FaultInjectingProxy start(String name, InetSocketAddress target) {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("proxy-" + name, true),
                NioIoHandler.newFactory());
        return new FaultInjectingProxy(name, () -> target, group, true).bind();
    }

    /**
     * Starts a proxy on an ephemeral loopback port, on a group the caller owns and shuts down.
     *
     * @param target asked at every accepted connection, so the proxied node may move ports;
     *     null refuses the connection
     */
    public static FaultInjectingProxy start(String name, Supplier<InetSocketAddress> target, EventLoopGroup group) {
        return new FaultInjectingProxy(name, target, group, false).bind();
    }

    private FaultInjectingProxy bind() {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel accepted) {
                        accept(accepted);
                    }
                });
        server = bootstrap.bind("127.0.0.1", 0).syncUninterruptibly().channel();
        return this;
    }

    /** The loopback port peers dial instead of the target. */
    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    public InetSocketAddress target() {
        return target.get();
    }

    /** Drops each frame with this probability (1.0: a black hole that keeps connections open). */
    public FaultInjectingProxy drop(double probability) {
        if (probability < 0 || probability > 1) {
            throw new IllegalArgumentException("probability must be within [0, 1]: " + probability);
        }
        dropProbability = probability;
        return this;
    }

    /** Delays every frame by this much, keeping order. */
    public FaultInjectingProxy delay(Duration delay) {
        delayNanos = delay.toNanos();
        return this;
    }

    /** Holds every frame, in order, until {@link #unfreeze()} or {@link #heal()}. */
    public FaultInjectingProxy freeze() {
        frozen = true;
        return this;
    }

    /** Releases the held frames, in order, and lets traffic flow again. */
    public FaultInjectingProxy unfreeze() {
        frozen = false;
        relays.forEach(Relay::pumpSoon);
        return this;
    }

    /** Closes every connection through the proxy and refuses new ones until {@link #heal()}. */
    public FaultInjectingProxy sever() {
        severed = true;
        relays.forEach(Relay::close);
        return this;
    }

    /** Removes every fault: no drops, no delay, held frames released, connections accepted. */
    public FaultInjectingProxy heal() {
        dropProbability = 0;
        delayNanos = 0;
        severed = false;
        return unfreeze();
    }

    /** Frames passed on so far, both directions. */
    public long framesRelayed() {
        return relayed.get();
    }

    /** Frames dropped so far, both directions. */
    public long framesDropped() {
        return droppedFrames.get();
    }

    @Override
    public void close() {
        severed = true;
        server.close().syncUninterruptibly();
        relays.forEach(Relay::close);
        if (ownsGroup) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private void accept(Channel accepted) {
        if (severed) {
            accepted.close();
            return;
        }
        InetSocketAddress to = target.get();
        if (to == null) {
            // The proxied node has no address yet (not started): as if nothing listened.
            accepted.close();
            return;
        }
        Relay relay = new Relay(accepted.eventLoop());
        relay.accepted = accepted;
        relays.add(relay);
        relay.downstream = new Direction(relay, "to " + to.getPort());
        relay.upstream = new Direction(relay, "from " + to.getPort());
        accepted.pipeline().addLast(new LengthFieldBasedFrameDecoder(MAX_FRAME, 0, 4, 0, 0), relay.downstream);
        // Both sides on the accepted channel's loop: all relay state is single-threaded.
        ChannelFuture connect = new Bootstrap()
                .group(accepted.eventLoop())
                .channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new LengthFieldBasedFrameDecoder(MAX_FRAME, 0, 4, 0, 0), relay.upstream);
                    }
                })
                .connect(to);
        relay.connected = connect.channel();
        relay.downstream.out = connect.channel();
        relay.upstream.out = accepted;
        accepted.closeFuture().addListener(f -> relay.close());
        connect.channel().closeFuture().addListener(f -> relay.close());
        connect.addListener(f -> {
            if (f.isSuccess() && !severed) {
                accepted.config().setAutoRead(true);
                accepted.read();
            } else {
                relay.close();
            }
        });
    }

    /** One proxied connection: the accepted side and the connection to the target. */
    private final class Relay {
        final EventLoop loop;
        Channel accepted;
        Channel connected;
        Direction downstream;
        Direction upstream;

        Relay(EventLoop loop) {
            this.loop = loop;
        }

        void pumpSoon() {
            loop.execute(() -> {
                downstream.pump();
                upstream.pump();
            });
        }

        void close() {
            relays.remove(this);
            loop.execute(() -> {
                accepted.close();
                if (connected != null) {
                    connected.close();
                }
                downstream.discard();
                upstream.discard();
            });
        }
    }

    /** Frames of one direction waiting for their release time, in arrival order. */
    private final class Direction extends ChannelInboundHandlerAdapter {
        final Relay relay;
        final String label;
        final ArrayDeque<ByteBuf> frames = new ArrayDeque<>();
        final ArrayDeque<Long> releaseAt = new ArrayDeque<>();
        Channel out;
        long lastReleaseAt;
        boolean pumpScheduled;

        Direction(Relay relay, String label) {
            this.relay = relay;
            this.label = label;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf frame = (ByteBuf) msg;
            double p = dropProbability;
            if (p > 0 && ThreadLocalRandom.current().nextDouble() < p) {
                frame.release();
                droppedFrames.incrementAndGet();
                return;
            }
            // Never earlier than the frame before: a shortened delay must not reorder.
            long at = Math.max(System.nanoTime() + delayNanos, lastReleaseAt);
            lastReleaseAt = at;
            frames.add(frame);
            releaseAt.add(at);
            pump();
        }

        void pump() {
            boolean wrote = false;
            while (!frozen && !frames.isEmpty()) {
                long wait = releaseAt.peek() - System.nanoTime();
                if (wait > 0) {
                    if (!pumpScheduled) {
                        pumpScheduled = true;
                        relay.loop.schedule(() -> {
                            pumpScheduled = false;
                            pump();
                        }, wait, TimeUnit.NANOSECONDS);
                    }
                    break;
                }
                releaseAt.poll();
                ByteBuf frame = frames.poll();
                if (out.isActive()) {
                    out.write(frame, out.voidPromise());
                    relayed.incrementAndGet();
                    wrote = true;
                } else {
                    frame.release();
                }
            }
            if (wrote) {
                out.flush();
            }
        }

        void discard() {
            ByteBuf frame;
            while ((frame = frames.poll()) != null) {
                frame.release();
            }
            releaseAt.clear();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            relay.close();
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("proxy {} {}: {}", name, label, cause.toString());
            relay.close();
        }
    }
}
