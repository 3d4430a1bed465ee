package io.messenger.cluster.storage;

import static io.messenger.cluster.storage.LogFixtures.entries;
import static io.messenger.cluster.storage.LogFixtures.entry;
import static io.messenger.cluster.storage.LogFixtures.segmentFiles;
import static io.messenger.cluster.storage.LogFixtures.sized;
import static io.messenger.cluster.storage.LogFixtures.sizedEntries;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.messenger.proto.peer.Entry;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SegmentedLogStorageTest {

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
        return open(options, durable -> { });
    }

    private SegmentedLogStorage open(LogStorageOptions options, LogStorage.DurabilityListener listener) {
        SegmentedLogStorage log = SegmentedLogStorage.open(dir, options, listener);
        opened.add(log);
        return log;
    }

    private SegmentedLogStorage reopen(SegmentedLogStorage log, LogStorageOptions options) {
        log.close();
        return open(options);
    }

    private static void awaitDurable(LogStorage log) {
        // A slow CI disk fsyncs hundreds of segment files well past Awaitility's default 10 s.
        await().atMost(Duration.ofSeconds(30)).until(() -> log.durableIndex() == log.lastIndex());
    }

    // ------------------------------------------------------------ append and read

    @ParameterizedTest(name = "cached entries {0}")
    @ValueSource(ints = {0, 8192})
    void appendedEntriesAreReadableBeforeAndAfterTheyAreDurable(int cachedEntries) {
        SegmentedLogStorage log = open(LogStorageOptions.DEFAULTS.withCachedEntries(cachedEntries));
        assertThat(log.lastIndex()).isZero();
        assertThat(log.lastEpoch()).isZero();
        assertThat(log.epochAt(0)).isZero();
        assertThat(log.entries(1, 10, Long.MAX_VALUE)).isEmpty();

        log.append(entries(1, 1, 10));
        log.append(entries(3, 11, 20));
        assertReadable(log);
        awaitDurable(log);
        assertReadable(log); // now served from the segment file when nothing is cached
    }

    private static void assertReadable(LogStorage log) {
        assertThat(log.lastIndex()).isEqualTo(20);
        assertThat(log.lastEpoch()).isEqualTo(3);
        assertThat(log.epochAt(0)).isZero();
        assertThat(log.epochAt(10)).isEqualTo(1);
        assertThat(log.epochAt(11)).isEqualTo(3);
        assertThat(log.entry(1)).isEqualTo(entry(1, 1));
        assertThat(log.entry(15)).isEqualTo(entry(3, 15));
        assertThat(log.entries(3, 5, Long.MAX_VALUE)).containsExactlyElementsOf(entries(1, 3, 7));
        assertThat(log.entries(8, 100, Long.MAX_VALUE))
                .containsExactlyElementsOf(concat(entries(1, 8, 10), entries(3, 11, 20)));
        long threeEntries = entry(1, 4).getSerializedSize() + entry(1, 5).getSerializedSize()
                + entry(1, 6).getSerializedSize();
        assertThat(log.entries(4, 100, threeEntries)).containsExactlyElementsOf(entries(1, 4, 6));
        assertThat(log.entries(4, 100, threeEntries - 1)).containsExactlyElementsOf(entries(1, 4, 5));
        assertThat(log.entries(4, 100, 1)).containsExactly(entry(1, 4)); // the first is always returned
        assertThat(log.entries(21, 100, Long.MAX_VALUE)).isEmpty();
        assertThatThrownBy(() -> log.entry(0)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> log.entry(21)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> log.epochAt(21)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> log.epochAt(-1)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void rejectsAppendsThatDoNotContinueTheLog() {
        SegmentedLogStorage log = open(LogStorageOptions.DEFAULTS);
        log.append(entries(2, 1, 3));
        assertThatThrownBy(() -> log.append(List.of(entry(2, 5)))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not continue");
        assertThatThrownBy(() -> log.append(List.of(entry(2, 3)))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> log.append(List.of(entry(1, 4)))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("epoch");
        assertThatThrownBy(() -> log.append(List.of(entry(2, 4), entry(1, 5))))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> log.append(List.of(sized(2, 4, SegmentedLogStorage.MAX_ENTRY_BYTES))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maximum");
        assertThat(log.lastIndex()).isEqualTo(3); // a rejected batch leaves no trace
        log.append(List.of(entry(2, 4)));
        assertThat(log.lastIndex()).isEqualTo(4);
    }

    @Test
    void aSecondOpenOfTheSameDirectoryIsRefused() {
        open(LogStorageOptions.DEFAULTS);
        assertThatThrownBy(() -> SegmentedLogStorage.open(dir, LogStorageOptions.DEFAULTS, d -> { }))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("already open");
    }

    // ------------------------------------------------------------ restart and recovery

    @Test
    void everythingSurvivesARestart() {
        SegmentedLogStorage log = open(SMALL_SEGMENTS);
        log.append(entries(1, 1, 40));
        log.append(entries(2, 41, 41));
        log.append(entries(5, 42, 100));
        // no wait: close must drain, write and fsync the queue

        try (var warnings = new LogFixtures.CapturedWarnings(SegmentedLogStorage.class)) {
            SegmentedLogStorage reopened = reopen(log, SMALL_SEGMENTS);
            assertThat(warnings.messages()).isEmpty();
            assertThat(reopened.lastIndex()).isEqualTo(100);
            assertThat(reopened.durableIndex()).isEqualTo(100);
            assertThat(reopened.lastEpoch()).isEqualTo(5);
            assertThat(reopened.epochAt(41)).isEqualTo(2);
            assertThat(reopened.entries(1, 1000, Long.MAX_VALUE))
                    .containsExactlyElementsOf(concat(entries(1, 1, 40), entries(2, 41, 41), entries(5, 42, 100)));
            reopened.append(entries(5, 101, 110));
            awaitDurable(reopened);
            assertThat(reopen(reopened, SMALL_SEGMENTS).entry(110)).isEqualTo(entry(5, 110));
        }
    }

    @ParameterizedTest(name = "cut {0} bytes into the last record")
    @ValueSource(ints = {3, 8 + 5})
    void aTornTailIsCutOffAndTheRestKept(int bytesIntoLastRecord) throws Exception {
        SegmentedLogStorage log = open(LogStorageOptions.DEFAULTS);
        log.append(entries(1, 1, 10));
        log.close();
        Path segment = segmentFiles(dir).get(0);
        long lastRecordStart = Files.size(segment) - LogFixtures.recordBytes(entry(1, 10));
        truncateFile(segment, lastRecordStart + bytesIntoLastRecord);

        try (var warnings = new LogFixtures.CapturedWarnings(SegmentedLogStorage.class)) {
            SegmentedLogStorage reopened = open(LogStorageOptions.DEFAULTS);
            assertThat(reopened.lastIndex()).isEqualTo(9);
            assertThat(reopened.durableIndex()).isEqualTo(9);
            assertThat(reopened.entries(1, 100, Long.MAX_VALUE)).containsExactlyElementsOf(entries(1, 1, 9));
            assertThat(Files.size(segment)).isEqualTo(lastRecordStart);
            assertThat(warnings.messages()).singleElement().asString()
                    .contains(segment.getFileName().toString(), "offset " + lastRecordStart,
                            bytesIntoLastRecord < 8 ? "torn record header" : "past the end of the file",
                            "dropping " + bytesIntoLastRecord + " bytes");

            reopened.append(List.of(entry(2, 10)));
            assertThat(reopen(reopened, LogStorageOptions.DEFAULTS).entries(1, 100, Long.MAX_VALUE))
                    .containsExactlyElementsOf(concat(entries(1, 1, 9), List.of(entry(2, 10))));
            assertThat(warnings.messages()).hasSize(1);
        }
    }

    @Test
    void aCorruptRecordDropsItAndEverythingAfterItIncludingLaterSegments() throws Exception {
        SegmentedLogStorage log = open(SMALL_SEGMENTS);
        log.append(entries(1, 1, 60));
        log.close();
        List<Path> segments = segmentFiles(dir);
        assertThat(segments).hasSizeGreaterThan(2);
        Path first = segments.get(0);
        long firstSize = Files.size(first);
        long totalBytes = 0;
        for (Path p : segments) {
            totalBytes += Files.size(p);
        }
        // Flip a payload byte of the third record of the first segment.
        long thirdRecord = LogFixtures.recordBytes(entry(1, 1)) + LogFixtures.recordBytes(entry(1, 2));
        flipByte(first, thirdRecord + 8 + 4);

        try (var warnings = new LogFixtures.CapturedWarnings(SegmentedLogStorage.class)) {
            SegmentedLogStorage reopened = open(SMALL_SEGMENTS);
            assertThat(reopened.lastIndex()).isEqualTo(2);
            assertThat(reopened.entries(1, 100, Long.MAX_VALUE)).containsExactlyElementsOf(entries(1, 1, 2));
            assertThat(segmentFiles(dir)).containsExactly(first);
            assertThat(Files.size(first)).isEqualTo(thirdRecord);
            assertThat(warnings.messages()).singleElement().asString()
                    .contains(first.getFileName().toString(), "offset " + thirdRecord, "CRC mismatch",
                            "dropping " + (totalBytes - thirdRecord) + " bytes",
                            (segments.size() - 1) + " later segment file(s)");
            assertThat(firstSize).isGreaterThan(thirdRecord);
        }
    }

    @Test
    void aRestartCachesTheNewestEntriesAgainAndReadsTheRestFromTheSegments() throws Exception {
        LogStorageOptions options = LogStorageOptions.DEFAULTS.withSegmentBytes(1024).withCachedEntries(7);
        SegmentedLogStorage log = open(options);
        log.append(entries(1, 1, 30));
        log.append(entries(4, 31, 50));
        SegmentedLogStorage reopened = reopen(log, options);
        assertThat(reopened.entries(1, 1000, Long.MAX_VALUE))
                .containsExactlyElementsOf(concat(entries(1, 1, 30), entries(4, 31, 50)));
        assertThat(reopened.epochAt(30)).isEqualTo(1);
        assertThat(reopened.epochAt(31)).isEqualTo(4);

        // With every segment file emptied under it, the newest 7 still read: from memory.
        for (Path segment : segmentFiles(dir)) {
            truncateFile(segment, 0);
        }
        assertThat(reopened.entries(44, 1000, Long.MAX_VALUE)).containsExactlyElementsOf(entries(4, 44, 50));
        assertThatThrownBy(() -> reopened.entry(43)).isInstanceOf(UncheckedIOException.class);
    }

    @Test
    void aRecordWhosePayloadPassesItsCrcButIsNoEntryIsDamage() throws Exception {
        SegmentedLogStorage log = open(LogStorageOptions.DEFAULTS);
        log.append(entries(1, 1, 5));
        log.close();
        Path segment = segmentFiles(dir).get(0);
        long thirdRecord = LogFixtures.recordBytes(entry(1, 1)) + LogFixtures.recordBytes(entry(1, 2));
        int length = entry(1, 3).getSerializedSize();
        byte[] garbage = new byte[length];
        Arrays.fill(garbage, (byte) 0xff); // a varint that never ends
        CRC32C crc = new CRC32C();
        crc.update(garbage);
        byte[] bytes = Files.readAllBytes(segment);
        ByteBuffer.wrap(bytes).putInt((int) thirdRecord + 4, (int) crc.getValue())
                .put((int) thirdRecord + 8, garbage);
        Files.write(segment, bytes);

        try (var warnings = new LogFixtures.CapturedWarnings(SegmentedLogStorage.class)) {
            SegmentedLogStorage reopened = open(LogStorageOptions.DEFAULTS);
            assertThat(reopened.lastIndex()).isEqualTo(2);
            assertThat(reopened.entries(1, 100, Long.MAX_VALUE)).containsExactlyElementsOf(entries(1, 1, 2));
            assertThat(warnings.messages()).singleElement().asString()
                    .contains("offset " + thirdRecord, "does not parse as an entry");
        }
    }

    @ParameterizedTest(name = "length field {0}")
    @ValueSource(ints = {0x7fff_fff0, -1, 1_000_000})
    void anAbsurdLengthFieldIsTreatedAsDamageWithoutAllocatingIt(int length) throws Exception {
        SegmentedLogStorage log = open(LogStorageOptions.DEFAULTS);
        log.append(entries(1, 1, 5));
        log.close();
        Path segment = segmentFiles(dir).get(0);
        long thirdRecord = LogFixtures.recordBytes(entry(1, 1)) + LogFixtures.recordBytes(entry(1, 2));
        writeInt(segment, thirdRecord, length);

        try (var warnings = new LogFixtures.CapturedWarnings(SegmentedLogStorage.class)) {
            SegmentedLogStorage reopened = open(LogStorageOptions.DEFAULTS);
            assertThat(reopened.lastIndex()).isEqualTo(2);
            assertThat(warnings.messages()).singleElement().asString()
                    .contains("offset " + thirdRecord)
                    .containsAnyOf("exceeds the maximum", "runs past the end of the file");
        }
    }

    @Test
    void aMissingMiddleSegmentDropsEverythingAfterTheGap() throws Exception {
        SegmentedLogStorage log = open(SMALL_SEGMENTS);
        log.append(entries(1, 1, 60));
        log.close();
        List<Path> segments = segmentFiles(dir);
        assertThat(segments).hasSizeGreaterThan(2);
        Files.delete(segments.get(1));
        long lastOfFirst = Long.parseLong(segments.get(1).getFileName().toString().substring(8, 28)) - 1;

        try (var warnings = new LogFixtures.CapturedWarnings(SegmentedLogStorage.class)) {
            SegmentedLogStorage reopened = open(SMALL_SEGMENTS);
            assertThat(reopened.lastIndex()).isEqualTo(lastOfFirst);
            assertThat(segmentFiles(dir)).containsExactly(segments.get(0));
            assertThat(warnings.messages()).singleElement().asString().contains("but the log continues at");
        }
    }

    @Test
    void entriesWhoseEpochGoesBackwardsOnDiskAreDropped() throws Exception {
        // Two logs written separately and glued together: the second part has a lower epoch.
        SegmentedLogStorage log = open(LogStorageOptions.DEFAULTS);
        log.append(entries(3, 1, 4));
        log.close();
        Path segment = segmentFiles(dir).get(0);
        byte[] head = Files.readAllBytes(segment);
        Files.delete(segment);
        log = open(LogStorageOptions.DEFAULTS);
        log.append(entries(2, 1, 6));
        log.close();
        byte[] other = Files.readAllBytes(segment);
        long skip = 0;
        for (long i = 1; i <= 4; i++) {
            skip += LogFixtures.recordBytes(entry(2, i));
        }
        byte[] glued = new byte[head.length + other.length - (int) skip];
        System.arraycopy(head, 0, glued, 0, head.length);
        System.arraycopy(other, (int) skip, glued, head.length, other.length - (int) skip);
        Files.write(segment, glued);

        try (var warnings = new LogFixtures.CapturedWarnings(SegmentedLogStorage.class)) {
            SegmentedLogStorage reopened = open(LogStorageOptions.DEFAULTS);
            assertThat(reopened.entries(1, 100, Long.MAX_VALUE)).containsExactlyElementsOf(entries(3, 1, 4));
            assertThat(warnings.messages()).singleElement().asString().contains("epoch decreases from 3 to 2");
        }
    }

    // ------------------------------------------------------------ truncation

    @Test
    void truncateThenReappendSurvivesARestart() {
        SegmentedLogStorage log = open(SMALL_SEGMENTS);
        log.append(entries(1, 1, 60));
        awaitDurable(log);
        int segmentsBefore = segmentFiles(dir).size();

        log.truncateFrom(12);
        assertThat(log.durableIndex()).isEqualTo(11);
        assertThat(log.lastIndex()).isEqualTo(11);
        assertThat(log.lastEpoch()).isEqualTo(1);
        log.append(entries(2, 12, 30)); // the writer may make these durable at once: nothing to assert before the wait
        awaitDurable(log);
        assertThat(segmentFiles(dir).size()).isLessThan(segmentsBefore);

        SegmentedLogStorage reopened = reopen(log, SMALL_SEGMENTS);
        assertThat(reopened.entries(1, 100, Long.MAX_VALUE))
                .containsExactlyElementsOf(concat(entries(1, 1, 11), entries(2, 12, 30)));
    }

    @Test
    void truncatingAtASegmentBoundaryAndFromTheStart() {
        SegmentedLogStorage log = open(SMALL_SEGMENTS);
        log.append(entries(1, 1, 60));
        awaitDurable(log);
        Path second = segmentFiles(dir).get(1);
        long secondFirst = Long.parseLong(second.getFileName().toString().substring(8, 28));

        log.truncateFrom(secondFirst);
        log.append(entries(2, secondFirst, secondFirst + 5));
        awaitDurable(log);
        log = reopen(log, SMALL_SEGMENTS);
        assertThat(log.entries(1, 100, Long.MAX_VALUE))
                .containsExactlyElementsOf(concat(entries(1, 1, secondFirst - 1), entries(2, secondFirst, secondFirst + 5)));

        log.truncateFrom(1);
        assertThat(log.lastIndex()).isZero();
        assertThat(log.lastEpoch()).isZero();
        assertThat(log.durableIndex()).isZero();
        log.append(entries(4, 1, 3));
        awaitDurable(log);
        assertThat(reopen(log, SMALL_SEGMENTS).entries(1, 100, Long.MAX_VALUE)).containsExactlyElementsOf(entries(4, 1, 3));
    }

    @Test
    void truncationsRacingTheWriterNeverLeaveStaleContentBehind() {
        Random random = new Random(42);
        SegmentedLogStorage log = open(SMALL_SEGMENTS.withCachedEntries(4));
        List<Entry> model = new ArrayList<>();
        long epoch = 1;
        for (int round = 0; round < 200; round++) {
            if (!model.isEmpty() && random.nextInt(3) == 0) {
                long from = 1 + random.nextInt(model.size());
                log.truncateFrom(from);
                model.subList((int) from - 1, model.size()).clear();
                assertThat(log.durableIndex()).isLessThanOrEqualTo(from - 1);
                epoch++;
            }
            long next = model.size() + 1;
            List<Entry> batch = entries(epoch, next, next + random.nextInt(5));
            log.append(batch);
            model.addAll(batch);
            assertThat(log.durableIndex()).isLessThanOrEqualTo(log.lastIndex());
        }
        awaitDurable(log);
        assertThat(log.entries(1, 10_000, Long.MAX_VALUE)).containsExactlyElementsOf(model);
        assertThat(reopen(log, SMALL_SEGMENTS).entries(1, 10_000, Long.MAX_VALUE)).containsExactlyElementsOf(model);
    }

    // ------------------------------------------------------------ segments

    @Test
    void aTruncationIsDurableBeforeTheSameBatchWritesAfterIt() throws Exception {
        // Hold the writer in the durability listener so that a truncation and the appends after
        // it are queued together and reach the writer as one batch.
        AtomicReference<CountDownLatch> gate = new AtomicReference<>();
        SegmentedLogStorage log = open(SMALL_SEGMENTS, durable -> {
            CountDownLatch latch = gate.get();
            if (latch != null) {
                try {
                    latch.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        List<Entry> first = sizedEntries(1, 1, 40, 100);
        log.append(first);
        awaitDurable(log);
        assertThat(segmentFiles(dir)).hasSizeGreaterThan(3);

        CountDownLatch latch = new CountDownLatch(1);
        gate.set(latch);
        log.append(List.of(sized(1, 41, 100)));
        await().atMost(Duration.ofSeconds(30)).until(() -> log.durableIndex() == 41); // writer now waits in the listener
        List<String> steps = new CopyOnWriteArrayList<>();
        log.observeDiskSteps((step, file) -> steps.add(step + " " + file));
        log.truncateFrom(15); // cuts into the second segment and deletes the later ones
        List<Entry> replacement = sizedEntries(2, 15, 20, 100);
        log.append(replacement);
        gate.set(null);
        latch.countDown();
        awaitDurable(log);

        int firstWrite = steps.indexOf(steps.stream().filter(s -> s.startsWith("WRITE")).findFirst().orElseThrow());
        List<String> beforeWrite = steps.subList(0, firstWrite);
        String truncated = beforeWrite.stream().filter(s -> s.startsWith("TRUNCATE")).findFirst().orElseThrow()
                .substring("TRUNCATE ".length());
        assertThat(beforeWrite).as("steps before the first write, of %s", steps)
                .anyMatch(s -> s.startsWith("DELETE"))
                .contains("FORCE " + truncated, "DIRECTORY_FSYNC " + dir);
        assertThat(beforeWrite.indexOf("FORCE " + truncated))
                .isGreaterThan(beforeWrite.indexOf("TRUNCATE " + truncated));

        SegmentedLogStorage reopened = reopen(log, SMALL_SEGMENTS);
        List<Entry> expected = new ArrayList<>(first.subList(0, 14));
        expected.addAll(replacement);
        assertThat(reopened.entries(1, 100, Long.MAX_VALUE)).containsExactlyElementsOf(expected);
    }

    @Test
    void onlyTheActiveSegmentKeepsAWriteChannelAndAnOlderOneReopensForATruncation() {
        SegmentedLogStorage log = open(SMALL_SEGMENTS);
        List<Entry> first = sizedEntries(1, 1, 40, 100);
        log.append(first);
        awaitDurable(log);
        assertThat(segmentFiles(dir)).hasSizeGreaterThan(3);
        assertThat(log.openWriteChannels()).isEqualTo(1);

        log.truncateFrom(5); // back into the first segment, whose write channel was closed
        List<Entry> replacement = sizedEntries(2, 5, 30, 100);
        log.append(replacement);
        awaitDurable(log);
        assertThat(log.openWriteChannels()).isEqualTo(1);

        SegmentedLogStorage reopened = reopen(log, SMALL_SEGMENTS);
        List<Entry> expected = new ArrayList<>(first.subList(0, 4));
        expected.addAll(replacement);
        assertThat(reopened.entries(1, 100, Long.MAX_VALUE)).containsExactlyElementsOf(expected);
    }

    @Test
    void segmentsRollAtTheConfiguredSizeAndReadsSpanThem() throws Exception {
        SegmentedLogStorage log = open(SMALL_SEGMENTS);
        for (long i = 1; i <= 50; i++) {
            log.append(List.of(sized(1, i, 150)));
        }
        awaitDurable(log);
        List<Path> segments = segmentFiles(dir);
        assertThat(segments).hasSizeGreaterThan(5);
        assertThat(segments.get(0).getFileName()).hasToString("segment-00000000000000000001.log");
        long expectedFirst = 1;
        for (Path segment : segments) {
            assertThat(segment.getFileName().toString()).isEqualTo(LogSegment.fileName(expectedFirst));
            long size = Files.size(segment);
            assertThat(size).isLessThanOrEqualTo(1024).isPositive();
            expectedFirst += size / LogFixtures.recordBytes(sized(1, 1, 150));
        }
        assertThat(expectedFirst).isEqualTo(51);
        List<Entry> expected = sizedEntries(1, 1, 50, 150);
        assertThat(log.entries(1, 100, Long.MAX_VALUE)).containsExactlyElementsOf(expected);
        assertThat(log.entries(5, 20, Long.MAX_VALUE)).containsExactlyElementsOf(expected.subList(4, 24));
        // An entry bigger than a segment gets a segment of its own.
        log.append(List.of(sized(1, 51, 3000)));
        log.append(List.of(sized(1, 52, 10)));
        awaitDurable(log);
        assertThat(segmentFiles(dir)).contains(dir.resolve(LogSegment.fileName(51)), dir.resolve(LogSegment.fileName(52)));
        assertThat(reopen(log, SMALL_SEGMENTS).entry(51)).isEqualTo(sized(1, 51, 3000));
    }

    // ------------------------------------------------------------ durability and group commit

    @Test
    void theDurabilityListenerIsMonotonicAndReachesTheLastIndex() {
        List<Long> reported = new CopyOnWriteArrayList<>();
        SegmentedLogStorage log = open(LogStorageOptions.DEFAULTS, reported::add);
        for (long i = 1; i <= 1000; i += 10) {
            log.append(entries(1, i, i + 9));
        }
        await().until(() -> !reported.isEmpty() && reported.get(reported.size() - 1) == 1000);
        assertThat(reported).isSortedAccordingTo(Long::compare).doesNotHaveDuplicates();
        assertThat(log.durableIndex()).isEqualTo(1000);
    }

    @Test
    void groupCommitCoversManyAppendsWithOneFsync() {
        SegmentedLogStorage log = open(LogStorageOptions.DEFAULTS);
        int appends = 10_000;
        for (long i = 1; i <= appends; i++) {
            log.append(List.of(sized(1, i, 128)));
        }
        awaitDurable(log);
        assertThat(log.fsyncCount()).isPositive().isLessThan(appends);
    }

    @Test
    void anEntryCountsAsDurableOnlyOnceItsBytesAreOnDisk() {
        // Batches that span segment boundaries are queued as several writes; the log must not call
        // a batch durable when only its first write has been fsync'd. The listener runs on the
        // writer thread, so the files do not change while it measures them.
        long recordBytes = LogFixtures.recordBytes(sized(1, 1, 100));
        ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        SegmentedLogStorage log = open(LogStorageOptions.DEFAULTS.withSegmentBytes(1024).withCachedEntries(0),
                durable -> {
                    long onDisk = segmentFiles(dir).stream().mapToLong(LogFixtures::sizeOf).sum();
                    if (onDisk < durable * recordBytes) {
                        violations.add("durable through " + durable + " with only " + onDisk + " of "
                                + durable * recordBytes + " bytes on disk");
                    }
                });
        // The bug this guards showed up within a few hundred entries; 4,000 keep a margin at ~450 files.
        for (long first = 1; first <= 4_000; first += 20) {
            log.append(sizedEntries(1, first, first + 19, 100));
        }
        awaitDurable(log);
        assertThat(violations).isEmpty();
        assertThat(log.entries(1, 10_000, Long.MAX_VALUE)).hasSize(4_000);
    }

    @Test
    void readersRunConcurrentlyWithTheWriter() throws Exception {
        SegmentedLogStorage log = open(LogStorageOptions.DEFAULTS.withSegmentBytes(4096).withCachedEntries(16));
        AtomicBoolean done = new AtomicBoolean();
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        List<Thread> readers = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            long seed = r;
            Thread reader = new Thread(() -> {
                Random random = new Random(seed);
                try {
                    while (!done.get()) {
                        long last = log.lastIndex();
                        if (last == 0) {
                            continue;
                        }
                        long index = 1 + (long) (random.nextDouble() * last);
                        assertThat(log.entry(index)).isEqualTo(entry(1, index));
                        List<Entry> run = log.entries(index, 50, 4096);
                        assertThat(run).isNotEmpty();
                        for (int k = 0; k < run.size(); k++) {
                            assertThat(run.get(k)).isEqualTo(entry(1, index + k));
                        }
                    }
                } catch (Throwable t) {
                    failures.add(t);
                }
            }, "test-reader-" + r);
            reader.start();
            readers.add(reader);
        }
        try {
            for (long i = 1; i <= 5000; i += 10) {
                log.append(entries(1, i, i + 9));
            }
            awaitDurable(log);
        } finally {
            done.set(true);
            for (Thread reader : readers) {
                reader.join();
            }
        }
        assertThat(failures).isEmpty();
        assertThat(log.entries(1, 10_000, Long.MAX_VALUE)).hasSize(5000);
    }

    @Test
    void anInterruptedReaderDoesNotBreakTheLogForOthers() throws Exception {
        SegmentedLogStorage log = open(LogStorageOptions.DEFAULTS.withCachedEntries(0));
        log.append(entries(1, 1, 20));
        awaitDurable(log);
        AtomicBoolean failedAsExpected = new AtomicBoolean();
        Thread reader = new Thread(() -> {
            Thread.currentThread().interrupt(); // FileChannel closes itself when a reading thread is interrupted
            try {
                log.entry(5);
            } catch (java.io.UncheckedIOException e) {
                failedAsExpected.set(true);
            }
        });
        reader.start();
        reader.join();
        assertThat(failedAsExpected).isTrue();

        assertThat(log.entry(5)).isEqualTo(entry(1, 5));
        log.append(entries(1, 21, 30));
        awaitDurable(log);
        assertThat(log.entries(1, 100, Long.MAX_VALUE)).containsExactlyElementsOf(entries(1, 1, 30));
    }

    @Test
    void anErrorOnTheWriterThreadIsRecordedAndRefusesLaterWrites() {
        SegmentedLogStorage log = open(LogStorageOptions.DEFAULTS, durable -> {
            throw new AssertionError("listener blew up at " + durable);
        });
        log.append(entries(1, 1, 3));
        // The writer rethrows the Error after recording it; Awaitility must not treat that as the test failing.
        await().atMost(Duration.ofSeconds(30)).dontCatchUncaughtExceptions().untilAsserted(() ->
                assertThatThrownBy(() -> log.append(List.of(entry(1, 4))))
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("writer")
                        .hasRootCauseInstanceOf(AssertionError.class));
    }

    @Test
    void readsAfterCloseAreRefusedAsClosed() {
        SegmentedLogStorage log = open(LogStorageOptions.DEFAULTS.withCachedEntries(2));
        log.append(entries(1, 1, 10));
        log.close();
        // Both entries read back from disk (1) and entries still cached (10) are refused alike.
        for (long index : new long[] {1, 10}) {
            assertThatThrownBy(() -> log.entry(index))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("is closed");
            assertThatThrownBy(() -> log.entries(index, 5, Long.MAX_VALUE))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("is closed");
        }
        assertThat(log.lastIndex()).isEqualTo(10);
        assertThat(log.durableIndex()).isEqualTo(10);
    }

    @Test
    void closeIsIdempotentAndRefusesLaterWrites() {
        SegmentedLogStorage log = open(LogStorageOptions.DEFAULTS);
        log.append(entries(1, 1, 3));
        log.close();
        log.close();
        assertThat(log.durableIndex()).isEqualTo(3);
        assertThatThrownBy(() -> log.append(List.of(entry(1, 4)))).isInstanceOf(IllegalStateException.class);
        assertThat(Thread.getAllStackTraces().keySet())
                .noneMatch(t -> t.getName().equals("log-writer-" + dir.getFileName()));
    }

    // ------------------------------------------------------------ file surgery

    @SafeVarargs
    private static List<Entry> concat(List<Entry>... parts) {
        List<Entry> out = new ArrayList<>();
        for (List<Entry> part : parts) {
            out.addAll(part);
        }
        return out;
    }

    private static void truncateFile(Path file, long size) throws Exception {
        try (var channel = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            channel.truncate(size);
        }
    }

    private static void flipByte(Path file, long offset) throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        bytes[(int) offset] ^= 0x5a;
        Files.write(file, bytes);
    }

    private static void writeInt(Path file, long offset, int value) throws Exception {
        byte[] bytes = Files.readAllBytes(file);
        java.nio.ByteBuffer.wrap(bytes).putInt((int) offset, value);
        Files.write(file, bytes);
    }
}
