package io.messenger.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.cluster.testing.MiniCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prints, without asserting on them, the failover time after killing the leader and the
 * replication throughput with fsync, on a 3-node cluster with default timings (heartbeat
 * 100 ms, election timeout 500 ms) behind the proxies.
 */
class ClusterMeasurementTest {

    @TempDir
    Path dir;

    @Test
    void electionTimeAfterKillingTheLeader() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, dir)) {
            List<Long> electionMillis = new ArrayList<>();
            List<Long> firstAckMillis = new ArrayList<>();
            AtomicInteger seq = new AtomicInteger();
            for (int trial = 0; trial < 10; trial++) {
                await().atMost(Duration.ofSeconds(20)).until(() -> cluster.leader() != null);
                cluster.proposeUntilAcknowledged("warm-" + seq.incrementAndGet(), Duration.ofSeconds(20));
                ClusterNode leader = cluster.leader();
                int leaderId = leader.status().nodeId();
                long epoch = leader.status().epoch();
                long start = System.nanoTime();
                cluster.killNode(leaderId);
                await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(2))
                        .until(() -> cluster.leader() != null && cluster.leader().status().epoch() > epoch);
                electionMillis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                cluster.proposeUntilAcknowledged("after-kill-" + seq.incrementAndGet(), Duration.ofSeconds(20));
                firstAckMillis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                cluster.restartNode(leaderId);
                await().atMost(Duration.ofSeconds(30)).until(() ->
                        cluster.appliedByNode().values().stream().distinct().count() == 1);
            }
            Collections.sort(electionMillis);
            Collections.sort(firstAckMillis);
            System.out.printf("MEASURE election after leader kill (3 nodes, 10 trials): median %d ms, worst %d ms, all %s%n",
                    median(electionMillis), electionMillis.get(9), electionMillis);
            System.out.printf("MEASURE first acknowledged write after leader kill: median %d ms, worst %d ms%n",
                    median(firstAckMillis), firstAckMillis.get(9));
            assertThat(electionMillis).hasSize(10);
        }
    }

    private static long median(List<Long> sorted) {
        return (sorted.get(sorted.size() / 2 - 1) + sorted.get(sorted.size() / 2)) / 2;
    }

    @Test
    void replicationThroughputWithFsync() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, dir)) {
            await().atMost(Duration.ofSeconds(20)).until(() -> cluster.leader() != null);
            ClusterNode leader = cluster.leader();
            byte[] payload = new byte[128];
            int total = 20_000;
            int window = 2_000;
            Semaphore inflight = new Semaphore(window);
            List<CompletableFuture<Object>> futures = new ArrayList<>(total);
            long start = System.nanoTime();
            for (int i = 0; i < total; i++) {
                inflight.acquire();
                CompletableFuture<Object> f = leader.propose(payload);
                f.whenComplete((r, e) -> inflight.release());
                futures.add(f);
            }
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("MEASURE throughput (3 nodes, fsync on, %d x %d-byte commands, %d in flight,"
                            + " proposal batch %d, append batch %d entries): %.0f commits/s in %.2f s%n",
                    total, payload.length, window, ClusterNode.PROPOSAL_BATCH, ClusterConfig.DEFAULT_MAX_APPEND_ENTRIES,
                    total / seconds, seconds);
            await().atMost(Duration.ofSeconds(30)).until(() ->
                    cluster.appliedByNode().values().stream().allMatch(l -> l.size() == total));
        }
    }

    /**
     * Catch-up rate from the log: a backup is stopped while the leader commits 100,000 entries
     * with the other backup, then restarted; prints how fast it applies what it missed.
     */
    @Test
    void catchUpRateOfARestartedBackup() throws Exception {
        try (MiniCluster cluster = MiniCluster.start(3, dir)) {
            await().atMost(Duration.ofSeconds(20)).until(() -> cluster.leader() != null);
            int leaderId = cluster.leader().status().nodeId();
            int behind = cluster.ids().stream().filter(id -> id != leaderId).findFirst().orElseThrow();
            cluster.killNode(behind);
            ClusterNode leader = cluster.leader();
            byte[] payload = new byte[128];
            int total = 100_000;
            Semaphore inflight = new Semaphore(2_000);
            List<CompletableFuture<Object>> futures = new ArrayList<>(total);
            for (int i = 0; i < total; i++) {
                inflight.acquire();
                CompletableFuture<Object> f = leader.propose(payload);
                f.whenComplete((r, e) -> inflight.release());
                futures.add(f);
            }
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(300, TimeUnit.SECONDS);
            long target = leader.status().commitIndex();
            long start = System.nanoTime();
            cluster.restartNode(behind);
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(5))
                    .until(() -> cluster.node(behind).status().appliedIndex() >= target);
            double seconds = (System.nanoTime() - start) / 1e9;
            System.out.printf("MEASURE catch-up of a restarted backup from the log (3 nodes, fsync on, %d missed"
                    + " %d-byte entries, restart included): %.0f entries/s in %.2f s%n", target, payload.length,
                    target / seconds, seconds);
            assertThat(cluster.node(behind).status().appliedIndex()).isGreaterThanOrEqualTo(target);
        }
    }
}
