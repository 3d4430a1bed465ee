package io.messenger.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class VerifierTest {

    /** Clients 0, 1, 2 in room 0; client 3 alone in room 1. */
    private final Verifier verifier = new Verifier(new int[] {0, 0, 0, 1});

    private void ackAndDeliverToAll(int sender, long counter, long roomSeq) {
        verifier.acked(sender, counter);
        for (int receiver = 0; receiver < 3; receiver++) {
            verifier.delivered(receiver, sender, counter, roomSeq);
        }
    }

    @Test
    void everyAckedMessageDeliveredOnceInOrderPasses() {
        ackAndDeliverToAll(0, 1, 1);
        ackAndDeliverToAll(1, 1, 2);
        ackAndDeliverToAll(0, 2, 3);

        Verifier.Verdict verdict = verifier.verify();

        assertThat(verdict.ok()).isTrue();
        assertThat(verdict.acked()).isEqualTo(3);
        assertThat(verdict.summary()).startsWith("ok");
        assertThat(verifier.outstanding()).isZero();
    }

    @Test
    void ackedMessageMissingAtOneMemberIsLoss() {
        verifier.acked(0, 1);
        verifier.delivered(0, 0, 1, 1);
        verifier.delivered(1, 0, 1, 1);

        assertThat(verifier.outstanding()).isEqualTo(1);
        Verifier.Verdict verdict = verifier.verify();

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.lost()).isEqualTo(1);
        assertThat(verdict.summary()).isEqualTo("FAILURE: 1 lost");
        assertThat(verdict.examples()).anyMatch(s -> s.contains("client 2 never got 1"));
        assertThat(verifier.lostMessages(10)).containsExactly(new Verifier.MessageRef(2, 0, 1));
    }

    @Test
    void unackedMessageNeverDeliveredIsNotLoss() {
        ackAndDeliverToAll(0, 1, 1);
        // message 2 was sent but neither acked nor delivered before the run ended

        assertThat(verifier.verify().ok()).isTrue();
    }

    @Test
    void deliveredTwiceIsDuplicate() {
        ackAndDeliverToAll(0, 1, 1);
        verifier.delivered(2, 0, 1, 1);

        Verifier.Verdict verdict = verifier.verify();

        assertThat(verdict.duplicates()).isEqualTo(1);
        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.summary()).contains("1 duplicate");
        assertThat(verifier.duplicateMessages()).containsExactly(new Verifier.MessageRef(2, 0, 1));
    }

    @Test
    void laterCounterBeforeEarlierIsReorder() {
        verifier.acked(0, 1);
        verifier.acked(0, 2);
        verifier.delivered(1, 0, 2, 0);
        verifier.delivered(1, 0, 1, 0);

        Verifier.Verdict verdict = verifier.verify();

        assertThat(verdict.reordered()).isEqualTo(1);
        assertThat(verdict.duplicates()).isZero();
        assertThat(verdict.summary()).contains("1 reordered");
    }

    @Test
    void roomPositionGoingBackwardsIsReorderEvenAcrossSenders() {
        verifier.acked(0, 1);
        verifier.acked(1, 1);
        verifier.delivered(2, 1, 1, 6);
        verifier.delivered(2, 0, 1, 5);

        assertThat(verifier.verify().reordered()).isEqualTo(1);
    }

    @Test
    void twoReceiversDisagreeingOnRoomOrderIsMismatch() {
        verifier.acked(0, 1);
        verifier.acked(1, 1);
        verifier.delivered(0, 0, 1, 1);
        verifier.delivered(0, 1, 1, 2);
        verifier.delivered(2, 1, 1, 1);
        verifier.delivered(2, 0, 1, 2);

        Verifier.Verdict verdict = verifier.verify();

        assertThat(verdict.orderMismatches()).isEqualTo(2);
        assertThat(verdict.ok()).isFalse();
    }

    @Test
    void messageFromAnotherRoomIsMisrouted() {
        verifier.acked(3, 1);
        verifier.delivered(0, 3, 1, 1);

        assertThat(verifier.verify().unexpected()).isEqualTo(1);
    }

    @Test
    void systemThatNeverEchoesToTheSenderIsNotCountedAsLoss() {
        verifier.acked(0, 1);
        verifier.delivered(1, 0, 1, 1);
        verifier.delivered(2, 0, 1, 1);

        assertThat(verifier.verify().ok()).isTrue();
    }

    @Test
    void senderThatGetsSomeOfItsOwnMessagesMustGetAll() {
        verifier.acked(0, 1);
        verifier.acked(0, 2);
        for (int receiver = 0; receiver < 3; receiver++) {
            verifier.delivered(receiver, 0, 1, 1);
        }
        verifier.delivered(1, 0, 2, 2);
        verifier.delivered(2, 0, 2, 2);

        assertThat(verifier.verify().lost()).isEqualTo(1);
    }

    @Test
    void examplesAreBounded() {
        verifier.acked(0, 1);
        for (int i = 0; i < 50; i++) {
            verifier.delivered(1, 0, 1, 1);
        }

        Verifier.Verdict verdict = verifier.verify();

        assertThat(verdict.duplicates()).isEqualTo(49);
        assertThat(verdict.examples()).hasSize(Verifier.MAX_EXAMPLES);
    }
}
