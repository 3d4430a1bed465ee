package io.messenger.cluster.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.proto.peer.Entry;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A restarted node applies the log tail it knew committed before it stopped at once, without a
 * leader ({@link ReplicationCore#committedBeforeRestart}); the deterministic simulation checks
 * the same hint under faults.
 */
class CommittedBeforeRestartTest {

    @Test
    void aRestartedBackupCutOffFromEveryPeerAppliesWhatItKnewCommitted() {
        CoreHarness cluster = new CoreHarness(3, 7);
        CoreHarness.Node leader = cluster.awaitLeader(200);
        cluster.propose(leader, "a");
        cluster.propose(leader, "b");
        cluster.propose(leader, "c");
        cluster.ticks(3);
        CoreHarness.Node backup = cluster.nodes.values().stream().filter(n -> n != leader).findFirst().orElseThrow();
        assertThat(commands(backup.applied)).containsSubsequence("a", "b", "c");
        long knownCommitted = backup.applied.get(backup.applied.size() - 1).getIndex();

        backup.crash();
        cluster.isolate(backup.id);
        backup.restart();
        cluster.ticks(2);
        assertThat(backup.applied).as("without the hint nothing is applied before a leader is heard").isEmpty();

        backup.crash();
        backup.restart();
        assertThat(backup.core.committedBeforeRestart(knownCommitted)).isEqualTo(knownCommitted);
        cluster.ticks(2);
        assertThat(backup.applied).as("applied alone, no peer reachable")
                .extracting(Entry::getIndex).last().isEqualTo(knownCommitted);
        assertThat(commands(backup.applied)).containsSubsequence("a", "b", "c");
        assertThat(backup.core.status().leaderId()).isZero();

        cluster.heal();
        cluster.propose(cluster.awaitLeader(200), "d");
        cluster.ticks(5);
        assertThat(commands(backup.applied)).as("each entry once, in order, after rejoining")
                .containsSubsequence("a", "b", "c", "d").doesNotHaveDuplicates();
    }

    @Test
    void aHintBeyondTheLogIsCutToItsEnd() {
        CoreHarness cluster = new CoreHarness(3, 11);
        CoreHarness.Node leader = cluster.awaitLeader(200);
        cluster.propose(leader, "a");
        cluster.ticks(3);
        CoreHarness.Node backup = cluster.nodes.values().stream().filter(n -> n != leader).findFirst().orElseThrow();
        long last = backup.log.lastIndex();

        backup.crash();
        cluster.isolate(backup.id);
        backup.restart();

        assertThat(backup.core.committedBeforeRestart(last + 1_000)).isEqualTo(last);
        cluster.ticks(1);
        assertThat(backup.applied).extracting(Entry::getIndex).last().isEqualTo(last);
    }

    @Test
    void aHintThatDoesNotContinueTheRestoredStateIsIgnored() {
        CoreHarness cluster = new CoreHarness(3, 13);
        CoreHarness.Node leader = cluster.awaitLeader(200);
        for (String text : List.of("a", "b", "c", "d")) {
            cluster.propose(leader, text);
        }
        cluster.ticks(3);
        CoreHarness.Node backup = cluster.nodes.values().stream().filter(n -> n != leader).findFirst().orElseThrow();
        long last = backup.log.lastIndex();
        backup.log.compactTo(3);

        backup.crash();
        cluster.isolate(backup.id);
        backup.restart(); // no snapshot restored: the entries up to 3 are gone, nothing may be applied

        assertThat(backup.core.committedBeforeRestart(last)).isZero();
        cluster.ticks(1);
        assertThat(backup.applied).isEmpty();
    }

    private static List<String> commands(List<Entry> entries) {
        return entries.stream().map(e -> e.getCommand().toStringUtf8()).filter(s -> !s.isEmpty()).toList();
    }
}
