package io.messenger.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A node restarted while another is dead must still form a majority with the survivor. Found by the
 * failover test: the restarted node never linked to the dead one, counted it as reachable, and forwarded
 * every election token into it, so no election finished until the dead node returned. A peer now counts
 * as reachable only once its link is up.
 */
class RestartElectionProcessTest {

    private LocalCluster cluster;

    @AfterEach
    void tearDown() {
        if (cluster != null) {
            cluster.close();
            assertThat(cluster.leakReports()).as("Netty leak reports in server logs").isEmpty();
        }
    }

    @Test
    void aRestartedBackupAndTheSurvivorElectALeaderWhileTheOldLeaderIsDead() {
        cluster = LocalCluster.create("restart-election", 3, List.of()).start();
        ServerProcess leader = cluster.awaitLeader();
        // The ring runs by node id: the node just before the leader hands its tokens to the leader first.
        ServerProcess restarted = cluster.node(leader.nodeId() == 1 ? 3 : leader.nodeId() - 1);
        ServerProcess survivor = cluster.nodes().stream().filter(n -> n != leader && n != restarted).findFirst()
                .orElseThrow();

        cluster.kill(restarted);
        cluster.restart(restarted);
        // The leader dies before the restarted node's JVM is up, so it never links to it.
        cluster.kill(leader);

        ServerProcess successor = cluster.awaitNewLeader(leader);
        assertThat(successor).isIn(restarted, survivor);
    }
}
