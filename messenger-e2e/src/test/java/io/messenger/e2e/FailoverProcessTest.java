package io.messenger.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Three real server processes under twelve real clients chatting in three rooms, while the test SIGKILLs
 * the leader ten times (and a backup once) and restarts what it killed. Afterwards every client's
 * history must show no acknowledged message lost, none twice, and one gap-free order per room. The pause
 * clients felt after each leader kill is printed, not asserted.
 */
class FailoverProcessTest {

    private static final int CLIENTS = 12;
    private static final int ROOMS = 3;
    /** Per client; with twelve clients about 40 messages a second in all. */
    private static final Duration SEND_INTERVAL = Duration.ofMillis(300);
    private static final Duration JOIN_BOUND = Duration.ofSeconds(30);
    private static final Duration SETTLE_BOUND = Duration.ofSeconds(30);
    /** Leader kills per run (each killed node restarted); {@code -De2e.kills=N} for more or fewer. */
    private static final int LEADER_KILLS = Integer.getInteger("e2e.kills", 10);
    /** Cluster size; {@code -De2e.nodes=5} for five (heavier on a shared machine). */
    private static final int NODES = Integer.getInteger("e2e.nodes", 3);

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
            cluster.close();
        }
    }

    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void noAcknowledgedMessageIsLostDuplicatedOrReorderedAcrossLeaderKills() throws Exception {
        cluster = LocalCluster.create("failover", NODES, List.of()).start();
        for (int i = 0; i < CLIENTS; i++) {
            participants.add(new ChatParticipant(history, String.format("c%02d", i), cluster.clientAddresses(),
                    String.format("u%02d", i), "room" + (i % ROOMS), builder -> builder));
        }
        for (ChatParticipant participant : participants) {
            // Everyone joins empty rooms before anyone sends, so every view must start at room seq 1.
            assertThat(participant.join(JOIN_BOUND).getRoomSeq()).isZero();
        }
        long loadStart = System.nanoTime();
        for (int i = 0; i < participants.size(); i++) {
            ChatParticipant participant = participants.get(i);
            // Staggered so sends spread over the interval instead of arriving in bursts of twelve.
            load.scheduleAtFixedRate(participant::sendNext, i * SEND_INTERVAL.toMillis() / CLIENTS,
                    SEND_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        }
        awaitAcksBeyond(acked() + 50);

        List<String> elections = new ArrayList<>();
        for (int kill = 1; kill <= LEADER_KILLS; kill++) {
            ServerProcess leader = cluster.awaitLeader();
            history.fault("kill leader " + leader.nodeId() + " (#" + kill + ")");
            long killedAt = System.nanoTime();
            cluster.kill(leader);
            ServerProcess successor = cluster.awaitNewLeader(leader);
            elections.add("node " + leader.nodeId() + " -> " + successor.nodeId() + " in "
                    + Duration.ofNanos(System.nanoTime() - killedAt).toMillis() + " ms");
            awaitAcksBeyond(acked() + 40);
            // Marked too, so a kill's pause is measured up to the restart and a restart's own cost shows apart.
            history.fault("restart node " + leader.nodeId());
            cluster.restart(leader);
            awaitFollowing(leader, successor);
            if (kill == LEADER_KILLS / 2) {
                killAndRestartABackup();
            }
        }
        freezeTheLeader();
        killTheLeaderWhileARestartedNodeCatchesUp();

        load.shutdown();
        assertThat(load.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
        long loadEnd = System.nanoTime();
        // Settling waits are bounded but not fatal: if something never arrives, the checker below says
        // exactly what is missing, which is worth more than "condition not met".
        settle("every send acknowledged or failed",
                () -> participants.stream().mapToInt(ChatParticipant::pending).sum() == 0);
        Map<String, Long> roomEnds = roomEnds();
        settle("every receiver caught up with its room", () -> participants.stream()
                .allMatch(p -> history.receiver(p.name()).lastSeq() >= roomEnds.getOrDefault(
                        history.receiver(p.name()).room(), 0L)));

        // A newcomer per room: its last-N history must be the tail of the very same order.
        List<ChatParticipant> newcomers = new ArrayList<>();
        for (int r = 0; r < ROOMS; r++) {
            ChatParticipant newcomer = new ChatParticipant(history, "new" + r, cluster.clientAddresses(),
                    "newcomer" + r, "room" + r, builder -> builder);
            participants.add(newcomer);
            newcomers.add(newcomer);
            newcomer.join(JOIN_BOUND);
            long end = roomEnds.getOrDefault("room" + r, 0L);
            settle("newcomer history in room" + r,
                    () -> history.receiver(newcomer.name()).deliveries().size() >= Math.min(10, end));
        }

        // Members that never lost their connection owe the checker each newcomer's join announcement.
        settle("steady members heard the newcomers join", () -> participants.stream()
                .map(p -> history.receiver(p.name()))
                .filter(r -> r.connectionLosses() == 0 && !r.name().startsWith("new"))
                .allMatch(r -> r.presence().stream().anyMatch(e -> e.joined()
                        && e.user().equals("newcomer" + r.room().substring("room".length())))));

        // Every replica ends with the same log: same last index, all of it committed.
        await("every node's log converges").atMost(SETTLE_BOUND).pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    Map<Integer, NodeStatus> statuses = cluster.statuses();
                    return statuses.size() == NODES
                            && statuses.values().stream().map(s -> s.lastIndex() + "/" + s.commitIndex())
                                    .distinct().count() == 1
                            && statuses.values().iterator().next().lastIndex()
                                    == statuses.values().iterator().next().commitIndex();
                });
        System.out.println("FailoverProcessTest: replicas converged at " + cluster.statuses().values());

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);
        List<PauseMeter.Pause> pauses = PauseMeter.measure(history, loadEnd);
        System.out.println("FailoverProcessTest: " + verdict.summary());
        System.out.println("FailoverProcessTest: presence heard " + history.receivers().stream()
                .mapToInt(r -> r.presence().size()).sum() + " times by " + history.receivers().size()
                + " clients, " + history.receivers().stream().filter(r -> r.connectionLosses() == 0).count()
                + " of which never lost their connection");
        System.out.println("FailoverProcessTest: load " + Duration.ofNanos(loadEnd - loadStart).toSeconds() + " s, "
                + "buffer-full refusals " + participants.stream().mapToInt(ChatParticipant::bufferFull).sum());
        System.out.println("FailoverProcessTest: elections " + elections);
        pauses.forEach(p -> System.out.println("FailoverProcessTest: " + p.fault() + ": longest gap without an ack "
                + p.longestGap().toMillis() + " ms"));
        System.out.println("FailoverProcessTest: " + PauseMeter.summary(pauses.stream()
                .filter(p -> p.fault().startsWith("kill leader")).toList()));

        assertThat(verdict.ok()).as(verdict.toString()).isTrue();
        assertThat(participants.stream().mapToInt(ChatParticipant::pending).sum())
                .as("sends still waiting for an outcome after the cluster recovered").isZero();
        for (ChatParticipant newcomer : newcomers) {
            long end = roomEnds.getOrDefault(history.receiver(newcomer.name()).room(), 0L);
            assertThat(history.receiver(newcomer.name()).deliveries())
                    .as("a newcomer sees the room's last 10 messages")
                    .hasSize((int) Math.min(10, end))
                    .allMatch(History.Delivery::fromHistory);
        }
        assertThat(verdict.acked()).isGreaterThan(200);
        assertThat(participants.stream().flatMap(p -> p.failures().stream()).toList())
                .as("sends may only fail fast on a full buffer, never otherwise while the cluster recovers")
                .isEmpty();
        assertThat(cluster.leakReports()).as("Netty leak reports in server logs").isEmpty();

        // The checker is not vacuous on this history: one replayed delivery must fail it.
        History.Delivery first = history.receiver("c00").deliveries().get(0);
        history.delivered("c00", first.room(), first.roomSeq(), first.sender(), first.text(), false);
        assertThat(HistoryChecker.check(history).duplicated()).as("a planted duplicate is caught").isEqualTo(1);
        // Nor on presence: a leave of a newcomer who never closed (as an expired session would announce).
        history.presence("c00", "newcomer0", false);
        assertThat(HistoryChecker.check(history).presence()).as("a planted leave is caught").isEqualTo(1);
    }

    /**
     * The hardest election of the run: the leader dies while the only other live node is one that has just
     * restarted with a stale log. Until it is up nobody can win; then the up-to-date backup must win, or
     * the checker sees lost messages.
     */
    private void killTheLeaderWhileARestartedNodeCatchesUp() {
        ServerProcess leader = cluster.awaitLeader();
        // The leader's predecessor on the ring (ordered by node id) hands its election tokens to the leader first.
        ServerProcess backup = cluster.node(leader.nodeId() == 1 ? NODES : leader.nodeId() - 1);
        history.fault("kill backup " + backup.nodeId() + " before a double fault");
        cluster.kill(backup);
        awaitAcksBeyond(acked() + 40);
        history.fault("restart node " + backup.nodeId() + ", then at once kill leader " + leader.nodeId());
        cluster.restart(backup);
        cluster.kill(leader);
        ServerProcess successor = cluster.awaitNewLeader(leader);
        assertThat(successor).as("the restarted node could not have been the only one with the latest entries")
                .isNotNull();
        awaitAcksBeyond(acked() + 40);
        history.fault("restart node " + leader.nodeId());
        cluster.restart(leader);
        awaitFollowing(leader, successor);
    }

    /**
     * SIGSTOP the leader: its sockets stay open, so clients notice only through missed pongs and backups
     * only through missing heartbeats. After thawing, the old leader must not acknowledge anything on its
     * own; any message it did would show up as a conflict or a loss.
     */
    private void freezeTheLeader() {
        ServerProcess leader = cluster.awaitLeader();
        history.fault("freeze leader " + leader.nodeId());
        leader.freeze();
        boolean thawed = false;
        try {
            ServerProcess successor = cluster.awaitNewLeader(leader);
            awaitAcksBeyond(acked() + 40);
            history.fault("thaw node " + leader.nodeId());
            leader.thaw();
            thawed = true;
            awaitFollowing(leader, successor);
        } finally {
            if (!thawed && leader.alive()) {
                leader.thaw();
            }
        }
        awaitAcksBeyond(acked() + 40);
    }

    private void killAndRestartABackup() {
        ServerProcess leader = cluster.awaitLeader();
        ServerProcess backup = cluster.nodes().stream().filter(n -> n != leader).findFirst().orElseThrow();
        history.fault("kill backup " + backup.nodeId());
        cluster.kill(backup);
        awaitAcksBeyond(acked() + 40);
        history.fault("restart node " + backup.nodeId());
        cluster.restart(backup);
        awaitFollowing(backup, leader);
    }

    /** Waits until a restarted node follows the leader again, so the next kill leaves a working majority. */
    private void awaitFollowing(ServerProcess node, ServerProcess leader) {
        await("node " + node.nodeId() + " follows leader " + leader.nodeId()).atMost(LocalCluster.ELECTION_BOUND)
                .pollInterval(Duration.ofMillis(100))
                .until(() -> node.status().map(s -> s.leaderId() == leader.nodeId()
                        || s.leaderId() != 0 && cluster.leader().isPresent()).orElse(false));
    }

    private static void settle(String what, Callable<Boolean> condition) {
        try {
            await(what).atMost(SETTLE_BOUND).pollInterval(Duration.ofMillis(100)).until(condition);
        } catch (ConditionTimeoutException e) {
            System.out.println("FailoverProcessTest: not settled within " + SETTLE_BOUND.toSeconds() + " s: " + what);
        }
    }

    private void awaitAcksBeyond(long target) {
        await("acks beyond " + target).atMost(SETTLE_BOUND).pollInterval(Duration.ofMillis(50))
                .until(() -> acked() >= target);
    }

    private long acked() {
        return history.sends().stream().filter(s -> s.roomSeq().isPresent()).count();
    }

    /** The highest room seq known per room, from acks and deliveries. */
    private Map<String, Long> roomEnds() {
        Map<String, Long> ends = new TreeMap<>();
        for (History.Send send : history.sends()) {
            send.roomSeq().ifPresent(seq -> ends.merge(send.room(), seq, Math::max));
        }
        for (History.Receiver receiver : history.receivers()) {
            ends.merge(receiver.room(), receiver.lastSeq(), Math::max);
        }
        return ends;
    }
}
