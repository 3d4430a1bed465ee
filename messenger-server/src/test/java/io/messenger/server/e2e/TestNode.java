package io.messenger.server.e2e;

import io.messenger.server.MessengerServer;
import io.messenger.server.ServerConfig;
import io.messenger.server.Setting;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A real single node (ClusterNode, durable log in a temp dir) on loopback with ports the OS
 * picked, restartable on the same data directory and peer port.
 */
final class TestNode implements AutoCloseable {

    private static final Set<Integer> HANDED_OUT = new HashSet<>();

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
        // Default heartbeat and election timeout: tighter ones make leadership flap on a busy host.
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

    /**
     * A port that was free a moment ago, taken below the kernel's ephemeral range (32768+) so
     * an outgoing connection of a node that starts first cannot be given it. Port 0 is no option
     * where this is used: every member must know the others' peer ports before any starts, and a
     * cluster node advertises its client address to its peers before its client port is bound.
     */
    static synchronized int freePort() {
        for (int attempt = 0; attempt < 10_000; attempt++) {
            int port = ThreadLocalRandom.current().nextInt(20_000, 32_000);
            if (HANDED_OUT.contains(port)) {
                continue;
            }
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(false);
                s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                HANDED_OUT.add(port);
                return port;
            } catch (IOException taken) {
                // In use by someone else: try another one.
                continue;
            }
        }
        throw new UncheckedIOException(new IOException("no free loopback port between 20000 and 32000"));
    }
}
