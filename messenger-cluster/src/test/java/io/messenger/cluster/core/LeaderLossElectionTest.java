package io.messenger.cluster.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.cluster.Role;
import io.messenger.proto.peer.ElectionToken;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Elections after the leader's link closes (its process died): the first reachable node after
 * the lost leader in ring order initiates long before the election timeout, the others defer
 * to it, and every such failover raises the epoch by exactly one. Time is the harness's
 * logical ticks, so every bound here is exact, not a timing assertion.
 */
class LeaderLossElectionTest {

    @Test
    void theRankIsThePositionAmongReachableNodesAfterTheLostLeader() {
        RingElection two = new RingElection(new CoreConfig(2, List.of(1, 2, 3, 4, 5), 10, 50, 1, 1, "x"));
        assertThat(two.rankAfter(1, Set.of())).isZero();
        assertThat(two.rankAfter(5, Set.of())).isEqualTo(1); // 1 comes first
        assertThat(two.rankAfter(5, Set.of(1))).isZero(); // 1 is down too
        assertThat(two.rankAfter(3, Set.of())).isEqualTo(3); // 4, 5, 1
        assertThat(two.lossDelayTicks(1, Set.of())).isEqualTo(5);
        assertThat(two.lossDelayTicks(5, Set.of())).isEqualTo(5 + 20);
    }

    @Test
    void aKilledLeadersFirstSuccessorIsElectedWellBeforeTheElectionTimeout() {
        for (long seed = 1; seed <= 20; seed++) {
            CoreHarness cluster = new CoreHarness(3, seed);
            CoreHarness.Node old = cluster.awaitLeader(200);
            long epoch = old.core.status().epoch();
            kill(cluster, old);
            int ticks = 0;
            CoreHarness.Node next = null;
            // Below the election timeout: without the link-loss path nobody would even start.
            while (next == null && ticks < CoreHarness.ELECTION) {
                cluster.tickAll();
                ticks++;
                next = cluster.leader();
            }
            assertThat(next).as("seed %d: a new leader before the election timeout", seed).isNotNull();
            assertThat(next.core.status().epoch()).as("seed %d", seed).isEqualTo(epoch + 1);
            int firstSuccessor = old.id % 3 + 1;
            // The epoch was opened by the first survivor after the dead leader, whoever won it.
            assertThat(cluster.node(firstSuccessor).saved.promisedTo()).as("seed %d", seed).isEqualTo(firstSuccessor);
        }
    }

    @Test
    void tenKillsWithRestartsRaiseTheEpochByExactlyOneEach() {
        for (long seed = 1; seed <= 10; seed++) {
            CoreHarness cluster = new CoreHarness(5, seed);
            CoreHarness.Node leader = cluster.awaitLeader(300);
            for (int kill = 1; kill <= 10; kill++) {
                long epoch = leader.core.status().epoch();
                cluster.propose(leader, "before kill " + kill);
                kill(cluster, leader);
                CoreHarness.Node next = cluster.awaitLeader(CoreHarness.ELECTION);
                assertThat(next.core.status().epoch()).as("seed %d kill %d", seed, kill).isEqualTo(epoch + 1);
                restart(cluster, leader);
                cluster.ticks(3 * CoreHarness.ELECTION);
                assertThat(cluster.leader()).as("seed %d kill %d: the restarted node deposes nobody", seed, kill)
                        .isSameAs(next);
                assertThat(next.core.status().epoch()).isEqualTo(epoch + 1);
                leader = next;
            }
        }
    }

    @Test
    void aNodeThatJoinedAnothersProbeDefersItsOwnElection() {
        CoreHarness cluster = new CoreHarness(3, 5);
        CoreHarness.Node old = cluster.awaitLeader(200);
        int first = old.id % 3 + 1;
        int second = first % 3 + 1;
        kill(cluster, old);
        // The first successor probes after its rank delay; the second joins the probe.
        tickUntilItProbes(cluster, first, CoreHarness.ELECTION);
        assertThat(probeFrom(cluster, first)).isTrue();
        Outbound probe = cluster.network.stream().filter(o -> o.envelope().hasElectionToken()).findFirst().orElseThrow();
        cluster.network.clear();
        assertThat(probe.to()).isEqualTo(second);
        cluster.deliver(probe);
        cluster.drainAll();
        cluster.network.clear(); // the joined probe never comes home: the first initiator stalls
        // Its own rank delay (five ticks here) passes, and more: it waits for the election it joined.
        for (int i = 0; i < CoreHarness.ELECTION - 1; i++) {
            cluster.node(second).core.tick();
            cluster.drainAll();
            assertThat(cluster.network).noneMatch(o -> o.envelope().hasElectionToken()
                    && o.envelope().getElectionToken().getInitiator() == second);
        }
    }

    @Test
    void survivorsWhoseProbesCrossOpenOneElectionOfTheNextEpoch() {
        for (long seed = 1; seed <= 10; seed++) {
            CoreHarness cluster = new CoreHarness(3, seed);
            CoreHarness.Node old = cluster.awaitLeader(200);
            long epoch = old.core.status().epoch();
            int first = old.id % 3 + 1;
            int second = first % 3 + 1;
            kill(cluster, old);
            // Each survivor probes before the other's probe reaches it (a loaded machine delays the first one's
            // past the second one's rank delay): the probes cross, and each passes on the other's.
            tickUntilItProbes(cluster, first, CoreHarness.ELECTION);
            tickUntilItProbes(cluster, second, 2 * CoreHarness.ELECTION);
            assertThat(probeFrom(cluster, first) && probeFrom(cluster, second)).as("seed %d", seed).isTrue();

            CoreHarness.Node next = cluster.awaitLeader(3 * CoreHarness.ELECTION);
            assertThat(next.core.status().epoch()).as("seed %d: one election, not two rivals", seed)
                    .isEqualTo(epoch + 1);
            cluster.ticks(3 * CoreHarness.ELECTION);
            assertThat(cluster.leader()).as("seed %d", seed).isSameAs(next);
            assertThat(next.core.status().epoch()).as("seed %d", seed).isEqualTo(epoch + 1);
        }
    }

    @Test
    void aClosedLinkToALiveLeaderDeposesNobody() {
        CoreHarness cluster = new CoreHarness(3, 9);
        CoreHarness.Node leader = cluster.awaitLeader(200);
        long epoch = leader.core.status().epoch();
        int backup = leader.id % 3 + 1;
        // Only this backup's link to the leader closed; the other backup still hears it.
        cluster.node(backup).core.peerConnectivity(leader.id, false);
        cluster.ticks(3 * CoreHarness.ELECTION);
        cluster.node(backup).core.peerConnectivity(leader.id, true);
        cluster.ticks(CoreHarness.ELECTION);
        assertThat(cluster.leader()).isSameAs(leader);
        assertThat(leader.core.status().epoch()).isEqualTo(epoch);
        assertThat(leader.role()).isEqualTo(Role.LEADER);
    }

    @Test
    void aBackupNamesNoLeaderWhileTheLinkItSawCloseStaysDown() {
        CoreHarness cluster = new CoreHarness(3, 9);
        CoreHarness.Node leader = cluster.awaitLeader(200);
        CoreHarness.Node backup = cluster.node(leader.id % 3 + 1);
        assertThat(backup.core.status().leaderId()).isEqualTo(leader.id);

        backup.core.peerConnectivity(leader.id, false); // the link was up and closed: a dead leader, most often
        assertThat(backup.core.status().leaderId()).as("clients are not sent to a closed port").isZero();
        assertThat(backup.core.status().leaderClientAddress()).isEmpty();
        backup.core.peerConnectivity(leader.id, true);
        assertThat(backup.core.status().leaderId()).isEqualTo(leader.id);

    }

    @Test
    void aRestartedBackupWhoseLinkToTheLeaderIsNotUpYetStillNamesTheLeaderItHears() {
        CoreHarness cluster = new CoreHarness(3, 11);
        CoreHarness.Node leader = cluster.awaitLeader(200);
        CoreHarness.Node backup = cluster.node(leader.id % 3 + 1);
        backup.restart();
        backup.core.peerConnectivity(leader.id, false); // as a node starts: every link down until it is up
        cluster.ticks(CoreHarness.ELECTION);
        assertThat(cluster.leader()).isSameAs(leader);
        assertThat(backup.core.status().leaderId()).isEqualTo(leader.id);
    }

    /** Ticks only {@code id} (at most {@code maxTicks} times) until a probe of its own is on the network. */
    private static void tickUntilItProbes(CoreHarness cluster, int id, int maxTicks) {
        for (int i = 0; i < maxTicks && !probeFrom(cluster, id); i++) {
            cluster.node(id).core.tick();
            cluster.drainAll();
        }
    }

    private static boolean probeFrom(CoreHarness cluster, int initiator) {
        return cluster.network.stream().anyMatch(o -> o.envelope().hasElectionToken()
                && tokenOf(o).getProbe() && tokenOf(o).getInitiator() == initiator);
    }

    private static ElectionToken tokenOf(Outbound o) {
        return o.envelope().getElectionToken();
    }

    /** SIGKILL: the node stops and every survivor's link to it closes. */
    private static void kill(CoreHarness cluster, CoreHarness.Node node) {
        node.crash();
        cluster.network.removeIf(o -> o.to() == node.id || o.envelope().getFrom() == node.id);
        for (CoreHarness.Node other : cluster.nodes.values()) {
            if (other != node && other.up) {
                other.core.peerConnectivity(node.id, false);
            }
        }
    }

    private static void restart(CoreHarness cluster, CoreHarness.Node node) {
        node.restart();
        for (CoreHarness.Node other : cluster.nodes.values()) {
            if (other != node && other.up) {
                other.core.peerConnectivity(node.id, true);
                node.core.peerConnectivity(other.id, true);
            }
        }
    }
}
