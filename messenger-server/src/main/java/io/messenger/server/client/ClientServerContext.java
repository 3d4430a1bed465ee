package io.messenger.server.client;

import io.messenger.cluster.Replicator;
import io.messenger.server.auth.ClientAuthenticator;
import io.messenger.server.chat.ChatStateMachine;
import io.messenger.server.chat.LocalConnections;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * What every client connection of a node shares: the log to propose to, the chat state to
 * read members from, the registry of attached connections and the client-facing limits.
 *
 * @param maxInFlight proposals one connection may have uncommitted before it stops reading
 * @param clock the leader's wall clock, stamped on proposed commands
 * @param traffic where the connections count sends, deliveries and slow-consumer disconnects
 * @param authenticator checks each Hello (its token) before the session is proposed
 * @param limits the bounds against hostile clients (hello deadline, send rates)
 * @param sendRates the send rate buckets of this node's connections and users, built from {@code limits}
 */
public record ClientServerContext(
        int nodeId,
        Replicator replicator,
        ChatStateMachine chat,
        LocalConnections connections,
        int maxMessageBytes,
        int maxFrameBytes,
        Duration idleTimeout,
        int maxInFlight,
        LongSupplier clock,
        ClientTraffic traffic,
        ClientAuthenticator authenticator,
        ClientLimits limits,
        SendRateLimiter sendRates) {

    public static final int DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(10);
    public static final int DEFAULT_MAX_IN_FLIGHT = 256;

    /** Without authentication (every Hello is whoever it says) and with the default {@link ClientLimits}. */
    public ClientServerContext(int nodeId, Replicator replicator, ChatStateMachine chat, LocalConnections connections,
                               int maxMessageBytes, int maxFrameBytes, Duration idleTimeout, int maxInFlight,
                               LongSupplier clock, ClientTraffic traffic) {
        this(nodeId, replicator, chat, connections, maxMessageBytes, maxFrameBytes, idleTimeout, maxInFlight, clock,
                traffic, ClientAuthenticator.OPEN, ClientLimits.DEFAULTS);
    }

    /** The same, counting into a traffic record of its own. */
    public ClientServerContext(int nodeId, Replicator replicator, ChatStateMachine chat, LocalConnections connections,
                               int maxMessageBytes, int maxFrameBytes, Duration idleTimeout, int maxInFlight,
                               LongSupplier clock) {
        this(nodeId, replicator, chat, connections, maxMessageBytes, maxFrameBytes, idleTimeout, maxInFlight, clock,
                new ClientTraffic());
    }

    /** With the given authentication and the default {@link ClientLimits}. */
    public ClientServerContext(int nodeId, Replicator replicator, ChatStateMachine chat, LocalConnections connections,
                               int maxMessageBytes, int maxFrameBytes, Duration idleTimeout, int maxInFlight,
                               LongSupplier clock, ClientTraffic traffic, ClientAuthenticator authenticator) {
        this(nodeId, replicator, chat, connections, maxMessageBytes, maxFrameBytes, idleTimeout, maxInFlight, clock,
                traffic, authenticator, ClientLimits.DEFAULTS);
    }

    /** Without authentication, with the given limits. */
    public ClientServerContext(int nodeId, Replicator replicator, ChatStateMachine chat, LocalConnections connections,
                               int maxMessageBytes, int maxFrameBytes, Duration idleTimeout, int maxInFlight,
                               LongSupplier clock, ClientTraffic traffic, ClientLimits limits) {
        this(nodeId, replicator, chat, connections, maxMessageBytes, maxFrameBytes, idleTimeout, maxInFlight, clock,
                traffic, ClientAuthenticator.OPEN, limits);
    }

    /** With the given authentication and limits, and the send rate buckets that {@code limits} describe. */
    public ClientServerContext(int nodeId, Replicator replicator, ChatStateMachine chat, LocalConnections connections,
                               int maxMessageBytes, int maxFrameBytes, Duration idleTimeout, int maxInFlight,
                               LongSupplier clock, ClientTraffic traffic, ClientAuthenticator authenticator,
                               ClientLimits limits) {
        this(nodeId, replicator, chat, connections, maxMessageBytes, maxFrameBytes, idleTimeout, maxInFlight, clock,
                traffic, authenticator, limits,
                new SendRateLimiter(limits.sendRate(), limits.userSendRate(), limits.nanoClock()));
    }

    public ClientServerContext {
        java.util.Objects.requireNonNull(traffic, "traffic");
        java.util.Objects.requireNonNull(authenticator, "authenticator");
        java.util.Objects.requireNonNull(limits, "limits");
        java.util.Objects.requireNonNull(sendRates, "sendRates");
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("max in-flight sends must be positive, got " + maxInFlight);
        }
        if (maxFrameBytes < 1024) {
            throw new IllegalArgumentException("max client frame must be at least 1024 bytes, got " + maxFrameBytes);
        }
        if (idleTimeout.toMillis() < 1) {
            throw new IllegalArgumentException("idle timeout must be at least 1 ms");
        }
    }
}
