package io.messenger.server.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.messenger.proto.chat.ClientSendsSnapshot;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** The per-client dedup window: a ring of increasing send sequences. */
class ClientSendsTest {

    @Test
    void remembersTheLastWindowOfSendsAcrossGrowthAndWrapAround() {
        ClientSends sends = new ClientSends(100);
        for (long seq = 1; seq <= 1000; seq++) {
            sends.record(seq, 10 * seq);
        }
        assertThat(sends.highest()).isEqualTo(1000);
        assertThat(sends.rememberedSeqs()).containsExactly(LongStream.rangeClosed(901, 1000).toArray());
        assertThat(sends.roomSeqOf(901)).isEqualTo(9010);
        assertThat(sends.roomSeqOf(1000)).isEqualTo(10_000);
        assertThat(sends.roomSeqOf(900)).as("fell out of the window").isZero();
        assertThat(sends.applied(900)).isTrue();
        assertThat(sends.applied(1001)).isFalse();
    }

    @Test
    void agreesWithAMapOfTheLastSendsForSequencesWithGaps() {
        Random random = new Random(11);
        ClientSends sends = new ClientSends(37);
        Map<Long, Long> expected = new HashMap<>();
        long seq = 0;
        ArrayDeque<Long> order = new ArrayDeque<>();
        for (int i = 0; i < 5000; i++) {
            seq += 1 + random.nextInt(3); // refused sends leave gaps
            sends.record(seq, i);
            expected.put(seq, (long) i);
            order.addLast(seq);
            if (order.size() > 37) {
                expected.remove(order.removeFirst());
            }
            long probe = 1 + random.nextInt((int) seq);
            assertThat(sends.roomSeqOf(probe)).as("send %d", probe).isEqualTo(expected.getOrDefault(probe, 0L));
        }
    }

    @Test
    void aCaptureIsACopyThatLaterSendsDoNotChange() {
        ClientSends sends = new ClientSends(4);
        for (long seq = 1; seq <= 6; seq++) {
            sends.record(seq, seq + 100);
        }
        ClientSends.Captured captured = sends.capture("phone");
        sends.record(7, 107);
        ClientSendsSnapshot proto = captured.toProto();
        assertThat(proto.getClientId()).isEqualTo("phone");
        assertThat(proto.getHighest()).isEqualTo(6);
        assertThat(proto.getSeqsList()).containsExactly(3L, 4L, 5L, 6L);
        assertThat(proto.getRoomSeqsList()).containsExactly(103L, 104L, 105L, 106L);

        ClientSends restored = ClientSends.restore(proto, 4);
        assertThat(restored.toString()).isEqualTo("highest=6 window={3=103, 4=104, 5=105, 6=106}");
        ClientSends smaller = ClientSends.restore(proto, 2);
        assertThat(smaller.rememberedSeqs()).as("the newest entries are kept").containsExactly(5, 6);
        assertThat(smaller.highest()).isEqualTo(6);
    }

    @Test
    void aSendNotAboveTheHighestIsRefused() {
        ClientSends sends = new ClientSends(8);
        sends.record(5, 1);
        assertThatThrownBy(() -> sends.record(5, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> sends.record(3, 2)).isInstanceOf(IllegalArgumentException.class);
        assertThat(sends.roomSeqOf(5)).isEqualTo(1);
    }
}
