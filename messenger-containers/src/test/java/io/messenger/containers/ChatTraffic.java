package io.messenger.containers;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import io.messenger.e2e.ChatParticipant;
import io.messenger.e2e.History;
import io.messenger.e2e.HistoryChecker;

/**
 * Real clients chatting in one room of a container cluster while faults happen: writers send numbered
 * lines at a steady pace, and every send, acknowledgement and delivery goes into a {@link History} that
 * {@link #check()} judges with the process tests' {@link HistoryChecker}: nothing acknowledged is lost,
 * nothing is delivered twice, and every client sees one and the same gap-free order of the room.
 */
final class ChatTraffic implements AutoCloseable {

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(30);

    private final String room;
    private final History history = new History();
    private final List<ChatParticipant> participants = new ArrayList<>();
    private ContainerCluster cluster;
    private final ScheduledExecutorService pace;
    private final List<ScheduledFuture<?>> writing = new ArrayList<>();

    private ChatTraffic(String room) {
        this.room = room;
        this.pace = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "chat-traffic-" + room);
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Joins {@code readers} and {@code writers} to {@code room} (readers first; all before the first send,
     * so that everyone must see the room from its first line) and starts every writer sending one line per
     * {@code interval}.
     */
    static ChatTraffic start(ContainerCluster cluster, String room, int writers, int readers, Duration interval) {
        ChatTraffic traffic = new ChatTraffic(room);
        traffic.cluster = cluster;
        String seeds = cluster.seeds();
        List<ChatParticipant> writing = new ArrayList<>();
        try {
            for (int i = 1; i <= readers; i++) {
                traffic.participants.add(traffic.participant(seeds, "reader" + i));
            }
            for (int i = 1; i <= writers; i++) {
                ChatParticipant writer = traffic.participant(seeds, "writer" + i);
                traffic.participants.add(writer);
                writing.add(writer);
            }
            for (ChatParticipant participant : traffic.participants) {
                participant.join(CONNECT_TIMEOUT);
            }
        } catch (Exception e) {
            traffic.close();
            throw new IllegalStateException("clients could not join room " + room + ": " + e, e);
        }
        for (ChatParticipant writer : writing) {
            traffic.writing.add(traffic.pace.scheduleAtFixedRate(writer::sendNext,
                    0, interval.toMillis(), TimeUnit.MILLISECONDS));
        }
        return traffic;
    }

    private ChatParticipant participant(String seeds, String name) {
        // Over TLS, trusting the cluster's CA (the certificate names 127.0.0.1, the host the seeds name),
        // with a token for the participant's username.
        return new ChatParticipant(history, name, seeds, name, room,
                builder -> builder.clientId(room + "-" + name).trustedCa(cluster.caFile()).token(cluster.token(name)));
    }

    long acked() {
        return history.sends().stream().filter(send -> send.roomSeq().isPresent()).count();
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
                .until(() -> participants.stream().mapToInt(ChatParticipant::pending).sum() == 0);
        long last = history.sends().stream().flatMap(send -> send.roomSeq().stream()).mapToLong(Long::longValue)
                .max().orElse(0);
        await(room + ": every client delivered up to room seq " + last).atMost(timeout)
                .pollInterval(Duration.ofMillis(100))
                .until(() -> history.receivers().stream().allMatch(receiver -> receiver.lastSeq() >= last));
    }

    /** The longest time between two consecutive acknowledgements: the pause clients saw. */
    Duration longestAckGap() {
        long[] acks = history.sends().stream().filter(send -> send.roomSeq().isPresent())
                .mapToLong(History.Send::ackNanos).sorted().toArray();
        long longest = 0;
        for (int i = 1; i < acks.length; i++) {
            longest = Math.max(longest, acks[i] - acks[i - 1]);
        }
        return Duration.ofNanos(longest);
    }

    /** Every username the clients were told was in the room: their member lists and every presence announcement. */
    Set<String> membersSeen() {
        Set<String> seen = new TreeSet<>();
        participants.forEach(participant -> seen.addAll(participant.client().members()));
        history.receivers().forEach(receiver -> receiver.presence().forEach(p -> seen.add(p.user())));
        return seen;
    }

    int sendCount() {
        return history.sends().size();
    }

    /** The exactly-once verdict over everything sent, acknowledged and delivered so far. */
    HistoryChecker.Verdict check() {
        return HistoryChecker.check(history);
    }

    @Override
    public void close() {
        pace.shutdownNow();
        for (ChatParticipant participant : participants) {
            try {
                participant.close();
            } catch (RuntimeException e) {
                // Closing the others matters more than this one's farewell; the test reports the run itself.
                org.slf4j.LoggerFactory.getLogger(ChatTraffic.class)
                        .warn("{} did not close cleanly: {}", participant.name(), e.toString());
            }
        }
    }
}
