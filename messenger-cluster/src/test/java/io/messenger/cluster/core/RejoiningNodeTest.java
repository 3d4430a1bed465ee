package io.messenger.cluster.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.cluster.Role;
import io.messenger.proto.peer.Entry;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A node that restarts and times out before its links to the leader come back must not depose it. */
class RejoiningNodeTest {

    @Test
    void aRestartedNodeThatTimesOutBeforeHearingTheLeaderDoesNotDeposeIt() {
        for (long seed = 1; seed <= 10; seed++) {
            CoreHarness cluster = new CoreHarness(3, seed);
            CoreHarness.Node leader = cluster.awaitLeader(200);
            cluster.propose(leader, "a");
            cluster.ticks(3);
            long epoch = leader.core.status().epoch();
            CoreHarness.Node rejoining = cluster.nodes.values().stream()
                    .filter(n -> n != leader).findFirst().orElseThrow();

            rejoining.crash();
            cluster.ticks(5);
            // Back up, but the leader's link to it (and its own to the leader) is slow to come
            // back, e.g. the leader's dialler is in reconnect backoff: it hears nothing from the
            // leader for longer than its election timeout, while the other backup is reachable.
            cluster.cut.add(CoreHarness.link(leader.id, rejoining.id));
            cluster.cut.add(CoreHarness.link(rejoining.id, leader.id));
            rejoining.restart();
            cluster.ticks(6 * CoreHarness.ELECTION);
            cluster.heal();
            cluster.ticks(4 * CoreHarness.ELECTION);

            assertThat(leader.role()).as("seed %d: the healthy leader keeps leading", seed).isEqualTo(Role.LEADER);
            assertThat(leader.core.status().epoch()).as("seed %d: no new epoch", seed).isEqualTo(epoch);
            cluster.propose(leader, "b");
            cluster.ticks(3);
            assertThat(rejoining.core.status().leaderId()).isEqualTo(leader.id);
            assertThat(commands(rejoining.applied)).as("seed %d: the rejoined node caught up", seed)
                    .containsSubsequence("a", "b");
        }
    }

    private static List<String> commands(List<Entry> entries) {
        return entries.stream().map(e -> e.getCommand().toStringUtf8()).toList();
    }
}
