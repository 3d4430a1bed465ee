package io.messenger.cluster.core;

import io.messenger.cluster.ClusterConfig;
import io.messenger.cluster.Member;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What the pure consensus core needs to know, with time counted in ticks of the driver's
 * clock (the runtime ticks every 10 ms), checked in one place.
 *
 * @param selfId this node's id; one of {@code memberIds}
 * @param memberIds every configured node, this one included (static membership); the ring
 *     order is ascending id
 * @param heartbeatTicks how often the leader heartbeats every backup
 * @param electionTimeoutTicks silence after which a backup starts an election (plus a random
 *     jitter of up to the same amount), and after which a leader that has not heard a
 *     majority steps down
 * @param maxAppendEntries most entries in one append message
 * @param maxAppendBytes most serialized entry bytes in one append message (the first entry
 *     is always sent, whatever its size)
 * @param maxInflightAppends most append messages sent to one backup and not yet answered
 * @param clientAddress this node's client endpoint (host:port), announced while it leads
 */
public record CoreConfig(
        int selfId,
        List<Integer> memberIds,
        int heartbeatTicks,
        int electionTimeoutTicks,
        int maxAppendEntries,
        long maxAppendBytes,
        int maxInflightAppends,
        String clientAddress) {

    /** Pipelining depth used when a caller does not choose one. */
    public static final int DEFAULT_MAX_INFLIGHT_APPENDS = 8;

    public CoreConfig {
        memberIds = List.copyOf(memberIds);
        Objects.requireNonNull(clientAddress, "clientAddress");
        if (memberIds.isEmpty()) {
            throw new IllegalArgumentException("at least one member is needed");
        }
        if (memberIds.stream().distinct().count() != memberIds.size()) {
            throw new IllegalArgumentException("member ids must be unique: " + memberIds);
        }
        if (memberIds.stream().anyMatch(id -> id < 1)) {
            throw new IllegalArgumentException("member ids must be positive (0 means 'no leader'): " + memberIds);
        }
        if (!memberIds.contains(selfId)) {
            throw new IllegalArgumentException("self id " + selfId + " is not among the members " + memberIds);
        }
        if (heartbeatTicks < 1) {
            throw new IllegalArgumentException("heartbeat must be at least 1 tick, got " + heartbeatTicks);
        }
        if (electionTimeoutTicks < 2 * heartbeatTicks) {
            throw new IllegalArgumentException("election timeout (" + electionTimeoutTicks
                    + " ticks) must be at least twice the heartbeat (" + heartbeatTicks + " ticks)");
        }
        if (maxAppendEntries < 1) {
            throw new IllegalArgumentException("max append entries must be positive, got " + maxAppendEntries);
        }
        if (maxAppendBytes < 1) {
            throw new IllegalArgumentException("max append bytes must be positive, got " + maxAppendBytes);
        }
        if (maxInflightAppends < 1) {
            throw new IllegalArgumentException("max inflight appends must be positive, got " + maxInflightAppends);
        }
    }

    /** The same with the default pipelining depth ({@value #DEFAULT_MAX_INFLIGHT_APPENDS}). */
    public CoreConfig(int selfId, List<Integer> memberIds, int heartbeatTicks, int electionTimeoutTicks,
            int maxAppendEntries, long maxAppendBytes, String clientAddress) {
        this(selfId, memberIds, heartbeatTicks, electionTimeoutTicks, maxAppendEntries, maxAppendBytes,
                DEFAULT_MAX_INFLIGHT_APPENDS, clientAddress);
    }

    /**
     * Derives the core's configuration from the node's, converting durations to ticks of
     * {@code tick} (rounded up, at least one).
     */
    public static CoreConfig from(ClusterConfig cluster, Duration tick) {
        long tickNanos = tick.toNanos();
        if (tickNanos <= 0) {
            throw new IllegalArgumentException("tick must be positive, got " + tick);
        }
        int heartbeat = (int) Math.max(1, ceilDiv(cluster.heartbeatInterval().toNanos(), tickNanos));
        int election = (int) Math.max(2L * heartbeat, ceilDiv(cluster.electionTimeout().toNanos(), tickNanos));
        return new CoreConfig(cluster.nodeId(), cluster.members().stream().map(Member::id).toList(),
                heartbeat, election, cluster.maxAppendEntries(), cluster.maxAppendBytes(),
                DEFAULT_MAX_INFLIGHT_APPENDS, cluster.clientAddress());
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /** The smallest number of members that forms a majority. */
    public int majority() {
        return memberIds.size() / 2 + 1;
    }
}
