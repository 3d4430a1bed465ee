package io.messenger.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.messenger.cluster.testing.FreePorts;
import io.messenger.cluster.testing.RecordingStateMachine;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A node whose log writer has failed must stop, not keep leading with proposals that never complete. */
class ClusterNodeStorageFailureTest {

    @TempDir
    Path dir;

    @Test
    void aFailedLogWriterStopsTheNodeAndFailsProposalsInsteadOfLosingThem() throws Exception {
        ClusterConfig config = new ClusterConfig(1, List.of(new Member(1, "127.0.0.1", FreePorts.next())),
                dir.resolve("node"), "127.0.0.1", "127.0.0.1:7001", "solo", ClusterConfig.DEFAULT_HEARTBEAT,
                ClusterConfig.DEFAULT_ELECTION_TIMEOUT, ClusterConfig.DEFAULT_MAX_FRAME_BYTES,
                ClusterConfig.DEFAULT_MAX_APPEND_ENTRIES, ClusterConfig.DEFAULT_MAX_APPEND_BYTES);
        // Every node's writer thread has this name ("log" is the directory): tell ours by difference.
        Set<Thread> othersWriters = logWriters();
        try (ClusterNode node = ClusterNode.start(config, new RecordingStateMachine())) {
            await().atMost(Duration.ofSeconds(30)).until(() -> node.status().isLeader());
            node.propose(bytes("before")).get(30, TimeUnit.SECONDS);

            // The writer thread of this node's log (its directory is named "log") dies: from
            // now on the log refuses every write, as after an fsync error.
            List<Thread> writers = logWriters().stream().filter(t -> !othersWriters.contains(t)).toList();
            assertThat(writers).hasSize(1);
            writers.get(0).interrupt();
            await().atMost(Duration.ofSeconds(30)).until(() -> !writers.get(0).isAlive());

            CompletableFuture<Object> lost = node.propose(bytes("after"));
            assertThatThrownBy(() -> lost.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
            // A leader that cannot write must not keep heartbeating: the others could never replace it.
            await().atMost(Duration.ofSeconds(30)).until(() -> node.status().role() == Role.STOPPED);
            assertThatThrownBy(() -> node.propose(bytes("later")).get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class);
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static Set<Thread> logWriters() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("log-writer-log") && t.isAlive())
                .collect(Collectors.toSet());
    }
}
