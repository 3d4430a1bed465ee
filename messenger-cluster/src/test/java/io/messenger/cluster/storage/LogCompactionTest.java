package io.messenger.cluster.storage;

import static io.messenger.cluster.storage.LogFixtures.entries;
import static io.messenger.cluster.storage.LogFixtures.segmentFiles;
import static io.messenger.cluster.storage.LogFixtures.sizedEntries;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.messenger.proto.peer.Entry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Compaction of the file-backed and the in-memory log to a snapshot point. */
class LogCompactionTest {

    // 100-byte commands: about ten records per 1 KiB segment.
    private static final LogStorageOptions SMALL_SEGMENTS =
            LogStorageOptions.DEFAULTS.withSegmentBytes(1024).withCachedEntries(0);

    @TempDir
    Path dir;

    private final List<SegmentedLogStorage> opened = new ArrayList<>();

    @AfterEach
    void closeAll() {
        opened.forEach(SegmentedLogStorage::close);
    }

    private SegmentedLogStorage open(LogStorageOptions options) {
        SegmentedLogStorage log = SegmentedLogStorage.open(dir, options, durable -> { });
        opened.add(log);
        return log;
    }

    private static void awaitDurable(LogStorage log) {
        await().atMost(Duration.ofSeconds(30)).until(() -> log.durableIndex() == log.lastIndex());
    }

    @ParameterizedTest(name = "cached entries {0}")
    @ValueSource(ints = {0, 8192})
    void compactionDeletesWholeSegmentsAndKeepsTheRestReadable(int cachedEntries) {
        SegmentedLogStorage log = open(SMALL_SEGMENTS.withCachedEntries(cachedEntries));
        log.append(sizedEntries(1, 1, 100, 100));
        log.append(sizedEntries(2, 101, 200, 100));
        awaitDurable(log);
        int segmentsBefore = segmentFiles(dir).size();
        long bytesBefore = log.sizeInBytes();

        long first = log.compactTo(150);

        assertThat(first).isGreaterThan(100).isLessThanOrEqualTo(151);
        assertThat(log.firstIndex()).isEqualTo(first);
        assertThat(log.epochAt(first - 1)).isEqualTo(2);
        assertThat(log.sizeInBytes()).isLessThan(bytesBefore);
        assertThatThrownBy(() -> log.entry(first - 1)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> log.entries(1, 10, Long.MAX_VALUE)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> log.epochAt(first - 2)).isInstanceOf(IndexOutOfBoundsException.class);
        for (long i = first; i <= 200; i++) {
            assertThat(log.entry(i).getIndex()).isEqualTo(i);
        }
        assertThat(log.entries(first, 1000, Long.MAX_VALUE)).hasSize((int) (200 - first + 1));
        await().atMost(Duration.ofSeconds(30)).until(() -> segmentFiles(dir).size() < segmentsBefore);
        assertThat(dir.resolve(SegmentedLogStorage.BASE_FILE)).exists();
    }

    @Test
    void theBaseSurvivesARestartAndAppendsContinue() {
        SegmentedLogStorage log = open(SMALL_SEGMENTS);
        log.append(sizedEntries(1, 1, 50, 100));
        log.append(sizedEntries(3, 51, 100, 100));
        awaitDurable(log);
        long first = log.compactTo(80);
        log.append(sizedEntries(4, 101, 110, 100));
        awaitDurable(log);
        log.close();

        SegmentedLogStorage reopened = open(SMALL_SEGMENTS);

        assertThat(reopened.firstIndex()).isEqualTo(first);
        assertThat(reopened.lastIndex()).isEqualTo(110);
        assertThat(reopened.lastEpoch()).isEqualTo(4);
        assertThat(reopened.epochAt(first - 1)).isEqualTo(3);
        assertThat(reopened.entry(first).getIndex()).isEqualTo(first);
        reopened.truncateFrom(105);
        reopened.append(sizedEntries(5, 105, 106, 100));
        assertThat(reopened.lastEpoch()).isEqualTo(5);
        assertThatThrownBy(() -> reopened.truncateFrom(first - 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aResetToASnapshotDropsEveryEntryAndTheLogContinuesFromItAcrossARestart() {
        SegmentedLogStorage log = open(SMALL_SEGMENTS);
        log.append(sizedEntries(1, 1, 60, 100));
        awaitDurable(log);

        log.resetTo(500, 3);

        assertThat(log.firstIndex()).isEqualTo(501);
        assertThat(log.lastIndex()).isEqualTo(500);
        assertThat(log.lastEpoch()).isEqualTo(3);
        assertThat(log.epochAt(500)).isEqualTo(3);
        assertThatThrownBy(() -> log.entry(60)).isInstanceOf(IndexOutOfBoundsException.class);
        await().atMost(Duration.ofSeconds(30)).until(() -> log.durableIndex() == 500);
        log.append(sizedEntries(4, 501, 520, 100));
        awaitDurable(log);
        log.close();

        SegmentedLogStorage reopened = open(SMALL_SEGMENTS);

        assertThat(reopened.firstIndex()).isEqualTo(501);
        assertThat(reopened.lastIndex()).isEqualTo(520);
        assertThat(reopened.epochAt(500)).isEqualTo(3);
        assertThat(reopened.entry(501).getEpoch()).isEqualTo(4);
        assertThat(reopened.entries(501, 100, Long.MAX_VALUE)).hasSize(20);
        assertThat(segmentFiles(dir))
                .allMatch(p -> Long.parseLong(p.getFileName().toString().replaceAll("\\D", "")) > 500);
    }

    @Test
    void theMemoryLogResetsToASnapshotToo() {
        MemoryLogStorage log = new MemoryLogStorage();
        log.append(entries(1, 1, 10));
        log.makeDurable(10);
        log.resetTo(40, 2);
        assertThat(log.firstIndex()).isEqualTo(41);
        assertThat(log.lastIndex()).isEqualTo(40);
        assertThat(log.durableIndex()).isEqualTo(40);
        assertThat(log.epochAt(40)).isEqualTo(2);
        log.append(entries(2, 41, 45));
        log.crash();
        assertThat(log.lastIndex()).isEqualTo(40); // only the base was durable
    }

    @Test
    void theLastSegmentIsNeverDeleted() {
        SegmentedLogStorage log = open(SMALL_SEGMENTS);
        log.append(sizedEntries(1, 1, 40, 100));
        awaitDurable(log);

        long first = log.compactTo(40);

        assertThat(first).isLessThanOrEqualTo(40);
        assertThat(log.entry(40).getIndex()).isEqualTo(40);
    }

    @Test
    void entriesNotYetDurableAreNotCompacted() {
        SegmentedLogStorage log = open(SMALL_SEGMENTS);
        log.append(sizedEntries(1, 1, 40, 100));
        awaitDurable(log);
        long durable = log.durableIndex();

        long first = log.compactTo(Long.MAX_VALUE);

        assertThat(first - 1).isLessThanOrEqualTo(durable);
    }

    @Test
    void segmentsLeftByACompactionThatCrashedBeforeItsDeletesAreRemovedOnOpen() throws Exception {
        SegmentedLogStorage log = open(SMALL_SEGMENTS);
        log.append(sizedEntries(1, 1, 60, 100));
        awaitDurable(log);
        List<Path> before = segmentFiles(dir);
        List<byte[]> copies = new ArrayList<>();
        for (Path p : before) {
            copies.add(Files.readAllBytes(p));
        }
        long first = log.compactTo(45);
        log.close();
        // Bring back every segment, as if the crash came after the base was written but before the unlinks.
        for (int i = 0; i < before.size(); i++) {
            Files.write(before.get(i), copies.get(i));
        }

        SegmentedLogStorage reopened = open(SMALL_SEGMENTS);

        assertThat(reopened.firstIndex()).isEqualTo(first);
        assertThat(reopened.lastIndex()).isEqualTo(60);
        assertThat(segmentFiles(dir).get(0).getFileName().toString())
                .isEqualTo(String.format("segment-%020d.log", first));
    }

    @Test
    void aDamagedBaseFileStopsTheOpen() throws Exception {
        SegmentedLogStorage log = open(SMALL_SEGMENTS);
        log.append(sizedEntries(1, 1, 60, 100));
        awaitDurable(log);
        log.compactTo(45);
        log.close();
        byte[] base = Files.readAllBytes(dir.resolve(SegmentedLogStorage.BASE_FILE));
        base[6] ^= 1;
        Files.write(dir.resolve(SegmentedLogStorage.BASE_FILE), base);

        assertThatThrownBy(() -> open(SMALL_SEGMENTS)).hasMessageContaining("log-base");
    }

    @Test
    void theMemoryLogCompactsExactlyToTheDurablePoint() {
        MemoryLogStorage log = new MemoryLogStorage();
        log.append(entries(1, 1, 10));
        log.append(entries(2, 11, 20));
        log.makeDurable(15);

        assertThat(log.compactTo(18)).isEqualTo(16);
        assertThat(log.epochAt(15)).isEqualTo(2);
        assertThat(log.lastIndex()).isEqualTo(20);
        assertThat(log.entries(16, 100, Long.MAX_VALUE)).extracting(Entry::getIndex)
                .containsExactly(16L, 17L, 18L, 19L, 20L);
        assertThatThrownBy(() -> log.entry(15)).isInstanceOf(IndexOutOfBoundsException.class);

        log.crash();
        assertThat(log.lastIndex()).isEqualTo(15);
        assertThat(log.lastEpoch()).isEqualTo(2);
        log.append(entries(3, 16, 16));
        assertThat(log.lastEpoch()).isEqualTo(3);
    }
}
