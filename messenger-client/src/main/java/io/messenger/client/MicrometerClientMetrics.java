package io.messenger.client;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * {@link ClientMetrics} on a Micrometer registry: the only class of the library that names a Micrometer type, loaded
 * only when {@link MessengerClient.Builder#meterRegistry} was given one. The meters carry no tag: clients sharing a
 * registry add up (the counters and the timer are shared meters; the buffer gauge sums every open client's buffer).
 */
final class MicrometerClientMetrics implements ClientMetrics {

    static final String RECONNECTS = "messenger.client.reconnects";
    static final String RESENDS = "messenger.client.resends";
    static final String PENDING_SENDS = "messenger.client.pending.sends";
    static final String ACK_LATENCY = "messenger.client.ack.latency";

    /** The buffers of the open clients of each registry, summed by that registry's gauge. */
    private static final Map<MeterRegistry, Set<IntSupplier>> BUFFERS = new WeakHashMap<>();

    private final Counter reconnects;
    private final Counter resends;
    private final Timer ackLatency;
    private final Set<IntSupplier> buffers;
    private final IntSupplier pendingSends;

    private MicrometerClientMetrics(MeterRegistry registry, IntSupplier pendingSends) {
        this.pendingSends = pendingSends;
        this.reconnects = Counter.builder(RECONNECTS)
                .description("Times a client lost its session and started looking for the leader again")
                .register(registry);
        this.resends = Counter.builder(RESENDS)
                .description("Unacknowledged sends written again to a new session after a reconnect")
                .register(registry);
        this.ackLatency = Timer.builder(ACK_LATENCY)
                .description("From send() to the cluster's acknowledgement, reconnects included")
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofSeconds(30))
                .register(registry);
        synchronized (BUFFERS) {
            Set<IntSupplier> set = BUFFERS.get(registry);
            if (set == null) {
                set = ConcurrentHashMap.newKeySet();
                BUFFERS.put(registry, set);
                Gauge.builder(PENDING_SENDS, set, MicrometerClientMetrics::sum)
                        .description("Sends waiting in the outgoing buffers of the open clients for their acknowledgement")
                        .strongReference(true)
                        .register(registry);
            }
            this.buffers = set;
            set.add(pendingSends);
        }
    }

    static ClientMetrics create(Object registry, IntSupplier pendingSends) {
        if (!(registry instanceof MeterRegistry meters)) {
            throw new IllegalArgumentException("Not a Micrometer MeterRegistry: " + registry.getClass().getName());
        }
        return new MicrometerClientMetrics(meters, pendingSends);
    }

    private static double sum(Set<IntSupplier> buffers) {
        long total = 0;
        for (IntSupplier b : buffers) {
            total += b.getAsInt();
        }
        return total;
    }

    @Override
    public void reconnecting() {
        reconnects.increment();
    }

    @Override
    public void resent(int sends) {
        if (sends > 0) {
            resends.increment(sends);
        }
    }

    @Override
    public void acknowledged(long sendNanos) {
        ackLatency.record(System.nanoTime() - sendNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void close() {
        buffers.remove(pendingSends);
    }
}
