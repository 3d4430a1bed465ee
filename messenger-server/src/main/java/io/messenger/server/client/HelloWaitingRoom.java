package io.messenger.server.client;

import io.messenger.cluster.ClusterStatus;
import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a node keeps the Hellos that arrive while it knows no leader (an election is under way), instead of
 * answering each with {@code ELECTION_IN_PROGRESS} and having the client ask again every 100-200 ms. The moment
 * the cluster names a leader (this node or another) every held Hello is handed back to its connection's event
 * loop, which opens the session here or redirects the client to the leader at once.
 *
 * <p>Bounded twice: at most {@link #capacity()} Hellos wait on one node (past that a Hello is answered as
 * before), and each waits at most {@link #patience()} (its connection's own timer, see
 * {@link ClientSessionHandler}). The patience stays below the client library's default connect timeout (2 s),
 * within which a client expects a Welcome or an answer before it takes the node for frozen.
 *
 * <p>Thread-safe: connections enter and leave on their event loops, the cluster's thread releases them.
 */
final class HelloWaitingRoom {

    private static final Logger log = LoggerFactory.getLogger(HelloWaitingRoom.class);

    /** Hellos one node holds at most: far above any failover's reconnecting clients, far below memory trouble. */
    static final int DEFAULT_CAPACITY = 10_000;
    /**
     * How long one Hello waits for a leader: longer than an election usually takes (a few hundred ms), shorter
     * than the client's connect timeout. A longer election costs one more Hello, answered {@code
     * ELECTION_IN_PROGRESS} and retried by the client.
     */
    static final Duration DEFAULT_PATIENCE = Duration.ofMillis(1500);

    private final int capacity;
    private final Duration patience;
    private final Set<Ticket> waiting = ConcurrentHashMap.newKeySet();
    /** Reservations, so the capacity holds exactly however many loops enter at once. */
    private final AtomicInteger taken = new AtomicInteger();

    HelloWaitingRoom() {
        this(DEFAULT_CAPACITY, DEFAULT_PATIENCE);
    }

    HelloWaitingRoom(int capacity, Duration patience) {
        if (capacity < 0) {
            throw new IllegalArgumentException("the held-Hello capacity must not be negative, got " + capacity);
        }
        if (patience.toMillis() < 1) {
            throw new IllegalArgumentException("a held Hello must be allowed to wait at least 1 ms");
        }
        this.capacity = capacity;
        this.patience = patience;
    }

    /** A Hello that waits, and where to hand it back. */
    static final class Ticket {
        private final EventExecutor loop;
        private final Runnable leaderKnown;

        private Ticket(EventExecutor loop, Runnable leaderKnown) {
            this.loop = loop;
            this.leaderKnown = leaderKnown;
        }
    }

    int capacity() {
        return capacity;
    }

    Duration patience() {
        return patience;
    }

    /** Hellos waiting now. */
    int size() {
        return waiting.size();
    }

    /**
     * Holds a Hello until a leader is known: {@code leaderKnown} then runs once on {@code loop}. The caller checks
     * the cluster's status again after entering, since a leader named just before is not announced again.
     *
     * @return the ticket to leave with, or null when the room is full (the Hello must be answered now)
     */
    Ticket enter(EventExecutor loop, Runnable leaderKnown) {
        if (taken.incrementAndGet() > capacity) {
            taken.decrementAndGet();
            return null;
        }
        Ticket ticket = new Ticket(loop, leaderKnown);
        waiting.add(ticket);
        return ticket;
    }

    /**
     * Takes a Hello out without waking it (answered, timed out or disconnected).
     *
     * @return false if it was no longer waiting (already released to its loop, or left before)
     */
    boolean leave(Ticket ticket) {
        if (ticket != null && waiting.remove(ticket)) {
            taken.decrementAndGet();
            return true;
        }
        return false;
    }

    /** The cluster's view changed: once it names a leader, every held Hello goes back to its loop. */
    void leadershipChanged(ClusterStatus status) {
        if (!status.isLeader() && status.leaderId() == 0) {
            return;
        }
        int released = 0;
        for (Ticket ticket : waiting) {
            if (!leave(ticket)) {
                continue; // its connection took it out meanwhile
            }
            released++;
            try {
                ticket.loop.execute(ticket.leaderKnown);
            } catch (RejectedExecutionException e) {
                log.debug("a held Hello's event loop has stopped; its connection is gone");
            }
        }
        if (released > 0) {
            log.info("node {} knows leader {} (epoch {}): {} held Hello(s) answered", status.nodeId(),
                    status.leaderId(), status.epoch(), released);
        }
    }
}
