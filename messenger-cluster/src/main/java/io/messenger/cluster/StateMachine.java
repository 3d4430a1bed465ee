package io.messenger.cluster;

import com.google.protobuf.ByteString;

/**
 * The application side of the replicated log: receives committed commands, in log order,
 * exactly once per index in the life of a process. After a restart the whole log is
 * applied again from index 1, so {@code apply} must be deterministic and depend only on
 * the command and the state built by earlier commands.
 */
public interface StateMachine {

    /**
     * Applies the committed command at {@code index}. Called on the cluster's apply thread.
     *
     * @return a result handed to the future of {@link Replicator#propose} on the node that
     *     proposed the command; may be {@code null}
     */
    Object apply(long index, ByteString command);
}
