package io.messenger.server.client;

import io.messenger.proto.client.Hello;
import io.messenger.proto.client.Rejection;
import io.messenger.server.auth.ClientAuthenticator;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Where a node checks the token of each Hello. A {@linkplain ClientAuthenticator#cheap() cheap} check (none, or
 * HS256) runs on the caller's thread, the connection's event loop; a costly one (an ES256 or RS256 signature, about
 * 2 ms) runs on a small fixed pool with a bounded queue, so that a burst of hellos delays other hellos rather than
 * every connection of an event loop. When the queue is full the Hello is answered at once with {@code SERVER_BUSY}
 * and a sentence instead of queueing without bound; the client library backs off and tries again.
 *
 * <p>The result is a future completed on the pool's thread; the session handler continues the Hello on its own
 * event loop with it.
 */
public final class HelloVerifications implements AutoCloseable {

    /** Hellos waiting for a pool thread before new ones are refused: about a second of ES256 checks on 2 cores. */
    public static final int DEFAULT_QUEUE_CAPACITY = 1024;

    /** Every check on the caller's thread, costly or not (tests, and nodes whose checks are all cheap). */
    public static final HelloVerifications INLINE = new HelloVerifications(null, null, 0);

    private final Executor executor;
    private final ExecutorService owned;
    private final int queueCapacity;
    private final AtomicLong refused = new AtomicLong();

    private HelloVerifications(Executor executor, ExecutorService owned, int queueCapacity) {
        this.executor = executor;
        this.owned = owned;
        this.queueCapacity = queueCapacity;
    }

    /**
     * A fixed pool of {@code threads} daemon threads ({@code hello-verify-N}) with room for {@code queueCapacity}
     * waiting checks; {@link #close()} stops it.
     */
    public static HelloVerifications pooled(int threads, int queueCapacity) {
        if (threads < 1 || queueCapacity < 1) {
            throw new IllegalArgumentException("a verification pool needs at least one thread and one queue slot");
        }
        AtomicInteger n = new AtomicInteger();
        ThreadFactory factory = r -> {
            Thread t = new Thread(r, "hello-verify-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        ThreadPoolExecutor pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(queueCapacity), factory, new ThreadPoolExecutor.AbortPolicy());
        return new HelloVerifications(pool, pool, queueCapacity);
    }

    /** A pool sized to the machine's cores with the default queue, for a node. */
    public static HelloVerifications forNode() {
        return pooled(Math.max(1, Runtime.getRuntime().availableProcessors()), DEFAULT_QUEUE_CAPACITY);
    }

    /**
     * Costly checks go to {@code executor}, which refuses work (throws {@link RejectedExecutionException}) when it
     * is full; the caller owns it. For tests that hold a check back.
     */
    static HelloVerifications on(Executor executor) {
        return new HelloVerifications(executor, null, 0);
    }

    /**
     * Checks {@code hello} with {@code authenticator}: a completed future for a cheap check (or on an inline
     * instance), else one completed on the pool; a full pool completes it at once with {@code SERVER_BUSY}.
     */
    CompletableFuture<Optional<Rejection>> verify(ClientAuthenticator authenticator, Hello hello) {
        if (executor == null || authenticator.cheap()) {
            return CompletableFuture.completedFuture(authenticator.check(hello));
        }
        CompletableFuture<Optional<Rejection>> result = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    result.complete(authenticator.check(hello));
                } catch (RuntimeException | Error e) {
                    result.completeExceptionally(e);
                }
            });
        } catch (RejectedExecutionException e) {
            refused.incrementAndGet();
            result.complete(Optional.of(Rejection.newBuilder().setReason(Rejection.Reason.SERVER_BUSY)
                    .setMessage("The server is busy checking other sign-ins (" + (queueCapacity > 0
                            ? queueCapacity + " waiting" : "its queue is full") + "); try again in a moment.")
                    .build()));
        }
        return result;
    }

    /** Hellos refused with {@code SERVER_BUSY} because the pool's queue was full. */
    public long refusedBusy() {
        return refused.get();
    }

    /** Stops the pool it owns (checks under way finish; queued ones are dropped, their connections closing anyway). */
    @Override
    public void close() {
        if (owned != null) {
            owned.shutdownNow();
        }
    }
}
