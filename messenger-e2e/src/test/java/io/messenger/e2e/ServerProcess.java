package io.messenger.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One real server node run as its own JVM from the shaded app jar, which a test can SIGKILL and restart
 * on the same ports and data directory. Output goes to a log file that survives restarts.
 */
public final class ServerProcess implements AutoCloseable {

    private static final HttpClient HTTP = HttpClient.newBuilder()
            .connectTimeout(Duration.ofMillis(500))
            .build();

    private final Path jar;
    private final int nodeId;
    private final int clientPort;
    private final int peerPort;
    private final int adminPort;
    private final String peers;
    private final Path dataDir;
    private final Path logFile;
    private final List<String> extraArgs;
    private Process process;
    private int starts;

    /**
     * @param peers every member as {@code id=host:peerPort}, comma separated, this node included
     * @param extraArgs further server flags appended after the standard ones
     */
    public ServerProcess(Path jar, int nodeId, int clientPort, int peerPort, int adminPort, String peers,
            Path dataDir, Path logFile, List<String> extraArgs) {
        this.jar = jar;
        this.nodeId = nodeId;
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        this.adminPort = adminPort;
        this.peers = peers;
        this.dataDir = dataDir;
        this.logFile = logFile;
        this.extraArgs = List.copyOf(extraArgs);
    }

    public int nodeId() {
        return nodeId;
    }

    public int clientPort() {
        return clientPort;
    }

    public int adminPort() {
        return adminPort;
    }

    public Path logFile() {
        return logFile;
    }

    /** The address clients use, as {@code host:port}. */
    public String clientAddress() {
        return "127.0.0.1:" + clientPort;
    }

    /** The command line that starts this node. */
    public List<String> commandLine() {
        List<String> command = new ArrayList<>(List.of(
                javaExecutable(),
                "-Dio.netty.leakDetectionLevel=paranoid",
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-jar", jar.toString(),
                "--node-id", Integer.toString(nodeId),
                // Loopback only: tests never open ports to the network.
                "--client-host", "127.0.0.1",
                "--peer-host", "127.0.0.1",
                "--admin-host", "127.0.0.1",
                "--client-port", Integer.toString(clientPort),
                "--peer-port", Integer.toString(peerPort),
                "--admin-port", Integer.toString(adminPort),
                "--peers", peers,
                "--data-dir", dataDir.toString(),
                "--advertised-client-address", clientAddress()));
        command.addAll(extraArgs);
        return command;
    }

    /** Starts the node (again, after a kill or stop, on the same ports and data directory). */
    public synchronized ServerProcess start() {
        if (alive()) {
            throw new IllegalStateException("node " + nodeId + " is already running as pid " + process.pid());
        }
        try {
            Files.createDirectories(dataDir);
            Files.createDirectories(logFile.getParent());
            starts++;
            Files.writeString(logFile, "==== e2e: start #" + starts + " of node " + nodeId + " at " + Instant.now()
                    + ": " + String.join(" ", commandLine()) + System.lineSeparator(),
                    StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            process = ProcessReaper.watch(new ProcessBuilder(commandLine())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .start());
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start node " + nodeId, e);
        }
    }

    /** Whether the process is running. */
    public synchronized boolean alive() {
        return process != null && process.isAlive();
    }

    /** The operating system's id of the running process. */
    public synchronized long pid() {
        if (process == null) {
            throw new IllegalStateException("node " + nodeId + " was never started");
        }
        return process.toHandle().pid();
    }

    /** SIGKILL: the node gets no chance to flush, close sockets or say goodbye. Waits until it is gone. */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        if (!process.isAlive()) {
            ProcessReaper.release(process);
            return;
        }
        ProcessHandle handle = process.toHandle();
        handle.descendants().forEach(ProcessHandle::destroyForcibly);
        // On Linux destroyForcibly is SIGKILL.
        process.destroyForcibly();
        awaitExit(Duration.ofSeconds(10));
        note("killed (SIGKILL) pid " + handle.pid());
    }

    /**
     * SIGSTOP: the node stops dead with its sockets open, as in a long GC pause or a frozen VM; peers and
     * clients see silence, not a closed connection. {@link #thaw} resumes it.
     */
    public synchronized void freeze() {
        signal("STOP");
        note("frozen (SIGSTOP)");
    }

    /** SIGCONT: a frozen node carries on where it stopped, believing whatever it believed before. */
    public synchronized void thaw() {
        signal("CONT");
        note("thawed (SIGCONT)");
    }

    private void signal(String name) {
        if (!alive()) {
            throw new IllegalStateException("node " + nodeId + " is not running");
        }
        try {
            // The JDK can only send TERM and KILL; the kill command reaches the same PID.
            Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid()))
                    .redirectErrorStream(true)
                    .start();
            if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
                throw new IllegalStateException("kill -" + name + " " + process.pid() + " failed: "
                        + new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot signal node " + nodeId, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while signalling node " + nodeId, e);
        }
    }

    /** SIGTERM, then SIGKILL if the node has not exited within the grace period. */
    public synchronized void stop(Duration grace) {
        if (process == null || !process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                kill();
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill();
            return;
        }
        ProcessReaper.release(process);
        note("stopped (SIGTERM), exit code " + process.exitValue());
    }

    private void awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("node " + nodeId + " (pid " + process.pid() + ") survived SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for node " + nodeId + " to exit", e);
        }
        ProcessReaper.release(process);
    }

    /** Asks the node's admin endpoint for its status; empty when the node does not answer. */
    public Optional<NodeStatus> status() {
        if (!alive()) {
            return Optional.empty();
        }
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/status"))
                .timeout(Duration.ofMillis(800))
                .GET()
                .build();
        try {
            HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                return Optional.empty();
            }
            return Optional.of(NodeStatus.parse(response.body()));
        } catch (IOException | IllegalArgumentException unreachable) {
            // Starting, dying or half-dead: to the caller all mean "no status now".
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** The last lines of the log, for failure messages. */
    public String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join(System.lineSeparator(), all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(log " + logFile + " unreadable: " + e.getMessage() + ")";
        }
    }

    private void note(String event) {
        try {
            Files.writeString(logFile, "==== e2e: node " + nodeId + " " + event + " at " + Instant.now()
                    + System.lineSeparator(), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write to " + logFile, e);
        }
    }

    /** Kills the node if it still runs. */
    @Override
    public void close() {
        kill();
    }

    @Override
    public String toString() {
        return "node " + nodeId + " (client " + clientPort + ", admin " + adminPort
                + (alive() ? ", pid " + pid() : ", down") + ")";
    }

    private static String javaExecutable() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }
}
