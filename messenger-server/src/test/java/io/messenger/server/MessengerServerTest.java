package io.messenger.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.cluster.Role;
import io.messenger.server.MessengerServer.StartedCluster;
import static org.awaitility.Awaitility.await;

import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MessengerServerTest {

    @TempDir
    Path dataDir;

    private ServerConfig config() {
        return config("true");
    }

    private ServerConfig config(String metrics) {
        Map<Setting, String> settings = Map.of(
                Setting.CLIENT_HOST, "127.0.0.1", Setting.CLIENT_PORT, "0",
                Setting.ADMIN_HOST, "127.0.0.1", Setting.ADMIN_PORT, "0",
                Setting.DATA_DIR, dataDir.toString(), Setting.METRICS, metrics,
                // The metrics test holds a connection that never says Hello while it scrapes.
                Setting.HELLO_TIMEOUT, "1h");
        return ServerConfig.resolve(Map.of("test", settings::get));
    }

    @Test
    void aNodeWhoseLogStopsByItselfShutsDownAndSaysSo() throws Exception {
        AtomicReference<InProcessReplicator> log = new AtomicReference<>();
        MessengerServer server = MessengerServer.start(config(), (clusterConfig, stateMachine) -> {
            InProcessReplicator replicator = InProcessReplicator.threaded(stateMachine);
            log.set(replicator);
            return new StartedCluster(replicator, Map::of, replicator);
        });
        try {
            log.get().become(Role.LEADER, 1, 1, "127.0.0.1:" + server.clientPort());

            log.get().become(Role.STOPPED, 1, 0, "");

            CompletableFuture.runAsync(() -> {
                try {
                    server.awaitStopped();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }).get(10, TimeUnit.SECONDS);
            assertThat(server.stoppedByLogFailure()).isTrue();
        } finally {
            server.close();
        }
    }

    @Test
    void aNodeAskedToStopIsNotReportedAsFailed() throws Exception {
        AtomicReference<InProcessReplicator> log = new AtomicReference<>();
        MessengerServer server = MessengerServer.start(config(), (clusterConfig, stateMachine) -> {
            InProcessReplicator replicator = InProcessReplicator.direct(stateMachine);
            log.set(replicator);
            return new StartedCluster(replicator, Map::of, replicator);
        });
        server.close();
        log.get().become(Role.STOPPED, 1, 0, "");

        assertThat(server.stoppedByLogFailure()).isFalse();
    }

    @Test
    void metricsOnTheAdminPortShowTheClusterTheClientsAndTheJvm() throws Exception {
        AtomicReference<InProcessReplicator> log = new AtomicReference<>();
        MessengerServer server = MessengerServer.start(config(), (clusterConfig, stateMachine) -> {
            InProcessReplicator replicator = InProcessReplicator.direct(stateMachine);
            log.set(replicator);
            return new StartedCluster(replicator, Map::of, replicator);
        });
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        HttpRequest scrape = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.adminPort() + "/metrics"))
                .timeout(Duration.ofSeconds(10))
                .build();
        try (Socket client = new Socket("127.0.0.1", server.clientPort())) {
            log.get().become(Role.LEADER, 4, 1, "127.0.0.1:" + server.clientPort());
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                HttpResponse<String> response = http.send(scrape, HttpResponse.BodyHandlers.ofString());
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(response.headers().firstValue("content-type"))
                        .hasValue("text/plain; version=0.0.4; charset=utf-8");
                assertThat(response.body())
                        .contains("messenger_cluster_epoch 4.0")
                        .contains("messenger_cluster_role{role=\"leader\"} 1.0")
                        .contains("messenger_clients_connected 1.0")
                        .contains("messenger_sessions_here 0.0")
                        .contains("messenger_sends_accepted_total 0.0")
                        .contains("messenger_sends_rejected_total{reason=\"too_long\"} 0.0")
                        .contains("messenger_sends_rejected_total{reason=\"rate_limited\"} 0.0")
                        .contains("messenger_deliveries_total 0.0")
                        .contains("messenger_slow_consumer_disconnects_total 0.0")
                        .contains("jvm_memory_used_bytes")
                        .contains("jvm_threads_live_threads");
            });
        } finally {
            server.close();
        }
    }

    @Test
    void withMetricsOffTheAdminPortHasNoMetricsButStillItsStatus() throws Exception {
        MessengerServer server = MessengerServer.start(config("false"), (clusterConfig, stateMachine) -> {
            InProcessReplicator replicator = InProcessReplicator.direct(stateMachine);
            return new StartedCluster(replicator, Map::of, replicator);
        });
        try {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
            String base = "http://127.0.0.1:" + server.adminPort();
            HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            HttpResponse<String> status = http.send(HttpRequest.newBuilder(URI.create(base + "/status"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(metrics.statusCode()).isEqualTo(404);
            assertThat(status.statusCode()).isEqualTo(200);
        } finally {
            server.close();
        }
    }
}
