package io.messenger.client;

/**
 * Receives what happens in the room. Every callback of one client runs on the same dedicated thread, in
 * order; a callback must not block on that client's futures (they complete on the same thread).
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
