package io.messenger.client;

/** Names of the handlers in a client connection's pipeline, top to bottom. */
public final class ClientPipeline {

    /** TLS ({@code SslHandler}), only with a trusted CA configured. */
    public static final String TLS = "tls";
    /** Splits the byte stream into length-prefixed frames of at most {@link ClientConfig#MAX_FRAME_BYTES}. */
    public static final String FRAME_DECODER = "frameDecoder";
    /** Prefixes every outgoing frame with its 4-byte length. */
    public static final String FRAME_ENCODER = "frameEncoder";
    /** Parses a frame into a {@code ClientEnvelope}. */
    public static final String PROTOBUF_DECODER = "protobufDecoder";
    /** Serialises outgoing {@code ClientEnvelope}s. */
    public static final String PROTOBUF_ENCODER = "protobufEncoder";
    /** Hands envelopes and connection events to the client. */
    public static final String CLIENT_HANDLER = "clientHandler";

    private ClientPipeline() {
    }
}
