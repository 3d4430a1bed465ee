package io.messenger.client.cli;

import io.messenger.client.BufferFullException;
import io.messenger.client.ChatMessage;
import io.messenger.client.ConnectionEvent;
import io.messenger.client.MessengerClient;
import io.messenger.client.MessengerListener;
import io.messenger.client.PresenceEvent;
import io.messenger.client.ServerAddresses;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * Non-interactive mode: joins, prints the room transcript on stdout (history, then every message in room order,
 * own ones included, and presence lines), sends each non-empty stdin line, and at end of input waits until every
 * line is acknowledged and shown. Connection notices and errors go to stderr.
 */
final class ScriptedChat implements MessengerListener {

    private final Function<MessengerListener, MessengerClient> clients;
    private final InputStream in;
    private final PrintStream out;
    private final PrintStream err;
    private final Transcript transcript;
    private final Duration ackTimeout;

    private long shownRoomSeq;
    private final HistoryPager pager;
    private Throwable failure;

    ScriptedChat(Function<MessengerListener, MessengerClient> clients, InputStream in, PrintStream out,
                 PrintStream err, Transcript transcript, Duration ackTimeout) {
        this.clients = clients;
        this.in = in;
        this.out = out;
        this.err = err;
        this.transcript = transcript;
        this.ackTimeout = ackTimeout;
        this.pager = new HistoryPager(transcript);
    }

    /** Lines of stdin, then an empty marker at end of input or when the client failed. */
    private final BlockingQueue<Optional<String>> inbox = new LinkedBlockingQueue<>();

    int run() throws InterruptedException {
        try (MessengerClient client = clients.apply(this)) {
            try {
                client.connect().get();
            } catch (ExecutionException e) {
                return fail(e.getCause());
            }
            Thread reader = new Thread(this::readInput, "messenger-cli-stdin");
            reader.setDaemon(true);
            reader.start();
            List<CompletableFuture<Long>> sent = new ArrayList<>();
            int refused = 0;
            while (true) {
                Optional<String> next = inbox.take();
                if (failed() != null) {
                    return fail(failed());
                }
                if (next.isEmpty()) {
                    break;
                }
                String line = next.get();
                if (line.isBlank()) {
                    continue;
                }
                if (HistoryPager.isCommand(line.strip())) {
                    // Stdout is the transcript: the older page goes there, in order, as one block.
                    List<String> page = pager.run(client, line.strip());
                    synchronized (this) {
                        page.forEach(out::println);
                        out.flush();
                    }
                    continue;
                }
                CompletableFuture<Long> f = sendWhenThereIsRoom(client, line, sent);
                if (f.isCompletedExceptionally()) {
                    if (failed() != null) {
                        return fail(failed());
                    }
                    err.println("Not sent: " + ExitCode.sentence(cause(f)));
                    refused++;
                } else {
                    sent.add(f);
                }
            }
            return awaitAcknowledgements(sent, refused);
        }
    }

    /** Waits for the oldest outstanding send while the buffer is full, so no line of a long script is dropped. */
    private CompletableFuture<Long> sendWhenThereIsRoom(MessengerClient client, String line,
                                                        List<CompletableFuture<Long>> sent) throws InterruptedException {
        while (true) {
            CompletableFuture<Long> f = client.send(line);
            if (!isBufferFull(f)) {
                return f;
            }
            CompletableFuture<Long> oldest = sent.stream().filter(s -> !s.isDone()).findFirst().orElse(null);
            if (oldest == null || failed() != null) {
                return f;
            }
            try {
                oldest.get(ackTimeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException e) {
                return f;
            }
        }
    }

    private void readInput() {
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = lines.readLine()) != null) {
                inbox.add(Optional.of(line));
            }
        } catch (IOException e) {
            err.println("Could not read standard input: " + e.getMessage());
        } finally {
            inbox.add(Optional.empty());
        }
    }

    private int awaitAcknowledgements(List<CompletableFuture<Long>> sent, int refused) throws InterruptedException {
        long deadline = System.nanoTime() + ackTimeout.toNanos();
        int unacknowledged = 0;
        long highest = 0;
        for (CompletableFuture<Long> f : sent) {
            try {
                highest = Math.max(highest, f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
            } catch (TimeoutException e) {
                unacknowledged++;
            } catch (ExecutionException e) {
                if (failed() != null) {
                    return fail(failed());
                }
                err.println("Not sent: " + ExitCode.sentence(e.getCause()));
                unacknowledged++;
            }
        }
        // Our own messages belong in the transcript too: wait until their deliveries are printed.
        synchronized (this) {
            while (shownRoomSeq < highest && failure == null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }
        if (failed() != null) {
            return fail(failed());
        }
        int missing = unacknowledged + refused;
        if (missing > 0) {
            err.println(missing + " of " + (sent.size() + refused) + " messages were not acknowledged within "
                    + ExitCode.describe(ackTimeout) + ".");
            return ExitCode.UNACKNOWLEDGED;
        }
        return ExitCode.OK;
    }

    private int fail(Throwable cause) {
        err.println(ExitCode.sentence(cause));
        return ExitCode.of(cause);
    }

    private synchronized Throwable failed() {
        return failure;
    }

    private static boolean isBufferFull(CompletableFuture<Long> f) {
        return f.isCompletedExceptionally() && cause(f) instanceof BufferFullException;
    }

    private static Throwable cause(CompletableFuture<Long> f) {
        try {
            f.getNow(null);
            return null;
        } catch (RuntimeException e) {
            return e.getCause() != null ? e.getCause() : e;
        }
    }

    // ---- listener (the client's event thread) ----

    @Override
    public void onMessage(ChatMessage message) {
        pager.shown(message);
        synchronized (this) {
            out.println(transcript.message(message));
            out.flush();
            shownRoomSeq = Math.max(shownRoomSeq, message.roomSeq());
            notifyAll();
        }
    }

    @Override
    public void onPresence(PresenceEvent event) {
        out.println(transcript.presence(event));
        out.flush();
    }

    @Override
    public void onConnectionState(ConnectionEvent event) {
        switch (event.state()) {
            case RECONNECTING -> err.println("-- reconnecting: " + event.reason() + " --");
            case RECONNECTED -> err.println("-- reconnected to node " + event.nodeId() + " ("
                    + ServerAddresses.format(event.address()) + ") --");
            case FAILED -> {
                synchronized (this) {
                    failure = event.cause();
                    notifyAll();
                }
                inbox.add(Optional.empty());
            }
            default -> {
                // CONNECTING, CONNECTED and CLOSED need no notice in a transcript.
            }
        }
    }
}
