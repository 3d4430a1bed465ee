package io.messenger.bench.nats;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A local JetStream cluster of {@code nats-server} processes on 127.0.0.1, each with its own ports and
 * store directory under one temporary directory, joined by cluster routes.
 *
 * <p>The processes are stopped by PID in {@link #close()}, and by a shutdown hook if the bench is
 * interrupted, so a failed run never leaves servers behind.
 */
public final class NatsCluster implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(NatsCluster.class);
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

    private final Path baseDir;
    private final List<Process> processes = new ArrayList<>();
    private final List<String> clientUrls = new ArrayList<>();
    private final List<Path> configFiles = new ArrayList<>();
    private final List<Integer> httpPorts = new ArrayList<>();
    private Path binary;
    private final Thread shutdownHook = new Thread(this::stopProcesses, "nats-cluster-stop");

    private NatsCluster(Path baseDir) {
        this.baseDir = baseDir;
    }

    /** The {@code nats-server} binary on the PATH, or null when it is not installed. */
    public static Path findBinary() {
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        List<String> dirs = new ArrayList<>(List.of(path.split(":")));
        dirs.add("/usr/sbin"); // Debian's package installs it here, often not on a user's PATH
        for (String dir : dirs) {
            Path candidate = Path.of(dir, "nats-server");
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /**
     * Starts {@code nodes} servers with JetStream (a single node has no cluster block) and waits until each
     * answers its health check.
     */
    public static NatsCluster start(Path binary, int nodes) throws IOException, InterruptedException {
        NatsCluster cluster = new NatsCluster(Files.createTempDirectory("bench-nats-"));
        Runtime.getRuntime().addShutdownHook(cluster.shutdownHook);
        try {
            cluster.launch(binary, nodes);
            return cluster;
        } catch (IOException | InterruptedException | RuntimeException e) {
            cluster.close();
            throw e;
        }
    }

    private void launch(Path binary, int nodes) throws IOException, InterruptedException {
        this.binary = binary;
        int[] clientPorts = new int[nodes];
        int[] routePorts = new int[nodes];
        int[] monitorPorts = new int[nodes];
        for (int i = 0; i < nodes; i++) {
            clientPorts[i] = freePort();
            routePorts[i] = freePort();
            monitorPorts[i] = freePort();
        }
        String routes = java.util.Arrays.stream(routePorts).mapToObj(p -> "\"nats-route://127.0.0.1:" + p + "\"")
                .collect(Collectors.joining(", "));
        for (int i = 0; i < nodes; i++) {
            String name = "n" + (i + 1);
            Path store = Files.createDirectories(baseDir.resolve(name));
            StringBuilder config = new StringBuilder()
                    .append("server_name: ").append(name).append('\n')
                    .append("listen: \"127.0.0.1:").append(clientPorts[i]).append("\"\n")
                    .append("http: \"127.0.0.1:").append(monitorPorts[i]).append("\"\n")
                    .append("max_payload: 65536\n")
                    .append("jetstream {\n  store_dir: \"").append(store).append("\"\n")
                    .append("  max_memory_store: 268435456\n  max_file_store: 4294967296\n}\n");
            if (nodes > 1) {
                config.append("cluster {\n  name: bench\n  listen: \"127.0.0.1:").append(routePorts[i])
                        .append("\"\n  routes: [").append(routes).append("]\n}\n");
            }
            Path configFile = baseDir.resolve(name + ".conf");
            Files.writeString(configFile, config);
            configFiles.add(configFile);
            httpPorts.add(monitorPorts[i]);
            processes.add(startServer(i));
            clientUrls.add("nats://127.0.0.1:" + clientPorts[i]);
        }
        for (int i = 0; i < nodes; i++) {
            awaitHealthy(i, monitorPorts[i], READY_TIMEOUT);
        }
        log.info("NATS cluster of {} up at {} (store {})", nodes, clientUrls, baseDir);
    }

    /** Starts server {@code index} (0-based) from its config; its log is appended to, so a restart keeps both. */
    private Process startServer(int index) throws IOException {
        String name = serverName(index + 1);
        return new ProcessBuilder(binary.toString(), "-c", configFiles.get(index).toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(baseDir.resolve(name + ".log").toFile()))
                .start();
    }

    /** The {@code server_name} of node {@code node} (1-based), as JetStream reports it in cluster info. */
    public static String serverName(int node) {
        return "n" + node;
    }

    /** The node (1-based) whose {@code server_name} this is; 0 for null or a name this cluster never gives. */
    public static int nodeOf(String serverName) {
        if (serverName == null || !serverName.matches("n[1-9][0-9]{0,2}")) {
            return 0;
        }
        return Integer.parseInt(serverName.substring(1));
    }

    /** Number of servers. */
    public int size() {
        return configFiles.size();
    }

    /** Sends SIGKILL to node {@code node}'s process (1-based), the one this cluster started, and reaps it. */
    public void kill(int node) throws IOException, InterruptedException {
        Process process;
        synchronized (this) {
            process = processes.get(node - 1);
        }
        process.destroyForcibly(); // SIGKILL on Linux
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            throw new IOException("nats-server " + serverName(node) + " (pid " + process.pid()
                    + ") still runs 10 s after SIGKILL");
        }
    }

    /** Starts node {@code node} (1-based) again with its config and store, and waits until it is healthy. */
    public void restart(int node, Duration timeout) throws IOException, InterruptedException {
        synchronized (this) {
            if (processes.get(node - 1).isAlive()) {
                throw new IOException("nats-server " + serverName(node) + " is still running");
            }
            processes.set(node - 1, startServer(node - 1));
        }
        awaitHealthy(node - 1, httpPorts.get(node - 1), timeout);
    }

    private void awaitHealthy(int node, int monitorPort, Duration timeout) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Process process;
            synchronized (this) {
                process = processes.get(node);
            }
            if (!process.isAlive()) {
                throw new IOException("nats-server n" + (node + 1) + " exited with " + process.exitValue()
                        + "; its log: " + Files.readString(baseDir.resolve("n" + (node + 1) + ".log")).strip());
            }
            try {
                HttpURLConnection http = (HttpURLConnection) URI.create("http://127.0.0.1:" + monitorPort + "/healthz")
                        .toURL().openConnection();
                http.setConnectTimeout(500);
                http.setReadTimeout(500);
                int code = http.getResponseCode();
                http.disconnect();
                if (code == 200) {
                    return;
                }
            } catch (IOException notYet) {
                log.debug("nats-server n{} not answering yet: {}", node + 1, notYet.toString());
            }
            TimeUnit.MILLISECONDS.sleep(100);
        }
        throw new IOException("nats-server n" + (node + 1) + " did not become healthy within "
                + timeout.toSeconds() + " s; see " + baseDir);
    }

    /** What {@code nats-server --version} prints, e.g. "nats-server: v2.9.10"; "unknown" if it fails. */
    public static String version(Path binary) {
        try {
            Process process = new ProcessBuilder(binary.toString(), "--version").redirectErrorStream(true).start();
            String out = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            return process.waitFor(10, TimeUnit.SECONDS) && process.exitValue() == 0 ? out.strip() : "unknown";
        } catch (IOException e) {
            return "unknown";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    /** Client URLs of every node, for connection options. */
    public List<String> clientUrls() {
        return List.copyOf(clientUrls);
    }

    /** PIDs of the server processes. */
    public synchronized List<Long> pids() {
        return processes.stream().map(Process::pid).toList();
    }

    /** Stops every server by PID (TERM, then KILL after 5 s) and deletes the store directories. */
    @Override
    public void close() {
        stopProcesses();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            log.debug("JVM already shutting down; the hook stops the servers");
        }
        try (Stream<Path> files = Files.walk(baseDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            log.warn("Could not delete NATS store {}: {}", baseDir, e.toString());
        }
    }

    private synchronized void stopProcesses() {
        for (Process process : processes) {
            process.destroy();
        }
        for (Process process : processes) {
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    log.warn("nats-server pid {} ignored TERM; killing it", process.pid());
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
