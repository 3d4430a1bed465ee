package io.messenger.server.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.messenger.proto.client.Deliver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HistoryStoreTest {

    @TempDir
    Path dir;

    private static Deliver message(String room, long seq) {
        return Deliver.newBuilder().setRoom(room).setRoomSeq(seq).setSender("u" + (seq % 3)).setText("text " + seq)
                .setServerTimeMs(1000 + seq).build();
    }

    private static List<Long> seqs(List<Deliver> ds) {
        return ds.stream().map(Deliver::getRoomSeq).toList();
    }

    private static void fill(HistoryStore store, String room, long from, long through, long index) {
        for (long seq = from; seq <= through; seq++) {
            store.put(message(room, seq));
        }
        store.commit(index);
    }

    @Test
    void pagesAreTheNewestBeforeASequenceOldestFirstAndRoomsDoNotMix() throws Exception {
        try (HistoryStore store = HistoryStore.open(dir)) {
            fill(store, "a", 1, 300, 1);
            fill(store, "ab", 1, 5, 2); // a name that extends another must not leak into its range
            fill(store, "b", 1, 10, 3);

            List<Deliver> page = store.before("a", 1, 101, 20, Integer.MAX_VALUE);
            assertThat(seqs(page)).isEqualTo(LongStream.rangeClosed(81, 100).boxed().toList());
            assertThat(page.get(0)).isEqualTo(message("a", 81));
            assertThat(seqs(store.before("a", 1, Long.MAX_VALUE, 3, Integer.MAX_VALUE))).containsExactly(298L, 299L, 300L);
            assertThat(seqs(store.before("a", 95, 101, 20, Integer.MAX_VALUE))).first().isEqualTo(95L);
            assertThat(seqs(store.before("ab", 1, Long.MAX_VALUE, 100, Integer.MAX_VALUE))).hasSize(5);
            assertThat(store.before("c", 1, Long.MAX_VALUE, 100, Integer.MAX_VALUE)).isEmpty();
            assertThat(store.appliedIndex()).isEqualTo(3);
        }
    }

    @Test
    void aPageIsCutByBytesButNeverEmpty() throws Exception {
        try (HistoryStore store = HistoryStore.open(dir)) {
            fill(store, "a", 1, 100, 1);
            int one = message("a", 100).getSerializedSize() + 8; // the largest of the newest ten
            assertThat(store.before("a", 1, 101, 100, one * 10)).hasSize(10);
            assertThat(store.before("a", 1, 101, 100, 1)).hasSize(1);
        }
    }

    @Test
    void scanStreamsInOrderAndStopsWhenAsked() throws Exception {
        try (HistoryStore store = HistoryStore.open(dir)) {
            fill(store, "a", 1, 50, 1);
            List<Long> seen = new ArrayList<>();
            store.scan("a", 10, 40, d -> seen.add(d.getRoomSeq()) && seen.size() < 5);
            assertThat(seen).containsExactly(10L, 11L, 12L, 13L, 14L);
            seen.clear();
            store.scan("a", 45, 1000, d -> seen.add(d.getRoomSeq()));
            assertThat(seen).containsExactly(45L, 46L, 47L, 48L, 49L, 50L);
        }
    }

    @Test
    void deletesAreRangesAndEverythingSurvivesAReopen() throws Exception {
        try (HistoryStore store = HistoryStore.open(dir)) {
            fill(store, "a", 1, 100, 7);
            fill(store, "b", 1, 100, 8);
            store.deleteThrough("a", 60);
            store.deleteThrough("a", 60); // idempotent, as on replay
            store.commit(9);
        }
        try (HistoryStore store = HistoryStore.open(dir)) {
            assertThat(store.appliedIndex()).isEqualTo(9);
            assertThat(seqs(store.before("a", 0, Long.MAX_VALUE, 1000, Integer.MAX_VALUE)))
                    .isEqualTo(LongStream.rangeClosed(61, 100).boxed().toList());
            assertThat(store.before("b", 0, Long.MAX_VALUE, 1000, Integer.MAX_VALUE)).hasSize(100);
            assertThat(store.sizeBytes()).isPositive();
        }
    }

    @Test
    void aCheckpointIsACopyThatCanReplaceTheLiveStore() throws Exception {
        Path live = dir.resolve("live");
        Path copy = dir.resolve("copy");
        try (HistoryStore store = HistoryStore.open(live)) {
            fill(store, "a", 1, 10, 1);
            store.checkpoint(copy);
            fill(store, "a", 11, 20, 2);
            assertThat(store.before("a", 0, Long.MAX_VALUE, 100, Integer.MAX_VALUE)).hasSize(20);
            store.replaceWith(copy);
            assertThat(store.appliedIndex()).isEqualTo(1);
            assertThat(seqs(store.before("a", 0, Long.MAX_VALUE, 100, Integer.MAX_VALUE))).hasSize(10).last()
                    .isEqualTo(10L);
        }
    }

    @Test
    void aClosedStoreRefusesReads() throws Exception {
        HistoryStore store = HistoryStore.open(dir);
        store.close();
        store.close();
        assertThatThrownBy(() -> store.before("a", 0, 10, 10, 1000)).isInstanceOf(IllegalStateException.class);
        assertThat(store.sizeBytes()).isZero();
    }
}
