package io.messenger.client;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs listener callbacks and future completions of one client one at a time, in the order the event loop
 * produced them, off the event loop so a slow listener never stalls network I/O. It drains a queue on either a
 * thread of its own or an executor shared by many clients (at most one drain per client at a time).
 */
final class EventDispatcher {

    private static final Logger log = LoggerFactory.getLogger(EventDispatcher.class);

    private final Executor executor;
    private final ExecutorService owned;
    private final Queue<Runnable> queue = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    /** The thread of the running drain; only the drain holding {@link #scheduled} writes it. */
    private volatile Thread draining;

    private EventDispatcher(Executor executor, ExecutorService owned) {
        this.executor = executor;
        this.owned = owned;
    }

    /** A dispatcher with a daemon thread of its own, ended by {@link #shutdown()}. */
    static EventDispatcher ownThread(String name) {
        ExecutorService single = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        return new EventDispatcher(single, single);
    }

    /** A dispatcher on an executor the application owns (and shuts down). */
    static EventDispatcher on(Executor shared) {
        return new EventDispatcher(shared, null);
    }

    /**
     * Runs the task after every task submitted before it; a throwing listener is logged, never fatal. Once the
     * executor refuses work (after shutdown), the remaining tasks run on the caller's thread.
     */
    void run(Runnable task) {
        queue.add(task);
        if (scheduled.compareAndSet(false, true)) {
            try {
                executor.execute(this::drain);
            } catch (RejectedExecutionException e) {
                // Only late future completions get here after shutdown; they must still complete.
                drain();
            }
        }
    }

    private void drain() {
        while (true) {
            draining = Thread.currentThread();
            Runnable task;
            while ((task = queue.poll()) != null) {
                try {
                    task.run();
                } catch (RuntimeException | Error e) {
                    log.error("Messenger listener threw; the client carries on", e);
                }
            }
            // Cleared before letting go of the drain: once released, the next drain may already run on another
            // thread of a shared executor, and clearing after that would erase its mark (a close() from one of
            // its callbacks would then wait for itself).
            draining = null;
            scheduled.set(false);
            // A task added between the last poll and the reset would otherwise wait for the next one.
            if (queue.isEmpty() || !scheduled.compareAndSet(false, true)) {
                return;
            }
        }
    }

    boolean inDispatchThread() {
        return Thread.currentThread() == draining;
    }

    /** Lets queued events run, then ends the own thread (a shared executor is left alone). */
    void shutdown() {
        if (owned != null) {
            owned.shutdown();
        }
    }
}
