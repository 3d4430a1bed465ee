package io.messenger.client;

/**
 * Lifecycle of a {@link MessengerClient}.
 *
 * <pre>
 *   CONNECTING --welcome--> CONNECTED --lost--> RECONNECTING --welcome--> RECONNECTED
 *       |                       |                 ^     |                     |
 *       |                       |                 |     +--------lost---------+
 *    refused / gave up       close()            lost  refused / gave up
 *       v                       v                       v
 *     FAILED                  CLOSED                  FAILED
 * </pre>
 * {@code CLOSED} is reached from every state by {@link MessengerClient#close()}; {@code CLOSED} and
 * {@code FAILED} are final.
 */
public enum ConnectionState {
    /** Not yet asked to connect. */
    NEW,
    /** Looking for the leader for the first time. */
    CONNECTING,
    /** Joined the room for the first time. */
    CONNECTED,
    /** The connection was lost; looking for the (possibly new) leader; sends wait in the buffer. */
    RECONNECTING,
    /** Joined again after a loss; unacknowledged sends were resent and missed messages delivered. */
    RECONNECTED,
    /** Closed by the application. */
    CLOSED,
    /** Refused for good by the cluster, or no leader was reachable in time. */
    FAILED;

    /** True when the client currently has a session with the leader. */
    public boolean isOnline() {
        return this == CONNECTED || this == RECONNECTED;
    }

    /** True for the final states. */
    public boolean isTerminal() {
        return this == CLOSED || this == FAILED;
    }
}
