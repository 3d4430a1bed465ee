package io.messenger.client;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/** Parses seed lists such as {@code 127.0.0.1:7001,127.0.0.1:7002} into unresolved socket addresses. */
public final class ServerAddresses {

    private ServerAddresses() {
    }

    /**
     * Parses a comma-separated list of {@code host:port} (IPv6 hosts in brackets).
     *
     * @throws IllegalArgumentException with a sentence naming the bad entry
     */
    public static List<InetSocketAddress> parse(String list) {
        if (list == null || list.isBlank()) {
            throw new IllegalArgumentException("The server list is empty; give host:port[,host:port...].");
        }
        List<InetSocketAddress> out = new ArrayList<>();
        for (String part : list.split(",")) {
            String entry = part.trim();
            if (!entry.isEmpty()) {
                out.add(parseOne(entry));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("The server list is empty; give host:port[,host:port...].");
        }
        return List.copyOf(out);
    }

    /** Parses one {@code host:port}. */
    public static InetSocketAddress parseOne(String entry) {
        int colon = entry.lastIndexOf(':');
        if (colon <= 0 || colon == entry.length() - 1) {
            throw new IllegalArgumentException("Server address '" + entry + "' is not host:port.");
        }
        String host = entry.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(entry.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Server address '" + entry + "' has no numeric port.", e);
        }
        if (port < 1 || port > 65535 || host.isEmpty()) {
            throw new IllegalArgumentException("Server address '" + entry + "' is not host:port with a port in 1-65535.");
        }
        return InetSocketAddress.createUnresolved(host, port);
    }

    /** Formats an address as {@code host:port} for messages. */
    public static String format(InetSocketAddress address) {
        return address.getHostString() + ":" + address.getPort();
    }

    static boolean same(InetSocketAddress a, InetSocketAddress b) {
        return a != null && b != null && a.getPort() == b.getPort() && a.getHostString().equals(b.getHostString());
    }
}
