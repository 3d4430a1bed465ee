package io.messenger.cluster.admin;

import io.messenger.cluster.ClusterNode;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.jvm.DiskSpaceMetrics;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * Binds what only a real {@link ClusterNode} knows to Micrometer: commits, elections, per-peer
 * replication lag and link state, the commit and fsync latency histograms, and the free space
 * of the disk holding its data. The node itself holds no meter; it counts in plain fields and
 * tells latencies to the timers installed here. The peer label is bounded by the cluster size.
 */
public final class ClusterNodeMetrics implements MeterBinder {

    private final ClusterNode node;

    public ClusterNodeMetrics(ClusterNode node) {
        this.node = node;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        counter(registry, "messenger.cluster.commits", "Commands this node has applied from the committed log",
                ClusterNode::commits);
        counter(registry, "messenger.cluster.elections.started", "Elections this node has opened as initiator",
                ClusterNode::electionsStarted);
        counter(registry, "messenger.cluster.elections.won", "Times this node has become leader",
                ClusterNode::electionsWon);
        for (int peer : node.peerIds()) {
            String id = Integer.toString(peer);
            Gauge.builder("messenger.cluster.replication.lag", node, n -> n.replicationLag(peer))
                    .strongReference(true)
                    .baseUnit("entries")
                    .description("Entries of the leader's log a backup has not confirmed; 0 on a backup")
                    .tag("peer", id)
                    .register(registry);
            Gauge.builder("messenger.cluster.peer.link.up", node, n -> n.peerLinkUp(peer) ? 1 : 0)
                    .strongReference(true)
                    .description("1 while this node's link to the peer is up, 0 while it is down")
                    .tag("peer", id)
                    .register(registry);
        }
        Gauge.builder("messenger.cluster.snapshot.index", node, ClusterNode::snapshotIndex)
                .description("Log index of this node's latest durable snapshot; 0 without one")
                .register(registry);
        Gauge.builder("messenger.storage.log.first.index", node, ClusterNode::firstLogIndex)
                .description("First entry still in this node's log; entries before it are compacted into a snapshot")
                .register(registry);
        Gauge.builder("messenger.storage.log.size", node, ClusterNode::logBytes)
                .baseUnit("bytes")
                .description("Bytes of this node's log segments on disk")
                .register(registry);
        counter(registry, "messenger.cluster.snapshots.sent", "Snapshots this node sent that a backup installed",
                ClusterNode::snapshotsSent);
        counter(registry, "messenger.cluster.snapshots.received",
                "Snapshots this node received whole from a leader and installed", ClusterNode::snapshotsReceived);
        Timer commitLatency = Timer.builder("messenger.cluster.commit.latency")
                .description("From a proposal on the leader to its commit being applied")
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(10))
                .register(registry);
        Timer fsyncLatency = Timer.builder("messenger.storage.fsync.latency")
                .description("Duration of one fsync of a log segment")
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(10))
                .register(registry);
        node.observeLatencies(nanos -> commitLatency.record(nanos, TimeUnit.NANOSECONDS),
                nanos -> fsyncLatency.record(nanos, TimeUnit.NANOSECONDS));
        new DiskSpaceMetrics(node.config().dataDir().toAbsolutePath().toFile()).bindTo(registry);
    }

    private void counter(MeterRegistry registry, String name, String description, ToDoubleFunction<ClusterNode> f) {
        // A function counter holds its object weakly: the node is held by whoever runs it.
        FunctionCounter.builder(name, node, f).description(description).register(registry);
    }
}
