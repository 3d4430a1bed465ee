package io.messenger.client;

/**
 * Receives what happens in the room. The callbacks of one client run one at a time, in order, off the network
 * thread (on a thread of the client's own, or its {@code callbackExecutor}); a callback must not block on that
 * client's futures, which complete in the same sequence.
 */
public interface MessengerListener {

    /** A chat message: the join history first, then live ones, each room sequence exactly once. */
    default void onMessage(ChatMessage message) {
    }

    /** Someone joined or left the room. */
    default void onPresence(PresenceEvent event) {
    }

    /** The connection changed state (connected, reconnecting, reconnected, closed, failed). */
    default void onConnectionState(ConnectionEvent event) {
    }
}
