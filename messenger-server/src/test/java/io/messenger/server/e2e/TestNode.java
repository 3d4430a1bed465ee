package io.messenger.server.e2e;

import io.messenger.server.MessengerServer;
import io.messenger.server.ServerConfig;
import io.messenger.server.Setting;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

/**
 * A real single node (ClusterNode, durable log in a temp dir) on loopback with ports the OS
 * picked, restartable on the same data directory and peer port.
 */
final class TestNode implements AutoCloseable {

    private final Map<Setting, String> settings = new EnumMap<>(Setting.class);
    private MessengerServer server;

    TestNode(Path dataDir, Map<Setting, String> overrides) {
        settings.put(Setting.CLIENT_HOST, "127.0.0.1");
        settings.put(Setting.CLIENT_PORT, "0");
        settings.put(Setting.ADMIN_HOST, "127.0.0.1");
        settings.put(Setting.ADMIN_PORT, "0");
        settings.put(Setting.PEER_HOST, "127.0.0.1");
        settings.put(Setting.PEER_PORT, Integer.toString(freePort()));
        settings.put(Setting.DATA_DIR, dataDir.toString());
        settings.put(Setting.HEARTBEAT, "20ms");
        settings.put(Setting.ELECTION_TIMEOUT, "100ms");
        settings.putAll(overrides);
    }

    TestNode start() throws InterruptedException {
        ServerConfig config = ServerConfig.resolve(Map.of("test", settings::get));
        server = MessengerServer.start(config, MessengerServer::startClusterNode);
        return this;
    }

    /** Stops and starts again on the same data directory (the client port may change). */
    TestNode restart() throws InterruptedException {
        server.close();
        return start();
    }

    MessengerServer server() {
        return server;
    }

    String clientAddress() {
        return "127.0.0.1:" + server.clientPort();
    }

    int clientPort() {
        return server.clientPort();
    }

    boolean leads() {
        return server.replicator().status().isLeader();
    }

    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
