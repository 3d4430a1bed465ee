package io.messenger.cluster.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.cluster.ClusterConfig;
import io.messenger.cluster.ClusterNode;
import io.messenger.cluster.Member;
import io.messenger.cluster.testing.FreePorts;
import io.messenger.cluster.testing.RecordingStateMachine;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterNodeMetricsTest {

    @TempDir
    Path dir;

    @Test
    void aSingleNodesGaugesFollowItsCommitsAndItsElection() throws Exception {
        ClusterConfig config = new ClusterConfig(1, List.of(new Member(1, "127.0.0.1", FreePorts.next())),
                dir.resolve("node"), "127.0.0.1", "127.0.0.1:7001", "solo", ClusterConfig.DEFAULT_HEARTBEAT,
                ClusterConfig.DEFAULT_ELECTION_TIMEOUT, ClusterConfig.DEFAULT_MAX_FRAME_BYTES,
                ClusterConfig.DEFAULT_MAX_APPEND_ENTRIES, ClusterConfig.DEFAULT_MAX_APPEND_BYTES);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (ClusterNode node = ClusterNode.start(config, new RecordingStateMachine())) {
            new ClusterMetrics(node::status, node::leadershipChanges).bindTo(registry);
            await().atMost(Duration.ofSeconds(20)).until(() -> node.status().isLeader());
            long last = 0;
            for (int i = 0; i < 20; i++) {
                last = (Long) node.propose(("c" + i).getBytes(StandardCharsets.UTF_8)).get(20, TimeUnit.SECONDS);
            }
            long committed = last;
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                assertThat(registry.get("messenger.cluster.commit.index").gauge().value())
                        .isGreaterThanOrEqualTo(committed);
                assertThat(registry.get("messenger.cluster.applied.index").gauge().value())
                        .isGreaterThanOrEqualTo(committed);
            });
            assertThat(registry.get("messenger.cluster.last.index").gauge().value()).isGreaterThanOrEqualTo(committed);
            assertThat(registry.get("messenger.cluster.leader.id").gauge().value()).isEqualTo(1.0);
            assertThat(registry.get("messenger.cluster.epoch").gauge().value()).isPositive();
            assertThat(registry.get("messenger.cluster.role").tag("role", "leader").gauge().value()).isEqualTo(1.0);
            assertThat(registry.get("messenger.cluster.leadership.changes").functionCounter().count())
                    .isGreaterThanOrEqualTo(1.0);
        }
    }

    @Test
    void commitsElectionsAndLatenciesMoveAndAppearInTheScrape() throws Exception {
        int peerPort = FreePorts.next();
        ClusterConfig config = new ClusterConfig(1,
                List.of(new Member(1, "127.0.0.1", peerPort), new Member(2, "127.0.0.1", FreePorts.next())),
                dir.resolve("pair"), "127.0.0.1", "127.0.0.1:7001", "pair", ClusterConfig.DEFAULT_HEARTBEAT,
                ClusterConfig.DEFAULT_ELECTION_TIMEOUT, ClusterConfig.DEFAULT_MAX_FRAME_BYTES,
                ClusterConfig.DEFAULT_MAX_APPEND_ENTRIES, ClusterConfig.DEFAULT_MAX_APPEND_BYTES);
        // Member 2 never starts: its gauges exist with the link down, and nothing commits.
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (ClusterNode node = ClusterNode.start(config, new RecordingStateMachine())) {
            new ClusterNodeMetrics(node).bindTo(registry);
            assertThat(registry.scrape())
                    .contains("messenger_cluster_peer_link_up{peer=\"2\"} 0.0")
                    .contains("messenger_cluster_replication_lag_entries{peer=\"2\"} 0.0")
                    .contains("messenger_cluster_commits_total 0.0")
                    .contains("disk_free_bytes");
        } finally {
            registry.close();
        }
    }

    @Test
    void aLeaderCountsItsCommitsItsElectionAndBothLatencies() throws Exception {
        ClusterConfig config = new ClusterConfig(1, List.of(new Member(1, "127.0.0.1", FreePorts.next())),
                dir.resolve("solo"), "127.0.0.1", "127.0.0.1:7001", "solo", ClusterConfig.DEFAULT_HEARTBEAT,
                ClusterConfig.DEFAULT_ELECTION_TIMEOUT, ClusterConfig.DEFAULT_MAX_FRAME_BYTES,
                ClusterConfig.DEFAULT_MAX_APPEND_ENTRIES, ClusterConfig.DEFAULT_MAX_APPEND_BYTES);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        try (ClusterNode node = ClusterNode.start(config, new RecordingStateMachine())) {
            new ClusterNodeMetrics(node).bindTo(registry);
            await().atMost(Duration.ofSeconds(20)).until(() -> node.status().isLeader());
            for (int i = 0; i < 10; i++) {
                node.propose(("c" + i).getBytes(StandardCharsets.UTF_8)).get(20, TimeUnit.SECONDS);
            }
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                assertThat(registry.get("messenger.cluster.commits").functionCounter().count()).isEqualTo(10.0);
                assertThat(registry.get("messenger.cluster.commit.latency").timer().count()).isEqualTo(10);
                assertThat(registry.get("messenger.storage.fsync.latency").timer().count()).isPositive();
            });
            assertThat(registry.get("messenger.cluster.elections.started").functionCounter().count())
                    .isGreaterThanOrEqualTo(1.0);
            assertThat(registry.get("messenger.cluster.elections.won").functionCounter().count()).isEqualTo(1.0);
            assertThat(registry.scrape())
                    .contains("messenger_cluster_commits_total 10.0")
                    .contains("messenger_cluster_commit_latency_seconds_count 10")
                    .contains("messenger_cluster_commit_latency_seconds_bucket{le=")
                    .contains("messenger_storage_fsync_latency_seconds_bucket{le=")
                    .contains("messenger_cluster_elections_won_total 1.0");
        } finally {
            registry.close();
        }
    }
}
