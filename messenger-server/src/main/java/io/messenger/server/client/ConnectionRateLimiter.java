package io.messenger.server.client;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The arrival rate of new client connections on one node: a token bucket per remote address
 * ({@code --connection-rate}, {@code --connection-burst}) and one for all of them together
 * ({@code --connection-rate-total}, {@code --connection-burst-total}). Each new connection takes a token from its
 * address's bucket and from the total one; one that finds either empty is refused before its pipeline is built.
 * Thread-safe (event loops of every worker thread ask it), under one lock held for a few arithmetic steps.
 *
 * <p>Memory is bounded: the buckets of addresses that have refilled completely are forgotten every
 * {@link #SWEEP_EVERY} new addresses, and no more than {@link #MAX_ADDRESSES} are tracked; beyond that, a new
 * address is held to the total bucket only (a flood from that many addresses is what the total bucket is for).
 */
public final class ConnectionRateLimiter {

    /** What became of a new connection. */
    public enum Verdict {
        ADMITTED,
        /** Its address opened connections faster than the per-address bucket allows. */
        ADDRESS_OVER_RATE,
        /** Connections from everywhere together arrive faster than the total bucket allows. */
        TOTAL_OVER_RATE
    }

    static final int SWEEP_EVERY = 1024;
    static final int MAX_ADDRESSES = 65_536;

    private final SendRate perAddress;
    private final SendRate total;
    private final LongSupplier nanoClock;
    private final Map<Object, TokenBucket> addresses = new HashMap<>();
    private final TokenBucket totalBucket;
    private int newSinceSweep;
    private long refused;
    private long refusedAddressOverRate;

    /** @param nanoClock monotonic nanoseconds ({@code System::nanoTime} outside tests) */
    public ConnectionRateLimiter(SendRate perAddress, SendRate total, LongSupplier nanoClock) {
        this.perAddress = perAddress;
        this.total = total;
        this.nanoClock = nanoClock;
        this.totalBucket = total.off() ? null : new TokenBucket(total, nanoClock);
    }

    /** Whether neither bucket limits anything. */
    public boolean off() {
        return perAddress.off() && total.off();
    }

    SendRate perAddress() {
        return perAddress;
    }

    SendRate total() {
        return total;
    }

    /** Takes the tokens a new connection from {@code remote} costs, if both buckets have one. */
    public Verdict admit(SocketAddress remote) {
        if (off()) {
            return Verdict.ADMITTED;
        }
        Object key = key(remote);
        synchronized (this) {
            TokenBucket bucket = perAddress.off() ? null : bucketOf(key);
            if (bucket != null && !bucket.tryTake()) {
                refused++;
                refusedAddressOverRate++;
                return Verdict.ADDRESS_OVER_RATE;
            }
            if (totalBucket != null && !totalBucket.tryTake()) {
                if (bucket != null) {
                    bucket.giveBack();
                }
                refused++;
                return Verdict.TOTAL_OVER_RATE;
            }
            return Verdict.ADMITTED;
        }
    }

    /** Connections refused so far. */
    public synchronized long refused() {
        return refused;
    }

    /** Connections refused so far with {@code verdict} (0 for {@link Verdict#ADMITTED}). */
    public synchronized long refused(Verdict verdict) {
        return switch (verdict) {
            case ADMITTED -> 0;
            case ADDRESS_OVER_RATE -> refusedAddressOverRate;
            case TOTAL_OVER_RATE -> refused - refusedAddressOverRate;
        };
    }

    /** Addresses with a bucket right now (tests, diagnostics). */
    synchronized int trackedAddresses() {
        return addresses.size();
    }

    /** The address's bucket, made if missing; null if the table is full of addresses that are still limited. */
    private TokenBucket bucketOf(Object key) {
        TokenBucket bucket = addresses.get(key);
        if (bucket != null) {
            return bucket;
        }
        if (++newSinceSweep >= SWEEP_EVERY || addresses.size() >= MAX_ADDRESSES) {
            sweep();
            if (addresses.size() >= MAX_ADDRESSES) {
                return null;
            }
        }
        bucket = new TokenBucket(perAddress, nanoClock);
        addresses.put(key, bucket);
        return bucket;
    }

    /** Forgets the buckets that have refilled completely: such an address is as new. */
    synchronized void sweep() {
        newSinceSweep = 0;
        addresses.values().removeIf(b -> b.available() >= perAddress.burst());
    }

    /** The host part of an IP address; other address kinds (in-process, embedded) as themselves. */
    private static Object key(SocketAddress remote) {
        if (remote instanceof InetSocketAddress inet) {
            InetAddress address = inet.getAddress();
            return address != null ? address : inet.getHostString();
        }
        return remote == null ? "unknown" : remote;
    }
}
