package io.messenger.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Hand-made histories, each breaking one promise of the delivery contract, must fail the checker. */
class HistoryCheckerTest {

    private History history;

    @BeforeEach
    void twoClientsInLobby() {
        history = new History();
        history.register("a1", "alice", "lobby");
        history.register("b1", "bob", "lobby");
        history.joined("a1", 0);
        history.joined("b1", 0);
    }

    /** alice sends text, acked at seq; both see it. */
    private void chat(String client, String user, String text, long seq) {
        history.sent(client, text);
        history.acked(text, seq);
        history.delivered("a1", "lobby", seq, user, text, false);
        history.delivered("b1", "lobby", seq, user, text, false);
    }

    @Test
    void aCorrectHistoryPasses() {
        chat("a1", "alice", "a#1", 1);
        chat("b1", "bob", "b#1", 2);
        chat("a1", "alice", "a#2", 3);
        history.register("n1", "nick", "lobby");
        history.delivered("n1", "lobby", 2, "bob", "b#1", true);
        history.delivered("n1", "lobby", 3, "alice", "a#2", true);
        history.joined("n1", 3);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).as(verdict.toString()).isTrue();
        assertThat(verdict.sent()).isEqualTo(3);
        assertThat(verdict.acked()).isEqualTo(3);
        assertThat(verdict.delivered()).isEqualTo(8);
    }

    @Test
    void anUnacknowledgedSendThatLandedOnceIsAllowed() {
        chat("a1", "alice", "a#1", 1);
        history.sent("a1", "a#2");
        history.failed("a#2", "buffer full");
        history.delivered("a1", "lobby", 2, "alice", "a#2", false);
        history.delivered("b1", "lobby", 2, "alice", "a#2", false);
        history.sent("a1", "a#3");
        history.failed("a#3", "closed");

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).as(verdict.toString()).isTrue();
        assertThat(verdict.unacked()).isEqualTo(2);
        assertThat(verdict.unackedLanded()).isEqualTo(1);
    }

    @Test
    void failedAndNeverAcknowledgedSendsAreNamedWithTheirReason() {
        chat("a1", "alice", "a#1", 1);
        history.sent("a1", "a#2");
        history.failed("a#2", "buffer full");
        history.sent("b1", "b#1");

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        // Allowed by the contract, but a test in which every send must be acknowledged needs to see them.
        assertThat(verdict.ok()).as(verdict.toString()).isTrue();
        assertThat(verdict.unacked()).isEqualTo(2);
        assertThat(verdict.unackedSends()).containsExactly(
                "lobby: \"a#2\" by a1 failed: buffer full",
                "lobby: \"b#1\" by b1 was never acknowledged");
        assertThat(verdict.toString()).contains("unacknowledged: lobby: \"a#2\" by a1 failed: buffer full");
    }

    @Test
    void anAcknowledgedMessageNobodyReceivedIsLost() {
        chat("a1", "alice", "a#1", 1);
        history.sent("a1", "a#2");
        history.acked("a#2", 2);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.lost()).isEqualTo(1);
        assertThat(verdict.anomalies()).anyMatch(a -> a.startsWith("lost") && a.contains("a#2"));
    }

    @Test
    void anAcknowledgedMessageOneStayingMemberMissedIsLost() {
        chat("a1", "alice", "a#1", 1);
        history.sent("a1", "a#2");
        history.acked("a#2", 2);
        history.delivered("a1", "lobby", 2, "alice", "a#2", false);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.lost()).isEqualTo(1);
        assertThat(verdict.missedDeliveries()).isEqualTo(1);
        assertThat(verdict.anomalies()).anyMatch(a -> a.contains("never reached b1"));
    }

    @Test
    void aMemberWhoLeftIsNotExpectedToSeeLaterMessages() {
        chat("a1", "alice", "a#1", 1);
        history.left("b1");
        history.sent("a1", "a#2");
        history.acked("a#2", 2);
        history.delivered("a1", "lobby", 2, "alice", "a#2", false);

        assertThat(HistoryChecker.check(history).ok()).isTrue();
    }

    @Test
    void aMessageDeliveredTwiceToOneReceiverIsADuplicate() {
        chat("a1", "alice", "a#1", 1);
        history.delivered("b1", "lobby", 1, "alice", "a#1", false);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.duplicated()).isEqualTo(1);
    }

    @Test
    void aResendAppliedTwiceIsADuplicate() {
        chat("a1", "alice", "a#1", 1);
        // The resend after failover was applied again as seq 2 instead of being deduplicated.
        history.delivered("a1", "lobby", 2, "alice", "a#1", false);
        history.delivered("b1", "lobby", 2, "alice", "a#1", false);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.duplicated()).isGreaterThanOrEqualTo(1);
        assertThat(verdict.anomalies()).anyMatch(a -> a.contains("occupies room seqs [1, 2]"));
    }

    @Test
    void aSecondDifferentAckIsADuplicate() {
        chat("a1", "alice", "a#1", 1);
        history.acked("a#1", 7);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.duplicated()).isEqualTo(1);
    }

    @Test
    void aHoleInAReceiversSequenceIsAGap() {
        history.sent("a1", "a#1");
        history.failed("a#1", "closed");
        history.delivered("a1", "lobby", 1, "alice", "a#1", false);
        chat("a1", "alice", "a#2", 2);
        // b1 never got seq 1, an unacknowledged send that did land: not "lost", still a gap.
        history.sent("b1", "b#1");
        history.acked("b#1", 3);
        history.delivered("a1", "lobby", 3, "bob", "b#1", false);
        history.delivered("b1", "lobby", 3, "bob", "b#1", false);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.lost()).isZero();
        assertThat(verdict.missedDeliveries()).isEqualTo(1);
        assertThat(verdict.anomalies()).anyMatch(a -> a.startsWith("gap") && a.contains("b1") && a.contains("[1]"));
    }

    @Test
    void aLateJoinerWhoseHistoryStopsShortOfItsJoinPointHasAGap() {
        chat("a1", "alice", "a#1", 1);
        chat("a1", "alice", "a#2", 2);
        chat("a1", "alice", "a#3", 3);
        history.register("n1", "nick", "lobby");
        history.delivered("n1", "lobby", 1, "alice", "a#1", true);
        history.delivered("n1", "lobby", 2, "alice", "a#2", true);
        history.joined("n1", 3);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.lost()).isEqualTo(1);
    }

    @Test
    void deliveriesThatGoBackwardsAreOutOfOrder() {
        history.sent("a1", "a#1");
        history.acked("a#1", 1);
        history.sent("a1", "a#2");
        history.acked("a#2", 2);
        history.delivered("a1", "lobby", 1, "alice", "a#1", false);
        history.delivered("a1", "lobby", 2, "alice", "a#2", false);
        history.delivered("b1", "lobby", 2, "alice", "a#2", false);
        history.delivered("b1", "lobby", 1, "alice", "a#1", false);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.outOfOrder()).isEqualTo(1);
        assertThat(verdict.lost()).isZero();
    }

    @Test
    void aDeliveryBeforeTheRoomsFirstSeqIsOutOfOrder() {
        history.sent("a1", "a#1");
        history.acked("a#1", 1);
        history.delivered("a1", "lobby", 1, "alice", "a#1", false);
        history.sent("b1", "b#1");
        history.acked("b#1", 2);
        history.delivered("a1", "lobby", 2, "bob", "b#1", false);
        // Room seqs start at 1: a message at seq 0 is outside the room's order.
        history.delivered("b1", "lobby", 0, "alice", "a#1", false);
        history.delivered("b1", "lobby", 1, "alice", "a#1", false);
        history.delivered("b1", "lobby", 2, "bob", "b#1", false);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.outOfOrder()).isGreaterThanOrEqualTo(1);
        assertThat(verdict.anomalies()).anyMatch(a -> a.startsWith("out-of-order") && a.contains("seq 0"));
    }

    @Test
    void sendsAcknowledgedAgainstTheirSendOrderAreOutOfOrder() {
        history.sent("a1", "a#1");
        history.sent("a1", "a#2");
        history.acked("a#2", 1);
        history.acked("a#1", 2);
        for (String client : new String[] {"a1", "b1"}) {
            history.delivered(client, "lobby", 1, "alice", "a#2", false);
            history.delivered(client, "lobby", 2, "alice", "a#1", false);
        }

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.outOfOrder()).isEqualTo(1);
    }

    @Test
    void aMessageNobodySentIsAPhantom() {
        chat("a1", "alice", "a#1", 1);
        history.delivered("a1", "lobby", 2, "mallory", "hello", false);
        history.delivered("b1", "lobby", 2, "mallory", "hello", false);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.phantoms()).isEqualTo(1);
    }

    @Test
    void aMessageAttributedToTheWrongSenderIsAPhantom() {
        chat("a1", "alice", "a#1", 1);
        history.sent("a1", "a#2");
        history.acked("a#2", 2);
        history.delivered("a1", "lobby", 2, "alice", "a#2", false);
        history.delivered("b1", "lobby", 2, "bob", "a#2", false);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.phantoms()).isEqualTo(1);
    }

    @Test
    void receiversThatDisagreeOnTheOrderAreConflicts() {
        history.sent("a1", "a#1");
        history.acked("a#1", 1);
        history.sent("b1", "b#1");
        history.acked("b#1", 2);
        // Two leaders each ordered the room their own way.
        history.delivered("a1", "lobby", 1, "alice", "a#1", false);
        history.delivered("a1", "lobby", 2, "bob", "b#1", false);
        history.delivered("b1", "lobby", 1, "bob", "b#1", false);
        history.delivered("b1", "lobby", 2, "alice", "a#1", false);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.conflicts()).isEqualTo(2);
    }

    @Test
    void anAckNamingASeqThatCarriesAnotherMessageIsAConflict() {
        chat("a1", "alice", "a#1", 1);
        history.sent("b1", "b#1");
        history.acked("b#1", 1);
        history.delivered("a1", "lobby", 2, "bob", "b#1", false);
        history.delivered("b1", "lobby", 2, "bob", "b#1", false);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.conflicts()).isEqualTo(1);
        assertThat(verdict.anomalies()).anyMatch(a -> a.startsWith("conflict") && a.contains("lobby seq 1"));
    }

    @Test
    void aNewcomerWhoseHistoryDivergesFromTheLiveOrderIsAConflict() {
        chat("a1", "alice", "a#1", 1);
        chat("b1", "bob", "b#1", 2);
        history.register("n1", "nick", "lobby");
        history.delivered("n1", "lobby", 1, "bob", "b#1", true);
        history.delivered("n1", "lobby", 2, "alice", "a#1", true);
        history.joined("n1", 2);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).isFalse();
        assertThat(verdict.conflicts()).isEqualTo(2);
    }

    @Test
    void roomsAreJudgedSeparately() {
        chat("a1", "alice", "a#1", 1);
        history.register("c1", "carol", "kitchen");
        history.joined("c1", 0);
        history.sent("c1", "c#1");
        history.acked("c#1", 1);
        history.delivered("c1", "kitchen", 1, "carol", "c#1", false);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);

        assertThat(verdict.ok()).as(verdict.toString()).isTrue();
    }

    /** Two messages, then carol connects and is welcomed at seq 2; alice and bob hear her join, as they must. */
    private void carolJoinsAfterTwoMessages() {
        chat("a1", "alice", "a#1", 1);
        chat("b1", "bob", "b#1", 2);
        history.register("c1", "carol", "lobby");
        history.connecting("c1");
        history.delivered("c1", "lobby", 1, "alice", "a#1", true);
        history.delivered("c1", "lobby", 2, "bob", "b#1", true);
        history.joined("c1", 2);
    }

    private long presenceBreaches() {
        HistoryChecker.Verdict verdict = HistoryChecker.check(history);
        assertThat(verdict.lost() + verdict.missedDeliveries() + verdict.duplicated() + verdict.outOfOrder()
                + verdict.phantoms() + verdict.conflicts()).as(verdict.toString()).isZero();
        return verdict.presence();
    }

    @Test
    void correctPresencePasses() {
        carolJoinsAfterTwoMessages();
        history.presence("a1", "carol", true);
        history.presence("b1", "carol", true);
        history.left("c1");
        history.presence("a1", "carol", false);
        history.presence("b1", "carol", false);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);
        assertThat(verdict.ok()).as(verdict.toString()).isTrue();
        assertThat(verdict.presence()).isZero();
    }

    @Test
    void hearingAboutOneselfIsCaught() {
        history.presence("a1", "alice", true);
        assertThat(presenceBreaches()).isEqualTo(1);
    }

    @Test
    void presenceOfAUserNobodyWasIsCaught() {
        history.presence("a1", "mallory", true);
        assertThat(presenceBreaches()).isEqualTo(1);
    }

    @Test
    void aLeaveWithoutACloseIsCaught() {
        // bob's session survived a failover: his device came back with the same client id and never closed.
        history.connectionLost("b1");
        history.presence("a1", "bob", false);
        assertThat(presenceBreaches()).isEqualTo(1);
    }

    @Test
    void aJoinAnnouncedAgainOnResumeIsCaught() {
        carolJoinsAfterTwoMessages();
        history.presence("a1", "carol", true);
        history.presence("b1", "carol", true);
        chat("a1", "alice", "a#2", 3);
        history.delivered("c1", "lobby", 3, "alice", "a#2", false);
        // carol's client reconnected after a failover and resumed; a receiver that itself reconnected (so
        // the alternation rule does not apply to it) hears her join again.
        history.connectionLost("a1");
        history.presence("a1", "carol", true);
        assertThat(presenceBreaches()).isEqualTo(1);
    }

    @Test
    void aJoinOutOfStepWithTheMessagesIsCaught() {
        carolJoinsAfterTwoMessages();
        history.presence("b1", "carol", true);
        chat("a1", "alice", "a#2", 3);
        history.delivered("c1", "lobby", 3, "alice", "a#2", false);
        // alice hears the join only after seq 3, though carol was welcomed at seq 2.
        history.presence("a1", "carol", true);
        assertThat(presenceBreaches()).isEqualTo(1);
    }

    @Test
    void aJoinMissedByAConnectedMemberIsCaught() {
        carolJoinsAfterTwoMessages();
        history.presence("a1", "carol", true);
        assertThat(presenceBreaches()).isEqualTo(1);
    }

    @Test
    void aJoinHeardTwiceByAConnectedMemberIsCaught() {
        carolJoinsAfterTwoMessages();
        history.presence("a1", "carol", true);
        history.presence("b1", "carol", true);
        history.presence("b1", "carol", true);
        // Once for two joins in a row, once for not hearing exactly one.
        assertThat(presenceBreaches()).isEqualTo(2);
    }

    @Test
    void aLeaveMissedByAConnectedMemberIsCaught() {
        carolJoinsAfterTwoMessages();
        history.presence("a1", "carol", true);
        history.presence("b1", "carol", true);
        history.left("c1");
        history.presence("a1", "carol", false);
        assertThat(presenceBreaches()).isEqualTo(1);
    }

    @Test
    void aMemberThatLostItsConnectionMayMissPresence() {
        carolJoinsAfterTwoMessages();
        history.presence("a1", "carol", true);
        history.connectionLost("b1");
        history.left("c1");
        history.presence("a1", "carol", false);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);
        assertThat(verdict.ok()).as(verdict.toString()).isTrue();
    }
}
