package io.messenger.containers;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.messenger.containers.RoomHistory.Line;
import io.messenger.containers.RoomHistory.Sent;
import io.messenger.containers.RoomHistory.View;

class RoomHistoryTest {

    private static final Line A = new Line(1, "w1", "a");
    private static final Line B = new Line(2, "w2", "b");
    private static final Line C = new Line(3, "w1", "c");
    private static final List<Sent> SENT = List.of(
            new Sent("w1", "a", 1L, null), new Sent("w2", "b", 2L, null), new Sent("w1", "c", 3L, null));

    @Test
    void aCleanHistoryHasNoViolations() {
        assertThat(RoomHistory.violations(SENT, List.of(
                new View("r1", true, List.of(A, B, C)),
                new View("w1", false, List.of(B, C))))).isEmpty();
    }

    @Test
    void anAcknowledgedLineMissingFromACompleteViewIsLost() {
        assertThat(RoomHistory.violations(SENT, List.of(
                new View("r1", true, List.of(A, B, C)),
                new View("r2", true, List.of(A, C)))))
                .containsExactlyInAnyOrder("r2 missed room seqs 2..2",
                        "acknowledged 'b' (room seq 2) never reached r2");
    }

    @Test
    void anAcknowledgedLineNobodySawIsLost() {
        assertThat(RoomHistory.violations(SENT, List.of(new View("w1", false, List.of(A, C)))))
                .containsExactly("acknowledged 'b' (room seq 2) was delivered to nobody");
    }

    @Test
    void aRepeatedLineIsADuplicate() {
        assertThat(RoomHistory.violations(SENT, List.of(new View("r1", true, List.of(A, B, B, C)))))
                .containsExactly("r1 got room seq 2 after 2 (duplicate or out of order)",
                        "r1 got 'b' twice (room seqs 2 and 2)");
    }

    @Test
    void aTextCommittedTwiceIsADuplicate() {
        Line again = new Line(4, "w1", "a");
        assertThat(RoomHistory.violations(SENT, List.of(new View("r1", true, List.of(A, B, C, again)))))
                .containsExactly("r1 got 'a' twice (room seqs 1 and 4)");
    }

    @Test
    void twoClientsDisagreeingOnASeqBreakTheOneOrder() {
        assertThat(RoomHistory.violations(SENT, List.of(
                new View("r1", true, List.of(A, B, C)),
                new View("r2", false, List.of(A, new Line(2, "w1", "c"))))))
                .containsExactly("room seq 2 is 'b' from w2 for one client and 'c' from w1 for r2");
    }

    @Test
    void failedUnacknowledgedAndPhantomLinesAreReported() {
        List<Sent> sent = List.of(new Sent("w1", "a", 1L, null), new Sent("w1", "x", null, "buffer full"),
                new Sent("w2", "y", null, null));
        assertThat(RoomHistory.violations(sent, List.of(new View("r1", true, List.of(A, new Line(2, "w3", "z"))))))
                .containsExactlyInAnyOrder("send 'x' failed: buffer full", "send 'y' was never acknowledged",
                        "room seq 2 carries 'z', which nobody sent");
    }
}
