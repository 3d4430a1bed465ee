package io.messenger.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The fault that once lost acknowledged messages: three real server processes under chatting clients;
 * one backup is frozen (SIGSTOP), the other is killed and restarted with an empty data directory, then
 * the leader is SIGKILLed. The wiped node must not vote until restored, so nobody can be elected until
 * the frozen node thaws and the killed leader returns; afterwards every acknowledged message is in its
 * room exactly once and no room sequence is used twice (the history checker), and the wiped node has
 * been restored.
 */
class DiskLossProcessTest {

    private static final int CLIENTS = 6;
    private static final int ROOMS = 2;
    private static final Duration SEND_INTERVAL = Duration.ofMillis(300);
    private static final Duration BOUND = Duration.ofSeconds(30);

    private final History history = new History();
    private final List<ChatParticipant> participants = new ArrayList<>();
    private final ScheduledExecutorService load = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "e2e-load");
        thread.setDaemon(true);
        return thread;
    });
    private LocalCluster cluster;

    @AfterEach
    void tearDown() {
        load.shutdownNow();
        for (ChatParticipant participant : participants) {
            participant.client().close();
        }
        if (cluster != null) {
            for (ServerProcess node : cluster.nodes()) {
                node.thaw();
            }
            cluster.close();
        }
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void aWipedNodeDoesNotVoteUntilRestoredAndNothingAcknowledgedIsLost() throws Exception {
        cluster = LocalCluster.create("diskloss", 3, List.of()).start();
        for (int i = 0; i < CLIENTS; i++) {
            participants.add(new ChatParticipant(history, String.format("c%02d", i), cluster.clientAddresses(),
                    String.format("u%02d", i), "room" + (i % ROOMS), builder -> builder));
        }
        for (ChatParticipant participant : participants) {
            assertThat(participant.join(BOUND).getRoomSeq()).isZero();
        }
        for (int i = 0; i < participants.size(); i++) {
            load.scheduleAtFixedRate(participants.get(i)::sendNext, i * SEND_INTERVAL.toMillis() / CLIENTS,
                    SEND_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        }
        awaitAcksBeyond(acked() + 40);

        ServerProcess leader = cluster.awaitLeader();
        List<ServerProcess> backups = cluster.nodes().stream().filter(n -> n != leader).toList();
        ServerProcess frozen = backups.get(0);
        ServerProcess wiped = backups.get(1);

        history.fault("freeze node " + frozen.nodeId());
        frozen.freeze();
        history.fault("kill node " + wiped.nodeId() + " and wipe its data directory");
        cluster.kill(wiped);
        LocalCluster.deleteRecursively(cluster.dir().resolve("data-" + wiped.nodeId()));
        cluster.restart(wiped);
        await("the wiped node is up").atMost(BOUND).pollInterval(Duration.ofMillis(100))
                .until(() -> wiped.status().isPresent());
        history.fault("kill leader " + leader.nodeId());
        cluster.kill(leader);

        // Alone with a frozen peer and no disk, the wiped node must not lead (nor vote: nobody can lead).
        long until = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        while (System.nanoTime() < until) {
            assertThat(wiped.status().map(NodeStatus::leading).orElse(false)).as("the wiped node leads").isFalse();
            Thread.sleep(100);
        }
        history.fault("thaw node " + frozen.nodeId());
        frozen.thaw();
        long thawedUntil = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        while (System.nanoTime() < thawedUntil) {
            // One voter (the thawed node) and one learner: still no majority, so no leader.
            assertThat(cluster.leader()).as("a leader elected with a learner's vote").isEmpty();
            Thread.sleep(100);
        }
        history.fault("restart node " + leader.nodeId());
        cluster.restart(leader);
        cluster.awaitLeader();
        awaitAcksBeyond(acked() + 40);
        await("the wiped node is restored").atMost(BOUND).pollInterval(Duration.ofMillis(200))
                .until(() -> Files.readString(wiped.logFile()).contains("restored from the leader"));

        load.shutdown();
        assertThat(load.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
        await("every send acknowledged").atMost(BOUND).pollInterval(Duration.ofMillis(100))
                .until(() -> participants.stream().mapToInt(ChatParticipant::pending).sum() == 0);
        long end = history.sends().stream().flatMap(s -> s.roomSeq().stream()).mapToLong(Long::longValue).max()
                .orElse(0);
        await("receivers caught up").atMost(BOUND).pollInterval(Duration.ofMillis(100))
                .until(() -> participants.stream().allMatch(p -> history.receiver(p.name()).lastSeq() > 0));
        HistoryChecker.Verdict verdict = HistoryChecker.check(history);
        System.out.println("DiskLossProcessTest: " + verdict.summary() + ", highest room seq " + end);
        assertThat(verdict.ok()).as(verdict.toString()).isTrue();
        assertThat(verdict.acked()).isGreaterThan(80);
        assertThat(cluster.leakReports()).as("Netty leak reports in server logs").isEmpty();
    }

    private void awaitAcksBeyond(long target) {
        await("acks beyond " + target).atMost(BOUND).pollInterval(Duration.ofMillis(50))
                .until(() -> acked() >= target);
    }

    private long acked() {
        return history.sends().stream().filter(s -> s.roomSeq().isPresent()).count();
    }
}
