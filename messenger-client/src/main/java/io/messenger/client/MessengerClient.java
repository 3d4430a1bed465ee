package io.messenger.client;

import io.messenger.proto.client.Welcome;
import io.netty.bootstrap.Bootstrap;
import io.netty.handler.ssl.SslContext;
import java.nio.file.Path;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A member of one chat room on a messenger cluster that survives leader failover: sends are numbered,
 * buffered until acknowledged and resent after a reconnect (exactly once); delivery resumes after the last
 * message seen (no gap, no duplicate).
 *
 * <pre>{@code
 * try (MessengerClient client = MessengerClient.builder()
 *         .servers("127.0.0.1:7001,127.0.0.1:7002").username("alice").room("lobby")
 *         .listener(new MessengerListener() { ... }).build()) {
 *     client.connect().join();
 *     long roomSeq = client.send("hi").join();
 * }
 * }</pre>
 * All methods are thread-safe and never block, except {@link #close()}.
 */
public final class MessengerClient implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(MessengerClient.class);
    private static final long CLOSE_WAIT_MILLIS = 2000;

    private final ClientConfig config;
    private final EventLoopGroup ownedGroup;
    private final ConnectionSupervisor supervisor;

    private MessengerClient(ClientConfig config, MessengerListener listener, EventLoopGroup sharedGroup,
                            Executor callbackExecutor, Object meterRegistry, SslContext tls) {
        this.config = config;
        this.ownedGroup = sharedGroup == null
                ? new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory()) : null;
        EventLoopGroup group = sharedGroup != null ? sharedGroup : ownedGroup;
        EventLoop loop = group.next();
        Bootstrap bootstrap = new Bootstrap()
                .group(loop)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE,
                        config.connectTimeout().toMillis()));
        EventDispatcher events = callbackExecutor != null ? EventDispatcher.on(callbackExecutor)
                : EventDispatcher.ownThread("messenger-client-" + config.username() + "-events");
        Runnable release = ownedGroup == null ? () -> { } : () -> ownedGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        this.supervisor = new ConnectionSupervisor(config, loop, bootstrap, events, listener, meterRegistry, release, tls);
    }

    /** Starts configuring a client. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Joins the room: finds the leader (following redirects, retrying with backoff for up to the join
     * timeout) and completes with its welcome once the join history has been handed to the listener. Fails
     * with {@link RejectedException} when the cluster refuses for good, or {@link MessengerException} when no
     * leader answered in time. Calling it again returns the same future.
     */
    public CompletableFuture<Welcome> connect() {
        return supervisor.connect();
    }

    /**
     * Sends one message. The future completes with the message's room sequence once the cluster committed
     * it, however many reconnects that takes. It is already failed when the text is empty or too long
     * ({@link SendRejectedException}), when the outgoing buffer is full ({@link BufferFullException}), or when
     * the client is closed. Sends made before {@link #connect()} completes wait in the buffer.
     */
    public CompletableFuture<Long> send(String text) {
        return supervisor.send(text);
    }

    /**
     * Pages back through the room's history: up to {@code limit} messages (1 to
     * {@link ClientConfig#MAX_HISTORY_PAGE}) with a room sequence below {@code beforeRoomSeq} (0: the newest),
     * oldest first, as {@link ChatMessage}s with {@code fromHistory} true. A page may be shorter than asked
     * (it must fit one frame); an empty one means nothing older is retained. They are not handed to the
     * listener. Fails with {@link IllegalArgumentException} for a bad limit or sequence, with
     * {@link HistoryException} when the server refuses, or with {@link MessengerException} when the client is
     * not online or the connection drops before the answer.
     */
    public CompletableFuture<List<ChatMessage>> history(long beforeRoomSeq, int limit) {
        return supervisor.history(beforeRoomSeq, limit);
    }

    /**
     * The oldest room sequence the server still holds, as its latest welcome or history page said (0 before
     * joining); messages 1 to this minus one are past the server's retention.
     */
    public long firstAvailableSeq() {
        return supervisor.firstAvailableSeq();
    }

    /** Asks the server who is in the room; while disconnected, answers from the last known list. */
    public CompletableFuture<List<String>> who() {
        return supervisor.who();
    }

    /** Members of the room as last known (welcome list, updated by presence events). */
    public List<String> members() {
        return supervisor.members();
    }

    /** The current connection state. */
    public ConnectionState state() {
        return supervisor.state();
    }

    /** How many sends are buffered and not yet acknowledged. */
    public int pendingSends() {
        return supervisor.pendingSends();
    }

    /** Highest room sequence handed to the listener (or covered by the join), 0 before joining. */
    public long lastSeenRoomSeq() {
        return supervisor.lastSeenRoomSeq();
    }

    /** The settings this client runs with. */
    public ClientConfig config() {
        return config;
    }

    /**
     * Leaves: sends Bye if connected, lets the server acknowledge the sends it committed before the Bye and close
     * the connection (waiting at most half a second), fails the sends still unacknowledged and reports
     * {@link ConnectionState#CLOSED}. The future completes after the last listener callback.
     */
    public CompletableFuture<Void> closeAsync() {
        return supervisor.close();
    }

    /** Like {@link #closeAsync()}, waiting up to two seconds (not at all when called from a callback). */
    @Override
    public void close() {
        CompletableFuture<Void> done = closeAsync();
        if (supervisor.inCallbackThread()) {
            return;
        }
        try {
            done.get(CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS);
            if (ownedGroup != null) {
                ownedGroup.terminationFuture().await(CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.debug("Close did not finish cleanly: {}", e.toString());
        }
    }

    /** Collects the settings of a {@link MessengerClient}; see {@link ClientConfig} for their meaning and ranges. */
    public static final class Builder {
        private List<InetSocketAddress> servers;
        private String username;
        private String room;
        private String clientId;
        private MessengerListener listener = new MessengerListener() { };
        private int maxPendingSends = ClientConfig.DEFAULT_MAX_PENDING_SENDS;
        private Duration pongTimeout = ClientConfig.DEFAULT_PONG_TIMEOUT;
        private Duration connectTimeout = ClientConfig.DEFAULT_CONNECT_TIMEOUT;
        private Duration joinTimeout = ClientConfig.DEFAULT_JOIN_TIMEOUT;
        private Duration reconnectTimeout;
        private Duration initialBackoff = ClientConfig.DEFAULT_INITIAL_BACKOFF;
        private Duration maxBackoff = ClientConfig.DEFAULT_MAX_BACKOFF;
        private EventLoopGroup eventLoopGroup;
        private Executor callbackExecutor;
        /** A Micrometer {@code MeterRegistry}; kept as Object so the builder's code loads no Micrometer type. */
        private Object meterRegistry;
        private Supplier<String> tokenSupplier;
        private SslContext tls;
        private int joinHistory = -1;

        private Builder() {
        }

        /**
         * Talks TLS to every server, with this client context (see {@link ClientTls#trusting(Path)}); it
         * should verify host names, as that one does. Default: plaintext.
         */
        public Builder tls(SslContext context) {
            this.tls = context;
            return this;
        }

        /**
         * Talks TLS to every server and trusts the CA certificate(s) in this PEM file; the server's
         * certificate must be signed by it and name the host as dialled.
         *
         * @throws IllegalArgumentException with a sentence if the file cannot be used
         */
        public Builder trustedCa(Path caFile) {
            this.tls = ClientTls.trusting(caFile);
            return this;
        }

        /** Seed list as {@code host:port,host:port}. */
        public Builder servers(String list) {
            this.servers = ServerAddresses.parse(list);
            return this;
        }

        /** Seed list. */
        public Builder servers(List<InetSocketAddress> list) {
            this.servers = List.copyOf(list);
            return this;
        }

        public Builder username(String username) {
            this.username = username;
            return this;
        }

        public Builder room(String room) {
            this.room = room;
            return this;
        }

        /** Stable device id; keep it across restarts to count as the same device. Default: a random UUID. */
        public Builder clientId(String clientId) {
            this.clientId = clientId;
            return this;
        }

        public Builder listener(MessengerListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** Bound of the outgoing buffer (default 1000, at most {@value ClientConfig#MAX_PENDING_SENDS}). */
        public Builder maxPendingSends(int maxPendingSends) {
            this.maxPendingSends = maxPendingSends;
            return this;
        }

        /** Silence after which the connection counts as dead (default 1 s). */
        public Builder pongTimeout(Duration pongTimeout) {
            this.pongTimeout = pongTimeout;
            return this;
        }

        /** Limit of one attempt, from TCP connect to welcome or refusal (default 2 s). */
        public Builder connectTimeout(Duration connectTimeout) {
            this.connectTimeout = connectTimeout;
            return this;
        }

        /** How long {@link #connect()} keeps trying (default 30 s). */
        public Builder joinTimeout(Duration joinTimeout) {
            this.joinTimeout = joinTimeout;
            return this;
        }

        /** How long to keep trying after a lost connection before failing; null (default) means forever. */
        public Builder reconnectTimeout(Duration reconnectTimeout) {
            this.reconnectTimeout = reconnectTimeout;
            return this;
        }

        /** Retry delays: start at {@code initial}, double per failure, capped at {@code max}, jittered. */
        public Builder backoff(Duration initial, Duration max) {
            this.initialBackoff = initial;
            this.maxBackoff = max;
            return this;
        }

        /**
         * The signed token (JWT) a cluster with user authentication requires, its {@code sub} this client's username.
         * A cluster refusing it fails {@link #connect()} for good with a {@link RejectedException} of reason
         * {@code UNAUTHENTICATED} (or {@code ROOM_NOT_ALLOWED}). Replaces any {@link #tokenSupplier(Supplier)}.
         */
        public Builder token(String token) {
            this.tokenSupplier = token == null ? null : () -> token;
            return this;
        }

        /**
         * Asked for the token before every connection attempt, the first and each reconnect, so a long-lived client
         * can hand over a refreshed token before the old one expires. It runs on the client's network thread: return
         * a token already at hand (refresh it elsewhere), never block. A supplier that throws fails that attempt,
         * which is retried like an unreachable node. Replaces any {@link #token(String)}.
         */
        public Builder tokenSupplier(Supplier<String> supplier) {
            this.tokenSupplier = supplier;
            return this;
        }

        /** Runs on the given group (which the client then never shuts down) instead of a private one. */
        public Builder eventLoopGroup(EventLoopGroup group) {
            this.eventLoopGroup = group;
            return this;
        }

        /**
         * Runs this client's listener callbacks and future completions on the given executor (still one at a
         * time and in order) instead of a thread of its own, so many clients can share a few threads. The client
         * never shuts it down. A slow callback delays the other clients sharing it.
         */
        public Builder callbackExecutor(Executor executor) {
            this.callbackExecutor = executor;
            return this;
        }

        /**
         * Reports this client's meters to the given Micrometer registry: {@code messenger.client.reconnects},
         * {@code messenger.client.resends}, {@code messenger.client.pending.sends} (outgoing buffer depth) and
         * {@code messenger.client.ack.latency} (send to acknowledgement, with a percentile histogram). Clients sharing
         * a registry add up. Optional: without it the client records nothing and needs no Micrometer on the class
         * path (micrometer-core is an optional dependency of this library).
         */
        public Builder meterRegistry(io.micrometer.core.instrument.MeterRegistry registry) {
            this.meterRegistry = registry;
            return this;
        }

        /**
         * Checks the settings and creates the client (not yet connected).
         *
         * @throws IllegalArgumentException with a sentence naming the bad setting
         */
        public Builder joinHistory(int messages) {
            this.joinHistory = messages;
            return this;
        }

        public MessengerClient build() {
            return new MessengerClient(config(), listener, eventLoopGroup, callbackExecutor, meterRegistry, tls);
        }

        /**
         * Checks the settings without creating a client; a missing client id becomes a fresh random one.
         *
         * @throws IllegalArgumentException with a sentence naming the bad setting
         */
        public ClientConfig config() {
            if (servers == null) {
                throw new IllegalArgumentException("Give the server list (host:port,...).");
            }
            String id = clientId != null ? clientId : UUID.randomUUID().toString();
            return new ClientConfig(servers, username, room, id, maxPendingSends, pongTimeout,
                    connectTimeout, joinTimeout, reconnectTimeout, initialBackoff, maxBackoff, tokenSupplier,
                    joinHistory);
        }
    }
}
