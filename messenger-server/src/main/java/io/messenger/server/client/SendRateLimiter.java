package io.messenger.server.client;

import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The send rate limits of one node: a bucket per connection ({@link #forConnection()}) and one
 * per username shared by all of that user's connections to this node ({@link #forUser}). A
 * user's bucket outlives its connections until it has refilled, so reconnecting does not
 * refill it; it is per node, not cluster-wide (only the leader serves sessions, so in practice
 * it is the user's whole rate).
 */
public final class SendRateLimiter {

    private final SendRate connectionRate;
    private final SendRate userRate;
    private final LongSupplier nanoClock;
    private final Map<String, UserBucket> users = new HashMap<>();
    /** Buckets handed out since the last sweep of idle ones. */
    private int sinceSweep;
    static final int SWEEP_EVERY = 1024;

    public SendRateLimiter(SendRate connectionRate, SendRate userRate, LongSupplier nanoClock) {
        this.connectionRate = connectionRate;
        this.userRate = userRate;
        this.nanoClock = nanoClock;
    }

    SendRate connectionRate() {
        return connectionRate;
    }

    SendRate userRate() {
        return userRate;
    }

    /** A fresh, full bucket for a new connection, or null when connections are not limited. */
    TokenBucket forConnection() {
        return connectionRate.off() ? null : new TokenBucket(connectionRate, nanoClock);
    }

    /** The user's shared bucket, held until {@link UserBucket#release()}; null when users are not limited. */
    UserBucket forUser(String username) {
        if (userRate.off()) {
            return null;
        }
        synchronized (users) {
            if (++sinceSweep >= SWEEP_EVERY) {
                sweep();
            }
            UserBucket b = users.computeIfAbsent(username, u -> new UserBucket(new TokenBucket(userRate, nanoClock)));
            b.holders++;
            return b;
        }
    }

    /** Forgets the buckets of users with no connection whose bucket has refilled completely. */
    void sweep() {
        synchronized (users) {
            sinceSweep = 0;
            users.values().removeIf(b -> b.holders == 0 && b.bucket.available() >= userRate.burst());
        }
    }

    /** Users with a bucket right now (tests, diagnostics). */
    int users() {
        synchronized (users) {
            return users.size();
        }
    }

    /** One user's bucket, shared by its connections; each holder releases it once. */
    final class UserBucket {
        private final TokenBucket bucket;
        private int holders;

        private UserBucket(TokenBucket bucket) {
            this.bucket = bucket;
        }

        boolean tryTake() {
            synchronized (users) {
                return bucket.tryTake();
            }
        }

        /** This connection is done with the bucket; it stays until it refilled (see {@link #sweep()}). */
        void release() {
            synchronized (users) {
                holders--;
            }
        }
    }
}
