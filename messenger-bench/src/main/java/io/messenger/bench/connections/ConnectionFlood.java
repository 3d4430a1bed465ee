package io.messenger.bench.connections;

import io.messenger.client.ClientPipeline;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Opens many idle sessions to one node over raw Netty channels (one shared event loop group, a bounded
 * number of joins in progress) and keeps them open until closed. It speaks the client protocol itself
 * rather than through {@code MessengerClient}, whose per-client callback thread would make ten thousand
 * sessions cost ten thousand bench threads and measure the bench instead of the server.
 */
public final class ConnectionFlood implements AutoCloseable {

    private final EventLoopGroup group;
    private final List<Channel> channels = new ArrayList<>();
    private final Map<String, Integer> failures = new LinkedHashMap<>();

    public ConnectionFlood(int ioThreads) {
        group = new MultiThreadIoEventLoopGroup(ioThreads, new DefaultThreadFactory("bench-flood", true),
                NioIoHandler.newFactory());
    }

    /**
     * Opens {@code count} sessions, at most {@code concurrency} joining at once.
     *
     * @param localAddresses source addresses, used in turn (127.0.0.x) so the count is not bound by one
     *     address's ephemeral ports
     * @return how many joined
     */
    public int open(InetSocketAddress server, int count, int rooms, int concurrency, List<String> localAddresses,
            Duration pingInterval, Consumer<String> progress) throws InterruptedException {
        String run = Long.toString(ThreadLocalRandom.current().nextLong(1L << 30), 36);
        Semaphore permits = new Semaphore(concurrency);
        List<CompletableFuture<Void>> joins = new ArrayList<>(count);
        long lastReport = System.nanoTime();
        for (int i = 0; i < count; i++) {
            permits.acquire();
            IdleSessionHandler.Identity identity = new IdleSessionHandler.Identity("i" + run + "u" + i,
                    "i" + run + "r" + (i % rooms), "i" + run + "c" + i);
            Bootstrap bootstrap = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                    .handler(new IdleSessionInitializer(identity, pingInterval));
            String local = localAddresses.get(i % localAddresses.size());
            ChannelFuture connect = bootstrap.connect(server, new InetSocketAddress(local, 0));
            CompletableFuture<Void> joined = new CompletableFuture<>();
            connect.addListener(f -> {
                if (!f.isSuccess()) {
                    joined.completeExceptionally(f.cause());
                    return;
                }
                IdleSessionHandler handler = (IdleSessionHandler) connect.channel().pipeline()
                        .get(ClientPipeline.CLIENT_HANDLER);
                handler.joined().whenComplete((ok, error) -> {
                    if (error == null) {
                        joined.complete(null);
                    } else {
                        joined.completeExceptionally(error);
                    }
                });
            });
            joined.whenComplete((ok, error) -> {
                permits.release();
                synchronized (channels) {
                    if (error == null) {
                        channels.add(connect.channel());
                    } else {
                        failures.merge(reason(error), 1, Integer::sum);
                    }
                }
            });
            joins.add(joined);
            if (System.nanoTime() - lastReport > TimeUnit.SECONDS.toNanos(2)) {
                lastReport = System.nanoTime();
                progress.accept("  " + (i + 1) + " sessions started, " + open() + " joined");
            }
        }
        CompletableFuture.allOf(joins.toArray(CompletableFuture[]::new)).exceptionally(e -> null).join();
        return open();
    }

    /** Sessions that joined and are still open. */
    public int open() {
        synchronized (channels) {
            return (int) channels.stream().filter(Channel::isActive).count();
        }
    }

    /** Why sessions failed, with counts. */
    public Map<String, Integer> failures() {
        synchronized (channels) {
            return new LinkedHashMap<>(failures);
        }
    }

    @Override
    public void close() {
        List<Channel> all;
        synchronized (channels) {
            all = new ArrayList<>(channels);
            channels.clear();
        }
        all.forEach(Channel::close);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static String reason(Throwable error) {
        Throwable cause = error.getCause() != null && error instanceof java.util.concurrent.CompletionException
                ? error.getCause() : error;
        String message = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
        // Group failures by their kind, not by the address or port in the text.
        return message.replaceAll("[0-9]+(\\.[0-9]+){3}(:[0-9]+)?", "<addr>");
    }
}
