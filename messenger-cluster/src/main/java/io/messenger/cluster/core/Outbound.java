package io.messenger.cluster.core;

import io.messenger.proto.peer.PeerEnvelope;
import java.util.Objects;

/** One peer message the core wants sent: the destination node id and the envelope. */
public record Outbound(int to, PeerEnvelope envelope) {

    public Outbound {
        Objects.requireNonNull(envelope, "envelope");
    }
}
