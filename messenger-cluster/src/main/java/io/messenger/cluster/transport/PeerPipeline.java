package io.messenger.cluster.transport;

/**
 * Names of the handlers of a peer connection's pipeline, in pipeline order, so code and
 * tests find a handler by name rather than by type or position.
 */
public final class PeerPipeline {

    /** Only with peer TLS configured. */
    public static final String TLS = "tls";
    public static final String FRAME_DECODER = "frameDecoder";
    public static final String FRAME_PREPENDER = "framePrepender";
    public static final String PROTOBUF_DECODER = "protobufDecoder";
    public static final String PROTOBUF_ENCODER = "protobufEncoder";
    public static final String KEEPALIVE = "keepalive";
    public static final String HANDSHAKE = "handshake";
    public static final String DISPATCH = "dispatch";

    private PeerPipeline() {
    }
}
