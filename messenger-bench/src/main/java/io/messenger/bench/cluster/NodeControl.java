package io.messenger.bench.cluster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds, kills and restarts the messenger nodes: locally started ones by the PID in
 * {@code <pid-dir>/node-N.pid} (SIGKILL), or Docker containers ({@code docker kill} / {@code docker start}).
 * Nodes are found through their admin endpoints' {@code /status}.
 */
public final class NodeControl implements KillableCluster {

    private static final Logger log = LoggerFactory.getLogger(NodeControl.class);
    private static final long POLL_MILLIS = 10;

    /** How a node is killed and brought back. */
    public enum Method { PID, DOCKER }

    private final List<String> admins;
    private final Path pidDir;
    private final Method method;
    private final String restartCommand;
    private final String containerTemplate;
    private final Map<Integer, String> adminOfNode = new HashMap<>();

    /**
     * @param admins admin endpoints host:port of every node
     * @param restartCommand shell command that starts missing local nodes ({id} is replaced by the node id)
     * @param containerTemplate container name with {id}, for {@link Method#DOCKER}
     */
    public NodeControl(List<String> admins, Path pidDir, Method method, String restartCommand,
            String containerTemplate) {
        this.admins = List.copyOf(admins);
        this.pidDir = pidDir;
        this.method = method;
        this.restartCommand = restartCommand;
        this.containerTemplate = containerTemplate;
    }

    @Override
    public long epochOf(int node) throws InterruptedException {
        NodeStatus status = statuses().get(node);
        return status == null ? -1 : status.epoch();
    }

    /** Status of every node that answers now, by node id. */
    public Map<Integer, NodeStatus> statuses() throws InterruptedException {
        return statusesExcept(0);
    }

    /** Like {@link #statuses()}, without asking {@code node} (a killed one would only cost a failed request). */
    private Map<Integer, NodeStatus> statusesExcept(int node) throws InterruptedException {
        String skip;
        synchronized (adminOfNode) {
            skip = adminOfNode.get(node);
        }
        Map<Integer, NodeStatus> byNode = new LinkedHashMap<>();
        for (String admin : admins) {
            if (admin.equals(skip)) {
                continue;
            }
            try {
                NodeStatus status = NodeStatus.fetch(admin);
                if (status.nodeId() > 0) {
                    byNode.put(status.nodeId(), status);
                    synchronized (adminOfNode) {
                        adminOfNode.put(status.nodeId(), admin);
                    }
                }
            } catch (IOException down) {
                log.debug("{} does not answer: {}", admin, down.toString());
            }
        }
        return byNode;
    }

    /** The node that calls itself leader, waiting up to {@code timeout} for one; 0 if none appears. */
    @Override
    public int awaitLeader(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        do {
            for (NodeStatus status : statuses().values()) {
                if (status.leaderId() == status.nodeId()) {
                    return status.nodeId();
                }
            }
            TimeUnit.MILLISECONDS.sleep(50);
        } while (System.nanoTime() < deadline);
        return 0;
    }

    /**
     * Polls every node but {@code killed} until one reports a leader other than it.
     *
     * @return the new leader and when it was first seen, or leader 0 if none within the timeout
     */
    @Override
    public Election awaitNewLeader(int killed, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (NodeStatus status : statusesExcept(killed).values()) {
                int leader = status.leaderId();
                if (status.nodeId() != killed && leader != 0 && leader != killed) {
                    return new Election(leader, System.nanoTime(), status.epoch());
                }
            }
            TimeUnit.MILLISECONDS.sleep(POLL_MILLIS);
        }
        return new Election(0, System.nanoTime());
    }

    /**
     * PID of a node on this machine: a container's main process as Docker reports it, or a local node's
     * PID file, or what its /status says; empty when nothing tells.
     */
    public OptionalLong pid(int node) {
        if (method == Method.DOCKER) {
            try {
                long pid = Long.parseLong(run(List.of("docker", "inspect", "-f", "{{.State.Pid}}", container(node)),
                        Duration.ofSeconds(10)).strip());
                return pid > 0 ? OptionalLong.of(pid) : OptionalLong.empty();
            } catch (IOException | NumberFormatException unknown) {
                log.warn("No PID for container {}: {}", container(node), unknown.toString());
                return OptionalLong.empty();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return OptionalLong.empty();
            }
        }
        Path file = pidDir.resolve("node-" + node + ".pid");
        try {
            if (Files.isReadable(file)) {
                return OptionalLong.of(Long.parseLong(Files.readString(file).strip()));
            }
        } catch (IOException | NumberFormatException unreadable) {
            log.warn("Unreadable PID file {}: {}", file, unreadable.toString());
        }
        String admin;
        synchronized (adminOfNode) {
            admin = adminOfNode.get(node);
        }
        if (admin != null) {
            try {
                return NodeStatus.fetch(admin).pid();
            } catch (IOException down) {
                log.debug("{} does not answer: {}", admin, down.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return OptionalLong.empty();
    }

    /** Kills the node at once (SIGKILL or docker kill) and returns when it is gone. */
    @Override
    public void kill(int node) throws IOException, InterruptedException {
        if (method == Method.DOCKER) {
            run(List.of("docker", "kill", container(node)), Duration.ofSeconds(30));
            return;
        }
        long pid = pid(node).orElseThrow(() -> new IOException("No PID for node " + node + ": expected "
                + pidDir.resolve("node-" + node + ".pid") + " (start the cluster with 'make run-bench')"));
        ProcessHandle process = ProcessHandle.of(pid)
                .orElseThrow(() -> new IOException("Node " + node + " (pid " + pid + ") is not running"));
        if (!process.destroyForcibly()) {
            throw new IOException("Could not send SIGKILL to node " + node + " (pid " + pid + ")");
        }
        // Not ProcessHandle.onExit(): for a process that is not our child it polls from 300 ms upwards, and
        // a killed node nobody reaps stays a zombie that it counts as alive.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (running(pid)) {
            if (System.nanoTime() > deadline) {
                throw new IOException("Node " + node + " (pid " + pid + ") still runs 10 s after SIGKILL");
            }
            TimeUnit.MILLISECONDS.sleep(2);
        }
    }

    /** Whether a process exists and is not a zombie, from /proc/PID/stat. */
    static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException | RuntimeException gone) {
            return false;
        }
    }

    /** Starts the node again and waits until its admin endpoint answers. */
    @Override
    public void restart(int node, Duration timeout) throws IOException, InterruptedException {
        if (method == Method.DOCKER) {
            run(List.of("docker", "start", container(node)), timeout);
        } else {
            forgetIfDead(node);
            run(List.of("bash", "-c", restartCommand.replace("{id}", Integer.toString(node))), timeout);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!statuses().containsKey(node)) {
            if (System.nanoTime() > deadline) {
                throw new IOException("Node " + node + " did not answer /status within " + timeout.toSeconds()
                        + " s of its restart");
            }
            TimeUnit.MILLISECONDS.sleep(100);
        }
    }

    /**
     * Removes the PID file of a node that no longer runs. A killed node that init has not reaped yet is a
     * zombie, which {@code kill -0} (and so a start script's "already running" check) takes for alive.
     */
    private void forgetIfDead(int node) throws IOException {
        Path file = pidDir.resolve("node-" + node + ".pid");
        OptionalLong pid = pid(node);
        if (pid.isPresent() && !running(pid.getAsLong()) && Files.deleteIfExists(file)) {
            log.debug("Removed stale PID file {}", file);
        }
    }

    private String container(int node) {
        return containerTemplate.replace("{id}", Integer.toString(node));
    }

    /** Runs a command to completion and returns its output; a non-zero exit is an error with that output. */
    private static String run(List<String> command, Duration timeout) throws IOException, InterruptedException {
        Path output = Files.createTempFile("bench-node-control", ".log");
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile())
                    .start();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IOException("'" + String.join(" ", command) + "' did not finish within "
                        + timeout.toSeconds() + " s");
            }
            if (process.exitValue() != 0) {
                throw new IOException("'" + String.join(" ", command) + "' failed with exit code "
                        + process.exitValue() + ": " + Files.readString(output).strip());
            }
            return Files.readString(output);
        } finally {
            Files.deleteIfExists(output);
        }
    }

    /** A leader seen after a kill, and when. */
    public record Election(int leader, long seenNanos, long epoch) {

        /** An election whose epoch is not known. */
        public Election(int leader, long seenNanos) {
            this(leader, seenNanos, -1);
        }
    }
}
