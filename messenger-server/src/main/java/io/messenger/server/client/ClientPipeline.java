package io.messenger.server.client;

/** Names of the handlers in a client connection's pipeline, top to bottom. */
public final class ClientPipeline {

    /** Tells TLS from plaintext clients; replaced by {@link #TLS} on a TLS port, removed on a plaintext one. */
    public static final String TLS_DETECTOR = "tlsDetector";
    /** The {@code SslHandler}, on a TLS port only. */
    public static final String TLS = "tls";
    public static final String FRAME_DECODER = "frameDecoder";
    public static final String FRAME_ENCODER = "frameEncoder";
    public static final String PROTOBUF_DECODER = "protobufDecoder";
    public static final String PROTOBUF_ENCODER = "protobufEncoder";
    public static final String IDLE_STATE = "idleState";
    public static final String SESSION = "session";

    /** Length of the frame header: a 4-byte big-endian body length. */
    public static final int LENGTH_FIELD_BYTES = 4;

    private ClientPipeline() {
    }
}
