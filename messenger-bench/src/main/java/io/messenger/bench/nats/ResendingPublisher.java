package io.messenger.bench.nats;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * One publisher's sends to JetStream, each with its own message id ({@code Nats-Msg-Id}), resent with the
 * same id after a failed or timed-out attempt until acknowledged, the way the messenger client resends
 * unacknowledged sends; the stream's duplicate window turns a resend of a stored message into a no-op.
 *
 * <p>Order per publisher is kept by how failures are handled: after any failed attempt no new attempt
 * starts until every attempt in flight has settled (an earlier one may still be stored, which the id
 * covers); then the oldest unacknowledged message is resent alone, with a bounded exponential backoff,
 * and only once it is acknowledged do the ones behind it follow, pipelined again.
 */
final class ResendingPublisher {

    /** One publish attempt; the future completes with whether the server saw the id as a duplicate. */
    @FunctionalInterface
    interface Attempt {
        CompletableFuture<Boolean> publish(String messageId, byte[] body);
    }

    private final String publisherId;
    private final Attempt attempt;
    private final ScheduledExecutorService scheduler;
    private final Duration minBackoff;
    private final Duration maxBackoff;
    private final LongAdder resends;
    private final LongAdder duplicateAcks;

    // Guarded by this.
    private final Deque<Pending> unacked = new ArrayDeque<>();
    private long nextSeq = 1;
    private int attemptsInFlight;
    private boolean recovering;
    private boolean resendScheduled;
    private int consecutiveFailures;
    private boolean closed;

    /**
     * @param publisherId unique among publishers on the stream; message ids are {@code publisherId-seq}
     * @param resends counts attempts beyond the first, possibly shared by several publishers
     * @param duplicateAcks counts acks the server flagged as duplicates (a resend of a stored message)
     */
    ResendingPublisher(String publisherId, Attempt attempt, ScheduledExecutorService scheduler, Duration minBackoff,
            Duration maxBackoff, LongAdder resends, LongAdder duplicateAcks) {
        this.publisherId = publisherId;
        this.attempt = attempt;
        this.scheduler = scheduler;
        this.minBackoff = minBackoff;
        this.maxBackoff = maxBackoff;
        this.resends = resends;
        this.duplicateAcks = duplicateAcks;
    }

    /** Publishes {@code body}; the future completes once one attempt is acknowledged. */
    CompletableFuture<Void> send(byte[] body) {
        Pending pending;
        synchronized (this) {
            if (closed) {
                return CompletableFuture.failedFuture(new CancellationException("publisher closed"));
            }
            pending = new Pending(publisherId + "-" + nextSeq++, body);
            unacked.addLast(pending);
            if (recovering) {
                return pending.acked;
            }
            pending.sent = true;
            attemptsInFlight++;
        }
        start(pending);
        return pending.acked;
    }

    /** Stops resending; every message not yet acknowledged fails with a {@link CancellationException}. */
    void close() {
        List<Pending> abandoned;
        synchronized (this) {
            closed = true;
            abandoned = new ArrayList<>(unacked);
            unacked.clear();
        }
        abandoned.forEach(p -> p.acked.completeExceptionally(new CancellationException("publisher closed")));
    }

    private void start(Pending pending) {
        CompletableFuture<Boolean> result;
        try {
            result = attempt.publish(pending.messageId, pending.body);
        } catch (RuntimeException e) {
            result = CompletableFuture.failedFuture(e);
        }
        result.whenComplete((duplicate, error) -> settled(pending, duplicate, error));
    }

    private void settled(Pending pending, Boolean duplicate, Throwable error) {
        List<Pending> toStart = new ArrayList<>();
        boolean acked;
        synchronized (this) {
            attemptsInFlight--;
            acked = error == null && unacked.remove(pending);
            if (acked) {
                consecutiveFailures = 0;
                if (recovering && attemptsInFlight == 0) {
                    // The resent head went through: the stream is back, pipeline the rest in order.
                    recovering = false;
                    for (Pending next : unacked) {
                        if (next.sent) {
                            resends.increment();
                        }
                        next.sent = true;
                        attemptsInFlight++;
                        toStart.add(next);
                    }
                }
            } else if (error != null && !closed) {
                recovering = true;
                consecutiveFailures++;
            }
            scheduleResendIfSettled();
        }
        if (acked) {
            if (Boolean.TRUE.equals(duplicate)) {
                duplicateAcks.increment();
            }
            pending.acked.complete(null);
        }
        toStart.forEach(this::start);
    }

    /** In recovery, once nothing is in flight, resends the oldest unacknowledged message after a backoff. */
    private void scheduleResendIfSettled() {
        if (!recovering || closed || attemptsInFlight > 0 || resendScheduled) {
            return;
        }
        if (unacked.isEmpty()) {
            recovering = false;
            return;
        }
        resendScheduled = true;
        long delay = Math.min(maxBackoff.toNanos(),
                minBackoff.toNanos() << Math.min(20, Math.max(0, consecutiveFailures - 1)));
        scheduler.schedule(this::resendHead, delay, TimeUnit.NANOSECONDS);
    }

    private void resendHead() {
        Pending head;
        synchronized (this) {
            resendScheduled = false;
            head = closed ? null : unacked.peekFirst();
            if (head == null) {
                recovering = false;
                return;
            }
            if (head.sent) {
                resends.increment();
            }
            head.sent = true;
            attemptsInFlight++;
        }
        start(head);
    }

    /** How many messages wait for an ack (for tests and diagnostics). */
    synchronized int unacknowledged() {
        return unacked.size();
    }

    private static final class Pending {
        final String messageId;
        final byte[] body;
        final CompletableFuture<Void> acked = new CompletableFuture<>();
        boolean sent;

        Pending(String messageId, byte[] body) {
            this.messageId = messageId;
            this.body = body;
        }
    }
}
