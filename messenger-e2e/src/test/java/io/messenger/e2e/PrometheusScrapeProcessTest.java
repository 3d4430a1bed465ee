package io.messenger.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.messenger.client.MessengerClient;
import io.messenger.e2e.PrometheusServer.Sample;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A real Prometheus scrapes a 3-node cluster of real server processes every second; the leader is SIGKILLed; then
 * Prometheus's query API shows what an operator would see: the election counters rose on the survivors, the leader
 * gauge moved to another node, the commit latency histogram has samples, the dead node is down and the
 * MessengerNodeDown alert of deploy/prometheus/alerts.yml is pending or firing for it. Skipped, with the reason, where
 * no {@code prometheus} binary is on the PATH ({@code .ci/prometheus.sh install} installs Debian's package).
 */
class PrometheusScrapeProcessTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Path ALERTS = Path.of(System.getProperty("user.dir")).resolve("../deploy/prometheus/alerts.yml")
            .normalize();

    private LocalCluster cluster;
    private PrometheusServer prometheus;
    private MessengerClient client;

    @AfterEach
    void tearDown() {
        if (client != null) {
            client.close();
        }
        if (prometheus != null) {
            prometheus.close();
        }
        if (cluster != null) {
            cluster.close();
            assertThat(cluster.leakReports()).as("Netty leak reports in server logs").isEmpty();
        }
    }

    @Test
    void prometheusSeesTheElectionTheNewLeaderAndCommitLatencyAfterTheLeaderIsKilled() throws Exception {
        Optional<Path> binary = PrometheusServer.binary();
        if (binary.isEmpty()) {
            System.err.println("WARNING: no prometheus binary on the PATH; PrometheusScrapeProcessTest is SKIPPED"
                    + " (install Debian's prometheus package: .ci/prometheus.sh install)");
        }
        assumeTrue(binary.isPresent(), "no prometheus binary on the PATH (Debian package prometheus, installed by"
                + " .ci/prometheus.sh install): cannot check the metrics through a real Prometheus");

        cluster = LocalCluster.create("prometheus-scrape", 3, List.of()).start();
        ServerProcess leader = cluster.awaitLeader();
        prometheus = PrometheusServer.start(binary.get(), cluster, ALERTS, cluster.dir().resolve("prometheus"));
        client = MessengerClient.builder().servers(cluster.clientAddresses()).username("ops").room("metrics")
                .build();
        client.connect().get(30, TimeUnit.SECONDS);
        client.send("before the failover").get(30, TimeUnit.SECONDS);

        String old = Integer.toString(leader.nodeId());
        eventually("all three nodes are scraped and agree that node " + old + " leads", () ->
                values("up{job=\"messenger\"}").values().stream().filter(v -> v == 1).count() == 3
                        && values("messenger_cluster_leader_id").values().stream()
                                .filter(v -> v == leader.nodeId()).count() == 3);
        Map<String, Double> wonBefore = values("messenger_cluster_elections_won_total");
        double startedBefore = survivorsSum(values("messenger_cluster_elections_started_total"), old);

        cluster.kill(leader);
        ServerProcess successor = cluster.awaitNewLeader(leader);
        String next = Integer.toString(successor.nodeId());
        client.send("after the failover").get(30, TimeUnit.SECONDS);

        eventually("the new leader " + next + " counts an election won and the survivors one started", () ->
                values("messenger_cluster_elections_won_total").getOrDefault(next, 0.0) > wonBefore.getOrDefault(next, 0.0)
                        && survivorsSum(values("messenger_cluster_elections_started_total"), old) > startedBefore);
        eventually("the surviving nodes' leader gauge moved from " + old + " to " + next, () -> {
            Map<String, Double> leaderIds = values("messenger_cluster_leader_id");
            leaderIds.remove(old);
            return leaderIds.size() == 2 && leaderIds.values().stream().allMatch(v -> v == successor.nodeId());
        });
        eventually("the new leader's commit latency histogram has samples", () ->
                values("messenger_cluster_commit_latency_seconds_count").getOrDefault(next, 0.0) > 0
                        && values("messenger_cluster_commit_latency_seconds_bucket{le=\"+Inf\"}")
                                .getOrDefault(next, 0.0) > 0);
        eventually("node " + old + " is down and the MessengerNodeDown alert is raised for it", () ->
                values("up{job=\"messenger\"}").getOrDefault(old, 1.0) == 0
                        && values("ALERTS{alertname=\"MessengerNodeDown\"}").containsKey(old));
    }

    /** The query's samples by their {@code node} label. */
    private Map<String, Double> values(String promql) throws Exception {
        List<Sample> samples = prometheus.query(promql);
        return samples.stream().filter(s -> s.label("node") != null)
                .collect(Collectors.toMap(s -> s.label("node"), Sample::value, Double::sum, java.util.TreeMap::new));
    }

    private static double survivorsSum(Map<String, Double> byNode, String dead) {
        return byNode.entrySet().stream().filter(e -> !e.getKey().equals(dead)).mapToDouble(Map.Entry::getValue).sum();
    }

    private void eventually(String what, java.util.concurrent.Callable<Boolean> condition) {
        try {
            await(what).atMost(WAIT).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(condition);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("Prometheus never showed that " + what + "; Prometheus "
                    + (prometheus.alive() ? "runs (pid " + prometheus.pid() + ")" : "exited") + ", its log ends with:"
                    + System.lineSeparator() + prometheus.logTail(20) + System.lineSeparator() + "cluster:"
                    + cluster.describe(), e);
        }
    }
}
