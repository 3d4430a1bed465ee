package io.messenger.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The process fixtures themselves: three nodes elect a leader, survive its SIGKILL, and take it back. */
class LocalClusterProcessTest {

    private LocalCluster cluster;

    @AfterEach
    void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aKilledLeaderIsReplacedAndRejoinsAfterRestart() {
        cluster = LocalCluster.create("fixture", 3, List.of()).start();
        ServerProcess leader = cluster.awaitLeader();
        long pid = leader.pid();

        cluster.kill(leader);

        assertThat(leader.alive()).isFalse();
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                .as("pid %d is gone after SIGKILL", pid).isFalse();
        ServerProcess successor = cluster.awaitNewLeader(leader);
        long epoch = successor.status().orElseThrow().epoch();

        cluster.restart(leader);

        await("restarted node follows node " + successor.nodeId()).atMost(LocalCluster.ELECTION_BOUND)
                .until(() -> leader.status().map(s -> s.leaderId() != 0 && s.epoch() >= epoch).orElse(false));
        assertThat(leader.pid()).isNotEqualTo(pid);
        assertThat(cluster.statuses()).hasSize(3);
        cluster.close();
        assertThat(cluster.nodes()).noneMatch(ServerProcess::alive);
        assertThat(cluster.leakReports()).isEmpty();
        cluster = null;
    }
}
