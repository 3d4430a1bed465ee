package io.messenger.containers;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import io.messenger.client.ChatMessage;
import io.messenger.client.MessengerClient;
import io.messenger.client.MessengerListener;

/**
 * Real clients chatting in one room of a container cluster while faults happen: writers send numbered
 * lines at a steady pace, everyone records what was acknowledged and what was delivered, and
 * {@link #violations()} checks the exactly-once contract over it: nothing acknowledged is lost, nothing
 * is delivered twice, and every client sees one and the same order of the room.
 */
final class ChatTraffic implements AutoCloseable {

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(30);

    /** One send: filled in when the cluster acknowledges it (or the client gives up on it). */
    static final class Send {
        final String sender;
        final String text;
        final long sentNanos;
        private Long roomSeq;
        private long ackNanos;
        private Throwable failure;

        Send(String sender, String text) {
            this.sender = sender;
            this.text = text;
            this.sentNanos = System.nanoTime();
        }

        synchronized void completed(Long seq, Throwable error) {
            ackNanos = System.nanoTime();
            roomSeq = seq;
            failure = error;
        }

        synchronized boolean done() {
            return roomSeq != null || failure != null;
        }

        synchronized Long roomSeq() {
            return roomSeq;
        }

        synchronized long ackNanos() {
            return ackNanos;
        }

        synchronized Throwable failure() {
            return failure;
        }
    }

    /** One client of the room and everything it was delivered, in delivery order. */
    static final class Participant implements MessengerListener {
        final String name;
        final boolean writer;
        final MessengerClient client;
        private final List<ChatMessage> delivered = Collections.synchronizedList(new ArrayList<>());
        private int sent;

        Participant(String name, boolean writer, String seeds, String room) {
            this.name = name;
            this.writer = writer;
            this.client = MessengerClient.builder()
                    .servers(seeds)
                    .username(name)
                    .room(room)
                    .clientId(room + "-" + name)
                    .listener(this)
                    .build();
        }

        @Override
        public void onMessage(ChatMessage message) {
            delivered.add(message);
        }

        List<ChatMessage> delivered() {
            synchronized (delivered) {
                return List.copyOf(delivered);
            }
        }

        long lastSeq() {
            synchronized (delivered) {
                return delivered.isEmpty() ? 0 : delivered.get(delivered.size() - 1).roomSeq();
            }
        }
    }

    private final String room;
    private final List<Participant> participants;
    private final ConcurrentLinkedQueue<Send> sends = new ConcurrentLinkedQueue<>();
    private final ScheduledExecutorService pace;
    private final List<ScheduledFuture<?>> writing = new ArrayList<>();

    private ChatTraffic(String room, List<Participant> participants) {
        this.room = room;
        this.participants = participants;
        this.pace = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "chat-traffic-" + room);
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Joins {@code readers} and {@code writers} to {@code room} (readers first, so that they see the room
     * from its first line) and starts every writer sending one line per {@code interval}.
     */
    static ChatTraffic start(String seeds, String room, int writers, int readers, Duration interval) {
        List<Participant> participants = new ArrayList<>();
        for (int i = 1; i <= readers; i++) {
            participants.add(new Participant("reader" + i, false, seeds, room));
        }
        for (int i = 1; i <= writers; i++) {
            participants.add(new Participant("writer" + i, true, seeds, room));
        }
        ChatTraffic traffic = new ChatTraffic(room, participants);
        try {
            for (Participant participant : participants) {
                participant.client.connect().get(CONNECT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (Exception e) {
            traffic.close();
            throw new IllegalStateException("clients could not join room " + room + ": " + e, e);
        }
        for (Participant participant : participants) {
            if (participant.writer) {
                traffic.writing.add(traffic.pace.scheduleAtFixedRate(() -> traffic.sendOne(participant),
                        0, interval.toMillis(), TimeUnit.MILLISECONDS));
            }
        }
        return traffic;
    }

    private void sendOne(Participant writer) {
        Send send = new Send(writer.name, writer.name + " line " + (++writer.sent));
        sends.add(send);
        CompletableFuture<Long> ack;
        try {
            ack = writer.client.send(send.text);
        } catch (RuntimeException e) {
            send.completed(null, e);
            return;
        }
        ack.whenComplete(send::completed);
    }

    long acked() {
        return sends.stream().filter(send -> send.roomSeq() != null).count();
    }

    /** Waits until {@code more} sends beyond those acknowledged now are acknowledged. */
    void awaitMoreAcked(long more, Duration timeout) {
        long target = acked() + more;
        await(room + ": " + target + " acknowledged sends").atMost(timeout).pollInterval(Duration.ofMillis(50))
                .until(() -> acked() >= target);
    }

    /** Stops the writers, waits for every send to be settled and for every client to have seen all of them. */
    void stopAndSettle(Duration timeout) {
        writing.forEach(task -> task.cancel(false));
        // Let a send that is running now finish adding itself.
        try {
            pace.submit(() -> { }).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("the writers did not stop: " + e, e);
        }
        await(room + ": every send acknowledged or failed").atMost(timeout).pollInterval(Duration.ofMillis(100))
                .until(() -> sends.stream().allMatch(Send::done));
        long last = sends.stream().map(Send::roomSeq).filter(seq -> seq != null).mapToLong(Long::longValue)
                .max().orElse(0);
        await(room + ": every client delivered up to room seq " + last).atMost(timeout)
                .pollInterval(Duration.ofMillis(100))
                .until(() -> participants.stream().allMatch(participant -> participant.lastSeq() >= last));
    }

    /** The longest time between two consecutive acknowledgements: the pause clients saw. */
    Duration longestAckGap() {
        long[] acks = sends.stream().filter(send -> send.roomSeq() != null).mapToLong(Send::ackNanos).sorted().toArray();
        long longest = 0;
        for (int i = 1; i < acks.length; i++) {
            longest = Math.max(longest, acks[i] - acks[i - 1]);
        }
        return Duration.ofNanos(longest);
    }

    int sendCount() {
        return sends.size();
    }

    /** Every breach of the exactly-once contract in what was sent, acknowledged and delivered; empty when none. */
    List<String> violations() {
        List<RoomHistory.Sent> sent = sends.stream()
                .map(send -> new RoomHistory.Sent(send.sender, send.text, send.roomSeq(),
                        send.failure() == null ? null : send.failure().toString()))
                .toList();
        // Readers joined the empty room before the first send, so they must see every line; writers are
        // only held to the order (whether a sender is delivered its own lines is not part of the contract).
        List<RoomHistory.View> views = participants.stream()
                .map(participant -> new RoomHistory.View(participant.name, !participant.writer,
                        participant.delivered().stream()
                                .map(message -> new RoomHistory.Line(message.roomSeq(), message.sender(), message.text()))
                                .toList()))
                .toList();
        return RoomHistory.violations(sent, views);
    }

    @Override
    public void close() {
        pace.shutdownNow();
        for (Participant participant : participants) {
            try {
                participant.client.close();
            } catch (RuntimeException e) {
                // Closing the others matters more than this one's farewell; the test reports the run itself.
                org.slf4j.LoggerFactory.getLogger(ChatTraffic.class)
                        .warn("{} did not close cleanly: {}", participant.name, e.toString());
            }
        }
    }
}
