package io.messenger.cluster.transport;

import io.messenger.cluster.ClusterConfig;
import io.messenger.cluster.Member;
import io.messenger.proto.peer.PeerEnvelope;
import io.messenger.proto.peer.PeerLane;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's links to its peers: a server socket on its own peer port accepting the other
 * members, and two dialled connections per other member, redialled with capped exponential
 * backoff and jitter. Each node sends only on the links it dialled and receives on the ones
 * it accepted. Sends never block and never buffer without bound: a message for a peer whose
 * link is down, not writable, or whose queue is full is dropped and counted, since the
 * consensus protocol retries.
 *
 * <p>The two connections to a peer are its lanes ({@link PeerLane}, named in the dialler's
 * hello; both pass the same TLS and hello handshake): {@code Append} batches go on the append
 * lane, everything else on the control lane, each with its own queue, write buffer and TCP
 * stream, so heartbeats and the answers to them are never queued behind, or dropped for, bulk
 * catch-up data. The control lane alone decides whether the peer counts as connected; while
 * the append lane is down, appends go on the control lane.
 */
public final class PeerTransport implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PeerTransport.class);
    private static final int MAX_WRITES_PER_DRAIN = 512;

    private final ClusterConfig config;
    private final PeerLinkSettings settings;
    private final PeerEvents events;
    private final PeerIdentity identity;
    private final EventLoopGroup group;
    private final ChannelGroup channels;
    /** The control lane to each peer. */
    private final Map<Integer, PeerLink> links = new TreeMap<>();
    /** The append lane to each peer. */
    private final Map<Integer, PeerLink> appendLinks = new TreeMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Channel serverChannel;

    public PeerTransport(ClusterConfig config, PeerLinkSettings settings, PeerEvents events) {
        this(config, settings, events, identityOf(config, settings));
    }

    /**
     * A transport that proves {@code identity}, made beforehand by {@link #identityOf} (a node
     * loads its credentials, the TLS contexts above all, while its storage opens).
     */
    public PeerTransport(ClusterConfig config, PeerLinkSettings settings, PeerEvents events, PeerIdentity identity) {
        this.config = config;
        this.settings = settings;
        this.events = events;
        this.identity = identity;
        if (identity.tls() != null) {
            log.info("node {}: peer link uses mutual TLS ({}) with the CA {}; a peer must present a certificate"
                    + " of that CA naming its node id (CN=node-<id>)", config.nodeId(), PeerTls.providerDescription(),
                    config.peerTls().trustedCa());
        } else if (identity.authenticator() != null) {
            log.warn("node {}: peer link is NOT ENCRYPTED (no --peer-tls-cert/--peer-tls-key/--peer-tls-ca); members"
                    + " prove the shared peer secret only", config.nodeId());
        }
        if (identity.authenticator() == null && identity.tls() == null) {
            log.warn("node {}: NO PEER TLS AND NO PEER SECRET configured (--peer-tls-*, --peer-secret-file): any process that reaches peer port {}:{}"
                    + " can join the cluster as a member, append chat commands and depose the leader",
                    config.nodeId(), config.peerBindHost(), config.self().peerPort());
        }
        this.group = new MultiThreadIoEventLoopGroup(1,
                new DefaultThreadFactory("peer-io-" + config.nodeId(), true), NioIoHandler.newFactory());
        this.channels = new DefaultChannelGroup("peers-" + config.nodeId(), GlobalEventExecutor.INSTANCE);
        for (Member member : config.members()) {
            if (member.id() != config.nodeId()) {
                links.put(member.id(), new PeerLink(member, PeerLane.PEER_LANE_CONTROL));
                appendLinks.put(member.id(), new PeerLink(member, PeerLane.PEER_LANE_APPEND));
            }
        }
    }

    /**
     * What this node proves to its peers and checks of them, read from {@code config}: the
     * shared peer secret's file and the mutual TLS files, when configured.
     *
     * @throws IllegalArgumentException or {@link java.io.UncheckedIOException} if a file cannot
     *     be read or holds no usable key or certificate
     */
    public static PeerIdentity identityOf(ClusterConfig config, PeerLinkSettings settings) {
        return new PeerIdentity(config.nodeId(), config.clusterName(),
                config.members().stream().map(Member::id).collect(Collectors.toSet()), config.clientAddress(),
                config.peerSecretFile() == null ? null : PeerAuthenticator.fromFile(config.peerSecretFile()),
                config.peerTls() == null ? null : PeerTls.load(config.peerTls(), settings.silenceTimeout()));
    }

    /**
     * Binds the peer port of this node (blocking until bound) and starts dialling every other
     * member.
     *
     * @throws IllegalStateException if the port cannot be bound
     */
    public PeerTransport start() {
        PeerChannelInitializer initializer = initializer();
        ServerBootstrap server = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(initializer);
        Member self = config.self();
        ChannelFuture bound = server.bind(config.peerBindHost(), self.peerPort()).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new IllegalStateException("cannot bind the peer port " + config.peerBindHost() + ":"
                    + self.peerPort() + " of node " + self.id() + ": " + bound.cause().getMessage(), bound.cause());
        }
        serverChannel = bound.channel();
        channels.add(serverChannel);
        for (PeerLink link : links.values()) {
            link.dial();
        }
        for (PeerLink link : appendLinks.values()) {
            link.dial();
        }
        return this;
    }

    private PeerChannelInitializer initializer() {
        return new PeerChannelInitializer(identity, config.maxFrameBytes(), settings.keepaliveInterval(),
                settings.silenceTimeout(), new PeerLinkEvents() {
                    @Override
                    public void linkEstablished(Channel channel, int peerId, boolean dialled) {
                        channels.add(channel);
                        if (dialled) {
                            (channel.attr(PeerHandshakeHandler.LANE).get() == PeerLane.PEER_LANE_APPEND
                                    ? appendLinks : links).get(peerId).established(channel);
                        } else {
                            for (PeerLink link : List.of(links.get(peerId), appendLinks.get(peerId))) {
                                link.loop.execute(link::peerIsBack);
                            }
                        }
                    }

                    @Override
                    public void peerClientAddress(int peerId, String clientAddress) {
                        events.peerClientAddress(peerId, clientAddress);
                    }

                    @Override
                    public void envelope(int peerId, PeerEnvelope envelope) {
                        events.envelope(envelope);
                    }
                });
    }

    /** Whether the control link to {@code peerId} waits out a redial backoff (tests). */
    boolean redialPending(int peerId) {
        ScheduledFuture<?> pending = links.get(peerId).pendingRedial;
        return pending != null && !pending.isDone();
    }

    /** The port the peer server is bound to. */
    public int boundPort() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /**
     * Queues an envelope for a peer; never blocks. Safe from any thread.
     *
     * @return false if it was dropped (link down, not writable, queue full, or too large)
     */
    public boolean send(int peerId, PeerEnvelope envelope) {
        PeerLink link = links.get(peerId);
        if (link == null) {
            throw new IllegalArgumentException("node " + peerId + " is not a peer of node " + config.nodeId());
        }
        if (envelope.hasAppend() || envelope.hasInstallSnapshot()) {
            PeerLink bulk = appendLinks.get(peerId);
            if (bulk.channel != null) {
                return bulk.send(envelope);
            }
        }
        return link.send(envelope);
    }

    /** Envelopes dropped so far on the way to {@code peerId}. */
    public long dropped(int peerId) {
        return links.get(peerId).dropped.get() + appendLinks.get(peerId).dropped.get();
    }

    /** Envelopes dropped so far on all links. */
    public long dropped() {
        return links.values().stream().mapToLong(l -> l.dropped.get()).sum()
                + appendLinks.values().stream().mapToLong(l -> l.dropped.get()).sum();
    }

    /** Whether the append lane to {@code peerId} is up now (appends go on the control lane otherwise). */
    public boolean appendLaneUp(int peerId) {
        PeerLink bulk = appendLinks.get(peerId);
        return bulk != null && bulk.channel != null;
    }

    /** Peers whose dialled control link is up now. */
    public Set<Integer> connectedPeers() {
        return links.values().stream().filter(l -> l.channel != null).map(l -> l.member.id())
                .collect(Collectors.toUnmodifiableSet());
    }

    /** How many peers' dialled links are up now; cheap enough to call after every input. */
    public int connectedPeerCount() {
        int up = 0;
        for (PeerLink link : links.values()) {
            if (link.channel != null) {
                up++;
            }
        }
        return up;
    }

    /** Stops dialling, closes every connection and the server socket, and stops the I/O thread. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** One dialled lane to one peer, its redial schedule and its bounded send queue. */
    private final class PeerLink {
        final Member member;
        final PeerLane lane;
        final EventLoop loop = group.next();
        final Bootstrap bootstrap;
        final Queue<PeerEnvelope> queue = new ConcurrentLinkedQueue<>();
        final AtomicInteger queued = new AtomicInteger();
        final AtomicBoolean drainScheduled = new AtomicBoolean();
        final AtomicLong dropped = new AtomicLong();
        final Runnable drain = this::drain;
        /** Set once the handshake is done, cleared when the connection closes; written on {@link #loop}. */
        volatile Channel channel;
        int failedAttempts;
        /** The redial waiting out its backoff, if any; written on {@link #loop}. */
        volatile ScheduledFuture<?> pendingRedial;

        PeerLink(Member member, PeerLane lane) {
            this.member = member;
            this.lane = lane;
            this.bootstrap = new Bootstrap()
                    .group(loop)
                    .channel(NioSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                            (int) Math.max(100, settings.silenceTimeout().toMillis()))
                    .option(ChannelOption.WRITE_BUFFER_WATER_MARK,
                            new WriteBufferWaterMark(config.maxFrameBytes(), 2 * config.maxFrameBytes()))
                    .attr(PeerHandshakeHandler.EXPECTED_PEER, member.id())
                    .attr(PeerHandshakeHandler.LANE, lane)
                    .handler(initializer());
        }

        void dial() {
            if (closed.get()) {
                return;
            }
            // Resolved at every attempt, so a peer that moved (container restart) is found again.
            ChannelFuture connect = bootstrap.connect(member.host(), member.peerPort());
            connect.addListener(f -> {
                if (!f.isSuccess()) {
                    log.debug("node {} cannot reach peer {}: {}", config.nodeId(), member, f.cause().toString());
                    redialLater();
                    return;
                }
                Channel ch = connect.channel();
                ch.closeFuture().addListener(c -> lost(ch));
            });
        }

        /** On {@link #loop}. */
        void established(Channel ch) {
            if (closed.get() || !ch.isActive()) {
                return;
            }
            failedAttempts = 0;
            channel = ch;
            if (lane == PeerLane.PEER_LANE_APPEND) {
                log.debug("node {} opened its append lane to peer {}", config.nodeId(), member);
                return;
            }
            log.info("node {} linked to peer {}", config.nodeId(), member);
            events.peerConnectivity(member.id(), true);
        }

        /** On {@link #loop}. */
        void lost(Channel ch) {
            if (channel == ch) {
                channel = null;
                if (lane == PeerLane.PEER_LANE_APPEND) {
                    log.debug("node {} lost its append lane to peer {}", config.nodeId(), member);
                } else {
                    log.info("node {} lost its link to peer {}", config.nodeId(), member);
                    events.peerConnectivity(member.id(), false);
                }
            }
            redialLater();
        }

        void redialLater() {
            if (closed.get()) {
                return;
            }
            long cap = Math.min(settings.redialMax().toMillis(),
                    settings.redialBase().toMillis() << Math.min(failedAttempts, 20));
            failedAttempts++;
            // Jitter over the upper half keeps the backoff while stopping peers from redialling in lockstep.
            long delay = cap / 2 + ThreadLocalRandom.current().nextLong(cap / 2 + 1);
            pendingRedial = loop.schedule(this::dial, delay, TimeUnit.MILLISECONDS);
        }

        /**
         * The peer just dialled this node, so it is up again: a redial still waiting out its
         * backoff (which grew while the peer was down, up to the cap) goes now instead. Without
         * this a restarted node hears its peers at once but they hear it only after their
         * backoff, so it waits that long for its first heartbeat. On {@link #loop}.
         */
        void peerIsBack() {
            ScheduledFuture<?> pending = pendingRedial;
            if (channel != null || pending == null || pending.isDone() || !pending.cancel(false)) {
                return; // linked, or already dialling
            }
            pendingRedial = null;
            failedAttempts = 0;
            log.debug("node {} redials peer {} at once: it dialled in", config.nodeId(), member);
            dial();
        }

        boolean send(PeerEnvelope envelope) {
            Channel ch = channel;
            if (ch == null || !ch.isWritable()) {
                dropped.incrementAndGet();
                return false;
            }
            if (envelope.getSerializedSize() > config.maxFrameBytes()) {
                dropped.incrementAndGet();
                log.warn("node {} dropped a {}-byte {} for peer {}: over the {}-byte frame limit", config.nodeId(),
                        envelope.getSerializedSize(), envelope.getBodyCase(), member.id(), config.maxFrameBytes());
                return false;
            }
            if (queued.incrementAndGet() > settings.maxQueuedPerPeer()) {
                queued.decrementAndGet();
                dropped.incrementAndGet();
                return false;
            }
            queue.add(envelope);
            if (drainScheduled.compareAndSet(false, true)) {
                loop.execute(drain);
            }
            return true;
        }

        /** On {@link #loop}: writes up to a burst of what is queued, then flushes once. */
        private void drain() {
            drainScheduled.set(false);
            Channel ch = channel;
            boolean wrote = false;
            int taken = 0;
            PeerEnvelope envelope;
            while (taken < MAX_WRITES_PER_DRAIN && (envelope = queue.poll()) != null) {
                taken++;
                queued.decrementAndGet();
                if (ch == null || !ch.isWritable()) {
                    dropped.incrementAndGet();
                    continue;
                }
                ch.write(envelope, ch.voidPromise());
                wrote = true;
            }
            if (wrote) {
                ch.flush();
            }
            if (!queue.isEmpty() && drainScheduled.compareAndSet(false, true)) {
                // Let keepalives, reads and other links have the loop between long bursts.
                loop.execute(drain);
            }
        }
    }
}
