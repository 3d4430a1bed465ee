package io.messenger.cluster.transport;

import io.messenger.proto.peer.PeerEnvelope;

/**
 * What the {@link PeerTransport} tells its owner. Called on I/O threads: an owner that runs
 * on its own thread hops there.
 */
public interface PeerEvents {

    /** An envelope from an identified, same-cluster peer (keepalives and hellos are not passed on). */
    void envelope(PeerEnvelope envelope);

    /** This node's dialled link to {@code peerId} came up (handshake done) or went down. */
    void peerConnectivity(int peerId, boolean up);

    /**
     * The client endpoint {@code peerId} announced for itself when a link with it was
     * established: the address to name in redirects while it leads.
     */
    default void peerClientAddress(int peerId, String clientAddress) {
    }
}
