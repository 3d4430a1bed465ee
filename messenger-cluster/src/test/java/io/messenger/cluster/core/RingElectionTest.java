package io.messenger.cluster.core;

import static io.messenger.cluster.core.CoreHarness.entry;
import static io.messenger.cluster.core.CoreHarness.envelopeFrom;
import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.cluster.Role;
import io.messenger.cluster.storage.DurableState;
import io.messenger.proto.peer.ElectionToken;
import io.messenger.proto.peer.PeerEnvelope;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RingElectionTest {

    @Test
    void concurrentInitiatorsNeverYieldTwoLeadersOfOneEpochAndOneLeaderEmerges() {
        for (long seed = 1; seed <= 30; seed++) {
            CoreHarness cluster = new CoreHarness(5, seed);
            // Nodes 1 and 3 time out together: tick only them until both have started.
            for (int i = 0; i < 200 && !(electing(cluster, 1) && electing(cluster, 3)); i++) {
                if (!electing(cluster, 1)) {
                    cluster.node(1).core.tick();
                }
                if (!electing(cluster, 3)) {
                    cluster.node(3).core.tick();
                }
            }
            assertThat(cluster.node(1).core.status().epoch()).isEqualTo(1);
            assertThat(cluster.node(3).core.status().epoch()).isEqualTo(1);
            Map<Long, Integer> leaders = new HashMap<>();
            for (int t = 0; t < 400; t++) {
                cluster.tickAll();
                for (CoreHarness.Node n : cluster.nodes.values()) {
                    if (n.role() == Role.LEADER) {
                        Integer other = leaders.putIfAbsent(n.core.status().epoch(), n.id);
                        assertThat(other == null || other == n.id).as("one leader per epoch").isTrue();
                    }
                }
            }
            CoreHarness.Node leader = cluster.leader();
            assertThat(leader).as("seed " + seed).isNotNull();
            for (CoreHarness.Node n : cluster.nodes.values()) {
                assertThat(n.core.status().leaderId()).isEqualTo(leader.id);
            }
        }
    }

    private static boolean electing(CoreHarness cluster, int id) {
        return cluster.node(id).role() == Role.ELECTING;
    }

    @Test
    void theTokenSkipsSuccessorsKnownToBeDown() {
        CoreHarness cluster = new CoreHarness(3, 7);
        cluster.node(2).crash();
        cluster.node(1).core.peerConnectivity(2, false);
        cluster.node(3).core.peerConnectivity(2, false);
        CoreHarness.Node one = cluster.node(1);
        Ready ready = null;
        for (int i = 0; i < 100 && one.role() != Role.ELECTING; i++) {
            one.core.tick();
            ready = one.core.drain();
            if (ready.stateToSave() != null) {
                one.saved = ready.stateToSave();
            }
        }
        assertThat(one.role()).isEqualTo(Role.ELECTING);
        assertThat(ready.messages()).singleElement().satisfies(o -> {
            assertThat(o.to()).isEqualTo(3);
            assertThat(o.envelope().hasElectionToken()).isTrue();
        });
        // The promise is saved in the same batch, before the token may leave.
        assertThat(ready.stateToSave()).isEqualTo(new DurableState(1, 1));
        cluster.network.addAll(ready.messages());
        cluster.deliverAll();
        assertThat(cluster.leader()).isNotNull();
        assertThat(cluster.leader().id).isIn(1, 3);
    }

    @Test
    void aHigherLastEpochBeatsALongerLogOfAnOlderEpoch() {
        CoreHarness cluster = new CoreHarness(3, 3);
        cluster.node(1).load(List.of(entry(1, 1, "a"), entry(1, 2, "b"), entry(1, 3, "c"), entry(1, 4, "d")),
                new DurableState(2, 0));
        cluster.node(2).load(List.of(entry(1, 1, "a"), entry(2, 2, "x")), new DurableState(2, 0));
        cluster.node(3).load(List.of(entry(1, 1, "a")), new DurableState(2, 0));
        CoreHarness.Node leader = cluster.awaitLeader(200);
        assertThat(leader.id).isEqualTo(2);
        cluster.ticks(10);
        for (CoreHarness.Node n : cluster.nodes.values()) {
            assertThat(n.log.entry(2).getCommand().toStringUtf8()).isEqualTo("x");
            assertThat(n.log.lastIndex()).isEqualTo(3);
        }
    }

    @Test
    void aPromiseSurvivesARestart() {
        CoreHarness cluster = new CoreHarness(3, 5);
        CoreHarness.Node two = cluster.node(2);
        two.core.receive(token(1, 5, 1));
        Ready first = two.core.drain();
        assertThat(first.stateToSave()).isEqualTo(new DurableState(5, 1));
        assertThat(tokens(first)).singleElement().satisfies(o -> assertThat(o.to()).isEqualTo(3));
        assertThat(first.messages()).anySatisfy(o -> {
            assertThat(o.to()).isEqualTo(1);
            assertThat(o.envelope().hasTokenReceipt()).isTrue();
        });
        two.saved = first.stateToSave();

        two.crash();
        two.restart();
        two.core.receive(token(3, 5, 3));
        assertThat(tokens(two.core.drain())).as("epoch 5 is promised to node 1's token").isEmpty();
        assertThat(two.core.durableState()).isEqualTo(new DurableState(5, 1));

        two.core.receive(token(1, 5, 1));
        assertThat(tokens(two.core.drain())).as("a copy of the promised token goes on")
                .singleElement().satisfies(o -> assertThat(o.envelope().getElectionToken().getParticipantsList())
                        .containsExactly(1, 2));
    }

    @Test
    void aNodeThatHearsALiveLeaderIgnoresTokens() {
        CoreHarness cluster = new CoreHarness(3, 11);
        CoreHarness.Node leader = cluster.awaitLeader(200);
        cluster.ticks(3);
        CoreHarness.Node backup = cluster.nodes.values().stream().filter(n -> n != leader).findFirst().orElseThrow();
        int rejoining = cluster.ids.stream().filter(id -> id != leader.id && id != backup.id).findFirst().orElseThrow();
        long epoch = leader.core.status().epoch();

        backup.core.receive(token(rejoining, epoch + 7, rejoining));
        assertThat(tokens(backup.core.drain())).isEmpty();
        assertThat(backup.core.status().epoch()).isEqualTo(epoch);

        leader.core.receive(token(rejoining, epoch + 7, rejoining));
        assertThat(tokens(leader.core.drain())).isEmpty();
        assertThat(leader.role()).isEqualTo(Role.LEADER);
    }

    @Test
    void theTokenCarriesOnlyTheDurableLogPosition() {
        CoreHarness cluster = new CoreHarness(3, 2);
        CoreHarness.Node two = cluster.node(2);
        two.log.append(List.of(entry(1, 1, "a"), entry(1, 2, "b")));
        two.log.makeDurable(1);
        two.core.durable(1);
        two.core.receive(token(1, 5, 1));
        ElectionToken forwarded = tokens(two.core.drain()).get(0).envelope().getElectionToken();
        assertThat(forwarded.getCandidate()).isEqualTo(2);
        assertThat(forwarded.getCandidateLastIndex()).isEqualTo(1);
        assertThat(forwarded.getCandidateLastEpoch()).isEqualTo(1);
    }

    @Test
    void anInitiatorOpensItsTokenWithItsDurablePositionAndAnnouncesOnce() {
        CoreHarness cluster = new CoreHarness(3, 41);
        CoreHarness.Node one = cluster.node(1);
        one.log.append(List.of(entry(1, 1, "a"), entry(1, 2, "b"), entry(1, 3, "c")));
        one.log.makeDurable(2);
        one.core.durable(2);
        Ready ready = null;
        for (int i = 0; i < 100 && one.role() != Role.ELECTING; i++) {
            one.core.tick();
            ready = one.core.drain();
        }
        ElectionToken sent = ready.messages().get(0).envelope().getElectionToken();
        assertThat(sent.getCandidateLastIndex()).isEqualTo(2);
        long epoch = sent.getEpoch();

        // Two copies come home, joined by node 2 at different durable positions.
        ElectionToken first = sent.toBuilder().addParticipants(2).build();
        ElectionToken second = sent.toBuilder().addParticipants(2).setCandidate(2)
                .setCandidateLastEpoch(1).setCandidateLastIndex(3).build();
        one.core.receive(envelopeFrom(2, epoch).setElectionToken(first).build());
        Ready announced = one.core.drain();
        assertThat(announced.messages()).filteredOn(o -> o.envelope().hasElected())
                .extracting(o -> o.envelope().getElected().getLeader()).containsExactly(1, 1);
        assertThat(one.role()).isEqualTo(Role.LEADER);
        one.core.receive(envelopeFrom(2, epoch).setElectionToken(second).build());
        assertThat(one.core.drain().messages()).noneMatch(o -> o.envelope().hasElected());
        assertThat(one.role()).isEqualTo(Role.LEADER);
    }

    @Test
    void ringOrderSkipsParticipantsAndUnreachableNodes() {
        RingElection ring = new RingElection(new CoreConfig(2, List.of(4, 1, 3, 2, 5), 1, 2, 1, 1, 1, "x"));
        ElectionToken fromFour = ElectionToken.newBuilder().setEpoch(1).setInitiator(4)
                .addAllParticipants(List.of(4, 5, 1)).build();
        assertThat(ring.nextHop(fromFour, Set.of())).isEqualTo(3);
        assertThat(ring.nextHop(fromFour, Set.of(3))).isEqualTo(4);
        assertThat(ring.nextHop(fromFour, Set.of(3, 4))).isZero();
        ElectionToken own = ring.open(1, 0, 0);
        assertThat(ring.nextHop(own, Set.of(3, 4, 5, 1))).isEqualTo(2);
        assertThat(RingElection.moreUpToDate(2, 1, 1, 1, 9, 9)).isTrue();
        assertThat(RingElection.moreUpToDate(1, 9, 1, 1, 8, 9)).isTrue();
        assertThat(RingElection.moreUpToDate(1, 9, 3, 1, 9, 2)).isTrue();
        assertThat(RingElection.moreUpToDate(1, 9, 2, 1, 9, 3)).isFalse();
    }

    private static List<Outbound> tokens(Ready ready) {
        return ready.messages().stream().filter(o -> o.envelope().hasElectionToken()).toList();
    }

    /** A successor that never acknowledges a token is passed over after a few heartbeats. */
    @Test
    void aSuccessorThatDoesNotAcknowledgeTheTokenIsPassedOver() {
        CoreHarness cluster = new CoreHarness(3, 47);
        cluster.node(2).crash(); // nobody tells the others
        CoreHarness.Node leader = cluster.awaitLeader(300);
        assertThat(leader.id).isIn(1, 3);
        assertThat(cluster.sent).anySatisfy(o -> {
            assertThat(o.envelope().getFrom()).isEqualTo(1);
            assertThat(o.to()).isEqualTo(3);
            assertThat(o.envelope().hasElectionToken()).isTrue();
        });
    }

    private static PeerEnvelope token(int initiator, long epoch, int from) {
        return envelopeFrom(from, epoch).setElectionToken(ElectionToken.newBuilder()
                .setEpoch(epoch).setInitiator(initiator).addParticipants(initiator)
                .setCandidate(initiator)).build();
    }
}
