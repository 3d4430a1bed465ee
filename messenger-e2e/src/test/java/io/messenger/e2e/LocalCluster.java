package io.messenger.e2e;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;

/**
 * N real server processes on loopback forming one cluster, with free ports picked at run time, logs under
 * the test's work directory, and the faults a test needs: SIGKILL any node, restart it on the same ports
 * and data directory, find the leader through each node's admin {@code /status}.
 */
public final class LocalCluster implements AutoCloseable {

    /** Time a cluster gets to elect a leader after a start or a kill. */
    public static final Duration ELECTION_BOUND = Duration.ofSeconds(60);

    private final List<ServerProcess> nodes;
    private final Path dir;

    private LocalCluster(List<ServerProcess> nodes, Path dir) {
        this.nodes = nodes;
        this.dir = dir;
    }

    /**
     * Prepares (does not start) {@code size} nodes with ids 1..size under {@code work/name}; an earlier run's
     * directory of the same name is wiped so every run starts from empty logs.
     */
    public static LocalCluster create(String name, int size, List<String> extraServerArgs) {
        Path jar = AppJars.server();
        Path dir = AppJars.workDir().resolve(name);
        deleteRecursively(dir);
        List<Integer> ports = LoopbackPorts.free(3 * size);
        StringJoiner peers = new StringJoiner(",");
        for (int i = 0; i < size; i++) {
            peers.add((i + 1) + "=127.0.0.1:" + ports.get(3 * i + 1));
        }
        // Every test cluster authenticates its peers, as `make run` does.
        List<String> serverArgs = new ArrayList<>(List.of("--peer-secret-file", peerSecret(dir).toString()));
        serverArgs.addAll(extraServerArgs);
        List<ServerProcess> nodes = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            int id = i + 1;
            nodes.add(new ServerProcess(jar, id, ports.get(3 * i), ports.get(3 * i + 1), ports.get(3 * i + 2),
                    peers.toString(), dir.resolve("data-" + id), dir.resolve("node-" + id + ".log"),
                    serverArgs));
        }
        return new LocalCluster(List.copyOf(nodes), dir);
    }

    /** A fresh random peer secret in {@code dir}, shared by every node of the cluster. */
    private static Path peerSecret(Path dir) {
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        try {
            Files.createDirectories(dir);
            return Files.writeString(dir.resolve("peer-secret"), HexFormat.of().formatHex(secret));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts every node and waits until they agree on a leader. */
    public LocalCluster start() {
        nodes.forEach(ServerProcess::start);
        awaitLeader();
        return this;
    }

    public List<ServerProcess> nodes() {
        return nodes;
    }

    /** The node with this id (ids start at 1). */
    public ServerProcess node(int id) {
        return nodes.get(id - 1);
    }

    /** Where logs and data of this cluster live. */
    public Path dir() {
        return dir;
    }

    /** Every node's client address, comma separated: the seed list for clients. */
    public String clientAddresses() {
        return nodes.stream().map(ServerProcess::clientAddress).collect(Collectors.joining(","));
    }

    /** Status of every node that answers now, keyed by node id. */
    public Map<Integer, NodeStatus> statuses() {
        return nodes.stream()
                .map(ServerProcess::status)
                .flatMap(Optional::stream)
                .collect(Collectors.toMap(NodeStatus::nodeId, s -> s));
    }

    /**
     * The leader as the running nodes see it now: a node that says it leads, whose leadership a majority of
     * running nodes (itself included) confirm, in the highest epoch any of them reports. Empty during an
     * election.
     */
    public Optional<ServerProcess> leader() {
        Map<Integer, NodeStatus> statuses = statuses();
        int majority = nodes.size() / 2 + 1;
        return statuses.values().stream()
                .filter(NodeStatus::leading)
                .max(Comparator.comparingLong(NodeStatus::epoch))
                .filter(candidate -> statuses.values().stream()
                        .filter(s -> s.nodeId() == candidate.nodeId()
                                || (s.epoch() == candidate.epoch() && s.leaderId() == candidate.nodeId()))
                        .count() >= majority)
                .map(s -> node(s.nodeId()));
    }

    /** Waits until a leader is confirmed by a majority; fails with every node's status and log tail otherwise. */
    public ServerProcess awaitLeader() {
        return awaitLeader(ELECTION_BOUND, node -> true);
    }

    /** Waits for a confirmed leader other than {@code previous} (which a test has just killed). */
    public ServerProcess awaitNewLeader(ServerProcess previous) {
        return awaitLeader(ELECTION_BOUND, node -> node != previous);
    }

    private ServerProcess awaitLeader(Duration bound, java.util.function.Predicate<ServerProcess> acceptable) {
        AtomicReference<ServerProcess> found = new AtomicReference<>();
        try {
            await().atMost(bound)
                    .pollInterval(Duration.ofMillis(50))
                    .until(() -> leader().filter(acceptable).map(l -> {
                        found.set(l);
                        return true;
                    }).orElse(false));
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("no leader within " + bound.toSeconds() + " s; " + describe(), e);
        }
        return found.get();
    }

    /** SIGKILLs a node. */
    public void kill(ServerProcess node) {
        node.kill();
    }

    /** Starts a stopped or killed node again on its ports and data directory. */
    public void restart(ServerProcess node) {
        node.start();
    }

    /** Every node's status, or the tail of its log when it does not answer, for failure messages. */
    public String describe() {
        StringBuilder text = new StringBuilder();
        for (ServerProcess node : nodes) {
            text.append(System.lineSeparator()).append(node).append(": ");
            Optional<NodeStatus> status = node.status();
            if (status.isPresent()) {
                text.append(status.get());
            } else {
                text.append("no status; log ").append(node.logFile()).append(" ends with:")
                        .append(System.lineSeparator()).append(node.logTail(15));
            }
        }
        return text.toString();
    }

    /** Lines of the nodes' logs where Netty's leak detector reported a leaked buffer. */
    public List<String> leakReports() {
        List<String> reports = new ArrayList<>();
        for (ServerProcess node : nodes) {
            try (Stream<String> lines = Files.lines(node.logFile(), java.nio.charset.StandardCharsets.UTF_8)) {
                lines.filter(line -> line.contains("LEAK: "))
                        .forEach(line -> reports.add("node " + node.nodeId() + ": " + line));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + node.logFile(), e);
            }
        }
        return reports;
    }

    /** Kills every node still running and deletes the data directories (logs stay for post-mortems). */
    @Override
    public void close() {
        RuntimeException first = null;
        for (ServerProcess node : nodes) {
            try {
                node.kill();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        for (int id = 1; id <= nodes.size(); id++) {
            deleteRecursively(dir.resolve("data-" + id));
        }
        if (first != null) {
            throw first;
        }
    }

    static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + root, e);
        }
    }
}
