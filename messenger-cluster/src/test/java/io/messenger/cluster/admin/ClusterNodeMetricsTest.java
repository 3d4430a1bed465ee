package io.messenger.cluster.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.cluster.ClusterConfig;
import io.messenger.cluster.ClusterNode;
import io.messenger.cluster.Member;
import io.messenger.cluster.testing.FreePorts;
import io.messenger.cluster.testing.RecordingStateMachine;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
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
}
