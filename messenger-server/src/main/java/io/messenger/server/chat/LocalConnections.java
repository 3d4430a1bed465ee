package io.messenger.server.chat;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The client connections attached to this node, keyed by session id. A connection is
 * registered before its OpenSession is proposed, so the apply thread finds it when the
 * command commits and its Welcome precedes every live delivery.
 */
public final class LocalConnections {

    private final Map<String, ClientConnection> bySession = new ConcurrentHashMap<>();

    public void register(String sessionId, ClientConnection connection) {
        if (bySession.putIfAbsent(sessionId, connection) != null) {
            throw new IllegalStateException("session id registered twice: " + sessionId);
        }
    }

    /** Removes the entry only if it still maps to {@code connection}. */
    public void unregister(String sessionId, ClientConnection connection) {
        bySession.remove(sessionId, connection);
    }

    public Optional<ClientConnection> find(String sessionId) {
        return Optional.ofNullable(bySession.get(sessionId));
    }

    ClientConnection get(String sessionId) {
        return bySession.get(sessionId);
    }

    public int size() {
        return bySession.size();
    }
}
