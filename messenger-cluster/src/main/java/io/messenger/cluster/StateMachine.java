package io.messenger.cluster;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The application side of the replicated log: receives committed commands, in log order,
 * exactly once per index in the life of a process. After a restart the node restores its
 * latest snapshot (if it has one and the state machine supports them) and applies the log
 * after it; without a snapshot the whole log is applied again from index 1. {@code apply}
 * must therefore be deterministic and depend only on the command and the state built by
 * earlier commands.
 *
 * <p>Snapshots are optional. A state machine that supports them returns a {@link Snapshot}
 * from {@link #snapshot()} and can {@link #restore(Path)} one; the cluster then writes
 * snapshots in the background and deletes the log they cover. One that does not keeps the
 * default methods, and its node keeps the whole log.
 */
public interface StateMachine {

    /**
     * Applies the committed command at {@code index}. Called on the cluster's apply thread.
     *
     * @return a result handed to the future of {@link Replicator#propose} on the node that
     *     proposed the command; may be {@code null}
     */
    Object apply(long index, ByteString command);

    /**
     * Called on the apply thread after a run of {@link #apply} calls (the entries one commit
     * handed over), before their proposers hear of them. A state machine that gathers work over
     * several applies, such as one batched write to its own store, finishes it here. The
     * default does nothing.
     *
     * @param lastIndex the index of the last entry of the run
     */
    default void endOfBatch(long lastIndex) {
    }

    /**
     * Captures the state as of the last applied index. Called on the apply thread between
     * two applies, so it must be quick (a few milliseconds): it copies or freezes what later
     * applies would change and leaves the heavy work to {@link Snapshot#writeTo(Path)}, which
     * runs on a background thread while applies continue.
     *
     * @return the captured state, or {@code null} when this state machine does not support
     *     snapshots (the default)
     */
    default Snapshot snapshot() {
        return null;
    }

    /**
     * Replaces the whole state by a snapshot that {@link Snapshot#writeTo(Path)} wrote into
     * {@code dir} (on this node or on another). Called on the apply thread; the next
     * {@link #apply} is for the entry right after the snapshot's index. Applying entries
     * that the snapshot already covers must then be harmless (replay after a restore may
     * start a little before the point a fuzzy snapshot reached).
     *
     * @throws IOException if the snapshot cannot be read; the node does not use it
     */
    default void restore(Path dir) throws IOException {
        throw new UnsupportedOperationException("this state machine does not support snapshots");
    }

    /**
     * Whether a file of this machine's snapshots ({@code name}: its path in the snapshot
     * directory, {@code /}-separated) carries checksums of its own that every read of it verifies,
     * so that a node's start checks it by size only instead of reading it whole (a RocksDB SST
     * file checks each block it reads). Its CRC32C is still recorded and checked by a backup that
     * receives the snapshot. The default, false, checks every file at every start.
     */
    default boolean snapshotFileChecksItself(String name) {
        return false;
    }

    /** State captured by {@link StateMachine#snapshot()}, written out off the apply thread. */
    @FunctionalInterface
    interface Snapshot {

        /**
         * Writes the captured state as files into the empty directory {@code dir}. The cluster
         * records the snapshot's index and epoch itself, fsyncs the files and makes the
         * snapshot visible only once this returns.
         */
        void writeTo(Path dir) throws IOException;
    }
}
