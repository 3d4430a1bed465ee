package io.messenger.cluster;

import java.util.Objects;

/** One configured node: its id and the address its peer port listens on. */
public record Member(int id, String host, int peerPort) {

    public Member {
        if (id < 1 || id > 255) {
            throw new IllegalArgumentException("node id must be between 1 and 255, got " + id);
        }
        Objects.requireNonNull(host, "host");
        if (peerPort < 1 || peerPort > 65535) {
            throw new IllegalArgumentException("peer port must be between 1 and 65535, got " + peerPort);
        }
    }

    /**
     * Parses {@code id=host:port}, the form used by flags, files and environment variables.
     */
    public static Member parse(String spec) {
        int eq = spec.indexOf('=');
        int colon = spec.lastIndexOf(':');
        if (eq < 1 || colon < eq + 2 || colon == spec.length() - 1) {
            throw new IllegalArgumentException(
                    "member must look like id=host:port (for example 2=127.0.0.1:9002), got '" + spec + "'");
        }
        try {
            int id = Integer.parseInt(spec.substring(0, eq).trim());
            int port = Integer.parseInt(spec.substring(colon + 1).trim());
            return new Member(id, spec.substring(eq + 1, colon).trim(), port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "member must look like id=host:port (for example 2=127.0.0.1:9002), got '" + spec + "'", e);
        }
    }

    @Override
    public String toString() {
        return id + "=" + host + ":" + peerPort;
    }
}
