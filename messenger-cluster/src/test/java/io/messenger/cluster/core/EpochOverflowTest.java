package io.messenger.cluster.core;

import static io.messenger.cluster.core.CoreHarness.envelopeFrom;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.messenger.cluster.Role;
import io.messenger.proto.peer.ElectionToken;
import io.messenger.proto.peer.Elected;
import io.messenger.proto.peer.Heartbeat;
import org.junit.jupiter.api.Test;

/**
 * A member (or whoever reaches a peer port) announcing an epoch at the top of the range must not
 * make the core compute epoch + 1 past {@link Long#MAX_VALUE}: that stopped nodes during a tick.
 */
class EpochOverflowTest {

    @Test
    void aHeartbeatWithTheLargestEpochNeverMakesALaterElectionOverflow() {
        CoreHarness cluster = new CoreHarness(3, 11);
        CoreHarness.Node node = cluster.node(1);
        node.core.receive(envelopeFrom(2, Long.MAX_VALUE)
                .setHeartbeat(Heartbeat.newBuilder().setCommitIndex(0)).build());
        node.core.drain();
        // Leader 2 now falls silent: node 1 times out and starts an election.
        assertThatCode(() -> {
            for (int t = 0; t < 20 * CoreHarness.ELECTION; t++) {
                node.core.tick();
                node.core.drain();
            }
        }).doesNotThrowAnyException();
        assertThat(node.core.role()).isNotEqualTo(Role.STOPPED);
        assertThat(node.core.status().epoch()).isNotNegative();
    }

    @Test
    void epochsAboveTheCoresCeilingAreIgnored() {
        CoreHarness cluster = new CoreHarness(3, 12);
        CoreHarness.Node node = cluster.node(1);
        node.core.receive(envelopeFrom(2, ReplicationCore.MAX_EPOCH + 1)
                .setHeartbeat(Heartbeat.newBuilder()).build());
        node.core.receive(envelopeFrom(2, 1).setElected(Elected.newBuilder()
                .setEpoch(-5).setLeader(2)).build());
        node.core.receive(envelopeFrom(3, 1).setElectionToken(ElectionToken.newBuilder()
                .setEpoch(Long.MAX_VALUE).setInitiator(3).addParticipants(3).setCandidate(3)).build());
        node.core.drain();
        assertThat(node.core.status().epoch()).isZero();
        assertThat(node.core.status().leaderId()).isZero();
    }
}
