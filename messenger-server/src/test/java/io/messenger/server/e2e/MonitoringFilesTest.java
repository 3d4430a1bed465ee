package io.messenger.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.messenger.server.Setting;
import java.io.File;
import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * The monitoring files under {@code deploy/} fit the nodes: every metric an alert rule or a dashboard panel reads is
 * one a real node of a 3-node cluster exports on {@code /metrics}; and, where promtool is installed, the scrape
 * config and rules pass {@code promtool check} and the rules' unit tests pass {@code promtool test rules}.
 */
class MonitoringFilesTest {

    private static final Path DEPLOY = Path.of(System.getProperty("user.dir")).resolve("../deploy").normalize();
    private static final Path PROMETHEUS_DIR = DEPLOY.resolve("prometheus");
    private static final Path DASHBOARD = DEPLOY.resolve("grafana/messenger-dashboard.json");
    /** Series Prometheus itself adds to every target. */
    private static final Set<String> SCRAPE_SERIES = Set.of("up", "scrape_duration_seconds",
            "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added");

    @TempDir
    Path dir;
    private final List<TestNode> nodes = new ArrayList<>();

    @AfterEach
    void stop() {
        nodes.forEach(TestNode::close);
    }

    @Test
    void everyMetricTheAlertsAndTheDashboardReadIsExportedByANode() throws Exception {
        Map<String, Set<String>> used = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : alertExpressions().entrySet()) {
            used.put("alert " + e.getKey(), PromQlNames.of(e.getValue()));
        }
        for (Map.Entry<String, String> e : dashboardExpressions().entrySet()) {
            used.put("panel " + e.getKey(), PromQlNames.of(e.getValue()));
        }
        assertThat(used).as("alerts and panels found").hasSizeGreaterThan(20);
        assertThat(used).allSatisfy((where, names) -> assertThat(names).as(where + " reads a metric").isNotEmpty());

        Set<String> exported = exportedNames(scrapeOfAThreeNodeCluster());
        assertThat(exported).as("a node's own metrics, not only the JVM's")
                .contains("messenger_cluster_replication_lag_entries", "messenger_storage_fsync_latency_seconds_bucket");
        Map<String, Set<String>> unknown = new LinkedHashMap<>();
        used.forEach((where, names) -> {
            Set<String> missing = names.stream().filter(n -> !exported.contains(n) && !SCRAPE_SERIES.contains(n))
                    .collect(Collectors.toCollection(TreeSet::new));
            if (!missing.isEmpty()) {
                unknown.put(where, missing);
            }
        });
        assertThat(unknown).as("metrics read by alerts or panels that no node exports").isEmpty();
    }

    @Test
    void promtoolAcceptsTheConfigAndTheRulesAndTheirUnitTestsPass() throws Exception {
        Optional<Path> promtool = onPath("promtool");
        if (promtool.isEmpty()) {
            System.err.println("WARNING: promtool is not on the PATH; the Prometheus config and alert rules are NOT"
                    + " checked and their unit tests NOT run (install Debian's prometheus package: .ci/prometheus.sh install)");
        }
        assumeTrue(promtool.isPresent(), "promtool is not on the PATH (Debian package prometheus; "
                + ".ci/prometheus.sh install): the rules' promtool checks and unit tests cannot run");
        run(promtool.get(), "check", "config", "prometheus.yml");
        run(promtool.get(), "check", "rules", "alerts.yml");
        String tests = run(promtool.get(), "test", "rules", "alerts_test.yml");
        assertThat(tests).contains("SUCCESS");
    }

    @Test
    void metricNamesAreTakenFromExpressionsWithoutFunctionsLabelsOrNumbers() {
        assertThat(PromQlNames.of("histogram_quantile(0.99, sum by (instance, le) (rate("
                + "messenger_storage_fsync_latency_seconds_bucket{job=\"messenger\"}[5m]))) > 0.1"))
                .containsExactly("messenger_storage_fsync_latency_seconds_bucket");
        assertThat(PromQlNames.of("predict_linear(disk_free_bytes[1h], 4 * 3600) < 0 and disk_free_bytes"
                + " / disk_total_bytes < 5e-2")).containsExactly("disk_free_bytes", "disk_total_bytes");
        assertThat(PromQlNames.of("(sum(messenger_cluster_role{role=\"leader\"}) or vector(0)) < 1"))
                .containsExactly("messenger_cluster_role");
        assertThat(PromQlNames.of("increase(x_total{a=\"b\"}[$__rate_interval])")).containsExactly("x_total");
    }

    // ---- the files ----

    @SuppressWarnings("unchecked")
    private static Map<String, String> alertExpressions() throws IOException {
        Map<String, Object> file = load(PROMETHEUS_DIR.resolve("alerts.yml"));
        Map<String, String> out = new LinkedHashMap<>();
        for (Map<String, Object> group : (List<Map<String, Object>>) file.get("groups")) {
            for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
                String name = String.valueOf(rule.getOrDefault("alert", rule.get("record")));
                out.put(name, String.valueOf(rule.get("expr")));
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> dashboardExpressions() throws IOException {
        Map<String, Object> dashboard = load(DASHBOARD);
        Map<String, String> out = new LinkedHashMap<>();
        List<Map<String, Object>> panels = new ArrayList<>((List<Map<String, Object>>) dashboard.get("panels"));
        for (int i = 0; i < panels.size(); i++) {
            Map<String, Object> panel = panels.get(i);
            panels.addAll((List<Map<String, Object>>) panel.getOrDefault("panels", List.of()));
            for (Map<String, Object> target : (List<Map<String, Object>>) panel.getOrDefault("targets", List.of())) {
                out.put(panel.get("title") + " " + target.get("refId"), String.valueOf(target.get("expr")));
            }
        }
        return out;
    }

    private static Map<String, Object> load(Path file) throws IOException {
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return new Yaml().load(in);
        }
    }

    // ---- a real cluster ----

    private String scrapeOfAThreeNodeCluster() throws Exception {
        int[] peer = {TestNode.freePort(), TestNode.freePort(), TestNode.freePort()};
        String peers = IntStream.range(0, 3).mapToObj(i -> (i + 1) + "=127.0.0.1:" + peer[i])
                .collect(Collectors.joining(","));
        for (int i = 0; i < 3; i++) {
            nodes.add(new TestNode(dir.resolve("node-" + (i + 1)), Map.of(Setting.NODE_ID, Integer.toString(i + 1),
                    Setting.PEERS, peers, Setting.PEER_PORT, Integer.toString(peer[i]),
                    Setting.CLIENT_PORT, Integer.toString(TestNode.freePort()))).start());
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> nodes.stream().anyMatch(TestNode::leads));
        TestNode leader = nodes.stream().filter(TestNode::leads).findFirst().orElseThrow();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        // Micrometer registers jvm_gc_pause_seconds at the first GC it is told of, and that notification
        // arrives asynchronously: ask for a collection and wait for the timer, so that the scrape does not
        // depend on whether the JVM happened to collect before it.
        System.gc();
        AtomicReference<String> body = new AtomicReference<>();
        await("a scrape that includes the GC pause timer").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                                    URI.create("http://127.0.0.1:" + leader.server().adminPort() + "/metrics"))
                            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                    assertThat(response.statusCode()).isEqualTo(200);
                    body.set(response.body());
                    return response.body().contains("jvm_gc_pause_seconds_sum");
                });
        return body.get();
    }

    /** Sample names of a Prometheus text exposition ({@code _bucket}, {@code _count}, ... included). */
    static Set<String> exportedNames(String exposition) {
        return exposition.lines().filter(l -> !l.isBlank() && !l.startsWith("#"))
                .map(l -> l.split("[{ ]", 2)[0])
                .collect(Collectors.toCollection(TreeSet::new));
    }

    // ---- promtool ----

    private static Optional<Path> onPath(String tool) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String d : path.split(File.pathSeparator)) {
            Path candidate = Path.of(d, tool);
            if (!d.isEmpty() && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    private static String run(Path tool, String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(tool.toString());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).directory(PROMETHEUS_DIR.toFile()).redirectErrorStream(true).start();
        String output;
        try {
            output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(String.join(" ", command) + " finished").isTrue();
        } finally {
            p.destroyForcibly();
        }
        assertThat(p.exitValue()).as(String.join(" ", command) + " exit code; output:%n" + output).isZero();
        return output;
    }
}
