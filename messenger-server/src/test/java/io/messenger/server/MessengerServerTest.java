package io.messenger.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.cluster.Role;
import io.messenger.server.MessengerServer.StartedCluster;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MessengerServerTest {

    @TempDir
    Path dataDir;

    private ServerConfig config() {
        Map<Setting, String> settings = Map.of(
                Setting.CLIENT_HOST, "127.0.0.1", Setting.CLIENT_PORT, "0",
                Setting.ADMIN_HOST, "127.0.0.1", Setting.ADMIN_PORT, "0",
                Setting.DATA_DIR, dataDir.toString());
        return ServerConfig.resolve(Map.of("test", settings::get));
    }

    @Test
    void aNodeWhoseLogStopsByItselfShutsDownAndSaysSo() throws Exception {
        AtomicReference<InProcessReplicator> log = new AtomicReference<>();
        MessengerServer server = MessengerServer.start(config(), (clusterConfig, stateMachine) -> {
            InProcessReplicator replicator = InProcessReplicator.threaded(stateMachine);
            log.set(replicator);
            return new StartedCluster(replicator, Map::of, replicator);
        });
        try {
            log.get().become(Role.LEADER, 1, 1, "127.0.0.1:" + server.clientPort());

            log.get().become(Role.STOPPED, 1, 0, "");

            CompletableFuture.runAsync(() -> {
                try {
                    server.awaitStopped();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }).get(10, TimeUnit.SECONDS);
            assertThat(server.stoppedByLogFailure()).isTrue();
        } finally {
            server.close();
        }
    }

    @Test
    void aNodeAskedToStopIsNotReportedAsFailed() throws Exception {
        AtomicReference<InProcessReplicator> log = new AtomicReference<>();
        MessengerServer server = MessengerServer.start(config(), (clusterConfig, stateMachine) -> {
            InProcessReplicator replicator = InProcessReplicator.direct(stateMachine);
            log.set(replicator);
            return new StartedCluster(replicator, Map::of, replicator);
        });
        server.close();
        log.get().become(Role.STOPPED, 1, 0, "");

        assertThat(server.stoppedByLogFailure()).isFalse();
    }
}
