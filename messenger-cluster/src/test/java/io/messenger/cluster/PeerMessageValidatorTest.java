package io.messenger.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.messenger.cluster.testing.RawPeer;
import io.messenger.proto.peer.Append;
import io.messenger.proto.peer.AppendResult;
import io.messenger.proto.peer.Elected;
import io.messenger.proto.peer.ElectionToken;
import io.messenger.proto.peer.Entry;
import io.messenger.proto.peer.Heartbeat;
import io.messenger.proto.peer.HeartbeatReply;
import io.messenger.proto.peer.PeerEnvelope;
import io.messenger.proto.peer.TokenReceipt;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PeerMessageValidatorTest {

    private final PeerMessageValidator validator = new PeerMessageValidator(1, Set.of(1, 2, 3), 4, 1000);

    private static PeerEnvelope.Builder from(int id, long epoch) {
        return RawPeer.envelope(id, epoch);
    }

    private static Entry entry(long epoch, long index, int size) {
        return Entry.newBuilder().setEpoch(epoch).setIndex(index).setCommand(ByteString.copyFrom(new byte[size])).build();
    }

    private String check(PeerEnvelope.Builder envelope) {
        return validator.problemWith(envelope.build(), 10);
    }

    @Test
    void ordinaryMessagesPass() {
        assertThat(check(from(2, 11).setHeartbeat(Heartbeat.newBuilder().setCommitIndex(5)))).isNull();
        assertThat(check(from(2, 11).setAppend(Append.newBuilder().setPrevIndex(4).setPrevEpoch(9)
                .addEntries(entry(9, 5, 10)).addEntries(entry(11, 6, 10)).setCommitIndex(5)))).isNull();
        assertThat(check(from(3, 12).setElectionToken(ElectionToken.newBuilder().setEpoch(12).setInitiator(3)
                .addParticipants(3).addParticipants(1).setCandidate(3).setCandidateLastEpoch(9)
                .setCandidateLastIndex(40)))).isNull();
        assertThat(check(from(3, 12).setElected(Elected.newBuilder().setEpoch(12).setLeader(3)
                .addParticipants(3).addParticipants(2)))).isNull();
        assertThat(check(from(2, 10).setTokenReceipt(TokenReceipt.newBuilder().setEpoch(11).setInitiator(1))))
                .isNull();
        assertThat(check(from(2, 10).setAppendResult(AppendResult.newBuilder().setMatchIndex(7)))).isNull();
        // A single entry may exceed the byte maximum: a leader always sends the first one.
        assertThat(check(from(2, 11).setAppend(Append.newBuilder().setPrevIndex(0)
                .addEntries(entry(11, 1, 5000))))).isNull();
        // Up to 2^32 epochs above the known one is still believable.
        assertThat(check(from(2, 10 + (1L << 32)).setHeartbeat(Heartbeat.newBuilder()))).isNull();
    }

    @Test
    void senderMustBeAnotherMember() {
        assertThat(check(from(7, 11).setHeartbeat(Heartbeat.newBuilder()))).contains("sender id 7");
        assertThat(check(from(1, 11).setHeartbeat(Heartbeat.newBuilder()))).contains("sender id 1");
    }

    @Test
    void epochsThatAreNegativeOrJumpTooFarAreRefused() {
        assertThat(check(from(2, Long.MAX_VALUE).setHeartbeat(Heartbeat.newBuilder()))).contains("2^32");
        assertThat(check(from(2, -1).setHeartbeat(Heartbeat.newBuilder())))
                .contains("18446744073709551615").contains("2^63");
        assertThat(check(from(2, 11 + (1L << 32)).setHeartbeat(Heartbeat.newBuilder()))).contains("2^32");
        assertThat(check(from(3, 10).setElectionToken(ElectionToken.newBuilder().setEpoch(Long.MAX_VALUE)
                .setInitiator(3).addParticipants(3).setCandidate(3)))).contains("token epoch");
        assertThat(check(from(3, 10).setElected(Elected.newBuilder().setEpoch(-3).setLeader(3))))
                .contains("elected epoch");
        assertThat(check(from(3, 10).setTokenReceipt(TokenReceipt.newBuilder().setEpoch(Long.MAX_VALUE)
                .setInitiator(1)))).contains("receipt epoch");
        assertThat(check(from(3, 12).setElectionToken(ElectionToken.newBuilder().setEpoch(12).setInitiator(3)
                .addParticipants(3).setCandidate(3).setCandidateLastEpoch(-13)))).contains("candidate last epoch");
    }

    @Test
    void nodeIdsOutsideTheMembersAreRefused() {
        assertThat(check(from(2, 11).setElected(Elected.newBuilder().setEpoch(11).setLeader(9))))
                .contains("elected leader 9");
        assertThat(check(from(2, 11).setElected(Elected.newBuilder().setEpoch(11).setLeader(2)
                .addParticipants(2).addParticipants(8)))).contains("participant 8");
        assertThat(check(from(2, 11).setElected(Elected.newBuilder().setEpoch(11).setLeader(2)
                .addParticipants(2).addParticipants(2)))).contains("repeat");
        assertThat(check(from(2, 11).setElectionToken(ElectionToken.newBuilder().setEpoch(11).setInitiator(5)
                .addParticipants(2).setCandidate(2)))).contains("token initiator 5");
        assertThat(check(from(2, 11).setElectionToken(ElectionToken.newBuilder().setEpoch(11).setInitiator(2)
                .addParticipants(2).setCandidate(0)))).contains("token candidate 0");
        assertThat(check(from(2, 11).setTokenReceipt(TokenReceipt.newBuilder().setEpoch(11).setInitiator(4))))
                .contains("receipt initiator 4");
    }

    @Test
    void appendsMustBeConsecutiveOrderedAndWithinTheMaxima() {
        assertThat(check(from(2, 11).setAppend(Append.newBuilder().setPrevIndex(4).setPrevEpoch(9)
                .addEntries(entry(9, 5, 1)).addEntries(entry(9, 7, 1))))).contains("consecutive");
        assertThat(check(from(2, 11).setAppend(Append.newBuilder().setPrevIndex(4).setPrevEpoch(9)
                .addEntries(entry(9, 4, 1))))).contains("consecutive");
        assertThat(check(from(2, 11).setAppend(Append.newBuilder().setPrevIndex(4).setPrevEpoch(9)
                .addEntries(entry(8, 5, 1))))).contains("epoch 8");
        assertThat(check(from(2, 11).setAppend(Append.newBuilder().setPrevIndex(4).setPrevEpoch(9)
                .addEntries(entry(12, 5, 1))))).contains("epoch 12");
        assertThat(check(from(2, 11).setAppend(Append.newBuilder().setPrevIndex(4).setPrevEpoch(12))))
                .contains("prev epoch");
        Append.Builder tooMany = Append.newBuilder().setPrevIndex(0);
        for (int i = 1; i <= 5; i++) {
            tooMany.addEntries(entry(11, i, 1));
        }
        assertThat(check(from(2, 11).setAppend(tooMany))).contains("5 entries");
        assertThat(check(from(2, 11).setAppend(Append.newBuilder().setPrevIndex(0)
                .addEntries(entry(11, 1, 600)).addEntries(entry(11, 2, 600))))).contains("bytes");
        assertThat(check(from(2, 11).setAppend(Append.newBuilder().setPrevIndex(Long.MAX_VALUE)
                .setPrevEpoch(9)))).contains("prev index");
        assertThat(check(from(2, 11).setAppend(Append.newBuilder().setCommitIndex(-1)))).contains("commit index");
    }

    @Test
    void indexesBeyondAnyRealLogAreRefused() {
        assertThat(check(from(2, 11).setHeartbeat(Heartbeat.newBuilder().setCommitIndex(-1))))
                .contains("heartbeat commit index");
        assertThat(check(from(2, 10).setHeartbeatReply(HeartbeatReply.newBuilder()
                .setMatchIndex((1L << 62) + 1)))).contains("match index");
        assertThat(check(from(2, 10).setAppendResult(AppendResult.newBuilder().setHintIndex(-7))))
                .contains("hint index");
        assertThat(check(from(3, 12).setElectionToken(ElectionToken.newBuilder().setEpoch(12).setInitiator(3)
                .addParticipants(3).setCandidate(3).setCandidateLastIndex(-2)))).contains("last index");
    }
}
