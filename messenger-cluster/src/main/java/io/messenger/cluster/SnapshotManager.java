package io.messenger.cluster;

import io.messenger.cluster.storage.LogStorage;
import io.messenger.cluster.storage.SnapshotStore;
import io.messenger.cluster.storage.SnapshotStore.SnapshotMeta;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes a node's snapshots and compacts its log behind them.
 *
 * <p>Every {@link SnapshotPolicy#interval()} applied entries, right after an apply (on the apply
 * thread), it asks the state machine to {@link StateMachine#snapshot() capture} its state, and
 * writes the capture on its own single background thread ({@link StateMachine.Snapshot#writeTo}
 * into a work directory, then {@link SnapshotStore#commit}), one snapshot at a time. Once a
 * snapshot is durable, the log is compacted (on the thread that writes the log) up to the
 * snapshot's index less {@link SnapshotPolicy#retainEntries()}. A state machine that returns
 * {@code null} from {@code snapshot()} turns snapshots off for the life of the process.
 *
 * <p>A snapshot is taken only at an index the log holds durably, so that after a crash the log
 * always reaches the snapshot it restarts from.
 */
final class SnapshotManager implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SnapshotManager.class);

    private final int nodeId;
    private final SnapshotPolicy policy;
    private final SnapshotStore store;
    private final StateMachine stateMachine;
    private final LogStorage logStorage;
    /** Runs a task on the thread that writes the log (the node's core thread). */
    private final Consumer<Runnable> onLogThread;
    private final ExecutorService writer;

    // Apply thread only.
    private boolean supported = true;
    private volatile boolean writing; // set on the apply thread, cleared on the log thread
    private long lastSnapshotIndex;

    private volatile long snapshotIndex;
    private volatile long snapshotsTaken;
    private volatile long lastWriteMillis;

    SnapshotManager(int nodeId, Path dataDir, SnapshotPolicy policy, StateMachine stateMachine,
            LogStorage logStorage, Consumer<Runnable> onLogThread) {
        this.nodeId = nodeId;
        this.policy = policy;
        this.store = SnapshotStore.open(dataDir.resolve("snapshots"), stateMachine::snapshotFileChecksItself);
        this.stateMachine = stateMachine;
        this.logStorage = logStorage;
        this.onLogThread = onLogThread;
        this.writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "snapshot-writer-" + nodeId);
            t.setDaemon(true);
            return t;
        });
        this.snapshotIndex = store.latest().map(SnapshotMeta::index).orElse(0L);
        this.lastSnapshotIndex = snapshotIndex;
    }

    /**
     * On start, before any apply: restores the state machine from the latest snapshot.
     *
     * @return the index the state machine now holds the state of; 0 when there is no snapshot (or
     *     the log still starts at 1 and the snapshot cannot be read, so the whole log is replayed)
     * @throws IllegalStateException if the log was compacted and the snapshot it relies on
     *     cannot be restored: replaying the log alone would build a wrong state
     */
    long restoreLatest() {
        Optional<SnapshotMeta> latest = store.latest();
        if (latest.isEmpty()) {
            if (logStorage.firstIndex() > 1) {
                throw new IllegalStateException("node " + nodeId + ": the log starts at index "
                        + logStorage.firstIndex() + " but there is no snapshot in " + store.directory()
                        + " to restore the entries before it from");
            }
            return 0;
        }
        SnapshotMeta meta = latest.get();
        if (meta.index() < logStorage.firstIndex() - 1) {
            throw new IllegalStateException("node " + nodeId + ": the latest snapshot, at index " + meta.index()
                    + ", lies before the log, which starts at " + logStorage.firstIndex());
        }
        if (meta.index() > logStorage.lastIndex() || logStorage.epochAt(meta.index()) != meta.epoch()) {
            // A snapshot received from a leader whose install was cut short by a crash before the log
            // was reset: the snapshot holds committed state, so the log continues from it.
            log.info("node {}: the log ({}..{}) does not reach the snapshot at index {} (epoch {}); it is reset to"
                    + " continue from the snapshot", nodeId, logStorage.firstIndex(), logStorage.lastIndex(),
                    meta.index(), meta.epoch());
            logStorage.resetTo(meta.index(), meta.epoch());
        }
        long start = System.nanoTime();
        try {
            stateMachine.restore(meta.directory());
        } catch (IOException | RuntimeException e) {
            if (logStorage.firstIndex() == 1) {
                log.warn("node {}: cannot restore the snapshot at index {} ({}); replaying the whole log instead",
                        nodeId, meta.index(), e.toString());
                return 0;
            }
            throw new IllegalStateException("node " + nodeId + ": cannot restore the snapshot at index "
                    + meta.index() + " in " + meta.directory() + ", and the log before it is compacted", e);
        }
        log.info("node {}: restored the snapshot at index {} (epoch {}, {} bytes) in {} ms; the log holds {}..{}",
                nodeId, meta.index(), meta.epoch(), meta.bytes(), (System.nanoTime() - start) / 1_000_000,
                logStorage.firstIndex(), logStorage.lastIndex());
        return meta.index();
    }

    /**
     * On the apply thread, right after the state machine was restored from {@code installed} (a
     * snapshot received from the leader and committed to this node's store): the next snapshot is
     * due an interval after it.
     */
    void installed(SnapshotMeta installed) {
        lastSnapshotIndex = Math.max(lastSnapshotIndex, installed.index());
        snapshotIndex = Math.max(snapshotIndex, installed.index());
    }

    /**
     * On the apply thread, right after the entry at {@code appliedIndex} was applied: takes a
     * snapshot if one is due and none is being written. {@code durableIndex} is how far the log is
     * fsync'd now.
     */
    void afterApply(long appliedIndex, long durableIndex) {
        if (!policy.enabled() || !supported || writing || appliedIndex - lastSnapshotIndex < policy.interval()
                || appliedIndex > durableIndex || appliedIndex < logStorage.firstIndex()) {
            return;
        }
        long epoch = logStorage.epochAt(appliedIndex);
        long start = System.nanoTime();
        StateMachine.Snapshot snapshot = stateMachine.snapshot();
        if (snapshot == null) {
            supported = false;
            log.info("node {}: the state machine does not support snapshots; the log is kept whole", nodeId);
            return;
        }
        long captureMicros = (System.nanoTime() - start) / 1000;
        writing = true;
        lastSnapshotIndex = appliedIndex;
        try {
            writer.execute(() -> write(snapshot, appliedIndex, epoch, captureMicros));
        } catch (RejectedExecutionException e) {
            writing = false; // closing
        }
    }

    /** Snapshot writer thread. */
    private void write(StateMachine.Snapshot snapshot, long index, long epoch, long captureMicros) {
        long start = System.nanoTime();
        SnapshotMeta meta = null;
        Path work = null;
        try {
            work = store.newWorkDirectory();
            snapshot.writeTo(work);
            meta = store.commit(work, index, epoch);
            lastWriteMillis = (System.nanoTime() - start) / 1_000_000;
            snapshotIndex = meta.index();
            snapshotsTaken++;
            log.info("node {}: snapshot at index {} (epoch {}): {} bytes, captured in {} us, written in {} ms",
                    nodeId, index, epoch, meta.bytes(), captureMicros, lastWriteMillis);
        } catch (IOException | RuntimeException e) {
            log.error("node {}: writing the snapshot at index {} failed; the log is kept until a later one succeeds",
                    nodeId, index, e);
            if (work != null) {
                try {
                    SnapshotStore.deleteTree(work);
                } catch (IOException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
        }
        SnapshotMeta written = meta;
        try {
            onLogThread.accept(() -> {
                writing = false;
                if (written != null) {
                    compact(written.index());
                }
            });
        } catch (RejectedExecutionException e) {
            log.debug("node {} closing, compaction skipped", nodeId);
        }
    }

    /** On the log's thread: deletes the log the snapshot covers, less the retained tail. */
    private void compact(long index) {
        long upTo = index - policy.retainEntries();
        if (upTo >= logStorage.firstIndex()) {
            try {
                logStorage.compactTo(upTo);
            } catch (RuntimeException e) {
                // A failed log writer refuses compaction like any write; the core halts on its next write.
                log.error("node {}: compacting the log to index {} failed", nodeId, upTo, e);
            }
        }
    }

    /** Index of the latest durable snapshot, 0 if none. */
    long snapshotIndex() {
        return snapshotIndex;
    }

    /** Snapshots written since the node started. */
    long snapshotsTaken() {
        return snapshotsTaken;
    }

    /** The store this manager writes into. */
    SnapshotStore store() {
        return store;
    }

    /** Stops the writer thread, letting a snapshot being written finish (so its files are not left half-done). */
    @Override
    public void close() {
        writer.shutdown();
        try {
            if (!writer.awaitTermination(30, TimeUnit.SECONDS)) {
                log.warn("node {}: a snapshot was still being written at close; it is discarded on the next start",
                        nodeId);
                writer.shutdownNow();
            }
        } catch (InterruptedException e) {
            writer.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
