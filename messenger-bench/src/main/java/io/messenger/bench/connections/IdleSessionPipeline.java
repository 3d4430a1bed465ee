package io.messenger.bench.connections;

/** Names of the handlers in an idle bench session's pipeline, top to bottom. */
public final class IdleSessionPipeline {

    /** Splits the byte stream into length-prefixed frames of at most 64 KiB. */
    public static final String FRAME_DECODER = "frameDecoder";
    /** Prefixes every outgoing frame with its 4-byte length. */
    public static final String FRAME_ENCODER = "frameEncoder";
    /** Parses a frame into a {@code ClientEnvelope}. */
    public static final String PROTOBUF_DECODER = "protobufDecoder";
    /** Serialises outgoing {@code ClientEnvelope}s. */
    public static final String PROTOBUF_ENCODER = "protobufEncoder";
    /** Joins, then only pings. */
    public static final String SESSION_HANDLER = "idleSession";

    private IdleSessionPipeline() {}
}
