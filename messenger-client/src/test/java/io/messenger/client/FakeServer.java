package io.messenger.client;

import io.messenger.proto.client.Ack;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Deliver;
import io.messenger.proto.client.Hello;
import io.messenger.proto.client.Pong;
import io.messenger.proto.client.Presence;
import io.messenger.proto.client.Rejection;
import io.messenger.proto.client.SendFailed;
import io.messenger.proto.client.Welcome;
import io.messenger.proto.client.WhoReply;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import io.netty.handler.codec.protobuf.ProtobufEncoder;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A scriptable stand-in for one messenger node, bound to 127.0.0.1 on an ephemeral port. Nodes sharing a
 * {@link FakeRoom} behave like one cluster: sends are applied once, delivered to every session of every node.
 */
public final class FakeServer implements AutoCloseable {

    static final int HISTORY = 10;

    final int nodeId;
    final FakeRoom room;
    private final Channel serverChannel;
    private final Map<Channel, Hello> sessions = new ConcurrentHashMap<>();
    private final List<Channel> connections = new CopyOnWriteArrayList<>();
    /** Each connection's position in {@link FakeRoom#accepted}. */
    private final Map<Channel, Integer> acceptedAt = new ConcurrentHashMap<>();
    /** Every envelope received, in arrival order. */
    public final List<ClientEnvelope> received = new CopyOnWriteArrayList<>();
    public final List<Hello> hellos = new CopyOnWriteArrayList<>();

    /** When set, answers each Hello with the returned rejection instead of a welcome (null = welcome). */
    public volatile Function<Hello, Rejection> refuse = hello -> null;
    public volatile boolean answerPings = true;
    /**
     * When set, a Hello is held this long before it is answered, with a keep-alive Pong every 50 ms meanwhile,
     * as a real node holds it while it elects a leader.
     */
    public volatile java.time.Duration holdHello;
    /** When false, sends are neither applied nor acked (the client's buffer fills up). */
    public volatile boolean applySends = true;
    /** When true, a send is applied and delivered, then the connection is dropped before the ack. */
    public volatile boolean dropBeforeAck;
    /**
     * When true, sends are applied and delivered but acknowledged only when the client says Bye, right before
     * the connection closes: the real server acks what it committed before the Bye, then closes.
     */
    public volatile boolean ackOnBye;
    private final Map<Channel, List<ClientEnvelope>> heldAcks = new ConcurrentHashMap<>();
    /** When set, sends whose text equals it are refused with TOO_LONG. */
    public volatile String refuseText;
    public volatile int maxMessageBytes;
    /** A resumed session's history starts this many messages before resume_after (a sloppy server). */
    public volatile int historyOverlap;
    /** A room sequence this node never delivers live (a lost delivery). */
    public volatile long withhold;
    /** Set by {@link #freeze()}: connections are still accepted, nothing is read or written. */
    private volatile boolean frozen;

    private FakeServer(int nodeId, FakeRoom room, EventLoopGroup group) throws InterruptedException {
        this.nodeId = nodeId;
        this.room = room;
        this.serverChannel = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        acceptedAt.put(ch, room.accept(nodeId));
                        connections.add(ch);
                        if (frozen) {
                            ch.config().setAutoRead(false);
                        }
                        ch.closeFuture().addListener(f -> {
                            connections.remove(ch);
                            sessions.remove(ch);
                            acceptedAt.remove(ch);
                        });
                        ch.pipeline()
                                .addLast(new LengthFieldBasedFrameDecoder(ClientConfig.MAX_FRAME_BYTES, 0, 4, 0, 4))
                                .addLast(new LengthFieldPrepender(4))
                                .addLast(new ProtobufDecoder(ClientEnvelope.getDefaultInstance()))
                                .addLast(new ProtobufEncoder())
                                .addLast(new Handler());
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
        room.nodes.add(this);
    }

    public static FakeServer start(int nodeId, FakeRoom room, EventLoopGroup group) throws InterruptedException {
        return new FakeServer(nodeId, room, group);
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    public String hostPort() {
        return "127.0.0.1:" + address().getPort();
    }

    /** Answers every Hello with NOT_LEADER naming {@code leader}. */
    public void redirectTo(FakeServer leader) {
        refuse = hello -> Rejection.newBuilder().setReason(Rejection.Reason.NOT_LEADER)
                .setMessage("Node " + nodeId + " is not the leader.")
                .setLeaderAddress(leader.hostPort()).setLeaderId(leader.nodeId).build();
    }

    public void refuseWith(Rejection.Reason reason, String sentence) {
        refuse = hello -> Rejection.newBuilder().setReason(reason).setMessage(sentence).build();
    }

    public void welcome() {
        refuse = hello -> null;
    }

    /**
     * Stops the node as SIGSTOP would: its kernel keeps accepting connections and open ones stay open, but
     * nothing is read, answered or delivered any more.
     */
    public void freeze() {
        frozen = true;
        connections.forEach(ch -> ch.config().setAutoRead(false));
    }

    /** Closes every client connection (as a crash would). */
    public void dropConnections() {
        connections.forEach(Channel::close);
    }

    /** Steps down: tells every session NOT_LEADER naming {@code leader}, closes them, and redirects new ones. */
    public void stepDownTo(FakeServer leader) {
        redirectTo(leader);
        Rejection r = refuse.apply(null);
        sessions.keySet().forEach(ch -> ch.writeAndFlush(env().setRejection(r).build()).addListener(f -> ch.close()));
    }

    /** Answers the next send of every session with SESSION_CLOSED and closes the connection. */
    public volatile boolean closeSessionOnSend;
    /** When set, a joining session is told right after its welcome that this user joined. */
    public volatile String presentOnJoin;

    public int sessionCount() {
        return sessions.size();
    }

    public int connectionCount() {
        return connections.size();
    }

    public List<ClientEnvelope> received(ClientEnvelope.BodyCase kind) {
        return received.stream().filter(e -> e.getBodyCase() == kind).toList();
    }

    /** Delivers a message from a user outside the fakes to every session of this node. */
    public void post(String sender, String text) {
        synchronized (room) {
            Deliver d = room.post(sender, text);
            broadcast(d);
        }
    }

    public void announce(String username, Presence.Kind kind) {
        Presence p = Presence.newBuilder().setRoom(room.name).setUsername(username).setKind(kind)
                .setServerTimeMs(System.currentTimeMillis()).build();
        sessions.keySet().forEach(ch -> ch.writeAndFlush(env().setPresence(p).build()));
    }

    private void broadcast(Deliver d) {
        for (FakeServer node : room.nodes) {
            // Always through the channel's task queue: a direct in-loop write could overtake deliveries that
            // other loops queued earlier, and the real server keeps one order per connection.
            ClientEnvelope e = env().setDeliver(d).build();
            if (d.getRoomSeq() == node.withhold || node.frozen) {
                continue;
            }
            node.sessions.keySet().forEach(ch -> ch.eventLoop().execute(() -> ch.writeAndFlush(e)));
        }
    }

    private static ClientEnvelope.Builder env() {
        return ClientEnvelope.newBuilder().setProtocolVersion(1);
    }

    @Override
    public void close() {
        room.nodes.remove(this);
        dropConnections();
        serverChannel.close().syncUninterruptibly();
    }

    private final class Handler extends SimpleChannelInboundHandler<ClientEnvelope> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ClientEnvelope e) {
            if (frozen) {
                return; // read just before the freeze took effect: a stopped process never sees it
            }
            received.add(e);
            Channel ch = ctx.channel();
            switch (e.getBodyCase()) {
                case HELLO -> hello(ch, e.getHello());
                case SEND -> send(ch, e.getSend().getSeq(), e.getSend().getText());
                case PING -> {
                    if (answerPings) {
                        ch.writeAndFlush(env().setPong(Pong.newBuilder().setNonce(e.getPing().getNonce())).build());
                    }
                }
                case WHO_REQUEST -> ch.writeAndFlush(env().setWhoReply(WhoReply.newBuilder().setRoom(room.name)
                        .addAllMembers(sessions.values().stream().map(Hello::getUsername).distinct().toList()))
                        .build());
                case BYE -> {
                    sessions.remove(ch);
                    List<ClientEnvelope> acks = heldAcks.getOrDefault(ch, List.of());
                    heldAcks.remove(ch);
                    io.netty.channel.ChannelFuture written = ch.newSucceededFuture();
                    for (ClientEnvelope ack : acks) {
                        written = ch.write(ack);
                    }
                    ch.flush();
                    written.addListener(f -> ch.close());
                }
                default -> { }
            }
        }

        private void hello(Channel ch, Hello hello) {
            java.time.Duration hold = holdHello;
            if (hold != null) {
                io.netty.util.concurrent.ScheduledFuture<?> keepAlive = ch.eventLoop().scheduleAtFixedRate(
                        () -> ch.writeAndFlush(env().setPong(Pong.getDefaultInstance()).build()), 50, 50,
                        java.util.concurrent.TimeUnit.MILLISECONDS);
                ch.eventLoop().schedule(() -> {
                    keepAlive.cancel(false);
                    if (ch.isActive()) {
                        answerHello(ch, hello);
                    }
                }, hold.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
                ch.closeFuture().addListener(f -> keepAlive.cancel(false));
                return;
            }
            answerHello(ch, hello);
        }

        private void answerHello(Channel ch, Hello hello) {
            hellos.add(hello);
            Rejection rejection = refuse.apply(hello);
            if (rejection != null) {
                ch.writeAndFlush(env().setRejection(rejection).build()).addListener(f -> ch.close());
                return;
            }
            // Snapshot and registration under the room lock: no delivery can fall between history and live.
            synchronized (room) {
                List<Deliver> history = hello.getResume() ? room.after(Math.max(0, hello.getResumeAfter() - historyOverlap)) : room.lastN(HISTORY);
                Welcome.Builder w = Welcome.newBuilder().setSessionId("s-" + nodeId + "-" + hellos.size())
                        .setRoom(room.name).addAllHistory(history).setRoomSeq(room.roomSeq())
                        .setLastAppliedSendSeq(room.highestApplied(hello.getClientId())).setNodeId(nodeId)
                        .addMembers(hello.getUsername());
                if (maxMessageBytes > 0) {
                    w.setMaxMessageBytes(maxMessageBytes);
                }
                // Registered before the Welcome is written: a test that acts as soon as its client has
                // joined (announce, reject) must reach this session. Any other thread's write to the
                // channel queues behind this in-loop Welcome, so nothing can overtake it.
                sessions.put(ch, hello);
                ch.writeAndFlush(env().setWelcome(w).build());
                room.welcomed.add(acceptedAt.getOrDefault(ch, -1));
                String other = presentOnJoin;
                if (other != null) {
                    ch.writeAndFlush(env().setPresence(Presence.newBuilder().setRoom(room.name).setUsername(other)
                            .setKind(Presence.Kind.JOINED).setServerTimeMs(System.currentTimeMillis())).build());
                }
            }
        }

        private void send(Channel ch, long seq, String text) {
            Hello hello = sessions.get(ch);
            if (hello == null || !applySends) {
                return;
            }
            if (closeSessionOnSend) {
                closeSessionOnSend = false;
                ch.writeAndFlush(env().setSendFailed(SendFailed.newBuilder().setSeq(seq)
                        .setReason(SendFailed.Reason.SESSION_CLOSED).setMessage("Session closed.")).build())
                        .addListener(f -> ch.close());
                return;
            }
            if (text.equals(refuseText)) {
                ch.writeAndFlush(env().setSendFailed(SendFailed.newBuilder().setSeq(seq)
                        .setReason(SendFailed.Reason.TOO_LONG).setMessage("Refused by the test.")).build());
                return;
            }
            FakeRoom.Applied applied;
            synchronized (room) {
                applied = room.apply(hello.getClientId(), hello.getUsername(), seq, text);
                if (applied.fresh()) {
                    broadcast(applied.deliver());
                }
            }
            if (dropBeforeAck) {
                ch.close();
                return;
            }
            ClientEnvelope ack = env().setAck(Ack.newBuilder().setSeq(seq).setRoomSeq(applied.roomSeq())
                    .setServerTimeMs(System.currentTimeMillis())).build();
            if (ackOnBye) {
                heldAcks.computeIfAbsent(ch, k -> new CopyOnWriteArrayList<>()).add(ack);
                return;
            }
            ch.writeAndFlush(ack);
        }
    }
}
