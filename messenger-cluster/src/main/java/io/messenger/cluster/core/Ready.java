package io.messenger.cluster.core;

import io.messenger.cluster.storage.DurableState;
import io.messenger.proto.peer.Entry;
import java.util.List;

/**
 * Everything the core produced since the previous {@link ReplicationCore#drain()}, to be
 * handled by the driver in this order: save {@code stateToSave} with fsync (if not null),
 * only then send {@code messages}, then apply {@code committed} in order.
 *
 * @param stateToSave election state to make durable before any message of this batch
 *     leaves the node; {@code null} when unchanged
 * @param messages peer messages to send, in order per destination
 * @param committed newly committed entries, consecutive and in log order, including the
 *     empty epoch-opening entries (which the runtime does not hand to the state machine)
 * @param statusChanged whether role, epoch or known leader changed (tell the listeners)
 * @param restored whether this node has just become a voter in good standing (restored after a
 *     lost disk, or founding a brand-new cluster): the driver
 *     must record that durably (after {@code stateToSave}, before sending {@code messages},
 *     whose acknowledgements now count)
 */
public record Ready(
        DurableState stateToSave,
        List<Outbound> messages,
        List<Entry> committed,
        boolean statusChanged,
        boolean restored) {

    public Ready {
        messages = List.copyOf(messages);
        committed = List.copyOf(committed);
    }

    /** True when there is nothing to save, send, apply or report. */
    public boolean isEmpty() {
        return stateToSave == null && messages.isEmpty() && committed.isEmpty() && !statusChanged && !restored;
    }
}
