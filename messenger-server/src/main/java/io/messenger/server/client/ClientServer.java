package io.messenger.server.client;

import io.messenger.cluster.ClusterStatus;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Rejection;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.messenger.cluster.transport.PeerTls;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client-facing TCP server of one node. Only the leader serves sessions; when this node
 * stops leading it closes every client connection, telling each client where to go, so they
 * reconnect to the new leader.
 */
public final class ClientServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ClientServer.class);
    /** A client that lets this much pile up unread is disconnected (it resumes on reconnect). */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(1024 * 1024, 4 * 1024 * 1024);

    private final ClientServerContext context;
    private final EventLoopGroup bossGroup;
    private final EventLoopGroup workerGroup;
    private final ChannelGroup clients = new DefaultChannelGroup("clients", GlobalEventExecutor.INSTANCE);
    private final Channel serverChannel;
    /** Where costly (ES256/RS256) token checks run, off the event loops. */
    private final HelloVerifications verifications;
    private final ClientServerInitializer initializer;
    private volatile boolean wasLeader;

    private ClientServer(ClientServerContext context, String host, int port, int workerThreads, SslContext tls)
            throws InterruptedException {
        this.context = context;
        this.bossGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        this.workerGroup = new MultiThreadIoEventLoopGroup(workerThreads, NioIoHandler.newFactory());
        this.verifications = context.authenticator().cheap() ? HelloVerifications.INLINE
                : HelloVerifications.forNode();
        this.initializer = new ClientServerInitializer(context, clients, tls, verifications);
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(bossGroup, workerGroup)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(initializer);
        ChannelFuture bound = bootstrap.bind(host, port).await();
        if (!bound.isSuccess()) {
            bossGroup.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            workerGroup.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            verifications.close();
            throw new IllegalStateException("cannot listen for clients on " + host + ":" + port + ": "
                    + bound.cause().getMessage(), bound.cause());
        }
        this.serverChannel = bound.channel();
        context.replicator().addListener(this::onClusterChange);
        wasLeader = context.replicator().status().isLeader();
    }

    /** Binds the client port (0 picks a free one) and starts serving. */
    public static ClientServer start(ClientServerContext context, String host, int port) throws InterruptedException {
        return start(context, host, port, null);
    }

    /** The same, speaking TLS with {@code tls} (null: plaintext). */
    public static ClientServer start(ClientServerContext context, String host, int port, SslContext tls)
            throws InterruptedException {
        return new ClientServer(context, host, port, Math.max(2, Runtime.getRuntime().availableProcessors()), tls);
    }

    /** The same with {@code workerThreads} event loops (tests that need two connections on one loop). */
    static ClientServer start(ClientServerContext context, String host, int port, SslContext tls, int workerThreads)
            throws InterruptedException {
        return new ClientServer(context, host, port, workerThreads, tls);
    }

    /**
     * The client port's TLS context from a PEM certificate (chain) and PKCS#8 key: TLS 1.3 and
     * 1.2, OpenSSL where netty-tcnative loads, else the JDK's provider.
     *
     * @throws IllegalArgumentException with a sentence naming the files if they cannot be used
     */
    public static SslContext serverTls(java.nio.file.Path certificate, java.nio.file.Path key) {
        try {
            return SslContextBuilder.forServer(certificate.toFile(), key.toFile())
                    .sslProvider(PeerTls.provider())
                    .keyStoreType(PeerTls.IN_MEMORY_KEY_STORE_TYPE)
                    .protocols(PeerTls.PROTOCOLS)
                    .build();
        } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            throw new IllegalArgumentException("cannot use the client TLS files (certificate " + certificate
                    + ", key " + key + "): " + root.getMessage(), e);
        }
    }

    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /**
     * New connections refused so far for arriving over the connection rate, for one reason (both kinds of port:
     * a plaintext one answers {@code CONNECTION_RATE_LIMITED}, a TLS one closes before the handshake).
     */
    public long refusedConnections(ConnectionRateLimiter.Verdict verdict) {
        return initializer.refusedArrivals(verdict);
    }

    /** Open client connections, including those that have not said Hello yet. */
    public int connectedClients() {
        return clients.size();
    }

    private void onClusterChange(ClusterStatus status) {
        boolean leads = status.isLeader();
        if (wasLeader && !leads) {
            Rejection goAway = ClientSessionHandler.notLeader(status.leaderId(), status.leaderClientAddress());
            log.info("node {} stopped leading; closing {} client connection(s)", context.nodeId(), clients.size());
            for (Channel ch : clients) {
                ch.writeAndFlush(ClientSessionHandler.envelope().setRejection(goAway).build())
                        .addListener(ChannelFutureListener.CLOSE);
            }
        }
        wasLeader = leads;
    }

    /** Stops accepting, closes every client connection and the event loops. */
    @Override
    public void close() {
        serverChannel.close().syncUninterruptibly();
        // Told, not just dropped: a client moves on to another node at once.
        ClientEnvelope goodbye = ClientSessionHandler.envelope().setRejection(Rejection.newBuilder()
                .setReason(Rejection.Reason.SHUTTING_DOWN)
                .setMessage("Node " + context.nodeId() + " is shutting down; connect to another node.")).build();
        clients.writeAndFlush(goodbye).awaitUninterruptibly(1, TimeUnit.SECONDS);
        clients.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        bossGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workerGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
        verifications.close();
    }
}
