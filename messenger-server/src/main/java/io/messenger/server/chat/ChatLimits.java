package io.messenger.server.chat;

/**
 * The bounds the chat state machine enforces; every node of a cluster must use the same
 * values, since they shape the replicated state.
 *
 * @param historySize messages a fresh join receives
 * @param retainedMessages messages kept per room, for history and for resume
 * @param maxDevices distinct client ids one username may hold sessions with
 * @param dedupWindow send sequences remembered per client id (at least the client's buffer)
 * @param maxMessageBytes longest message text in UTF-8 bytes (told to clients in Welcome)
 * @param maxRooms most rooms the cluster holds; a session that would create one more is refused
 * @param maxRoomsPerUserPerMinute most rooms one username may create within any 60 s of leader time
 */
public record ChatLimits(int historySize, int retainedMessages, int maxDevices, int dedupWindow, int maxMessageBytes,
                         int maxRooms, int maxRoomsPerUserPerMinute) {

    public static final int DEFAULT_HISTORY_SIZE = 10;
    public static final int DEFAULT_RETAINED_MESSAGES = 10_000;
    public static final int DEFAULT_MAX_DEVICES = 2;
    public static final int DEFAULT_DEDUP_WINDOW = 4096;
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 4096;
    public static final int DEFAULT_MAX_ROOMS = 10_000;
    public static final int DEFAULT_MAX_ROOMS_PER_USER_PER_MINUTE = 10;
    /** The window of {@link #maxRoomsPerUserPerMinute()}, in leader milliseconds. */
    public static final long ROOM_CREATION_WINDOW_MS = 60_000;
    /** Most client ids whose send numbering is remembered after their session expired. */
    public static final int MAX_REMEMBERED_CLIENTS = 65_536;

    public static final ChatLimits DEFAULTS = new ChatLimits(DEFAULT_HISTORY_SIZE, DEFAULT_RETAINED_MESSAGES,
            DEFAULT_MAX_DEVICES, DEFAULT_DEDUP_WINDOW, DEFAULT_MAX_MESSAGE_BYTES);

    /** The same, with the default room limits. */
    public ChatLimits(int historySize, int retainedMessages, int maxDevices, int dedupWindow, int maxMessageBytes) {
        this(historySize, retainedMessages, maxDevices, dedupWindow, maxMessageBytes, DEFAULT_MAX_ROOMS,
                DEFAULT_MAX_ROOMS_PER_USER_PER_MINUTE);
    }

    public ChatLimits {
        if (historySize < 0 || historySize > 10_000) {
            throw new IllegalArgumentException("history size must be between 0 and 10000, got " + historySize);
        }
        if (retainedMessages < Math.max(1, historySize) || retainedMessages > 1_000_000) {
            throw new IllegalArgumentException("retained messages must be between the history size (" + historySize
                    + ") and 1000000, got " + retainedMessages);
        }
        if (maxDevices < 1 || maxDevices > 100) {
            throw new IllegalArgumentException("max devices must be between 1 and 100, got " + maxDevices);
        }
        if (dedupWindow < 1 || dedupWindow > 1_000_000) {
            throw new IllegalArgumentException("dedup window must be between 1 and 1000000, got " + dedupWindow);
        }
        if (maxMessageBytes < 1 || maxMessageBytes > 60 * 1024) {
            throw new IllegalArgumentException("max message bytes must be between 1 and 61440, got " + maxMessageBytes);
        }
        if (maxRooms < 1 || maxRooms > 10_000_000) {
            throw new IllegalArgumentException("max rooms must be between 1 and 10000000, got " + maxRooms);
        }
        if (maxRoomsPerUserPerMinute < 1 || maxRoomsPerUserPerMinute > 1_000_000) {
            throw new IllegalArgumentException("max rooms per user per minute must be between 1 and 1000000, got "
                    + maxRoomsPerUserPerMinute);
        }
    }
}
