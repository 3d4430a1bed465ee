package io.messenger.cluster.transport;

import com.google.protobuf.ByteString;
import io.messenger.proto.peer.PeerEnvelope;
import io.messenger.proto.peer.PeerHello;
import io.messenger.proto.peer.PeerLane;
import io.messenger.proto.peer.PeerProof;
import io.messenger.proto.peer.PeerProtocolVersion;
import java.util.Objects;
import java.util.Set;

/**
 * Who this node is on the peer link and whom it accepts: the node id, the cluster name, the
 * configured member ids, the client endpoint this node announces for itself, and the
 * cluster secret's {@link PeerAuthenticator} ({@code null} when none is configured: then any
 * process that reaches the peer port and knows a member id can join), and the node's mutual
 * TLS credentials ({@link PeerTls}, {@code null} without TLS). Both ends of a connection check
 * each other's hello against it.
 */
public record PeerIdentity(int selfId, String clusterName, Set<Integer> memberIds, String clientAddress,
                           PeerAuthenticator authenticator, PeerTls tls) {

    /** Longest client address a hello may announce (a host name and a port). */
    public static final int MAX_CLIENT_ADDRESS_LENGTH = 261;

    /** The only peer protocol major version this build speaks. */
    public static final int PROTOCOL_VERSION = PeerProtocolVersion.PEER_PROTOCOL_V1_VALUE;

    public PeerIdentity {
        memberIds = Set.copyOf(memberIds);
        Objects.requireNonNull(clientAddress, "clientAddress");
        if (!memberIds.contains(selfId)) {
            throw new IllegalArgumentException("node " + selfId + " is not among the members " + memberIds);
        }
    }

    /** An identity without TLS. */
    public PeerIdentity(int selfId, String clusterName, Set<Integer> memberIds, String clientAddress,
                        PeerAuthenticator authenticator) {
        this(selfId, clusterName, memberIds, clientAddress, authenticator, null);
    }

    /** An identity that announces no client address (transport tests). */
    public PeerIdentity(int selfId, String clusterName, Set<Integer> memberIds) {
        this(selfId, clusterName, memberIds, "", null, null);
    }

    /** The hello this node sends first on a connection it dials, and in reply to an accepted one, without a secret. */
    public PeerEnvelope hello() {
        return hello(ByteString.EMPTY, ByteString.EMPTY);
    }

    /** A hello carrying this node's challenge and (on an accepted connection) its answer to the dialler's. */
    public PeerEnvelope hello(ByteString nonce, ByteString proof) {
        return hello(nonce, proof, PeerLane.PEER_LANE_CONTROL);
    }

    /** A dialler's hello for one of its {@link PeerLane lanes} to a peer. */
    public PeerEnvelope hello(ByteString nonce, ByteString proof, PeerLane lane) {
        return PeerEnvelope.newBuilder()
                .setProtocolVersion(PROTOCOL_VERSION)
                .setFrom(selfId)
                .setHello(PeerHello.newBuilder().setNodeId(selfId).setCluster(clusterName)
                        .setClientAddress(clientAddress).setNonce(nonce).setProof(proof).setLane(lane))
                .build();
    }

    /** The dialler's answer to the acceptor's challenge. */
    public PeerEnvelope proof(ByteString proof) {
        return PeerEnvelope.newBuilder()
                .setProtocolVersion(PROTOCOL_VERSION)
                .setFrom(selfId)
                .setProof(PeerProof.newBuilder().setProof(proof))
                .build();
    }

    /** A frame with no body: keeps an idle connection's silence detector quiet. */
    public PeerEnvelope keepalive() {
        return PeerEnvelope.newBuilder().setProtocolVersion(PROTOCOL_VERSION).setFrom(selfId).build();
    }

    /**
     * Checks a peer's hello. Returns {@code null} when it is acceptable, otherwise the reason
     * sent back in the rejection and logged.
     *
     * @param expectedPeer the id this node dialled, or 0 on an accepted connection
     */
    public String problemWith(PeerEnvelope envelope, int expectedPeer) {
        if (envelope.getProtocolVersion() != PROTOCOL_VERSION) {
            return "peer protocol version " + envelope.getProtocolVersion() + " is not supported; this node speaks "
                    + PROTOCOL_VERSION;
        }
        if (!envelope.hasHello()) {
            return "expected a hello as the first frame, got " + envelope.getBodyCase();
        }
        PeerHello hello = envelope.getHello();
        if (!clusterName.equals(hello.getCluster())) {
            return "cluster '" + hello.getCluster() + "' does not match this node's cluster '" + clusterName + "'";
        }
        int id = hello.getNodeId();
        if (!memberIds.contains(id)) {
            return "node id " + id + " is not a member of cluster '" + clusterName + "' " + memberIds;
        }
        if (id == selfId) {
            return "node id " + id + " is this node's own id";
        }
        if (envelope.getFrom() != id) {
            return "hello says node " + id + " but the envelope comes from " + envelope.getFrom();
        }
        if (hello.getClientAddress().length() > MAX_CLIENT_ADDRESS_LENGTH) {
            return "client address of node " + id + " is longer than " + MAX_CLIENT_ADDRESS_LENGTH + " characters";
        }
        if (expectedPeer != 0 && id != expectedPeer) {
            return "dialled node " + expectedPeer + " but node " + id + " answered";
        }
        return null;
    }
}
