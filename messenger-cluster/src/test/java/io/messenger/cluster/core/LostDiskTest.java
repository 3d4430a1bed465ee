package io.messenger.cluster.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.cluster.Role;
import org.junit.jupiter.api.Test;

/** The lost-disk rule of the core: a node without its state is a learner until restored. */
class LostDiskTest {

    private static CoreHarness.Node backupOf(CoreHarness cluster, CoreHarness.Node leader, int skip) {
        return cluster.nodes.values().stream().filter(n -> n != leader).skip(skip).findFirst().orElseThrow();
    }

    @Test
    void aWipedBackupIsRestoredFromTheLeaderBeforeItVotesAgain() {
        CoreHarness cluster = new CoreHarness(3, 5);
        CoreHarness.Node leader = cluster.awaitLeader(200);
        for (int i = 0; i < 20; i++) {
            cluster.propose(leader, "m" + i);
        }
        long committed = leader.core.commitIndex();
        CoreHarness.Node wiped = backupOf(cluster, leader, 0);
        wiped.crash();
        wiped.wipeAndRestart();
        assertThat(wiped.core.isVoter()).isFalse();
        cluster.ticks(100);
        assertThat(wiped.voter).as("restored and recorded durably").isTrue();
        assertThat(wiped.core.isVoter()).isTrue();
        assertThat(wiped.log.durableIndex()).isGreaterThan(committed);
        for (long i = 1; i <= committed; i++) {
            assertThat(wiped.log.entry(i)).isEqualTo(leader.log.entry(i));
        }
    }

    @Test
    void aRestoringBackupCountsTowardNoCommit() {
        CoreHarness cluster = new CoreHarness(3, 6);
        CoreHarness.Node leader = cluster.awaitLeader(200);
        cluster.propose(leader, "before");
        CoreHarness.Node wiped = backupOf(cluster, leader, 0);
        CoreHarness.Node other = backupOf(cluster, leader, 1);
        // The only other voter is gone: the restoring node alone must not make a majority.
        other.crash();
        leader.core.peerConnectivity(other.id, false);
        wiped.crash();
        wiped.wipeAndRestart();
        long before = leader.core.commitIndex();
        cluster.propose(leader, "after");
        cluster.ticks(4);
        assertThat(wiped.log.lastIndex()).as("it does receive appends").isGreaterThan(before);
        assertThat(leader.core.status().commitIndex()).isEqualTo(before);
        assertThat(wiped.core.isVoter()).isFalse();
    }

    @Test
    void aRestoringNodeNeverStartsOrJoinsAnElection() {
        CoreHarness cluster = new CoreHarness(3, 7);
        CoreHarness.Node leader = cluster.awaitLeader(200);
        cluster.propose(leader, "x");
        CoreHarness.Node wiped = backupOf(cluster, leader, 0);
        wiped.crash();
        wiped.wipeAndRestart();
        // The leader dies before the wiped node could be restored: with one voter left, nobody
        // may be elected (the wiped node's empty log must not become a leader's).
        leader.crash();
        for (CoreHarness.Node n : cluster.nodes.values()) {
            if (n.up) {
                n.core.peerConnectivity(leader.id, false);
            }
        }
        cluster.sent.clear();
        cluster.ticks(300);
        assertThat(cluster.sent).noneMatch(o -> o.envelope().getFrom() == wiped.id
                && (o.envelope().hasElectionToken() || o.envelope().hasTokenReceipt()));
        assertThat(cluster.nodes.values()).noneMatch(n -> n.up && n.role() == Role.LEADER);
        assertThat(wiped.core.isVoter()).isFalse();
        // The old leader comes back with its disk: it and the surviving voter elect, and the
        // wiped node is restored from the new leader, with every committed entry.
        leader.restart();
        cluster.heal();
        cluster.ticks(300);
        CoreHarness.Node next = cluster.leader();
        assertThat(next).isNotNull();
        assertThat(next.id).isNotEqualTo(wiped.id);
        assertThat(wiped.core.isVoter()).isTrue();
        assertThat(wiped.log.entry(2).getCommand().toStringUtf8()).isEqualTo("x");
    }
}
