package io.messenger.cluster.admin;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The node's HTTP admin endpoint: {@code GET /status} returns the status map as JSON and
 * {@code GET /health} returns 200 {@code {"status":"ok"}} while healthy, 503 otherwise, and
 * {@code GET /metrics}, when a scrape is given, returns the Prometheus text exposition. It is
 * read-only (any method but GET and HEAD is 405), bounds how long a connection may take to
 * deliver a request, and runs on one I/O thread of its own so a busy client or peer link
 * cannot starve it.
 */
public final class AdminHttpServer implements AutoCloseable {

    private final EventLoopGroup group;
    private final Channel channel;

    private AdminHttpServer(EventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
    }

    /**
     * Binds and starts serving.
     *
     * @param port 0 for an ephemeral port (see {@link #port()})
     * @param status called on the admin I/O thread for every {@code /status}; must be thread-safe
     * @param healthy called on the admin I/O thread for every {@code /health}
     * @throws IllegalStateException if the address cannot be bound
     */
    public static AdminHttpServer start(String host, int port, Supplier<Map<String, Object>> status,
                                        BooleanSupplier healthy) {
        return start(host, port, status, healthy, null);
    }

    /**
     * Binds and starts serving, {@code /metrics} included.
     *
     * @param metrics called on the admin I/O thread for every {@code /metrics}, returns the
     *     Prometheus text format; {@code null} to answer 404 there
     */
    public static AdminHttpServer start(String host, int port, Supplier<Map<String, Object>> status,
                                        BooleanSupplier healthy, Supplier<String> metrics) {
        return start(host, port, status, healthy, metrics, AdminHttpInitializer.DEFAULT_REQUEST_TIMEOUT);
    }

    /**
     * Binds and starts serving, {@code /metrics} included, closing connections that take longer
     * than {@code requestTimeout} to deliver a whole request.
     */
    public static AdminHttpServer start(String host, int port, Supplier<Map<String, Object>> status,
                                        BooleanSupplier healthy, Supplier<String> metrics, Duration requestTimeout) {
        AdminHttpInitializer initializer = new AdminHttpInitializer(status, healthy, metrics, requestTimeout);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("admin-http", true),
                NioIoHandler.newFactory());
        ChannelFuture bound = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childHandler(initializer)
                .bind(host, port)
                .awaitUninterruptibly();
        if (!bound.isSuccess()) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new IllegalStateException("cannot bind the admin endpoint to " + host + ":" + port + ": "
                    + bound.cause().getMessage(), bound.cause());
        }
        return new AdminHttpServer(group, bound.channel());
    }

    /** The bound port. */
    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
