package io.messenger.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.bench.load.Verifier.MessageRef;
import java.util.List;
import org.junit.jupiter.api.Test;

class FailoverReportTest {

    /** Two senders; a kill's window runs from its counter cut to the next kill's. */
    @Test
    void lossesAreChargedToTheKillWhoseWindowTheirMessageWasSentIn() {
        long[] firstKill = {10, 20};
        long[] secondKill = {15, 30};
        List<MessageRef> lost = List.of(
                new MessageRef(1, 0, 9),   // before the first kill
                new MessageRef(1, 0, 10),  // first window
                new MessageRef(2, 1, 29),  // first window
                new MessageRef(2, 1, 30),  // second window
                new MessageRef(0, 0, 99)); // second window, open-ended

        assertThat(FailoverCommand.FailoverReport.count(lost, firstKill, secondKill)).isEqualTo(2);
        assertThat(FailoverCommand.FailoverReport.count(lost, secondKill, null)).isEqualTo(2);
        assertThat(FailoverCommand.FailoverReport.count(lost, null, null)).isZero();
    }
}
