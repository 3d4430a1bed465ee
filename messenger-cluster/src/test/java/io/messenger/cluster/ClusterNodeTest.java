package io.messenger.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.messenger.cluster.testing.FreePorts;
import io.messenger.cluster.testing.RecordingStateMachine;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterNodeTest {

    @TempDir
    Path dir;

    private ClusterConfig singleNode(int peerPort) {
        return new ClusterConfig(1, List.of(new Member(1, "127.0.0.1", peerPort)), dir.resolve("node"), "127.0.0.1",
                "127.0.0.1:7001", "solo", ClusterConfig.DEFAULT_HEARTBEAT, ClusterConfig.DEFAULT_ELECTION_TIMEOUT,
                ClusterConfig.DEFAULT_MAX_FRAME_BYTES, ClusterConfig.DEFAULT_MAX_APPEND_ENTRIES,
                ClusterConfig.DEFAULT_MAX_APPEND_BYTES);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aNodeWhoseStateMachineCannotFinishABatchStops() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean poisoned = new java.util.concurrent.atomic.AtomicBoolean();
        StateMachine failing = new StateMachine() {
            @Override
            public Object apply(long index, com.google.protobuf.ByteString command) {
                poisoned.compareAndSet(false, command.toStringUtf8().equals("poison"));
                return index;
            }

            @Override
            public void endOfBatch(long lastIndex) {
                if (poisoned.get()) {
                    throw new IllegalStateException("the store refused the write");
                }
            }
        };
        try (ClusterNode node = ClusterNode.start(singleNode(FreePorts.next()), failing)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> node.status().isLeader());
            node.propose(bytes("c1")).get(30, TimeUnit.SECONDS);
            assertThat(node.status().role()).isEqualTo(Role.LEADER);
            node.propose(bytes("poison"));
            await().atMost(Duration.ofSeconds(30)).until(() -> node.status().role() == Role.STOPPED);
        }
    }

    @Test
    void aSingleNodeElectsItselfAndCommitsAtOnce() throws Exception {
        ClusterConfig config = singleNode(FreePorts.next());
        RecordingStateMachine machine = new RecordingStateMachine();
        List<ClusterStatus> changes = new CopyOnWriteArrayList<>();
        try (ClusterNode node = ClusterNode.start(config, machine)) {
            node.addListener(changes::add);
            await().atMost(Duration.ofSeconds(30)).until(() -> node.status().isLeader());
            assertThat(node.status().leaderClientAddress()).isEqualTo("127.0.0.1:7001");
            assertThat(node.status().epoch()).isPositive();
            List<CompletableFuture<Object>> futures = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                futures.add(node.propose(bytes("c" + i)));
            }
            List<Long> indexes = new ArrayList<>();
            for (CompletableFuture<Object> f : futures) {
                indexes.add((Long) f.get(30, TimeUnit.SECONDS));
            }
            assertThat(indexes).isSorted().doesNotHaveDuplicates();
            assertThat(machine.applied()).hasSize(100).startsWith("c0", "c1").endsWith("c99");
            assertThat(node.status().appliedIndex()).isEqualTo(indexes.get(99));
            assertThat(node.status().commitIndex()).isGreaterThanOrEqualTo(indexes.get(99));
            assertThat(node.statusReport()).containsEntry("role", "LEADER").containsEntry("nodeId", 1);
        }
        assertThat(changes).isNotEmpty();
        assertThat(changes.get(changes.size() - 1).role()).isEqualTo(Role.STOPPED);
    }

    @Test
    void whoeverHearsOfACommitSeesItInTheStatus() throws Exception {
        try (ClusterNode node = ClusterNode.start(singleNode(FreePorts.next()), new RecordingStateMachine())) {
            await().atMost(Duration.ofSeconds(10)).until(() -> node.status().isLeader());
            List<CompletableFuture<long[]>> seen = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                // Runs the moment the future completes, on the node's thread: the earliest
                // anyone can read the status after hearing of the commit.
                seen.add(node.propose(bytes("c" + i))
                        .thenApply(index -> new long[] {(Long) index, node.status().appliedIndex()}));
            }
            for (CompletableFuture<long[]> f : seen) {
                long[] indexAndApplied = f.get(10, TimeUnit.SECONDS);
                assertThat(indexAndApplied[1]).isGreaterThanOrEqualTo(indexAndApplied[0]);
            }
        }
    }

    @Test
    void aRestartedNodeAppliesItsLogAgainAndKeepsItsEpochRising() throws Exception {
        ClusterConfig config = singleNode(FreePorts.next());
        long firstEpoch;
        try (ClusterNode node = ClusterNode.start(config, new RecordingStateMachine())) {
            await().atMost(Duration.ofSeconds(30)).until(() -> node.status().isLeader());
            firstEpoch = node.status().epoch();
            for (int i = 0; i < 10; i++) {
                node.propose(bytes("before-" + i)).get(30, TimeUnit.SECONDS);
            }
        }
        RecordingStateMachine again = new RecordingStateMachine();
        try (ClusterNode node = ClusterNode.start(config, again)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> node.status().isLeader());
            assertThat(node.status().epoch()).isGreaterThan(firstEpoch);
            node.propose(bytes("after")).get(30, TimeUnit.SECONDS);
            assertThat(again.applied()).hasSize(11).startsWith("before-0").endsWith("before-9", "after");
        }
    }

    @Test
    void proposalsAfterCloseFailWithNotLeader() {
        ClusterNode node = ClusterNode.start(singleNode(FreePorts.next()), new RecordingStateMachine());
        node.close();
        node.close();
        assertThat(node.status().role()).isEqualTo(Role.STOPPED);
        assertThatThrownBy(() -> node.propose(bytes("late")).get(30, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(NotLeaderException.class);
    }

    @Test
    void aSecondNodeOnTheSameDataDirectoryIsRefusedWithoutTouchingIt() throws Exception {
        ClusterConfig config = singleNode(FreePorts.next());
        try (ClusterNode node = ClusterNode.start(config, new RecordingStateMachine())) {
            await().until(() -> node.status().role() == Role.LEADER);
            // Stands for a save of the election state caught between its write and its rename:
            // the refused node must not clean it away under the running one.
            Path inFlightSave = config.dataDir().resolve("election-state.tmp");
            Files.writeString(inFlightSave, "a save in flight");
            assertThatThrownBy(() -> ClusterNode.start(singleNode(FreePorts.next()), new RecordingStateMachine()))
                    .isInstanceOf(IllegalStateException.class);
            assertThat(inFlightSave).exists();
            assertThat(node.status().role()).isEqualTo(Role.LEADER);
        }
    }

    @Test
    void aTakenPeerPortFailsStartCleanly() {
        ClusterConfig config = singleNode(FreePorts.next());
        try (ClusterNode node = ClusterNode.start(config, new RecordingStateMachine())) {
            ClusterConfig other = new ClusterConfig(1, config.members(), dir.resolve("other"), "127.0.0.1",
                    "127.0.0.1:7001", "solo", ClusterConfig.DEFAULT_HEARTBEAT,
                    ClusterConfig.DEFAULT_ELECTION_TIMEOUT, ClusterConfig.DEFAULT_MAX_FRAME_BYTES,
                    ClusterConfig.DEFAULT_MAX_APPEND_ENTRIES, ClusterConfig.DEFAULT_MAX_APPEND_BYTES);
            assertThatThrownBy(() -> ClusterNode.start(other, new RecordingStateMachine()))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("peer port");
        }
        // The failed start released its data directory.
        try (ClusterNode again = ClusterNode.start(new ClusterConfig(1, config.members(), dir.resolve("other"),
                "127.0.0.1", "127.0.0.1:7001", "solo", ClusterConfig.DEFAULT_HEARTBEAT,
                ClusterConfig.DEFAULT_ELECTION_TIMEOUT, ClusterConfig.DEFAULT_MAX_FRAME_BYTES,
                ClusterConfig.DEFAULT_MAX_APPEND_ENTRIES, ClusterConfig.DEFAULT_MAX_APPEND_BYTES),
                new RecordingStateMachine())) {
            await().atMost(Duration.ofSeconds(30)).until(() -> again.status().isLeader());
        }
    }

    @Test
    void closingFromAProposalCallbackOnTheNodesThreadDoesNotDeadlock() throws Exception {
        ClusterNode node = ClusterNode.start(singleNode(FreePorts.next()), new RecordingStateMachine());
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> node.status().isLeader());
            node.propose(bytes("last")).thenRun(node::close).get(30, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(10)).until(() -> node.status().role() == Role.STOPPED);
        } finally {
            node.close();
        }
    }
}
