package io.messenger.client.cli;

import io.messenger.client.ChatMessage;
import io.messenger.client.PresenceEvent;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

/**
 * The stable line format of the room transcript, shared by both modes (tests parse it):
 * <pre>
 * [HH:MM:SS] bob: text             a message (local time of the server timestamp)
 * [HH:MM:SS] alice (you): text     a message sent under this client's username
 * -- bob joined lobby --           presence
 * -- bob left lobby --
 * </pre>
 * Line breaks inside a message appear as {@code \n} (and {@code \r}) so every message is one line.
 */
final class Transcript {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss");

    private final String username;
    private final ZoneId zone;

    Transcript(String username, ZoneId zone) {
        this.username = username;
        this.zone = zone;
    }

    String message(ChatMessage m) {
        return "[" + time(m.serverTime()) + "] " + who(m.sender()) + ": " + oneLine(m.text());
    }

    String pending(String text) {
        return "[--:--:--] " + username + " (sending…): " + oneLine(text);
    }

    String presence(PresenceEvent e) {
        return "-- " + TerminalText.escape(e.username()) + (e.kind() == PresenceEvent.Kind.JOINED ? " joined " : " left ") + TerminalText.escape(e.room()) + " --";
    }

    private String who(String sender) {
        String shown = TerminalText.escape(sender);
        return sender.equals(username) ? shown + " (you)" : shown;
    }

    private String time(Instant instant) {
        return TIME.format(instant.atZone(zone));
    }

    static String oneLine(String text) {
        return TerminalText.escape(text);
    }
}
