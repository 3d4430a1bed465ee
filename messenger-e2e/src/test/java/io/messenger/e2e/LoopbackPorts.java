package io.messenger.e2e;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks free loopback ports at run time for server processes that must keep their ports across restarts.
 * Ports come from below the kernel's ephemeral range, so an outgoing connection cannot take a killed
 * node's port before it restarts; each is proven free by binding it.
 */
public final class LoopbackPorts {

    private static final int LOWEST = 20_000;
    private static final int HIGHEST = 32_000;
    private static final Set<Integer> HANDED_OUT = new HashSet<>();

    private LoopbackPorts() {
    }

    /** Returns {@code count} distinct ports that were free a moment ago and never handed out before in this JVM. */
    public static synchronized List<Integer> free(int count) {
        List<Integer> ports = new ArrayList<>(count);
        int attempts = 0;
        while (ports.size() < count) {
            if (++attempts > 10_000) {
                throw new IllegalStateException("no free loopback port found between " + LOWEST + " and " + HIGHEST);
            }
            int port = ThreadLocalRandom.current().nextInt(LOWEST, HIGHEST);
            if (HANDED_OUT.contains(port) || !bindable(port)) {
                continue;
            }
            HANDED_OUT.add(port);
            ports.add(port);
        }
        return ports;
    }

    private static boolean bindable(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(false);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        } catch (IOException taken) {
            return false;
        }
    }
}
