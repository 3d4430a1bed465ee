package io.messenger.bench.connections;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A flood of connections that never say Hello: each connects, reads whatever the server writes (a
 * HELLO_TIMEOUT rejection) and waits for the server to close it. Records how long the server kept each
 * one, which is what a hostile opener costs it.
 */
public final class SilentFlood implements AutoCloseable {

    private final EventLoopGroup group;
    private final List<Channel> channels = Collections.synchronizedList(new ArrayList<>());
    private final ConcurrentLinkedQueue<Long> lifetimesNanos = new ConcurrentLinkedQueue<>();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger answered = new AtomicInteger();
    private final Map<String, Integer> failures = new ConcurrentHashMap<>();

    public SilentFlood(int ioThreads) {
        group = new MultiThreadIoEventLoopGroup(ioThreads, new DefaultThreadFactory("bench-silent", true),
                NioIoHandler.newFactory());
    }

    /** Connects {@code count} silent connections, at most {@code concurrency} connecting at once; returns how many connected. */
    public int open(InetSocketAddress server, int count, int concurrency, List<String> localAddresses)
            throws InterruptedException {
        Semaphore permits = new Semaphore(concurrency);
        AtomicInteger connected = new AtomicInteger();
        for (int i = 0; i < count; i++) {
            permits.acquire();
            Bootstrap bootstrap = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                    .handler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            if (msg instanceof ByteBuf b && b.isReadable()) {
                                answered.incrementAndGet();
                            }
                            ReferenceCountUtil.release(msg);
                        }

                        @Override
                        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                            ctx.close();
                        }
                    });
            String local = localAddresses.get(i % localAddresses.size());
            ChannelFuture connect = bootstrap.connect(server, new InetSocketAddress(local, 0));
            connect.addListener(f -> {
                permits.release();
                if (!f.isSuccess()) {
                    String m = f.cause().getMessage() == null ? f.cause().getClass().getSimpleName() : f.cause().getMessage();
                    failures.merge(m.replaceAll("[0-9]+(\\.[0-9]+){3}(:[0-9]+)?", "<addr>"), 1, Integer::sum);
                    return;
                }
                long at = System.nanoTime();
                connected.incrementAndGet();
                open.incrementAndGet();
                channels.add(connect.channel());
                connect.channel().closeFuture().addListener(c -> {
                    open.decrementAndGet();
                    lifetimesNanos.add(System.nanoTime() - at);
                });
            });
        }
        permits.acquire(concurrency); // every connect attempt has finished
        permits.release(concurrency);
        return connected.get();
    }

    /** Connections still open (the server has not closed them yet). */
    public int stillOpen() {
        return open.get();
    }

    /** Connections the server wrote something to before closing (its HELLO_TIMEOUT rejection). */
    public int answered() {
        return answered.get();
    }

    /** How long the server kept the closed ones, in ms: min, p50, p99, max. */
    public Map<String, Long> lifetimesMs() {
        List<Long> all = new ArrayList<>(lifetimesNanos);
        Collections.sort(all);
        Map<String, Long> out = new LinkedHashMap<>();
        if (all.isEmpty()) {
            return out;
        }
        out.put("closed", (long) all.size());
        out.put("minMs", TimeUnit.NANOSECONDS.toMillis(all.get(0)));
        out.put("p50Ms", TimeUnit.NANOSECONDS.toMillis(all.get(all.size() / 2)));
        out.put("p99Ms", TimeUnit.NANOSECONDS.toMillis(all.get(Math.min(all.size() - 1, (int) (all.size() * 0.99)))));
        out.put("maxMs", TimeUnit.NANOSECONDS.toMillis(all.get(all.size() - 1)));
        return out;
    }

    public Map<String, Integer> failures() {
        return new LinkedHashMap<>(failures);
    }

    @Override
    public void close() {
        synchronized (channels) {
            channels.forEach(Channel::close);
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
