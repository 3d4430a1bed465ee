package io.messenger.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.cluster.testing.FreePorts;
import io.messenger.cluster.testing.HashingStateMachine;
import io.messenger.cluster.testing.RecordingStateMachine;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Snapshots, log compaction and restart from a snapshot plus the log tail, on one real node. */
class ClusterSnapshotTest {

    private static final SnapshotPolicy SMALL = new SnapshotPolicy(100, 50, 4096);

    @TempDir
    Path dir;

    private ClusterConfig singleNode(int peerPort, SnapshotPolicy policy) {
        return new ClusterConfig(1, List.of(new Member(1, "127.0.0.1", peerPort)), dir.resolve("node"), "127.0.0.1",
                "127.0.0.1:7001", "solo", ClusterConfig.DEFAULT_HEARTBEAT, ClusterConfig.DEFAULT_ELECTION_TIMEOUT,
                ClusterConfig.DEFAULT_MAX_FRAME_BYTES, ClusterConfig.DEFAULT_MAX_APPEND_ENTRIES,
                ClusterConfig.DEFAULT_MAX_APPEND_BYTES).withSnapshots(policy);
    }

    private static List<String> proposeAll(ClusterNode node, int from, int count) throws Exception {
        List<String> commands = new ArrayList<>();
        List<CompletableFuture<Object>> futures = new ArrayList<>();
        for (int i = from; i < from + count; i++) {
            String c = "command-" + i + "-" + "x".repeat(i % 23);
            commands.add(c);
            futures.add(node.propose(c.getBytes(StandardCharsets.UTF_8)));
        }
        for (CompletableFuture<Object> f : futures) {
            f.get(30, TimeUnit.SECONDS);
        }
        return commands;
    }

    @Test
    void aRestartedNodeRestoresItsLatestSnapshotAndAppliesOnlyTheTail() throws Exception {
        int port = FreePorts.next();
        List<String> commands = new ArrayList<>();
        long firstIndexBefore;
        long lastIndexBefore;
        HashingStateMachine first = new HashingStateMachine();
        try (ClusterNode node = ClusterNode.start(singleNode(port, SMALL), first)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> node.status().isLeader());
            // A snapshot is due only after an apply and while none is being written: keep writing until one lands.
            for (int round = 0; round < 10 || (long) node.statusReport().get("snapshotIndex") <= 800; round++) {
                assertThat(round).as("rounds of proposals before a snapshot past index 800").isLessThan(200);
                commands.addAll(proposeAll(node, round * 100, 100));
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> (long) node.statusReport().get("firstLogIndex") > 1);
            Map<String, Object> report = node.statusReport();
            assertThat((long) report.get("logBytes")).isPositive();
            firstIndexBefore = (long) report.get("firstLogIndex");
            lastIndexBefore = node.status().lastIndex();
            assertThat(firstIndexBefore).isLessThanOrEqualTo((long) report.get("snapshotIndex") - 50 + 1);
        }
        assertThat(first.hash()).isEqualTo(HashingStateMachine.hashOf(commands));
        // A snapshot may have finished (and compacted) after the report was read: the disk has the last word.
        long firstOnDisk = Long.parseLong(segmentFiles().get(0).replaceAll("\\D", ""));
        assertThat(firstOnDisk).isGreaterThanOrEqualTo(firstIndexBefore).isGreaterThan(1);

        HashingStateMachine second = new HashingStateMachine();
        try (ClusterNode node = ClusterNode.start(singleNode(port, SMALL), second)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> node.status().isLeader());
            // Restored state plus the tail, not a replay from index 1.
            assertThat(second.restoredIndex()).isGreaterThan(800);
            assertThat(second.firstAppliedIndex()).isIn(0L, second.restoredIndex() + 1);
            // At least where it was: applying the tail may already have taken and compacted to another snapshot.
            assertThat((long) node.statusReport().get("firstLogIndex")).isGreaterThanOrEqualTo(firstOnDisk);
            assertThat(firstOnDisk - 1).isLessThanOrEqualTo(second.restoredIndex() - SMALL.retainEntries());
            await().atMost(Duration.ofSeconds(30)).until(() -> node.status().appliedIndex() > lastIndexBefore);
            assertThat(second.hash()).isEqualTo(HashingStateMachine.hashOf(commands));
            assertThat(second.count()).isEqualTo(commands.size());

            commands.addAll(proposeAll(node, 1_000_000, 50));
            assertThat(second.hash()).isEqualTo(HashingStateMachine.hashOf(commands));
        }
    }

    @Test
    void aStateMachineWithoutSnapshotsKeepsTheWholeLog() throws Exception {
        int port = FreePorts.next();
        try (ClusterNode node = ClusterNode.start(singleNode(port, SMALL), new RecordingStateMachine())) {
            await().atMost(Duration.ofSeconds(30)).until(() -> node.status().isLeader());
            proposeAll(node, 0, 300);
            assertThat(node.statusReport()).containsEntry("snapshotIndex", 0L).containsEntry("firstLogIndex", 1L);
        }
        RecordingStateMachine again = new RecordingStateMachine();
        try (ClusterNode node = ClusterNode.start(singleNode(port, SMALL), again)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> again.count() == 300);
        }
    }

    @Test
    void snapshotsOffKeepTheWholeLogEvenForAMachineThatSupportsThem() throws Exception {
        int port = FreePorts.next();
        SnapshotPolicy off = new SnapshotPolicy(0, 0, 4096);
        try (ClusterNode node = ClusterNode.start(singleNode(port, off), new HashingStateMachine())) {
            await().atMost(Duration.ofSeconds(30)).until(() -> node.status().isLeader());
            proposeAll(node, 0, 300);
            assertThat(node.statusReport()).containsEntry("snapshotIndex", 0L).containsEntry("firstLogIndex", 1L);
        }
        assertThat(dir.resolve("node/snapshots")).isEmptyDirectory();
    }

    private List<String> segmentFiles() throws Exception {
        try (Stream<Path> files = Files.list(dir.resolve("node/log"))) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("segment-")).sorted().toList();
        }
    }
}
