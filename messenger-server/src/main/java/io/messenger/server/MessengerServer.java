package io.messenger.server;

import io.messenger.cluster.ClusterConfig;
import io.messenger.cluster.ClusterNode;
import io.messenger.cluster.Replicator;
import io.messenger.cluster.Role;
import io.messenger.cluster.StateMachine;
import io.messenger.cluster.admin.AdminHttpServer;
import io.messenger.cluster.admin.ClusterMetrics;
import io.messenger.cluster.admin.ClusterNodeMetrics;
import io.messenger.proto.client.SendFailed;
import io.messenger.server.auth.TokenCommand;
import io.messenger.server.chat.ChatStateMachine;
import io.messenger.server.chat.LeaderDuties;
import io.messenger.server.chat.LocalConnections;
import io.messenger.cluster.transport.PeerTls;
import io.messenger.server.client.ClientServer;
import io.messenger.server.client.ClientServerContext;
import io.messenger.server.client.ClientTraffic;
import io.messenger.server.client.ConnectionRateLimiter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.ssl.OpenSsl;
import io.messenger.server.chat.HistoryStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.rocksdb.RocksDB;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One messenger node: the replicated log with the chat state machine on top, the client
 * server and the admin endpoint, started in that order and closed in the reverse one.
 */
public final class MessengerServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(MessengerServer.class);

    /** Starts the replicated log for a state machine; tests may start something lighter. */
    @FunctionalInterface
    public interface ClusterStarter {
        StartedCluster start(ClusterConfig config, StateMachine stateMachine);
    }

    /** A running replicated log: what the server proposes to, reports and finally stops. */
    public record StartedCluster(Replicator replicator, Supplier<Map<String, Object>> statusReport,
                                 AutoCloseable stopper) {}

    /** {@code server.app token ...} mints a user token instead of running a node. */
    static final String TOKEN_COMMAND = "token";

    private final ServerConfig config;
    private final LocalConnections connections = new LocalConnections();
    private final ChatStateMachine chat;
    /** The durable room history under {@code <data-dir>/history}; closed after the log stops. */
    private final HistoryStore history;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicBoolean logFailed = new AtomicBoolean();
    private StartedCluster cluster;
    private LeaderDuties duties;
    private ClientServer clients;
    private AdminHttpServer admin;
    private PrometheusMeterRegistry metrics;
    private final ClientTraffic traffic = new ClientTraffic();

    private MessengerServer(ServerConfig config, HistoryStore history) {
        this.config = config;
        this.history = history;
        this.chat = new ChatStateMachine(config.nodeId(), config.chatLimits(), connections, history,
                config.historyRetention());
    }

    /** Where a node keeps its durable room history. */
    public static Path historyDirectory(ServerConfig config) {
        return config.dataDir().resolve("history");
    }

    /** The real thing: a {@link ClusterNode} with durable storage and peer links. */
    public static StartedCluster startClusterNode(ClusterConfig config, StateMachine stateMachine) {
        ClusterNode node = ClusterNode.start(config, stateMachine);
        return new StartedCluster(node, node::statusReport, node);
    }

    /**
     * Runs {@code task} on a daemon thread of its own and returns its result: start-up steps that
     * nothing before them needs run beside the storage opening instead of after it.
     */
    private static <T> CompletableFuture<T> beside(String name, Supplier<T> task) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                result.complete(task.get());
            } catch (RuntimeException | Error e) {
                result.completeExceptionally(e);
            }
        }, name);
        thread.setDaemon(true);
        thread.start();
        return result;
    }

    /**
     * Closes a registry built beside a start that failed before it was bound (its JVM meters
     * hold listeners on the garbage collectors), once it is built, without waiting for it.
     */
    private static void discard(CompletableFuture<PrometheusMeterRegistry> registryLoad) {
        if (registryLoad != null) {
            registryLoad.thenAccept(PrometheusMeterRegistry::close);
        }
    }

    /** Starts a node; on failure everything started so far is closed again. */
    public static MessengerServer start(ServerConfig config, ClusterStarter starter) throws InterruptedException {
        // Loading OpenSSL (netty-tcnative) and building the metrics registry with its JVM meters
        // take 0.4-2 s each on a small machine, and nothing before the peer transport and the
        // metrics needs them: they load while the history, the log and the snapshot open. A use
        // that comes first waits for the loading thread (class initialisation is exclusive); a
        // failure to load is reported by the use, as without this.
        if (config.tlsCert() != null || config.clusterConfig().peerTls() != null) {
            beside("preload-openssl", OpenSsl::isAvailable);
        }
        CompletableFuture<PrometheusMeterRegistry> registryLoad = config.metrics()
                ? beside("preload-metrics", ClusterMetrics::newPrometheusRegistryWithJvmMeters) : null;
        HistoryStore history;
        try {
            history = HistoryStore.open(historyDirectory(config));
        } catch (IOException | RuntimeException e) {
            discard(registryLoad);
            throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
        }
        MessengerServer server = new MessengerServer(config, history);
        try {
            server.cluster = starter.start(config.clusterConfig(), server.chat);
            Replicator replicator = server.cluster.replicator();
            replicator.addListener(status -> {
                if (status.role() == Role.STOPPED && !server.closed.get()) {
                    server.onLogStopped();
                }
            });
            server.duties = new LeaderDuties(config.nodeId(), replicator, server.chat, config.sessionGrace(),
                    System::currentTimeMillis).start();
            server.clients = ClientServer.start(new ClientServerContext(config.nodeId(), replicator, server.chat,
                    server.connections, config.maxMessageBytes(), config.maxFrameBytes(), config.idleTimeout(),
                    config.maxInFlight(), System::currentTimeMillis, server.traffic,
                    config.clientAuthenticator(Clock.systemUTC()), config.clientLimits()), config.clientHost(),
                    config.clientPort(),
                    config.tlsCert() == null ? null : ClientServer.serverTls(config.tlsCert(), config.tlsKey()));
            // --metrics=false: no registry, so no latency is timed and /metrics is not served.
            server.metrics = registryLoad == null ? null : server.bindMetrics(registryLoad.join(), replicator);
            PrometheusMeterRegistry registry = server.metrics;
            server.admin = AdminHttpServer.start(config.adminHost(), config.adminPort(), server::statusReport,
                    server::healthy, registry == null ? null : registry::scrape, config.adminRequestTimeout());
        } catch (RuntimeException | InterruptedException e) {
            server.close();
            if (server.metrics == null) {
                discard(registryLoad);
            }
            throw e;
        }
        log.info("node {} serves clients on {}:{} (advertised as {}), admin on {}:{}", config.nodeId(),
                config.clientHost(), server.clientPort(), config.advertisedClientAddress(), config.adminHost(),
                server.adminPort());
        if (config.authenticatesUsers()) {
            log.info("node {}: users must present a signed token ({}) on hello", config.nodeId(),
                    config.authHmacKeyFile() != null ? "HS256, key " + config.authHmacKeyFile()
                            : "ES256/RS256, public key " + config.authPublicKeyFile());
        } else {
            log.warn("!!! node {}: USER AUTHENTICATION IS OFF: any client that reaches {}:{} may claim any username"
                    + " (alice, admin, ...). Give --auth-hmac-key-file or --auth-public-key-file to require signed"
                    + " tokens.{}", config.nodeId(), config.clientHost(), server.clientPort(),
                    config.insecure() ? " (--insecure is set)" : "");
        }
        if (config.tlsCert() != null) {
            log.info("node {}: the client link speaks TLS only ({}), certificate {}", config.nodeId(),
                    PeerTls.providerDescription(), config.tlsCert());
        } else {
            log.warn("node {}: the client link is NOT ENCRYPTED (no --tls-cert/--tls-key): messages cross the network"
                    + " in plaintext", config.nodeId());
        }
        return server;
    }

    /**
     * The replicated log stopped by itself (its storage failed): a node that can no longer
     * store anything must not linger as a silent process, so it shuts down and {@code main}
     * exits non-zero for a supervisor to restart it. Runs on its own thread because the
     * listener that calls it runs on the log's thread, which closing waits for.
     */
    private void onLogStopped() {
        if (logFailed.compareAndSet(false, true)) {
            log.error("node {}: the replicated log stopped after a failure (see the lines above); shutting down",
                    config.nodeId());
            new Thread(this::close, "stop-after-log-failure").start();
        }
    }

    /** Whether the node shut down because its replicated log failed, rather than being asked to. */
    public boolean stoppedByLogFailure() {
        return logFailed.get();
    }

    private PrometheusMeterRegistry bindMetrics(PrometheusMeterRegistry registry, Replicator replicator) {
        // Only the real node counts leadership changes; an in-process test replicator reports 0.
        ClusterNode node = replicator instanceof ClusterNode n ? n : null;
        new ClusterMetrics(replicator::status, () -> node == null ? 0 : node.leadershipChanges()).bindTo(registry);
        if (node != null) {
            new ClusterNodeMetrics(node).bindTo(registry);
        }
        Gauge.builder("messenger.clients.connected", this, s -> s.clients.connectedClients())
                .strongReference(true)
                .description("Client connections open on this node")
                .register(registry);
        Gauge.builder("messenger.sessions.here", connections, LocalConnections::size)
                .strongReference(true)
                .description("Client sessions attached to this node")
                .register(registry);
        // Function counters hold their object weakly; this server holds the traffic record.
        FunctionCounter.builder("messenger.sends.accepted", traffic, ClientTraffic::sendsAccepted)
                .description("Sends from this node's clients committed to their room")
                .register(registry);
        FunctionCounter.builder("messenger.sends.deduplicated", traffic, ClientTraffic::sendsDeduplicated)
                .description("Resent sends found already in their room and acknowledged again")
                .register(registry);
        for (SendFailed.Reason reason : ClientTraffic.rejectionReasons()) {
            FunctionCounter.builder("messenger.sends.rejected", traffic, t -> t.sendsRejected(reason))
                    .description("Sends refused, by the SendFailed reason the client was given")
                    .tag("reason", reason.name().toLowerCase(Locale.ROOT))
                    .register(registry);
        }
        for (ConnectionRateLimiter.Verdict verdict : List.of(ConnectionRateLimiter.Verdict.ADDRESS_OVER_RATE,
                ConnectionRateLimiter.Verdict.TOTAL_OVER_RATE)) {
            FunctionCounter.builder("messenger.connections.refused", this, s -> s.clients.refusedConnections(verdict))
                    .description("New client connections refused for arriving over the connection rate"
                            + " (--connection-rate per address, --connection-rate-total for all)")
                    .tag("reason", verdict.name().toLowerCase(Locale.ROOT))
                    .register(registry);
        }
        FunctionCounter.builder("messenger.deliveries", traffic, ClientTraffic::deliveries)
                .description("Chat messages written to this node's clients (live, history and resume)")
                .register(registry);
        FunctionCounter.builder("messenger.slow.consumer.disconnects", traffic, ClientTraffic::slowConsumerDisconnects)
                .description("Clients disconnected because too much output waited for them to read")
                .register(registry);
        return registry;
    }

    private Map<String, Object> statusReport() {
        Map<String, Object> report = new LinkedHashMap<>(cluster.statusReport().get());
        report.put("connectedClients", clients.connectedClients());
        report.put("sessionsHere", connections.size());
        report.put("chatAppliedIndex", chat.appliedIndex());
        report.put("historyBytes", chat.historyBytes());
        return report;
    }

    private boolean healthy() {
        return !closed.get() && cluster.replicator().status().role() != Role.STOPPED;
    }

    public int clientPort() {
        return clients.port();
    }

    public int adminPort() {
        return admin.port();
    }

    /** Client connections open on this node right now. */
    public int connectedClients() {
        return clients.connectedClients();
    }

    public ChatStateMachine chat() {
        return chat;
    }

    public Replicator replicator() {
        return cluster.replicator();
    }

    public ServerConfig config() {
        return config;
    }

    /** Blocks until {@link #close()} has finished. */
    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    /**
     * Stops in reverse start order: the admin endpoint, the client server (no new clients,
     * existing ones disconnected), leader duties, then the log, which finishes its fsyncs.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            closeQuietly("admin endpoint", admin);
            closeQuietly("metrics registry", metrics == null ? null : metrics::close);
            closeQuietly("client server", clients);
            closeQuietly("leader duties", duties);
            closeQuietly("replicated log", cluster == null ? null : cluster.stopper());
            closeQuietly("history store", history); // after the log: no apply writes to it any more
            log.info("node {} stopped", config.nodeId());
        } finally {
            stopped.countDown();
        }
    }

    private static void closeQuietly(String what, AutoCloseable closeable) {
        if (closeable == null) {
            return;
        }
        try {
            closeable.close();
        } catch (Exception e) {
            log.warn("closing the {} failed: {}", what, e.toString());
        }
    }

    /**
     * Runs a node until SIGTERM/SIGINT; exit code 2 for a bad configuration, 1 if it cannot
     * start or its replicated log fails while running.
     */
    public static void main(String[] args) throws InterruptedException {
        PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
        PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
        if (args.length > 0 && TOKEN_COMMAND.equals(args[0])) {
            System.exit(TokenCommand.run(Arrays.copyOfRange(args, 1, args.length), out, err, Clock.systemUTC(),
                    ServerConfig::parseDuration));
            return;
        }
        // RocksDB's native library (unpacked from its jar at every start) loads while the
        // command line is parsed; the history store's open, the first use, waits for it.
        beside("preload-rocksdb", () -> {
            RocksDB.loadLibrary();
            return null;
        });
        ServerCommandLine.Outcome outcome = new ServerCommandLine().parse(args, System.getenv(), out, err);
        if (outcome instanceof ServerCommandLine.Outcome.Exit exit) {
            System.exit(exit.code());
            return;
        }
        ServerConfig config = ((ServerCommandLine.Outcome.Run) outcome).config();
        log.info(config.describe());
        MessengerServer server;
        try {
            server = start(config, MessengerServer::startClusterNode);
        } catch (RuntimeException e) {
            log.error("node {} could not start: {}", config.nodeId(), e.getMessage());
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "shutdown"));
        server.awaitStopped();
        if (server.stoppedByLogFailure()) {
            System.exit(1);
        }
    }
}
