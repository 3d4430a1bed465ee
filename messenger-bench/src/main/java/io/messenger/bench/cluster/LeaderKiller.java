package io.messenger.bench.cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kills the leader every {@code interval}, {@code kills} times, while a load runs: finds the leader,
 * kills it, watches the survivors' /status until they name a new one, and restarts the killed node. A
 * kill waits for half an interval after the previous node is back. Runs on the load generator's
 * disturbance thread, which keeps the measurement going until this returns.
 */
public final class LeaderKiller implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(LeaderKiller.class);
    private static final Duration ELECTION_TIMEOUT = Duration.ofSeconds(30);
    /** How long a killed node may take to come back unless told otherwise. */
    public static final Duration DEFAULT_RESTART_TIMEOUT = Duration.ofSeconds(120);

    private final KillableCluster nodes;
    private final int kills;
    private final Duration interval;
    private final Supplier<long[]> counterCut;
    private final Consumer<String> progress;
    private final Duration restartTimeout;
    private final List<Kill> done = new ArrayList<>();
    private volatile long finalEpoch = -1;

    /**
     * @param counterCut each sender's next counter, taken at every kill to attribute losses to it
     */
    public LeaderKiller(KillableCluster nodes, int kills, Duration interval, Supplier<long[]> counterCut,
            Consumer<String> progress) {
        this(nodes, kills, interval, counterCut, progress, DEFAULT_RESTART_TIMEOUT);
    }

    /** @param restartTimeout how long a killed node may take to come back before the kills stop */
    public LeaderKiller(KillableCluster nodes, int kills, Duration interval, Supplier<long[]> counterCut,
            Consumer<String> progress, Duration restartTimeout) {
        this.restartTimeout = restartTimeout;
        this.nodes = nodes;
        this.kills = kills;
        this.interval = interval;
        this.counterCut = counterCut;
        this.progress = progress;
    }

    @Override
    public void run() {
        long start = System.nanoTime();
        long settle = interval.toNanos() / 2;
        long lastBack = start - settle;
        try {
            for (int k = 1; k <= kills; k++) {
                // On schedule, but never before the cluster has had half an interval with all nodes back:
                // killing a leader while another node is still down would measure an outage, not a failover.
                long due = Math.max(start + interval.toNanos() * k - settle, lastBack + settle);
                long wait = due - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                int leader = nodes.awaitLeader(Duration.ofSeconds(10));
                if (leader == 0) {
                    progress.accept("kill " + k + ": no leader found; skipping this kill");
                    record(new Kill(k, 0, System.nanoTime(), -1, 0, 0, -1, 0, null, "no leader to kill"));
                    continue;
                }
                long killedEpoch = nodes.epochOf(leader);
                long[] cut = counterCut.get();
                long killed = System.nanoTime();
                nodes.kill(leader);
                NodeControl.Election election = nodes.awaitNewLeader(leader, ELECTION_TIMEOUT);
                progress.accept(String.format("kill %d: node %d killed; %s", k, leader, election.leader() == 0
                        ? "no new leader within " + ELECTION_TIMEOUT.toSeconds() + " s"
                        : String.format("node %d leads after %.0f ms", election.leader(),
                                (election.seenNanos() - killed) / 1e6)));
                String problem = null;
                long restarted = 0;
                try {
                    nodes.restart(leader, restartTimeout);
                    restarted = System.nanoTime();
                    progress.accept(String.format("kill %d: node %d back after %.1f s", k, leader,
                            (restarted - killed) / 1e9));
                } catch (java.io.IOException e) {
                    problem = e.getMessage();
                    progress.accept("kill " + k + ": restart of node " + leader + " failed: " + problem);
                } finally {
                    // Recorded even when the run ends (interrupts us) while the node is still coming back.
                    record(new Kill(k, leader, killed, killedEpoch, election.leader(), election.seenNanos(),
                            election.epoch(), restarted, cut,
                            problem != null || restarted != 0 ? problem : "the run ended before the node was back"));
                }
                if (problem != null) {
                    return; // with a node down for good, further kills would only measure an outage
                }
                lastBack = restarted;
            }
            // A recovery tail after the last restart, so the chart shows the cluster whole again.
            TimeUnit.NANOSECONDS.sleep(settle);
            int leader = nodes.awaitLeader(Duration.ofSeconds(10));
            finalEpoch = leader == 0 ? -1 : nodes.epochOf(leader);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.io.IOException | RuntimeException e) {
            log.warn("Leader killing stopped: {}", e.toString());
            progress.accept("leader killing stopped: " + e.getMessage());
        }
    }

    private void record(Kill kill) {
        synchronized (done) {
            done.add(kill);
        }
    }

    /** The leader's epoch after the recovery tail that follows the last kill; -1 if unknown. */
    public long finalEpoch() {
        return finalEpoch;
    }

    /** The kills made so far. */
    public List<Kill> kills() {
        synchronized (done) {
            return List.copyOf(done);
        }
    }

    /**
     * One kill.
     *
     * @param killedEpoch the epoch the killed leader reported just before the kill, -1 if unknown
     * @param newLeader 0 when none was seen in time
     * @param newEpoch the epoch of the node that first named the new leader, -1 if unknown
     * @param counterCut every sender's next counter just before the kill; null when nothing was killed
     * @param problem why the kill or restart did not complete, or null
     */
    public record Kill(int number, int node, long killedNanos, long killedEpoch, int newLeader, long electedNanos,
            long newEpoch, long restartedNanos, long[] counterCut, String problem) {

        public double electionMillis() {
            return newLeader == 0 ? -1 : (electedNanos - killedNanos) / 1e6;
        }
    }
}
