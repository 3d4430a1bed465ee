package io.messenger.client;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs listener callbacks and future completions of one client on one thread of their own, in the order the
 * event loop produced them, so a slow listener never stalls network I/O.
 */
final class EventDispatcher {

    private static final Logger log = LoggerFactory.getLogger(EventDispatcher.class);

    private final ExecutorService executor;
    private volatile Thread thread;

    EventDispatcher(String name) {
        this.executor = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            thread = t;
            return t;
        });
    }

    /**
     * Runs the task after every task submitted before it; a throwing listener is logged, never fatal. After
     * shutdown the task runs on the caller's thread.
     */
    void run(Runnable task) {
        try {
            executor.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException | Error e) {
                    log.error("Messenger listener threw; the client carries on", e);
                }
            });
        } catch (RejectedExecutionException e) {
            // Only a late future completion can get here after shutdown; it must still complete.
            task.run();
        }
    }

    boolean inDispatchThread() {
        return Thread.currentThread() == thread;
    }

    /** Lets queued events run, then ends the thread. */
    void shutdown() {
        executor.shutdown();
    }

    boolean awaitTermination(long millis) throws InterruptedException {
        return executor.awaitTermination(millis, TimeUnit.MILLISECONDS);
    }
}
