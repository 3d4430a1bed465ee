package io.messenger.cluster.core;

import static io.messenger.cluster.core.CoreHarness.entry;
import static io.messenger.cluster.core.CoreHarness.envelopeFrom;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.messenger.cluster.NotLeaderException;
import io.messenger.cluster.Role;
import io.messenger.cluster.storage.DurableState;
import io.messenger.proto.peer.Append;
import io.messenger.proto.peer.Entry;
import io.messenger.proto.peer.PeerEnvelope;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReplicationTest {

    @Test
    void aDivergentSuffixIsTruncatedAndReplaced() {
        CoreHarness cluster = new CoreHarness(3, 21);
        List<Entry> common = List.of(entry(1, 1, "a"), entry(1, 2, "b"));
        cluster.node(1).load(List.of(common.get(0), common.get(1), entry(3, 3, "new")), new DurableState(3, 0));
        cluster.node(2).load(List.of(common.get(0), common.get(1), entry(2, 3, "old"), entry(2, 4, "older")),
                new DurableState(3, 0));
        cluster.node(3).load(common, new DurableState(3, 0));
        CoreHarness.Node leader = cluster.awaitLeader(200);
        assertThat(leader.id).isEqualTo(1);
        cluster.ticks(10);
        for (CoreHarness.Node n : cluster.nodes.values()) {
            assertThat(commands(n.applied)).containsExactly("a", "b", "new", "");
            assertThat(n.log.lastIndex()).isEqualTo(4);
            assertThat(n.log.entry(4).getEpoch()).isEqualTo(leader.core.status().epoch());
        }
    }

    @Test
    void aLaggingNodeCatchesUpInBoundedBatches() {
        CoreHarness cluster = new CoreHarness(3, 8);
        cluster.maxAppendEntries = 3;
        for (CoreHarness.Node n : cluster.nodes.values()) {
            n.restart();
        }
        CoreHarness.Node leader = cluster.awaitLeader(200);
        CoreHarness.Node lagging = cluster.nodes.values().stream().filter(n -> n != leader).findFirst().orElseThrow();
        lagging.crash();
        leader.core.peerConnectivity(lagging.id, false);
        for (int i = 0; i < 40; i++) {
            cluster.propose(leader, "m" + i);
        }
        assertThat(leader.core.commitIndex()).isEqualTo(leader.log.lastIndex());
        lagging.restart();
        leader.core.peerConnectivity(lagging.id, true);
        cluster.sent.clear();
        cluster.ticks(60);
        int largest = cluster.sent.stream().filter(o -> o.envelope().hasAppend())
                .mapToInt(o -> o.envelope().getAppend().getEntriesCount()).max().orElse(0);
        assertThat(largest).isBetween(1, 3);
        assertThat(lagging.log.lastIndex()).isEqualTo(leader.log.lastIndex());
        assertThat(lagging.applied).isEqualTo(leader.log.entries(1, 1000, Long.MAX_VALUE));
    }

    @Test
    void anOldEpochEntryIsNotCommittedByCountingReplicas() {
        // Raft figure 8: the new leader holds (epoch 2, index 2), which only it has. Getting
        // it onto a majority must not commit it; only its own epoch's entry does.
        CoreHarness cluster = new CoreHarness(3, 4);
        cluster.maxAppendEntries = 1;
        cluster.node(1).load(List.of(entry(1, 1, "a"), entry(2, 2, "old")), new DurableState(2, 0));
        cluster.node(2).load(List.of(entry(1, 1, "a")), new DurableState(2, 0));
        cluster.node(3).load(List.of(entry(1, 1, "a")), new DurableState(2, 0));
        // Hold back every append carrying index 3 (the new leader's opening entry).
        cluster.appendFilter = o -> !o.envelope().hasAppend() || o.envelope().getAppend().getEntriesList()
                .stream().noneMatch(e -> e.getIndex() >= 3);
        CoreHarness.Node leader = cluster.awaitLeader(200);
        assertThat(leader.id).isEqualTo(1);
        cluster.ticks(20);
        assertThat(cluster.node(2).log.lastIndex()).isEqualTo(2);
        assertThat(cluster.node(3).log.lastIndex()).isEqualTo(2);
        assertThat(leader.core.commitIndex()).as("index 2 is on all three but of an older epoch").isZero();
        assertThat(leader.applied).isEmpty();

        cluster.appendFilter = o -> true;
        cluster.ticks(10);
        assertThat(leader.core.commitIndex()).isEqualTo(3);
        assertThat(commands(leader.applied)).containsExactly("a", "old", "");
    }

    @Test
    void aStaleLeaderCannotGetAWriteCommitted() throws Exception {
        CoreHarness cluster = new CoreHarness(3, 13);
        CoreHarness.Node old = cluster.awaitLeader(200);
        cluster.propose(old, "before");
        cluster.ticks(3);
        cluster.isolate(old.id);
        long staleIndex = old.core.propose(ByteString.copyFromUtf8("stale"));
        cluster.deliverAll();
        CoreHarness.Node fresh = null;
        for (int t = 0; t < 300 && fresh == null; t++) {
            cluster.tickAll();
            for (CoreHarness.Node n : cluster.nodes.values()) {
                if (n != old && n.role() == Role.LEADER) {
                    fresh = n;
                }
            }
        }
        assertThat(fresh).isNotNull();
        cluster.propose(fresh, "after");
        cluster.heal();
        cluster.ticks(30);
        assertThat(old.role()).isNotEqualTo(Role.LEADER);
        for (CoreHarness.Node n : cluster.nodes.values()) {
            assertThat(commands(n.applied)).doesNotContain("stale").contains("before", "after");
            assertThat(n.log.entry(staleIndex).getCommand().toStringUtf8()).isNotEqualTo("stale");
        }
    }

    @Test
    void aLeaderWithoutAMajorityStepsDownAndRefusesWrites() {
        CoreHarness cluster = new CoreHarness(3, 17);
        CoreHarness.Node leader = cluster.awaitLeader(200);
        cluster.isolate(leader.id);
        for (int t = 0; t <= CoreHarness.ELECTION + 1; t++) {
            leader.core.tick();
            cluster.drainAll();
        }
        assertThat(leader.role()).isEqualTo(Role.BACKUP);
        assertThatThrownBy(() -> leader.core.propose(ByteString.copyFromUtf8("x")))
                .isInstanceOf(NotLeaderException.class);
    }

    @Test
    void aBackupNamesTheLeaderWhenAskedToPropose() {
        CoreHarness cluster = new CoreHarness(3, 19);
        CoreHarness.Node leader = cluster.awaitLeader(200);
        cluster.ticks(4);
        CoreHarness.Node backup = cluster.nodes.values().stream().filter(n -> n != leader).findFirst().orElseThrow();
        assertThatThrownBy(() -> backup.core.propose(ByteString.copyFromUtf8("x")))
                .isInstanceOfSatisfying(NotLeaderException.class, e -> {
                    assertThat(e.leaderId()).isEqualTo(leader.id);
                    assertThat(e.leaderClientAddress()).isEqualTo("host:" + (7000 + leader.id));
                });
    }

    @Test
    void reorderedAndDuplicatedAppendsDoNotTruncate() {
        CoreHarness cluster = new CoreHarness(3, 23);
        CoreHarness.Node backup = cluster.node(2);
        PeerEnvelope full = append(1, 0, 0, 3, entry(1, 1, "a"), entry(1, 2, "b"), entry(1, 3, "c"));
        PeerEnvelope early = append(1, 0, 0, 1, entry(1, 1, "a"));
        PeerEnvelope middle = append(1, 1, 1, 2, entry(1, 2, "b"));
        backup.core.receive(full);
        backup.fsync();
        assertThat(backup.core.drain().committed()).hasSize(3);
        backup.core.receive(early);
        backup.core.receive(middle);
        backup.core.receive(full);
        backup.fsync();
        Ready ready = backup.core.drain();
        assertThat(backup.log.lastIndex()).isEqualTo(3);
        assertThat(backup.core.commitIndex()).isEqualTo(3);
        assertThat(ready.messages()).allSatisfy(o -> assertThat(o.envelope().getAppendResult().getSuccess()).isTrue());
    }

    @Test
    void aBackupAcknowledgesOnlyDurableEntries() {
        CoreHarness cluster = new CoreHarness(3, 29);
        CoreHarness.Node backup = cluster.node(2);
        backup.core.receive(append(1, 0, 0, 0, entry(1, 1, "a"), entry(1, 2, "b")));
        assertThat(backup.core.drain().messages()).as("nothing durable yet").isEmpty();
        backup.log.makeDurable(1);
        backup.core.durable(1);
        assertThat(backup.core.drain().messages()).singleElement()
                .satisfies(o -> assertThat(o.envelope().getAppendResult().getMatchIndex()).isEqualTo(1));
        backup.fsync();
        assertThat(backup.core.drain().messages()).singleElement()
                .satisfies(o -> assertThat(o.envelope().getAppendResult().getMatchIndex()).isEqualTo(2));
    }

    @Test
    void aLateFsyncReportAboutTruncatedEntriesIsNotTrusted() {
        CoreHarness cluster = new CoreHarness(3, 43);
        CoreHarness.Node backup = cluster.node(2);
        backup.load(List.of(entry(1, 1, "a"), entry(1, 2, "b"), entry(1, 3, "c")), new DurableState(1, 0));
        backup.core.receive(append(2, 1, 1, 0, entry(2, 2, "x"), entry(2, 3, "y")));
        assertThat(backup.log.durableIndex()).isEqualTo(1);
        // The storage thread's report for the old entries 2..3 arrives after the truncation.
        backup.core.durable(3);
        assertThat(backup.core.drain().messages()).extracting(o -> o.envelope().getAppendResult().getMatchIndex())
                .allMatch(match -> match <= 1);
        backup.fsync();
        assertThat(backup.core.drain().messages()).extracting(o -> o.envelope().getAppendResult().getMatchIndex())
                .containsExactly(3L);
    }

    @Test
    void aMismatchIsRejectedWithAHintPastTheConflictingEpoch() {
        CoreHarness cluster = new CoreHarness(3, 31);
        CoreHarness.Node backup = cluster.node(2);
        backup.load(List.of(entry(1, 1, "a"), entry(2, 2, "x"), entry(2, 3, "y"), entry(2, 4, "z")),
                new DurableState(2, 0));
        backup.core.receive(append(5, 4, 4, 0));
        assertThat(backup.core.drain().messages()).singleElement().satisfies(o -> {
            assertThat(o.envelope().getAppendResult().getSuccess()).isFalse();
            assertThat(o.envelope().getAppendResult().getHintIndex()).isEqualTo(2);
        });
        backup.core.receive(append(5, 9, 5, 0));
        assertThat(backup.core.drain().messages()).singleElement().satisfies(o ->
                assertThat(o.envelope().getAppendResult().getHintIndex()).isEqualTo(5));
    }

    @Test
    void anOlderEpochIsRefusedWithTheNewerOne() {
        CoreHarness cluster = new CoreHarness(3, 37);
        CoreHarness.Node backup = cluster.node(2);
        backup.load(List.of(), new DurableState(4, 0));
        backup.core.receive(envelopeFrom(1, 3).setAppend(Append.newBuilder()).build());
        Ready ready = backup.core.drain();
        assertThat(ready.messages()).singleElement().satisfies(o -> {
            assertThat(o.to()).isEqualTo(1);
            assertThat(o.envelope().getEpoch()).isEqualTo(4);
            assertThat(o.envelope().getAppendResult().getSuccess()).isFalse();
        });
        assertThat(backup.core.status().leaderId()).isZero();
    }

    private static PeerEnvelope append(long epoch, long prevIndex, long prevEpoch, long commit, Entry... entries) {
        return envelopeFrom(1, epoch).setAppend(Append.newBuilder()
                .setPrevIndex(prevIndex).setPrevEpoch(prevEpoch).setCommitIndex(commit)
                .setLeaderClientAddress("host:7001").addAllEntries(List.of(entries))).build();
    }

    private static List<String> commands(List<Entry> entries) {
        return entries.stream().map(e -> e.getCommand().toStringUtf8()).toList();
    }
}
