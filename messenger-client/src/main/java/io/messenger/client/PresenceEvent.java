package io.messenger.client;

import java.time.Instant;

/**
 * A user joined or left the room.
 *
 * @param room the room
 * @param username who joined or left
 * @param kind joined or left
 * @param serverTime when the cluster recorded it
 */
public record PresenceEvent(String room, String username, Kind kind, Instant serverTime) {

    /** Whether the user arrived or went away. */
    public enum Kind {
        JOINED,
        LEFT
    }
}
