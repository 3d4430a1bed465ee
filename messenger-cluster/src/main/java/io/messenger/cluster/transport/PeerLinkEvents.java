package io.messenger.cluster.transport;

import io.messenger.proto.peer.PeerEnvelope;
import io.netty.channel.Channel;

/** What the peer pipeline reports to its owner, on the connection's event loop. */
public interface PeerLinkEvents {

    /**
     * Both hellos were exchanged and accepted.
     *
     * @param dialled true on a connection this node opened, false on an accepted one
     */
    void linkEstablished(Channel channel, int peerId, boolean dialled);

    /** The client endpoint an identified peer announced for itself in its hello. */
    default void peerClientAddress(int peerId, String clientAddress) {
    }

    /** An envelope from an identified peer, after the handshake (keepalives are not passed on). */
    void envelope(int peerId, PeerEnvelope envelope);
}
