package io.messenger.client.cli;

import io.messenger.client.ChatMessage;
import io.messenger.client.ConnectionEvent;
import io.messenger.client.MessengerClient;
import io.messenger.client.MessengerListener;
import io.messenger.client.PresenceEvent;
import io.messenger.client.ServerAddresses;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Terminal;

/**
 * Terminal mode: a JLine prompt at the bottom while room lines are printed above it without breaking what
 * the user is typing. The typed line is replaced by the room's own line once the message is committed;
 * lines typed while reconnecting are shown as {@code (sending…)} until then. {@code /who}, {@code /history [N]}, {@code /quit},
 * Ctrl-D.
 */
final class InteractiveChat implements MessengerListener {

    private static final String ERASE_TYPED_LINE = "\033[1A\033[2K\r";

    private final Function<MessengerListener, MessengerClient> clients;
    private final PrintStream err;
    private final Transcript transcript;
    private final String room;
    private final Duration ackTimeout;
    private final HistoryPager pager;

    private final List<CompletableFuture<Long>> inFlight = new ArrayList<>();
    private volatile LineReader reader;
    private volatile Terminal terminal;
    private volatile boolean online;
    private volatile Throwable failure;

    /** Opens the terminal to chat on. */
    interface TerminalSource {
        Terminal open() throws IOException;
    }

    private final TerminalSource terminals;

    InteractiveChat(TerminalSource terminals, Function<MessengerListener, MessengerClient> clients, PrintStream err,
                    Transcript transcript, String room, Duration ackTimeout) {
        this.terminals = terminals;
        this.clients = clients;
        this.err = err;
        this.transcript = transcript;
        this.room = room;
        this.ackTimeout = ackTimeout;
        this.pager = new HistoryPager(transcript);
    }

    int run() throws IOException, InterruptedException {
        try (Terminal term = terminals.open()) {
            terminal = term;
            reader = LineReaderBuilder.builder().terminal(term).appName("messenger").build();
            boolean ansi = !Terminal.TYPE_DUMB.equals(term.getType()) && !Terminal.TYPE_DUMB_COLOR.equals(term.getType());
            try (MessengerClient client = clients.apply(this)) {
                try {
                    client.connect().get();
                } catch (ExecutionException e) {
                    return fail(e.getCause());
                }
                while (failure == null) {
                    String line;
                    try {
                        line = reader.readLine(room + "> ");
                    } catch (UserInterruptException | EndOfFileException e) {
                        break;
                    }
                    if (ansi) {
                        term.writer().print(ERASE_TYPED_LINE);
                        term.flush();
                    }
                    String text = line.strip();
                    if (text.isEmpty()) {
                        continue;
                    }
                    if (text.equals("/quit")) {
                        break;
                    }
                    if (HistoryPager.isCommand(text)) {
                        pager.run(client, text).forEach(this::show);
                        continue;
                    }
                    if (text.equals("/who")) {
                        who(client);
                        continue;
                    }
                    if (text.startsWith("/") && !text.startsWith("//")) {
                        show("-- unknown command " + text.split("\\s+")[0] + "; try /who, /history [N] or /quit --");
                        continue;
                    }
                    send(client, text.startsWith("//") ? text.substring(1) : line);
                }
                if (failure != null) {
                    return fail(failure);
                }
                return drain(client);
            }
        }
    }

    private void send(MessengerClient client, String text) {
        CompletableFuture<Long> f = client.send(text);
        if (f.isCompletedExceptionally()) {
            f.whenComplete((seq, e) -> show("-- not sent: " + ExitCode.sentence(e.getCause() != null ? e.getCause() : e) + " --"));
            return;
        }
        if (!online) {
            show(transcript.pending(text));
        }
        inFlight.removeIf(CompletableFuture::isDone);
        inFlight.add(f);
        f.whenComplete((seq, e) -> {
            if (e != null && failure == null) {
                show("-- not sent: " + ExitCode.sentence(e.getCause() != null ? e.getCause() : e) + " --");
            }
        });
    }

    private void who(MessengerClient client) throws InterruptedException {
        List<String> members;
        try {
            members = client.who().get(2, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            members = client.members();
        }
        show("-- in " + room + ": " + String.join(", ", members) + " --");
    }

    /** On the way out, give messages still in flight a bounded chance to be committed. */
    private int drain(MessengerClient client) throws InterruptedException {
        inFlight.removeIf(CompletableFuture::isDone);
        if (inFlight.isEmpty()) {
            return ExitCode.OK;
        }
        show("-- waiting for " + inFlight.size() + " message(s) to be sent --");
        long deadline = System.nanoTime() + ackTimeout.toNanos();
        int unacknowledged = 0;
        for (CompletableFuture<Long> f : inFlight) {
            try {
                f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (ExecutionException | TimeoutException e) {
                unacknowledged++;
            }
        }
        if (unacknowledged > 0) {
            err.println(unacknowledged + " message(s) were not acknowledged within " + ExitCode.describe(ackTimeout) + ".");
            return ExitCode.UNACKNOWLEDGED;
        }
        return ExitCode.OK;
    }

    private int fail(Throwable cause) {
        err.println(ExitCode.sentence(cause));
        return ExitCode.of(cause);
    }

    private void show(String line) {
        LineReader r = reader;
        if (r != null && r.isReading()) {
            r.printAbove(line);
        } else {
            terminal.writer().println(line);
            terminal.flush();
        }
    }

    // ---- listener (the client's event thread) ----

    @Override
    public void onMessage(ChatMessage message) {
        pager.shown(message);
        show(transcript.message(message));
    }

    @Override
    public void onPresence(PresenceEvent event) {
        show(transcript.presence(event));
    }

    @Override
    public void onConnectionState(ConnectionEvent event) {
        switch (event.state()) {
            case CONNECTED -> {
                online = true;
                show("-- joined " + room + " on node " + event.nodeId() + " (" + ServerAddresses.format(event.address())
                        + "); /who lists members, /history [N] shows older messages, /quit leaves --");
            }
            case RECONNECTING -> {
                online = false;
                show("-- reconnecting… (" + event.reason() + ") --");
            }
            case RECONNECTED -> {
                online = true;
                show("-- reconnected to node " + event.nodeId() + " (" + ServerAddresses.format(event.address()) + ") --");
            }
            case FAILED -> {
                online = false;
                failure = event.cause();
                // Wake the prompt so the main thread can report the failure and exit.
                Terminal t = terminal;
                if (t != null && reader != null && reader.isReading()) {
                    t.raise(Terminal.Signal.INT);
                }
            }
            default -> {
                // CONNECTING and CLOSED need no notice.
            }
        }
    }
}
