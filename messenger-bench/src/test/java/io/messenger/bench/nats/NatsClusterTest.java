package io.messenger.bench.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class NatsClusterTest {

    @Test
    void serverNamesMapToTheNodesTheClusterStarted() {
        assertThat(NatsCluster.nodeOf(NatsCluster.serverName(1))).isEqualTo(1);
        assertThat(NatsCluster.nodeOf(NatsCluster.serverName(3))).isEqualTo(3);
        assertThat(NatsCluster.nodeOf(null)).isZero();
        assertThat(NatsCluster.nodeOf("")).isZero();
        assertThat(NatsCluster.nodeOf("n0")).isZero();
        assertThat(NatsCluster.nodeOf("NDKX3CZ5YJ3LJ3H2")).isZero(); // a server id, not a name
    }

    /** Skipped where nats-server is not installed ({@code make bench-deps} installs it). */
    @Test
    void aKilledServerComesBackFromItsOwnConfigUnderANewPid() throws Exception {
        Path binary = NatsCluster.findBinary();
        assumeTrue(binary != null, "nats-server is not installed (make bench-deps installs it); skipping");
        try (NatsCluster cluster = NatsCluster.start(binary, 1)) {
            long before = cluster.pids().get(0);

            cluster.kill(1);
            assertThat(ProcessHandle.of(before).map(ProcessHandle::isAlive).orElse(false)).isFalse();
            cluster.restart(1, Duration.ofSeconds(30));

            long after = cluster.pids().get(0);
            assertThat(after).isNotEqualTo(before);
            assertThat(ProcessHandle.of(after).map(ProcessHandle::isAlive).orElse(false)).isTrue();
        }
    }
}
