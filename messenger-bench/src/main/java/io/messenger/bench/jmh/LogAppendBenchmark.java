package io.messenger.bench.jmh;

import com.google.protobuf.ByteString;
import io.messenger.cluster.storage.LogStorageOptions;
import io.messenger.cluster.storage.SegmentedLogStorage;
import io.messenger.proto.peer.Entry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The leader's log append path: a batch of entries appended to {@link SegmentedLogStorage} and waited on
 * until its writer thread has fsync'd them ({@code durableIndex} reaches the batch), which is what an entry
 * costs before it can count toward commit. Each iteration starts from an empty log in a fresh directory
 * under {@code java.io.tmpdir}, so runs do not fill the disk.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dio.netty.leakDetection.level=disabled")
public class LogAppendBenchmark {

    @Param({"128", "1024"})
    int entryBytes;

    @Param({"1", "64"})
    int batch;

    private Path dir;
    private SegmentedLogStorage storage;
    private ByteString command;
    private volatile Thread waiter;
    private long epoch = 1;

    @Setup(Level.Iteration)
    public void open() throws IOException {
        dir = Files.createTempDirectory("bench-log-");
        command = ByteString.copyFrom(new byte[entryBytes]);
        storage = SegmentedLogStorage.open(dir, LogStorageOptions.DEFAULTS, durable -> {
            Thread t = waiter;
            if (t != null) {
                LockSupport.unpark(t);
            }
        });
    }

    @TearDown(Level.Iteration)
    public void close() throws IOException {
        storage.close();
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.delete(path);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    /** Appends one batch and returns once all of it is durable; the score is per batch. */
    @Benchmark
    public long appendDurable() {
        long first = storage.lastIndex() + 1;
        List<Entry> entries = new ArrayList<>(batch);
        for (int i = 0; i < batch; i++) {
            entries.add(Entry.newBuilder().setEpoch(epoch).setIndex(first + i).setCommand(command).build());
        }
        long last = first + batch - 1;
        waiter = Thread.currentThread();
        storage.append(entries);
        while (storage.durableIndex() < last) {
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(1));
        }
        waiter = null;
        return last;
    }
}
