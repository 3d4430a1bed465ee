package io.messenger.cluster.admin;

import io.messenger.cluster.ClusterStatus;
import io.messenger.cluster.Role;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * Binds a node's replication state to Micrometer: gauges read the node's published
 * {@link ClusterStatus} at scrape time, so nothing on the replication path touches a meter.
 */
public final class ClusterMetrics implements MeterBinder {

    private final Supplier<ClusterStatus> status;
    private final LongSupplier leadershipChanges;

    /**
     * @param status the node's current status, thread-safe
     * @param leadershipChanges how many epoch or leader changes the node has seen, thread-safe
     */
    public ClusterMetrics(Supplier<ClusterStatus> status, LongSupplier leadershipChanges) {
        this.status = status;
        this.leadershipChanges = leadershipChanges;
    }

    /**
     * A Prometheus registry with Micrometer's JVM memory, GC, thread and processor meters bound.
     * Its GC binder holds JMX listeners for the process's life, which is what a node wants.
     */
    @SuppressWarnings("resource")
    public static PrometheusMeterRegistry newPrometheusRegistryWithJvmMeters() {
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        return registry;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        gauge(registry, "messenger.cluster.epoch", "The epoch (term) this node is in", ClusterStatus::epoch);
        gauge(registry, "messenger.cluster.leader.id", "The node id of the known leader, 0 while none is known",
                ClusterStatus::leaderId);
        gauge(registry, "messenger.cluster.commit.index", "The highest log index known to be committed",
                ClusterStatus::commitIndex);
        gauge(registry, "messenger.cluster.applied.index", "The highest log index applied to the state machine",
                ClusterStatus::appliedIndex);
        gauge(registry, "messenger.cluster.last.index", "The highest log index stored on this node",
                ClusterStatus::lastIndex);
        gauge(registry, "messenger.cluster.connected.peers", "Peer links that are up right now",
                ClusterStatus::connectedPeers);
        for (Role role : Role.values()) {
            Gauge.builder("messenger.cluster.role", this, m -> m.status.get().role() == role ? 1 : 0)
                    .strongReference(true)
                    .description("1 for the role this node is in, 0 for the others")
                    .tag("role", role.name().toLowerCase(java.util.Locale.ROOT))
                    .register(registry);
        }
        // Micrometer holds a function counter's state weakly; the gauges above hold this binder,
        // and so the supplier, strongly for as long as the registry lives.
        FunctionCounter.builder("messenger.cluster.leadership.changes", leadershipChanges,
                        LongSupplier::getAsLong)
                .description("Changes of epoch or leader this node has seen since it started")
                .register(registry);
    }

    private void gauge(MeterRegistry registry, String name, String description,
                       ToDoubleFunction<ClusterStatus> value) {
        Gauge.builder(name, this, m -> value.applyAsDouble(m.status.get()))
                .strongReference(true)
                .description(description)
                .register(registry);
    }
}
