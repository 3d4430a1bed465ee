package io.messenger.bench.load;

import java.util.List;

/**
 * Everything one load run measured and verified.
 *
 * @param clientCpuCores average cores the bench process (all clients) used while measuring
 * @param clientCpuMicrosPerAck bench-process CPU per acknowledged message
 * @param serverCpuCores average cores the server processes used while measuring, -1 when unknown
 * @param notSent messages a fixed rate asked for that were never sent (clients at their in-flight bound)
 * @param timeline one point per second, warm-up included
 * @param startNanos {@link System#nanoTime()} of the timeline's zero
 */
public record RunResult(String system, LoadSpec spec, double measuredSeconds, long acks, long deliveries,
        LatencySummary ackLatency, LatencySummary deliveryLatency, double clientCpuCores,
        double clientCpuMicrosPerAck, double serverCpuCores, long sendErrors, long notSent,
        Verifier.Verdict verdict, List<LoadMetrics.TimelinePoint> timeline, long startNanos) {

    public double ackRate() {
        return acks / measuredSeconds;
    }

    public double deliveryRate() {
        return deliveries / measuredSeconds;
    }

    /** A run passes when nothing was lost, duplicated or reordered and no send failed for good. */
    public boolean ok() {
        return verdict.ok() && sendErrors == 0;
    }

    /** The verification outcome as one sentence, including failed sends. */
    public String verdictSummary() {
        String summary = verdict.summary();
        if (sendErrors > 0) {
            summary = (verdict.ok() ? "FAILURE: " : summary + ", ") + sendErrors + " send(s) failed";
        }
        return summary;
    }
}
