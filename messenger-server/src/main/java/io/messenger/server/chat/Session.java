package io.messenger.server.chat;

/** One device's session in one room, as every node's state machine records it. */
final class Session {

    final String id;
    final String username;
    final String clientId;
    final String room;
    final int nodeId;
    /** Epoch of the leader that opened it; a later leader's LeaderChanged detaches it. */
    final long openedEpoch;
    /** Leader time since which the session has no connection; -1 while attached. */
    long detachedSinceMs = -1;

    Session(String id, String username, String clientId, String room, int nodeId, long openedEpoch) {
        this.id = id;
        this.username = username;
        this.clientId = clientId;
        this.room = room;
        this.nodeId = nodeId;
        this.openedEpoch = openedEpoch;
    }

    boolean attached() {
        return detachedSinceMs < 0;
    }

    @Override
    public String toString() {
        return id + "[" + username + "/" + clientId + " in " + room + " node " + nodeId + " epoch " + openedEpoch
                + (attached() ? " attached" : " detached@" + detachedSinceMs) + "]";
    }
}
