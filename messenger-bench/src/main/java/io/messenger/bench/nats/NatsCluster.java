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
            Process process = new ProcessBuilder(binary.toString(), "-c", configFile.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(baseDir.resolve(name + ".log").toFile())
                    .start();
            processes.add(process);
            clientUrls.add("nats://127.0.0.1:" + clientPorts[i]);
        }
        for (int i = 0; i < nodes; i++) {
            awaitHealthy(i, monitorPorts[i]);
        }
        log.info("NATS cluster of {} up at {} (store {})", nodes, clientUrls, baseDir);
    }

    private void awaitHealthy(int node, int monitorPort) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            Process process = processes.get(node);
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
                + READY_TIMEOUT.toSeconds() + " s; see " + baseDir);
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
    public List<Long> pids() {
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
