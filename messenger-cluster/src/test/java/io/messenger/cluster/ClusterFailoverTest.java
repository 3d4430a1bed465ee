package io.messenger.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.cluster.testing.MiniCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real nodes on loopback behind fault-injecting proxies: in every scenario nothing
 * acknowledged is lost, every node converges to one applied sequence, and no epoch has two
 * leaders.
 */
class ClusterFailoverTest {

    private static final Duration ACK_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration CONVERGE = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    private MiniCluster cluster;
    private final List<String> acknowledged = new ArrayList<>();

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private void write(String prefix, int count) throws Exception {
        for (int i = 0; i < count; i++) {
            String command = prefix + "-" + i;
            cluster.proposeUntilAcknowledged(command, ACK_TIMEOUT);
            acknowledged.add(command);
        }
    }

    private ClusterNode awaitLeader() {
        await().atMost(Duration.ofSeconds(20)).until(() -> cluster.leader() != null);
        return cluster.leader();
    }

    /** Every running node has applied the same sequence, containing every acknowledged command. */
    private void assertConverged() {
        await().atMost(CONVERGE).pollInterval(Duration.ofMillis(50)).until(() -> {
            Map<Integer, List<String>> applied = cluster.appliedByNode();
            return applied.values().stream().distinct().count() == 1
                    && applied.values().iterator().next().containsAll(acknowledged);
        });
        assertOneLeaderPerEpoch();
    }

    private void assertOneLeaderPerEpoch() {
        for (Map.Entry<Long, Set<Integer>> epoch : cluster.leadersByEpoch().entrySet()) {
            assertThat(epoch.getValue()).as("leaders of epoch %d", epoch.getKey()).hasSize(1);
        }
    }

    @ParameterizedTest(name = "{0} nodes")
    @ValueSource(ints = {3, 5})
    void killingTheLeaderElectsANewOneOfAHigherEpochAndLosesNothing(int size) throws Exception {
        cluster = MiniCluster.start(size, dir);
        ClusterNode first = awaitLeader();
        write("before", 30);
        int oldId = first.status().nodeId();
        long oldEpoch = first.status().epoch();
        cluster.killNode(oldId);
        await().atMost(Duration.ofSeconds(20)).until(() -> cluster.leader() != null
                && cluster.leader().status().epoch() > oldEpoch);
        write("after", 30);
        cluster.restartNode(oldId);
        assertConverged();
        // A stalled machine can make the rejoined node time out once more and probe; what
        // matters is that it settles as a backup of the leader it caught up with.
        await().atMost(Duration.ofSeconds(20)).until(() -> cluster.node(oldId).status().role() == Role.BACKUP);
    }

    @ParameterizedTest(name = "{0} nodes")
    @ValueSource(ints = {3, 5})
    void aFrozenLeaderStepsDownAndRejoinsAsBackup(int size) throws Exception {
        cluster = MiniCluster.start(size, dir);
        ClusterNode frozen = awaitLeader();
        write("before", 20);
        int frozenId = frozen.status().nodeId();
        long frozenEpoch = frozen.status().epoch();
        cluster.freeze(frozenId);
        // Proposals to the frozen leader cannot commit: it hears no majority.
        var stuck = frozen.propose("stuck".getBytes());
        await().atMost(Duration.ofSeconds(20)).until(() -> cluster.liveNodes().stream()
                .anyMatch(n -> n.status().isLeader() && n.status().epoch() > frozenEpoch));
        await().atMost(Duration.ofSeconds(10)).until(() -> !frozen.status().isLeader());
        // The role is published a moment before pending proposals are failed: wait for the outcome.
        await().atMost(Duration.ofSeconds(10)).until(stuck::isDone);
        assertThat(stuck).isCompletedExceptionally();
        write("during", 20);
        cluster.unfreeze(frozenId);
        write("after", 10);
        assertConverged();
        await().atMost(Duration.ofSeconds(20)).until(() -> frozen.status().role() == Role.BACKUP);
        assertThat(frozen.status().epoch()).isGreaterThan(frozenEpoch);
    }

    @Test
    void aMinorityCutOffWithTheLeaderLosesItAndTheMajorityCarriesOn() throws Exception {
        cluster = MiniCluster.start(5, dir);
        ClusterNode old = awaitLeader();
        write("before", 20);
        int leaderId = old.status().nodeId();
        int companion = leaderId % 5 + 1;
        long oldEpoch = old.status().epoch();
        cluster.partition(List.of(leaderId, companion));
        await().atMost(Duration.ofSeconds(20)).until(() -> cluster.liveNodes().stream()
                .anyMatch(n -> n.status().isLeader() && n.status().epoch() > oldEpoch));
        await().atMost(Duration.ofSeconds(10)).until(() -> !old.status().isLeader());
        write("majority", 20);
        // The minority cannot elect anyone.
        assertThat(cluster.node(leaderId).status().isLeader()).isFalse();
        assertThat(cluster.node(companion).status().isLeader()).isFalse();
        cluster.heal();
        write("healed", 10);
        assertConverged();
    }

    @Test
    void theLeaderKeepsServingWhenAMinorityIsCutOff() throws Exception {
        // No election is expected at all here, so a generous timeout keeps a scheduling stall of a
        // loaded machine from causing a legitimate one that the assertions below would misread.
        cluster = MiniCluster.start(5, dir, ClusterConfig.DEFAULT_HEARTBEAT, Duration.ofMillis(2000));
        ClusterNode leader = awaitLeader();
        write("before", 20);
        int leaderId = leader.status().nodeId();
        long epoch = leader.status().epoch();
        List<Integer> minority = List.of(leaderId % 5 + 1, (leaderId + 1) % 5 + 1);
        cluster.partition(minority);
        write("during", 30);
        assertThat(leader.status().isLeader()).isTrue();
        assertThat(leader.status().epoch()).isEqualTo(epoch);
        for (int id : minority) {
            assertThat(cluster.node(id).status().isLeader()).isFalse();
        }
        cluster.heal();
        write("healed", 10);
        assertConverged();
        // The cut-off nodes must not have disturbed the leader with their epochs when they came back.
        assertThat(cluster.leader().status().nodeId()).isEqualTo(leaderId);
    }

    @Test
    void isolatingTheLeaderOfThreeMovesLeadershipAndHealingConverges() throws Exception {
        cluster = MiniCluster.start(3, dir);
        ClusterNode old = awaitLeader();
        write("before", 10);
        int oldId = old.status().nodeId();
        cluster.isolate(oldId);
        await().atMost(Duration.ofSeconds(20)).until(() -> cluster.leader() != null
                && cluster.leader().status().nodeId() != oldId);
        write("isolated", 10);
        cluster.heal();
        write("healed", 10);
        assertConverged();
    }

    @ParameterizedTest(name = "{0} nodes")
    @ValueSource(ints = {3, 5})
    void restartingEveryNodeAtOnceKeepsEverythingAcknowledged(int size) throws Exception {
        cluster = MiniCluster.start(size, dir);
        awaitLeader();
        write("first-life", 40);
        for (int id : cluster.ids()) {
            cluster.killNode(id);
        }
        for (int id : cluster.ids()) {
            cluster.restartNode(id);
        }
        awaitLeader();
        write("second-life", 10);
        assertConverged();
        assertThat(cluster.stateMachine(1).applied()).startsWith(acknowledged.subList(0, 1).toArray(String[]::new));
    }

    @Test
    void lossyAndSlowLinksStillConverge() throws Exception {
        cluster = MiniCluster.start(3, dir);
        awaitLeader();
        for (int from : cluster.ids()) {
            for (int to : cluster.ids()) {
                if (from != to) {
                    cluster.link(from, to).drop(0.05).delay(Duration.ofMillis(5));
                }
            }
        }
        write("lossy", 40);
        cluster.heal();
        assertConverged();
    }
}
