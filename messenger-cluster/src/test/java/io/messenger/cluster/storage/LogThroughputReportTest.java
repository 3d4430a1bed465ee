package io.messenger.cluster.storage;

import static io.messenger.cluster.storage.LogFixtures.sized;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prints (never asserts) the log's append throughput with real fsyncs, for the design notes.
 * Kept small because the build machine is shared; the numbers land in the surefire output file.
 */
class LogThroughputReportTest {

    private static final int COMMAND_BYTES = 128;

    @TempDir
    Path dir;

    @Test
    void reportsAppendThroughputWithFsync() throws InterruptedException {
        LinkedBlockingQueue<Long> durable = new LinkedBlockingQueue<>();
        try (SegmentedLogStorage log = SegmentedLogStorage.open(dir, LogStorageOptions.DEFAULTS, durable::add)) {
            // Pipelined: one thread appends one entry at a time without waiting, as a busy leader does.
            int pipelined = 20_000;
            long start = System.nanoTime();
            for (long i = 1; i <= pipelined; i++) {
                log.append(List.of(sized(1, i, COMMAND_BYTES)));
            }
            awaitDurable(durable, pipelined);
            report("pipelined", pipelined, log.fsyncCount(), System.nanoTime() - start);

            // One at a time: each append waits for its own fsync, as a lone client does.
            int sequential = 300;
            long fsyncsBefore = log.fsyncCount();
            start = System.nanoTime();
            for (long i = pipelined + 1; i <= pipelined + sequential; i++) {
                log.append(List.of(sized(1, i, COMMAND_BYTES)));
                awaitDurable(durable, i);
            }
            report("append+wait", sequential, log.fsyncCount() - fsyncsBefore, System.nanoTime() - start);
        }
    }

    /** Blocks on the listener's reports (not a sleep) until {@code index} is durable. */
    private static void awaitDurable(LinkedBlockingQueue<Long> reports, long index) throws InterruptedException {
        while (true) {
            Long reported = reports.poll(10, TimeUnit.SECONDS);
            if (reported == null) {
                throw new AssertionError("index " + index + " did not become durable within 10 s");
            }
            if (reported >= index) {
                return;
            }
        }
    }

    private static void report(String mode, int entries, long fsyncs, long nanos) {
        double seconds = nanos / 1e9;
        System.out.printf(Locale.ROOT, "log throughput %-12s %,d entries of %d-byte commands in %.3f s: %,.0f entries/s,"
                + " %,d fsyncs (%,.0f fsyncs/s, %.1f entries per fsync)%n", mode, entries, COMMAND_BYTES, seconds,
                entries / seconds, fsyncs, fsyncs / seconds, entries / (double) Math.max(1, fsyncs));
    }
}
