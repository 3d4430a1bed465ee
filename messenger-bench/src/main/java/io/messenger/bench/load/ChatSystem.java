package io.messenger.bench.load;

import java.util.List;

/**
 * A system the bench drives: the messenger cluster through its client library, or NATS JetStream.
 * The load generator only ever talks to this interface, so both get exactly the same load.
 */
public interface ChatSystem extends AutoCloseable {

    /** Short name for tables and files ("messenger", "nats"). */
    String name();

    /** Called once before clients connect, with every room the run will use. */
    default void prepareRooms(List<String> rooms) throws Exception {}

    /**
     * Connects one client as {@code username} in {@code room} and returns once it is joined and will see
     * every message sent after this returns.
     */
    BenchClient connect(String username, String room, Inbox inbox) throws Exception;

    /** PIDs of the server processes on this machine, for CPU and memory figures; empty if unknown. */
    default List<Long> serverPids() {
        return List.of();
    }

    @Override
    void close();

    /** Receives one client's deliveries, in the order the system delivers them. */
    @FunctionalInterface
    interface Inbox {
        /** @param roomSeq the system's position of the message in its room, 0 when it has none */
        void onMessage(long roomSeq, String text);
    }
}
