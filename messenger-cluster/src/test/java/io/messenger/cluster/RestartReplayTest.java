package io.messenger.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.cluster.storage.CommittedIndexStore;
import io.messenger.cluster.testing.MiniCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restarted node applies its log up to what it knew committed before it stopped, at once and
 * without a leader (the commit hint of {@link CommittedIndexStore}), rather than after its
 * leader's first heartbeat; real nodes over TCP.
 */
class RestartReplayTest {

    @TempDir
    Path dir;

    @Test
    void aBackupRestartedWithEveryPeerDownAppliesWhatItKnewCommittedAndNothingMore() throws Exception {
        List<String> acknowledged = new ArrayList<>();
        long lastIndex = 0;
        try (MiniCluster cluster = MiniCluster.start(3, dir)) {
            for (int i = 0; i < 40; i++) {
                String command = "c" + i;
                lastIndex = cluster.proposeUntilAcknowledged(command, Duration.ofSeconds(30));
                acknowledged.add(command);
            }
            long last = lastIndex;
            int backup = cluster.ids().stream().filter(id -> cluster.node(id) != cluster.leader()).findFirst()
                    .orElseThrow();
            await().atMost(Duration.ofSeconds(30)).until(() -> cluster.node(backup).status().appliedIndex() >= last);
            // The hint is saved as the node applies, not only when it stops (a SIGKILL leaves the last one saved).
            Path data = cluster.config(backup).dataDir();
            await().atMost(Duration.ofSeconds(30)).until(() -> new CommittedIndexStore(data).load().index() >= last);

            for (int id : cluster.ids()) {
                cluster.killNode(id);
            }
            cluster.restartNode(backup);
            ClusterNode alone = cluster.node(backup);

            await().atMost(Duration.ofSeconds(30))
                    .until(() -> cluster.stateMachine(backup).applied().size() >= acknowledged.size());
            assertThat(cluster.stateMachine(backup).applied()).as("the log tail, applied with no peer up")
                    .containsExactlyElementsOf(acknowledged);
            assertThat(alone.status().leaderId()).as("no leader was heard").isZero();
            assertThat(alone.status().appliedIndex()).isEqualTo(last);
            assertThat(alone.status().commitIndex()).isEqualTo(last);
        }
    }

    @Test
    void aHintThatNamesAnEntryThisLogHoldsWithAnotherEpochIsIgnored() throws Exception {
        long lastIndex = 0;
        try (MiniCluster cluster = MiniCluster.start(3, dir)) {
            for (int i = 0; i < 10; i++) {
                lastIndex = cluster.proposeUntilAcknowledged("c" + i, Duration.ofSeconds(30));
            }
            long last = lastIndex;
            int backup = cluster.ids().stream().filter(id -> cluster.node(id) != cluster.leader()).findFirst()
                    .orElseThrow();
            await().atMost(Duration.ofSeconds(30)).until(() -> cluster.node(backup).status().appliedIndex() >= last);
            long epoch = cluster.node(backup).status().epoch();
            for (int id : cluster.ids()) {
                cluster.killNode(id);
            }
            // A hint left beside another log: same index, another epoch.
            Path data = cluster.config(backup).dataDir();
            Files.delete(data.resolve("committed-index"));
            new CommittedIndexStore(data).saveNow(last, epoch + 7);

            cluster.restartNode(backup);
            // The hint is read while the node opens, before start returns: used, it would show here.
            assertThat(cluster.node(backup).status().commitIndex()).isZero();
            assertThat(cluster.stateMachine(backup).applied()).isEmpty();
        }
    }
}
