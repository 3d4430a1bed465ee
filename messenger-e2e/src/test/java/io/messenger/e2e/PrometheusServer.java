package io.messenger.e2e;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.yaml.snakeyaml.Yaml;

/**
 * A real Prometheus server (the {@code prometheus} binary on the PATH, Debian's package) run by a test: it scrapes
 * the given nodes' admin ports every second, evaluates the given rule file, listens on a free loopback port, keeps
 * its data in the test's directory, and is stopped by its PID. {@link #query} asks its HTTP query API.
 */
public final class PrometheusServer implements AutoCloseable {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final Process process;
    private final int port;
    private final Path logFile;

    private PrometheusServer(Process process, int port, Path logFile) {
        this.process = process;
        this.port = port;
        this.logFile = logFile;
    }

    /** The {@code prometheus} executable on the PATH, if there is one. */
    public static Optional<Path> binary() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, "prometheus");
            if (!dir.isEmpty() && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /**
     * Starts Prometheus scraping every node of {@code cluster} (job {@code messenger}, label {@code node} = node id)
     * each second and evaluating {@code rules} (may be null) each second, with its config, data and log under
     * {@code dir}.
     */
    public static PrometheusServer start(Path binary, LocalCluster cluster, Path rules, Path dir) {
        int port = LoopbackPorts.free(1).get(0);
        StringBuilder config = new StringBuilder()
                .append("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n");
        if (rules != null) {
            config.append("rule_files:\n  - ").append(rules.toAbsolutePath()).append('\n');
        }
        config.append("scrape_configs:\n  - job_name: messenger\n    static_configs:\n");
        for (ServerProcess node : cluster.nodes()) {
            config.append("      - targets: [\"127.0.0.1:").append(node.adminPort()).append("\"]\n")
                    .append("        labels: {node: \"").append(node.nodeId()).append("\"}\n");
        }
        try {
            Files.createDirectories(dir);
            Path configFile = Files.writeString(dir.resolve("prometheus.yml"), config);
            Path logFile = dir.resolve("prometheus.log");
            List<String> command = List.of(binary.toString(),
                    "--config.file=" + configFile,
                    "--storage.tsdb.path=" + dir.resolve("data"),
                    "--web.listen-address=127.0.0.1:" + port);
            Files.writeString(logFile, "==== e2e: " + String.join(" ", command) + System.lineSeparator());
            Process process = ProcessReaper.watch(new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start());
            return new PrometheusServer(process, port, logFile);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start Prometheus", e);
        }
    }

    public long pid() {
        return process.pid();
    }

    public int port() {
        return port;
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** Whether {@code /-/ready} answers 200. */
    public boolean ready() {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(base() + "/-/ready"))
                    .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** One sample of an instant-vector answer: its labels and value. */
    public record Sample(Map<String, String> labels, double value) {
        public String label(String name) {
            return labels.get(name);
        }
    }

    /** Evaluates {@code promql} now through {@code /api/v1/query}; an instant vector's samples. */
    @SuppressWarnings("unchecked")
    public List<Sample> query(String promql) throws IOException, InterruptedException {
        URI uri = URI.create(base() + "/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException("query " + promql + " answered " + r.statusCode() + ": " + r.body());
        }
        Map<String, Object> answer = new Yaml().load(r.body());
        Map<String, Object> data = (Map<String, Object>) answer.get("data");
        List<Sample> samples = new ArrayList<>();
        for (Map<String, Object> result : (List<Map<String, Object>>) data.get("result")) {
            List<Object> value = (List<Object>) result.get("value");
            Map<String, String> labels = ((Map<String, Object>) result.get("metric")).entrySet().stream()
                    .collect(Collectors.toMap(Map.Entry::getKey, e -> String.valueOf(e.getValue())));
            samples.add(new Sample(labels, Double.parseDouble(String.valueOf(value.get(1)))));
        }
        return samples;
    }

    /** The last lines of Prometheus's log, for failure messages. */
    public String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join(System.lineSeparator(), all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(cannot read " + logFile + ": " + e + ")";
        }
    }

    private String base() {
        return "http://127.0.0.1:" + port;
    }

    /** SIGTERM by PID, then SIGKILL if it has not exited within 10 s. */
    @Override
    public void close() {
        try {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            ProcessReaper.release(process);
        }
    }
}
