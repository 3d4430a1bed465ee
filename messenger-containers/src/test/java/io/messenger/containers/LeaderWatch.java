package io.messenger.containers;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Samples every node's {@code /status} in the background for the whole test and records which nodes
 * claimed to lead which epoch: two claimants of one epoch break the election's safety.
 */
final class LeaderWatch implements AutoCloseable {

    private final ContainerCluster cluster;
    private final ScheduledExecutorService sampler;
    private final Map<Long, Set<Integer>> leadersByEpoch = new TreeMap<>();
    private long samples;

    private LeaderWatch(ContainerCluster cluster) {
        this.cluster = cluster;
        // One thread per node, so that a paused node's slow answer does not hide the others.
        this.sampler = Executors.newScheduledThreadPool(cluster.ids().size(), runnable -> {
            Thread thread = new Thread(runnable, "leader-watch");
            thread.setDaemon(true);
            return thread;
        });
    }

    static LeaderWatch start(ContainerCluster cluster, Duration interval) {
        LeaderWatch watch = new LeaderWatch(cluster);
        for (int id : cluster.ids()) {
            watch.sampler.scheduleWithFixedDelay(() -> watch.sample(id), 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        }
        return watch;
    }

    private void sample(int id) {
        cluster.status(id).ifPresent(status -> {
            synchronized (this) {
                samples++;
                if (status.leading()) {
                    leadersByEpoch.computeIfAbsent(status.epoch(), epoch -> new TreeSet<>()).add(status.nodeId());
                }
            }
        });
    }

    /** Epoch to the nodes seen leading it, so far. */
    synchronized Map<Long, Set<Integer>> leadersByEpoch() {
        Map<Long, Set<Integer>> copy = new TreeMap<>();
        leadersByEpoch.forEach((epoch, leaders) -> copy.put(epoch, Set.copyOf(leaders)));
        return copy;
    }

    /** One line per epoch that more than one node claimed; empty when the election held. */
    synchronized List<String> violations() {
        List<String> violations = new ArrayList<>();
        leadersByEpoch.forEach((epoch, leaders) -> {
            if (leaders.size() > 1) {
                violations.add("epoch " + epoch + " was led by nodes " + leaders);
            }
        });
        return violations;
    }

    synchronized long samples() {
        return samples;
    }

    @Override
    public void close() {
        sampler.shutdownNow();
        try {
            sampler.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
