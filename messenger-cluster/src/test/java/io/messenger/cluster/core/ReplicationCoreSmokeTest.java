package io.messenger.cluster.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.cluster.Role;
import org.junit.jupiter.api.Test;

class ReplicationCoreSmokeTest {

    @Test
    void threeNodesElectOneLeaderAndCommitAProposal() {
        CoreHarness cluster = new CoreHarness(3, 1);
        CoreHarness.Node leader = cluster.awaitLeader(100);
        long index = cluster.propose(leader, "hello");
        cluster.ticks(5);
        for (CoreHarness.Node n : cluster.nodes.values()) {
            assertThat(n.applied).extracting(e -> e.getCommand().toStringUtf8()).endsWith("hello");
            assertThat(n.applied.get((int) index - 1).getCommand().toStringUtf8()).isEqualTo("hello");
        }
        assertThat(cluster.nodes.values().stream().filter(n -> n.role() == Role.LEADER)).hasSize(1);
    }

    @Test
    void singleNodeElectsItselfAtOnce() {
        CoreHarness cluster = new CoreHarness(1, 1);
        cluster.tickAll();
        assertThat(cluster.node(1).role()).isEqualTo(Role.LEADER);
        cluster.propose(cluster.node(1), "alone");
        assertThat(cluster.node(1).applied).extracting(e -> e.getCommand().toStringUtf8()).containsExactly("", "alone");
    }
}
