package io.messenger.cluster.testing;

import com.google.protobuf.ByteString;
import io.messenger.cluster.StateMachine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A test state machine with snapshots: its state is an order-sensitive hash of every command
 * applied and their count, so two machines agree only if they applied the same commands in the
 * same order. It also remembers the first index it applied in this incarnation, which tells
 * whether a start restored a snapshot and applied only the tail.
 */
public final class HashingStateMachine implements StateMachine {

    static final String FILE = "hash-state";

    private long lastIndex;
    private long count;
    private long hash = 17;
    private long firstAppliedIndex;
    private long restoredIndex;

    /** The hash that applying {@code commands} in order to a new machine yields. */
    public static long hashOf(Iterable<String> commands) {
        long h = 17;
        for (String c : commands) {
            h = step(h, ByteString.copyFromUtf8(c));
        }
        return h;
    }

    private static long step(long h, ByteString command) {
        long x = h * 1_000_003L;
        for (int i = 0; i < command.size(); i++) {
            x = (x ^ command.byteAt(i)) * 0x100000001B3L;
        }
        return x;
    }

    @Override
    public synchronized Object apply(long index, ByteString command) {
        if (index <= lastIndex) {
            throw new AssertionError("index " + index + " applied after " + lastIndex);
        }
        if (firstAppliedIndex == 0) {
            firstAppliedIndex = index;
        }
        lastIndex = index;
        count++;
        hash = step(hash, command);
        return index;
    }

    @Override
    public synchronized Snapshot snapshot() {
        long index = lastIndex;
        long n = count;
        long h = hash;
        return dir -> Files.write(dir.resolve(FILE), ByteBuffer.allocate(24).putLong(index).putLong(n).putLong(h)
                .array());
    }

    @Override
    public synchronized void restore(Path dir) throws IOException {
        ByteBuffer state = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(FILE)));
        lastIndex = state.getLong();
        count = state.getLong();
        hash = state.getLong();
        restoredIndex = lastIndex;
    }

    public synchronized long hash() {
        return hash;
    }

    /** Commands applied, counting those a restored snapshot holds. */
    public synchronized long count() {
        return count;
    }

    public synchronized long lastIndex() {
        return lastIndex;
    }

    /** First index applied by this incarnation (0 if none). */
    public synchronized long firstAppliedIndex() {
        return firstAppliedIndex;
    }

    /** Index of the snapshot this incarnation restored, 0 if none. */
    public synchronized long restoredIndex() {
        return restoredIndex;
    }
}
