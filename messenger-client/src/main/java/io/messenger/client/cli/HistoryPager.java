package io.messenger.client.cli;

import io.messenger.client.ChatMessage;
import io.messenger.client.ClientConfig;
import io.messenger.client.MessengerClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code /history [N]}: shows the N messages (default 10) before the oldest one shown so far, one page per
 * command, and says when the start of the room, or of what the server retains, is reached.
 */
final class HistoryPager {

    static final int DEFAULT_PAGE = 10;
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final Transcript transcript;
    /** The oldest room sequence shown; 0 while none is. */
    private long oldestShown;

    HistoryPager(Transcript transcript) {
        this.transcript = transcript;
    }

    /** Whether a typed line is this command. */
    static boolean isCommand(String line) {
        return line.equals("/history") || line.startsWith("/history ");
    }

    /** Notes a message shown as it arrived (history or live); any thread. */
    synchronized void shown(ChatMessage m) {
        if (oldestShown == 0 || m.roomSeq() < oldestShown) {
            oldestShown = m.roomSeq();
        }
    }

    /** Runs the command; the lines to show, in order. */
    List<String> run(MessengerClient client, String line) throws InterruptedException {
        String arg = line.substring("/history".length()).trim();
        int n;
        try {
            n = arg.isEmpty() ? DEFAULT_PAGE : Integer.parseInt(arg);
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 1 || n > ClientConfig.MAX_HISTORY_PAGE) {
            return List.of("-- /history takes a number of messages from 1 to " + ClientConfig.MAX_HISTORY_PAGE
                    + ", not '" + TerminalText.escape(arg) + "' --");
        }
        long before;
        synchronized (this) {
            before = oldestShown;
        }
        if (before == 1) {
            return List.of("-- this is the start of the room --");
        }
        List<ChatMessage> page;
        try {
            page = client.history(before, n).get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            return List.of("-- history not available: " + ExitCode.sentence(e.getCause()) + " --");
        } catch (TimeoutException e) {
            return List.of("-- the history did not arrive within " + ExitCode.describe(WAIT) + " --");
        }
        List<String> lines = new ArrayList<>();
        for (ChatMessage m : page) {
            lines.add(transcript.message(m));
        }
        long first = client.firstAvailableSeq();
        long reached = page.isEmpty() ? before : page.get(0).roomSeq();
        synchronized (this) {
            if (!page.isEmpty() && (oldestShown == 0 || reached < oldestShown)) {
                oldestShown = reached;
            }
        }
        if (page.size() < n || reached <= Math.max(1, first)) {
            if (first > 1) {
                lines.add("-- messages 1.." + (first - 1) + " of this room are past retention --");
            } else if (reached <= 1 || page.isEmpty()) {
                lines.add("-- this is the start of the room --");
            }
        }
        return lines;
    }
}
