package io.messenger.containers;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.lifecycle.Startables;
import org.testcontainers.utility.DockerImageName;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.ContainerNetwork;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.PortBinding;
import com.github.dockerjava.api.model.Ports;

import io.messenger.cluster.PeerTlsFiles;
import io.messenger.cluster.testing.TestPki;
import io.messenger.e2e.NodeStatus;
import io.messenger.server.auth.TokenKeys;
import io.messenger.server.auth.TokenMinter;

/**
 * A cluster of node containers from the deploy/ image on a private network, with the faults the
 * container tests inject: kill (SIGKILL), pause (cgroup freezer), cut from the network, restart.
 *
 * <p>The nodes run as {@code make deploy} runs them: peer mutual TLS and client TLS with a CA made for the
 * run, and user authentication with an ES256 key pair made for the run, of which only the public key is in
 * the containers; {@link #token(String)} mints tokens with the private one.
 *
 * <p>Each node's client and admin ports are published on fixed, free loopback ports chosen at start,
 * and the node advertises that published client address: a "not leader" redirect then names an
 * address the test's client can reach, and it stays valid across container restarts.
 */
final class ContainerCluster implements AutoCloseable {

    static final int CLIENT_PORT = 7001;
    static final int PEER_PORT = 9001;
    static final int ADMIN_PORT = 8001;

    private static final Logger log = LoggerFactory.getLogger(ContainerCluster.class);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration STATUS_TIMEOUT = Duration.ofSeconds(1);
    /** Longer than any run of the tests: a client's reconnects reuse the token it was built with. */
    static final Duration TOKEN_LIFETIME = Duration.ofHours(2);
    private static final String TOKEN_PUBLIC_KEY = "/auth/token-public.pem";
    // Three JVMs share a small CI machine with the test JVM: small heaps, cheap JIT. The nodes run with
    // Netty's strictest leak detector, like every test here, and their logs are scanned for its reports.
    private static final String JVM_OPTIONS =
            "-Xmx192m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Dio.netty.leakDetectionLevel=paranoid";

    /** One node: its container and the loopback ports its client and admin ports are published on. */
    record Node(int id, GenericContainer<?> container, int clientPort, int adminPort) {
        String alias() {
            return "node" + id;
        }

        String clientAddress() {
            return "127.0.0.1:" + clientPort;
        }

        String containerId() {
            return container.getContainerId();
        }
    }

    private final Network network;
    private final Map<Integer, Node> nodes;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(STATUS_TIMEOUT).build();
    private final DockerClient docker = DockerClientFactory.instance().client();

    private final Path caFile;
    private final TokenMinter tokens;

    private ContainerCluster(Network network, Map<Integer, Node> nodes, Path caFile, TokenMinter tokens) {
        this.network = network;
        this.nodes = nodes;
        this.caFile = caFile;
        this.tokens = tokens;
    }

    /** The cluster's CA certificate (PEM), for clients' {@code trustedCa}. */
    Path caFile() {
        return caFile;
    }

    /** A token the nodes accept for {@code user}, any room, valid for {@link #TOKEN_LIFETIME}. */
    String token(String user) {
        return tokens.mint(user, null, TOKEN_LIFETIME, Instant.now());
    }

    /** A PEM file's bytes, readable by the image's non-root user. */
    private static Transferable pemFile(Path file) {
        try {
            return Transferable.of(Files.readAllBytes(file), 0644);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Starts {@code size} nodes at once (none is healthy before a majority runs) and waits until all are. */
    static ContainerCluster start(String image, int size) {
        Network network = Network.newNetwork();
        String peers = java.util.stream.IntStream.rangeClosed(1, size)
                .mapToObj(id -> id + "=node" + id + ":" + PEER_PORT)
                .collect(Collectors.joining(","));
        // Peer mutual TLS and client TLS, with credentials made now (no checked-in keys).
        TestPki pki = TestPki.create("container cluster CA");
        Path tlsDir;
        try {
            tlsDir = Files.createTempDirectory("container-cluster-tls");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        PeerTlsFiles server = pki.write(tlsDir, "server", pki.server("messenger", "127.0.0.1", "localhost"));
        // The user tokens' ES256 pair, made with the server's own tooling, as scripts/make-token-key.sh does.
        Path tokenPrivate = tlsDir.resolve("token-private.pem");
        Path tokenPublic = tlsDir.resolve("token-public.pem");
        TokenKeys.generateEcKeyPair(tokenPrivate, tokenPublic);
        TokenMinter tokens = TokenMinter.privateKey(TokenKeys.readPrivateKey(tokenPrivate));
        Map<Integer, Node> nodes = new LinkedHashMap<>();
        for (int id = 1; id <= size; id++) {
            PeerTlsFiles peer = pki.write(tlsDir, "node-" + id, pki.member(id));
            int clientPort = freeLoopbackPort();
            int adminPort = freeLoopbackPort();
            GenericContainer<?> container = new GenericContainer<>(DockerImageName.parse(image))
                    .withNetwork(network)
                    .withNetworkAliases("node" + id)
                    .withEnv("MESSENGER_NODE_ID", Integer.toString(id))
                    .withEnv("MESSENGER_PEERS", peers)
                    .withEnv("MESSENGER_ADVERTISED_CLIENT_ADDRESS", "127.0.0.1:" + clientPort)
                    // Every hello needs a token signed by the run's private key; the node holds the public one.
                    .withCopyToContainer(pemFile(tokenPublic), TOKEN_PUBLIC_KEY)
                    .withEnv("MESSENGER_AUTH_PUBLIC_KEY_FILE", TOKEN_PUBLIC_KEY)
                    .withEnv("JAVA_TOOL_OPTIONS", JVM_OPTIONS)
                    .withCopyToContainer(pemFile(peer.certificate()), "/tls/node.pem")
                    .withCopyToContainer(pemFile(peer.privateKey()), "/tls/node.key")
                    .withCopyToContainer(pemFile(peer.trustedCa()), "/tls/ca.pem")
                    .withCopyToContainer(pemFile(server.certificate()), "/tls/server.pem")
                    .withCopyToContainer(pemFile(server.privateKey()), "/tls/server.key")
                    .withEnv("MESSENGER_PEER_TLS_CERT", "/tls/node.pem")
                    .withEnv("MESSENGER_PEER_TLS_KEY", "/tls/node.key")
                    .withEnv("MESSENGER_PEER_TLS_CA", "/tls/ca.pem")
                    .withEnv("MESSENGER_TLS_CERT", "/tls/server.pem")
                    .withEnv("MESSENGER_TLS_KEY", "/tls/server.key")
                    .withCreateContainerCmdModifier(cmd -> {
                        ExposedPort client = ExposedPort.tcp(CLIENT_PORT);
                        ExposedPort admin = ExposedPort.tcp(ADMIN_PORT);
                        cmd.withExposedPorts(client, admin);
                        // Loopback only, and fixed, so that the advertised address survives restarts.
                        cmd.getHostConfig().withPortBindings(
                                new PortBinding(Ports.Binding.bindIpAndPort("127.0.0.1", clientPort), client),
                                new PortBinding(Ports.Binding.bindIpAndPort("127.0.0.1", adminPort), admin));
                    })
                    .waitingFor(Wait.forHealthcheck().withStartupTimeout(START_TIMEOUT));
            nodes.put(id, new Node(id, container, clientPort, adminPort));
        }
        ContainerCluster cluster = new ContainerCluster(network, nodes, server.trustedCa(), tokens);
        long started = System.nanoTime();
        try {
            Startables.deepStart(nodes.values().stream().map(Node::container)).join();
        } catch (RuntimeException e) {
            cluster.close();
            throw e;
        }
        log.info("{} nodes healthy {} ms after start; seeds {}", size,
                (System.nanoTime() - started) / 1_000_000, cluster.seeds());
        return cluster;
    }

    /** Every node's published client address, comma-separated, as the client library takes them. */
    String seeds() {
        return nodes.values().stream().map(Node::clientAddress).collect(Collectors.joining(","));
    }

    List<Integer> ids() {
        return List.copyOf(nodes.keySet());
    }

    Node node(int id) {
        Node node = nodes.get(id);
        if (node == null) {
            throw new IllegalArgumentException("no node " + id + " in " + nodes.keySet());
        }
        return node;
    }

    /** The node's {@code /status}, or empty when it does not answer within a second. */
    Optional<NodeStatus> status(int id) {
        HttpRequest request = HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + node(id).adminPort() + "/status"))
                .timeout(STATUS_TIMEOUT)
                .GET()
                .build();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? Optional.of(NodeStatus.parse(response.body())) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** The status of every node that answers now. */
    Map<Integer, NodeStatus> statuses() {
        Map<Integer, NodeStatus> result = new LinkedHashMap<>();
        for (int id : nodes.keySet()) {
            status(id).ifPresent(status -> result.put(id, status));
        }
        return result;
    }

    /** Waits until exactly one of {@code among} leads and all of them name it; returns its id. */
    int awaitLeader(Duration timeout, List<Integer> among) {
        int[] leader = new int[1];
        await("one leader among nodes " + among).atMost(timeout).pollInterval(Duration.ofMillis(100)).until(() -> {
            List<NodeStatus> answers = new ArrayList<>();
            for (int id : among) {
                Optional<NodeStatus> status = status(id);
                if (status.isEmpty()) {
                    return false;
                }
                answers.add(status.get());
            }
            List<NodeStatus> leaders = answers.stream().filter(NodeStatus::leading).toList();
            if (leaders.size() != 1) {
                return false;
            }
            leader[0] = leaders.get(0).nodeId();
            return answers.stream().allMatch(status -> status.leaderId() == leader[0]);
        });
        return leader[0];
    }

    int awaitLeader(Duration timeout) {
        return awaitLeader(timeout, ids());
    }

    /** Waits until every node answers with the same commit index, at least {@code atLeast}. */
    long awaitConverged(Duration timeout, long atLeast) {
        long[] commit = new long[1];
        await("all nodes at one commit index >= " + atLeast).atMost(timeout).pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    Map<Integer, NodeStatus> answers = statuses();
                    if (answers.size() != nodes.size()) {
                        return false;
                    }
                    List<Long> commits = answers.values().stream().map(NodeStatus::commitIndex).distinct().toList();
                    commit[0] = commits.get(0);
                    return commits.size() == 1 && commit[0] >= atLeast;
                });
        return commit[0];
    }

    /** Waits until every node's container reports healthy (after restarts, reconnects, unpauses). */
    void awaitHealthy(Duration timeout) {
        await("all nodes healthy").atMost(timeout).pollInterval(Duration.ofMillis(200))
                .until(() -> nodes.values().stream().allMatch(node -> "healthy".equals(health(node))));
    }

    private String health(Node node) {
        var state = docker.inspectContainerCmd(node.containerId()).exec().getState();
        return state.getHealth() == null ? String.valueOf(state.getStatus()) : state.getHealth().getStatus();
    }

    /** SIGKILL to the node's JVM (PID 1): no shutdown hook runs, like a power cut. */
    void kill(int id) {
        log.info("fault: kill node{}", id);
        docker.killContainerCmd(node(id).containerId()).withSignal("KILL").exec();
    }

    /** Starts a killed node again: same container, same data, same published ports. */
    void startAgain(int id) {
        log.info("heal: start node{} again", id);
        docker.startContainerCmd(node(id).containerId()).exec();
    }

    /** Freezes every process of the node: its sockets stay open but nothing answers. */
    void pause(int id) {
        log.info("fault: pause node{}", id);
        docker.pauseContainerCmd(node(id).containerId()).exec();
    }

    void unpause(int id) {
        log.info("heal: unpause node{}", id);
        docker.unpauseContainerCmd(node(id).containerId()).exec();
    }

    /** Cuts the node from the cluster network: no peer, and no client through its published ports, reaches it. */
    void disconnect(int id) {
        log.info("fault: disconnect node{} from the network", id);
        docker.disconnectFromNetworkCmd()
                .withNetworkId(network.getId())
                .withContainerId(node(id).containerId())
                .exec();
    }

    /** Connects the node again under its name (its address may change; peers find it by name). */
    void reconnect(int id) {
        log.info("heal: reconnect node{} to the network", id);
        docker.connectToNetworkCmd()
                .withNetworkId(network.getId())
                .withContainerId(node(id).containerId())
                .withContainerNetwork(new ContainerNetwork().withAliases(node(id).alias()))
                .exec();
    }

    /** Restarts every container (SIGTERM, then start), all at once; their data volumes stay. */
    void restartAll() {
        log.info("fault: restart all nodes");
        nodes.values().parallelStream()
                .forEach(node -> docker.restartContainerCmd(node.containerId()).withTimeout(10).exec());
    }

    /** Each node's container log so far, across its restarts. */
    Map<Integer, String> logs() {
        Map<Integer, String> logs = new LinkedHashMap<>();
        nodes.values().forEach(node -> logs.put(node.id(), node.container().getLogs()));
        return logs;
    }

    /** Writes each node's container log (across its restarts) to {@code directory/nodeN.log}. */
    void saveLogs(Path directory) {
        try {
            Files.createDirectories(directory);
            for (Node node : nodes.values()) {
                if (node.container().getContainerId() != null) {
                    Files.writeString(directory.resolve(node.alias() + ".log"), node.container().getLogs(),
                            StandardCharsets.UTF_8);
                }
            }
        } catch (IOException | RuntimeException e) {
            log.warn("could not save the node logs to {}: {}", directory, e.toString());
        }
    }

    @Override
    public void close() {
        List<Node> reversed = new ArrayList<>(nodes.values());
        Collections.reverse(reversed);
        for (Node node : reversed) {
            try {
                if (node.container().getContainerId() != null && isPaused(node)) {
                    unpause(node.id());
                }
                node.container().stop();
            } catch (RuntimeException e) {
                log.warn("could not remove the container of {}: {}", node.alias(), e.toString());
            }
        }
        network.close();
    }

    private boolean isPaused(Node node) {
        return Boolean.TRUE.equals(docker.inspectContainerCmd(node.containerId()).exec().getState().getPaused());
    }

    private static int freeLoopbackPort() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(false);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free loopback port", e);
        }
    }
}
