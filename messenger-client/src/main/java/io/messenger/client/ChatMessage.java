package io.messenger.client;

import java.time.Instant;

/**
 * One chat line of a room, as the cluster committed it.
 *
 * @param room the room it was sent to
 * @param roomSeq its place in the room's single order (1, 2, ...)
 * @param sender the username that sent it
 * @param text the message text
 * @param serverTime when the leader accepted it
 * @param fromHistory true for the room's recent messages handed over when this client first joined;
 *     false for live messages and for those caught up after a reconnect
 */
public record ChatMessage(String room, long roomSeq, String sender, String text, Instant serverTime,
                          boolean fromHistory) {
}
