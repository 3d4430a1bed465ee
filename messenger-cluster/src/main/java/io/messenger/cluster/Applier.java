package io.messenger.cluster;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's apply thread: committed entries are handed over by the consensus core's thread in
 * log order, and applied here to the {@link StateMachine}, so that a slow state machine, or a
 * restarted node replaying its whole log, never keeps the core from ticking, heartbeating or
 * answering its leader. The core thread never waits for it: {@link #submit} only enqueues.
 *
 * <p>For each batch, in this order: every entry is applied (the point between two applies is
 * {@link #betweenApplies}, where snapshots are taken), the applied index is published through
 * {@code onApplied} (so whoever learns of a commit and then reads the node's status sees it
 * applied), and only then are the proposers' futures completed, still on this thread: dependent
 * actions must not block.
 *
 * <p>The queue is not bounded by count: what it holds is already committed and in memory, and it
 * grows only while the state machine is slower than the commit rate ({@link #backlog()} shows it).
 */
final class Applier implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Applier.class);

    /** How long the thread waits for work before it runs the idle hook (and checks for close). */
    static final long IDLE_POLL_MILLIS = 100;

    /** How long {@link #close()} waits for the entry being applied to finish. */
    private static final long CLOSE_WAIT_SECONDS = 10;

    private final int nodeId;
    private final StateMachine stateMachine;
    private final LongConsumer onApplied;
    private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final Thread thread;
    private final AtomicLong applyFailures = new AtomicLong();
    private final AtomicLong commits = new AtomicLong();
    private volatile LongConsumer commitLatencyObserver = nanos -> { };
    private volatile LongConsumer betweenApplies = index -> { };
    private volatile Runnable idle = () -> { };
    private volatile Consumer<RuntimeException> batchFailure = e -> { };
    private volatile long appliedIndex;
    /** Highest index handed over; written by the core thread only. */
    private volatile long submittedIndex;
    private volatile boolean closing;

    /**
     * @param onApplied told, on the apply thread, the highest applied index after each batch and
     *     before that batch's futures complete
     */
    Applier(int nodeId, StateMachine stateMachine, LongConsumer onApplied) {
        this.nodeId = nodeId;
        this.stateMachine = Objects.requireNonNull(stateMachine, "stateMachine");
        this.onApplied = Objects.requireNonNull(onApplied, "onApplied");
        this.thread = new Thread(this::run, "cluster-apply-" + nodeId);
        this.thread.setDaemon(true);
    }

    Applier start() {
        thread.start();
        return this;
    }

    /**
     * One committed entry with what its proposer on this node is to be told.
     *
     * @param index the entry's log index
     * @param command the command, empty for the entries that open an epoch or mark a restore
     *     (which the state machine never sees)
     * @param future the proposer's future on this node, or null
     * @param proposedNanos when it was proposed ({@link System#nanoTime()}), for the commit latency
     * @param cutOff when not null, the proposal at this index was cut off by another leader's
     *     entry: the future fails with it, whatever the entry does
     */
    record Committed(long index, ByteString command, CompletableFuture<Object> future, long proposedNanos,
            NotLeaderException cutOff) {}

    /** On the core thread: hands over a batch of consecutive committed entries, in log order. Never blocks. */
    void submit(List<Committed> batch) {
        if (batch.isEmpty()) {
            return;
        }
        submittedIndex = batch.get(batch.size() - 1).index();
        queue.add(List.copyOf(batch));
        if (closing) {
            // Raced with close(): the thread may have drained already, so fail what it left.
            failQueued();
        }
    }

    /**
     * Runs {@code task} on the apply thread between two applies: after every entry handed over
     * before this call, before every entry handed over after it.
     */
    void runBetweenApplies(Runnable task) {
        queue.add(Objects.requireNonNull(task, "task"));
    }

    /** Installs what is told each applied index, on the apply thread, right after that entry. */
    void onBetweenApplies(LongConsumer hook) {
        betweenApplies = Objects.requireNonNull(hook, "hook");
    }

    /**
     * Installs what is told, on the apply thread, that the state machine failed to finish a batch
     * ({@link StateMachine#endOfBatch}): its durable state can no longer follow the log, and the
     * node must stop.
     */
    void onBatchFailure(Consumer<RuntimeException> hook) {
        batchFailure = Objects.requireNonNull(hook, "hook");
    }

    /**
     * Installs what runs on the apply thread whenever it found nothing to do for
     * {@link #IDLE_POLL_MILLIS} (so at most that often while idle, never while busy).
     */
    void onIdle(Runnable hook) {
        idle = Objects.requireNonNull(hook, "hook");
    }

    /** Installs what is told each commit latency of this node's own proposals, in nanoseconds. */
    void observeCommitLatency(LongConsumer observer) {
        commitLatencyObserver = Objects.requireNonNull(observer, "observer");
    }

    /**
     * Before anything is handed over: the state machine was restored from a snapshot at
     * {@code index} on start, and the first entry handed over is the one after it.
     */
    void startAt(long index) {
        appliedIndex = index;
        submittedIndex = Math.max(submittedIndex, index);
    }

    /**
     * On the apply thread (from a task queued with {@link #runBetweenApplies}): the state machine
     * was just restored from a snapshot at {@code index}, which covers everything handed over
     * before; the applied index jumps there and is published.
     */
    void restoredTo(long index) {
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("restoredTo runs on the apply thread");
        }
        if (index > appliedIndex) {
            appliedIndex = index;
            onApplied.accept(index);
        }
    }

    /** Highest index applied (or skipped, for entries without a command). */
    long appliedIndex() {
        return appliedIndex;
    }

    /** Entries handed over and not applied yet. */
    long backlog() {
        return Math.max(0, submittedIndex - appliedIndex);
    }

    /** Commands the state machine threw on. */
    long applyFailures() {
        return applyFailures.get();
    }

    /** Commands (entries with a command) applied since start. */
    long commits() {
        return commits.get();
    }

    private void run() {
        try {
            while (!closing) {
                Object work = queue.poll(IDLE_POLL_MILLIS, TimeUnit.MILLISECONDS);
                if (work instanceof List<?> batch) {
                    applyBatch(batch);
                } else if (work instanceof Runnable task) {
                    runTask(task);
                } else if (work == null) {
                    runTask(idle);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            failQueued();
        }
    }

    private void applyBatch(List<?> batch) {
        List<Runnable> completions = new ArrayList<>(batch.size());
        for (Object item : batch) {
            apply((Committed) item, completions);
            // Between two applies: the state machine holds exactly the entries up to appliedIndex.
            betweenApplies(appliedIndex);
        }
        try {
            stateMachine.endOfBatch(appliedIndex);
        } catch (RuntimeException e) {
            applyFailures.incrementAndGet();
            log.error("node {}: the state machine failed to finish the entries up to {}", nodeId, appliedIndex, e);
            try {
                batchFailure.accept(e);
            } catch (RuntimeException hookFailure) {
                log.error("node {}: the batch-failure hook failed", nodeId, hookFailure);
            }
        }
        // Published before any proposer hears of its commit.
        onApplied.accept(appliedIndex);
        for (Runnable completion : completions) {
            completion.run();
        }
    }

    private void betweenApplies(long index) {
        try {
            betweenApplies.accept(index);
        } catch (RuntimeException e) {
            log.error("node {}: the between-applies hook failed at index {}", nodeId, index, e);
        }
    }

    private void runTask(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException e) {
            log.error("node {}: a task on the apply thread failed", nodeId, e);
        }
    }

    private void apply(Committed entry, List<Runnable> completions) {
        Object result = null;
        Throwable failure = null;
        if (!entry.command().isEmpty()) {
            commits.incrementAndGet();
            try {
                result = stateMachine.apply(entry.index(), entry.command());
            } catch (RuntimeException e) {
                applyFailures.incrementAndGet();
                log.error("node {}: the state machine failed on entry {}; its state may now differ from other nodes'",
                        nodeId, entry.index(), e);
                failure = e;
            }
        }
        appliedIndex = entry.index();
        CompletableFuture<Object> future = entry.future();
        if (future == null) {
            return;
        }
        if (entry.cutOff() != null) {
            NotLeaderException cause = entry.cutOff();
            completions.add(() -> future.completeExceptionally(cause));
        } else if (failure != null) {
            Throwable cause = failure;
            completions.add(() -> future.completeExceptionally(cause));
        } else {
            commitLatencyObserver.accept(System.nanoTime() - entry.proposedNanos());
            Object value = result;
            completions.add(() -> future.complete(value));
        }
    }

    /** Fails the futures of everything still queued: the node is closing and will not apply it. */
    private void failQueued() {
        NotLeaderException cause = new NotLeaderException(0, "");
        Object work;
        while ((work = queue.poll()) != null) {
            if (work instanceof List<?> batch) {
                for (Object item : batch) {
                    CompletableFuture<Object> future = ((Committed) item).future();
                    if (future != null) {
                        future.completeExceptionally(cause);
                    }
                }
            }
        }
    }

    /** Whether the apply thread has ended (after {@link #close()}, unless it was stuck in an apply). */
    boolean finished() {
        return !thread.isAlive();
    }

    /**
     * Stops the thread once the batch being applied is done; the futures of entries still queued
     * fail with {@link NotLeaderException} (they are committed: a proposer that resends is deduplicated).
     * Call it after the core thread has stopped handing entries over.
     */
    @Override
    public void close() {
        closing = true;
        if (Thread.currentThread() == thread) {
            return;
        }
        try {
            thread.join(TimeUnit.SECONDS.toMillis(CLOSE_WAIT_SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            log.warn("node {}: the apply thread did not stop within {} s", nodeId, CLOSE_WAIT_SECONDS);
        }
        failQueued();
    }
}
