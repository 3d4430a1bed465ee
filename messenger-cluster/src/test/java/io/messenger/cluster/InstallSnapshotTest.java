package io.messenger.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.cluster.storage.SnapshotStore;
import io.messenger.cluster.testing.FreePorts;
import io.messenger.cluster.testing.HashingStateMachine;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * InstallSnapshot on a real 3-node cluster: a backup that is further behind than the leader's
 * compacted log, or that lost its whole data directory, is caught up by the leader's snapshot
 * and then the log after it, and ends with the same state as the others.
 */
class InstallSnapshotTest {

    /** Snapshot every 100 entries, keep only 20 behind it, small segments so compaction deletes files. */
    private static final SnapshotPolicy SMALL = new SnapshotPolicy(100, 20, 4096);
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private final Map<Integer, Integer> ports = new HashMap<>();
    private final Map<Integer, ClusterNode> nodes = new HashMap<>();
    private final Map<Integer, HashingStateMachine> machines = new HashMap<>();
    private final List<String> commands = new ArrayList<>();

    @BeforeEach
    void startCluster() {
        for (int id = 1; id <= 3; id++) {
            ports.put(id, FreePorts.next());
        }
        for (int id = 1; id <= 3; id++) {
            start(id);
        }
    }

    @AfterEach
    void stopCluster() {
        nodes.values().forEach(ClusterNode::close);
    }

    private void start(int id) {
        List<Member> members = new ArrayList<>();
        for (int other = 1; other <= 3; other++) {
            members.add(new Member(other, "127.0.0.1", ports.get(other)));
        }
        ClusterConfig config = new ClusterConfig(id, members, dir.resolve("node-" + id), "127.0.0.1",
                "127.0.0.1:" + (17100 + id), "snap", ClusterConfig.DEFAULT_HEARTBEAT,
                ClusterConfig.DEFAULT_ELECTION_TIMEOUT, ClusterConfig.DEFAULT_MAX_FRAME_BYTES,
                ClusterConfig.DEFAULT_MAX_APPEND_ENTRIES, ClusterConfig.DEFAULT_MAX_APPEND_BYTES).withSnapshots(SMALL);
        HashingStateMachine machine = new HashingStateMachine();
        machines.put(id, machine);
        nodes.put(id, ClusterNode.start(config, machine));
    }

    private void stop(int id) {
        nodes.remove(id).close();
    }

    private ClusterNode awaitLeader() {
        return await().atMost(WAIT).until(() -> nodes.values().stream().filter(n -> n.status().isLeader())
                .findFirst().orElse(null), n -> n != null);
    }

    /** Proposes {@code count} commands through the leader, retrying across leader changes, and waits for each. */
    private void propose(int count) throws Exception {
        int from = commands.size();
        for (int i = from; i < from + count; ) {
            ClusterNode leader = awaitLeader();
            List<CompletableFuture<Object>> futures = new ArrayList<>();
            List<String> batch = new ArrayList<>();
            for (int k = 0; k < 50 && i + k < from + count; k++) {
                String c = "cmd-" + (i + k);
                batch.add(c);
                futures.add(leader.propose(c.getBytes(StandardCharsets.UTF_8)));
            }
            try {
                for (CompletableFuture<Object> f : futures) {
                    f.get(30, TimeUnit.SECONDS);
                }
            } catch (java.util.concurrent.ExecutionException e) {
                continue; // leadership moved: the same commands go again
            }
            commands.addAll(batch);
            i += batch.size();
        }
    }

    private long report(ClusterNode node, String key) {
        return ((Number) node.statusReport().get(key)).longValue();
    }

    /**
     * Every live node holds the same state, with at least every acknowledged command (a batch
     * retried after a leader change may have committed twice: the same on every node).
     */
    private void awaitSameStateEverywhere() {
        await().atMost(WAIT).untilAsserted(() -> {
            HashingStateMachine reference = machines.get(awaitLeaderId());
            for (Map.Entry<Integer, HashingStateMachine> m : machines.entrySet()) {
                if (nodes.containsKey(m.getKey())) {
                    assertThat(m.getValue().count()).as("commands applied by node " + m.getKey())
                            .isEqualTo(reference.count()).isGreaterThanOrEqualTo(commands.size());
                    assertThat(m.getValue().hash()).as("state of node " + m.getKey()).isEqualTo(reference.hash());
                }
            }
        });
    }

    private int awaitLeaderId() {
        ClusterNode leader = awaitLeader();
        return nodes.entrySet().stream().filter(e -> e.getValue() == leader).findFirst().orElseThrow().getKey();
    }

    private int aBackup() {
        ClusterNode leader = awaitLeader();
        return nodes.entrySet().stream().filter(e -> e.getValue() != leader).findFirst().orElseThrow().getKey();
    }

    private void compactPast(ClusterNode leader, long index) throws Exception {
        while (report(leader, "firstLogIndex") <= index) {
            propose(100);
            assertThat(commands.size()).as("commands proposed before the leader compacted past " + index)
                    .isLessThan(20_000);
        }
    }

    @Test
    void aBackupFurtherBehindThanTheCompactedLogIsCaughtUpByTheLeadersSnapshot() throws Exception {
        propose(50);
        int behind = aBackup();
        stop(behind);
        ClusterNode leader = awaitLeader();
        long stoppedAt = nodes.values().stream().mapToLong(n -> n.status().lastIndex()).max().orElseThrow();
        compactPast(leader, stoppedAt + 1);

        start(behind);
        ClusterNode restarted = nodes.get(behind);
        await().atMost(WAIT).until(() -> report(restarted, "snapshotsReceived") >= 1);
        propose(30);
        awaitSameStateEverywhere();
        assertThat(machines.get(behind).restoredIndex()).as("restored from a received snapshot").isGreaterThan(stoppedAt);
        assertThat(report(awaitLeader(), "snapshotsSent")).isGreaterThanOrEqualTo(1);
        await().atMost(WAIT).until(() -> restarted.status().appliedIndex() == awaitLeader().status().appliedIndex());
    }

    @Test
    void aBackupThatLostItsDataDirectoryIsRestoredFromTheSnapshotAndVotesAgain() throws Exception {
        propose(50);
        int wiped = aBackup();
        stop(wiped);
        SnapshotStore.deleteTree(dir.resolve("node-" + wiped));
        ClusterNode leader = awaitLeader();
        compactPast(leader, 200);

        start(wiped);
        ClusterNode restored = nodes.get(wiped);
        await().atMost(WAIT).until(() -> "MEMBER".equals(restored.statusReport().get("standing")));
        assertThat(report(restored, "snapshotsReceived")).isGreaterThanOrEqualTo(1);
        propose(30);
        awaitSameStateEverywhere();

        // It counts toward majorities again: with the other backup gone, the leader still commits.
        int other = nodes.keySet().stream().filter(id -> id != wiped && !nodes.get(id).status().isLeader())
                .findFirst().orElseThrow();
        stop(other);
        propose(20);
        awaitSameStateEverywhere();
    }

    @Test
    void aRestartAfterAnInstalledSnapshotStartsFromItAndKeepsTheState() throws Exception {
        propose(50);
        int behind = aBackup();
        stop(behind);
        compactPast(awaitLeader(), 300);
        start(behind);
        ClusterNode node = nodes.get(behind);
        await().atMost(WAIT).until(() -> report(node, "snapshotsReceived") >= 1);
        propose(10);
        awaitSameStateEverywhere();

        stop(behind);
        start(behind);
        propose(10);
        awaitSameStateEverywhere();
        assertThat(machines.get(behind).restoredIndex()).as("the restart restored a snapshot").isPositive();
    }
}
