package io.messenger.cluster.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.cluster.ClusterStatus;
import io.messenger.cluster.Role;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AdminMetricsTest {

    private final AtomicReference<ClusterStatus> status = new AtomicReference<>(
            new ClusterStatus(2, Role.LEADER, 7, 2, "127.0.0.1:7002", 42, 41, 40, 2));
    private final AtomicLong leadershipChanges = new AtomicLong(3);
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private PrometheusMeterRegistry registry;
    private AdminHttpServer server;

    @BeforeEach
    void start() {
        registry = ClusterMetrics.newPrometheusRegistryWithJvmMeters();
        new ClusterMetrics(status::get, leadershipChanges::get).bindTo(registry);
        server = AdminHttpServer.start("127.0.0.1", 0, Map::of, () -> true, registry::scrape);
    }

    @AfterEach
    void stop() {
        server.close();
        registry.close();
    }

    private HttpResponse<String> get(String path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .timeout(Duration.ofSeconds(10))
                .build();
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void metricsAreThePrometheusTextOfTheClusterAndJvmMeters() throws Exception {
        HttpResponse<String> response = get("/metrics");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type"))
                .hasValue("text/plain; version=0.0.4; charset=utf-8");
        assertThat(response.body())
                .contains("messenger_cluster_epoch 7.0")
                .contains("messenger_cluster_leader_id 2.0")
                .contains("messenger_cluster_commit_index 41.0")
                .contains("messenger_cluster_applied_index 40.0")
                .contains("messenger_cluster_last_index 42.0")
                .contains("messenger_cluster_connected_peers 2.0")
                .contains("messenger_cluster_role{role=\"leader\"} 1.0")
                .contains("messenger_cluster_role{role=\"backup\"} 0.0")
                .contains("messenger_cluster_leadership_changes_total 3.0")
                .contains("jvm_memory_used_bytes");
    }

    @Test
    void gaugesReadTheStatusAtScrapeTime() throws Exception {
        status.set(new ClusterStatus(2, Role.BACKUP, 8, 3, "127.0.0.1:7003", 50, 50, 50, 1));
        leadershipChanges.incrementAndGet();
        String body = get("/metrics").body();
        assertThat(body)
                .contains("messenger_cluster_epoch 8.0")
                .contains("messenger_cluster_leader_id 3.0")
                .contains("messenger_cluster_role{role=\"leader\"} 0.0")
                .contains("messenger_cluster_role{role=\"backup\"} 1.0")
                .contains("messenger_cluster_leadership_changes_total 4.0");
    }

    @Test
    void withoutAScrapeMetricsIs404() throws Exception {
        try (AdminHttpServer plain = AdminHttpServer.start("127.0.0.1", 0, Map::of, () -> true)) {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + plain.port() + "/metrics"))
                    .timeout(Duration.ofSeconds(10))
                    .build();
            assertThat(client.send(request, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(404);
        }
    }
}
