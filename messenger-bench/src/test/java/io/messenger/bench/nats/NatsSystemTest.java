package io.messenger.bench.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.messenger.bench.load.LoadGenerator;
import io.messenger.bench.load.LoadSpec;
import io.messenger.bench.load.RunResult;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Drives a real single-node nats-server through the generator. Skipped, with the reason, where the binary
 * is not installed ({@code make bench-deps} installs it). Figures are never asserted, only correctness.
 */
class NatsSystemTest {

    @Test
    void smallLoadIsDeliveredToEveryMemberExactlyOnceInOrder() throws Exception {
        Path binary = NatsCluster.findBinary();
        assumeTrue(binary != null, "nats-server is not installed (make bench-deps installs it); skipping");
        List<Long> pids;
        try (NatsCluster cluster = NatsCluster.start(binary, 1);
                NatsSystem system = new NatsSystem(cluster, 1)) {
            pids = cluster.pids();
            assertThat(pids).hasSize(1).allMatch(pid -> ProcessHandle.of(pid).isPresent());
            LoadSpec spec = new LoadSpec(4, 2, 64, 200, 4, Duration.ZERO, Duration.ofSeconds(1), Duration.ofSeconds(10));

            RunResult result = new LoadGenerator(system, spec, line -> { }).run(null);

            assertThat(result.verdictSummary()).startsWith("ok");
            assertThat(result.verdict().acked()).isPositive();
            assertThat(result.sendErrors()).isZero();
        }
        assertThat(pids).allMatch(pid -> ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true));
    }
}
