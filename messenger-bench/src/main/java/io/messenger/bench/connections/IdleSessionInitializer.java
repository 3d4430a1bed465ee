package io.messenger.bench.connections;

import io.messenger.proto.client.ClientEnvelope;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import io.netty.handler.codec.protobuf.ProtobufEncoder;
import java.time.Duration;

/**
 * Builds the pipeline of one idle session: the client link's framing, then an {@link IdleSessionHandler}
 * that joins with the given name and room.
 */
final class IdleSessionInitializer extends ChannelInitializer<Channel> {

    private static final int MAX_FRAME_BYTES = 64 * 1024;

    private final IdleSessionHandler.Identity identity;
    private final Duration pingInterval;

    IdleSessionInitializer(IdleSessionHandler.Identity identity, Duration pingInterval) {
        this.identity = identity;
        this.pingInterval = pingInterval;
    }

    @Override
    protected void initChannel(Channel channel) {
        channel.pipeline()
                .addLast(IdleSessionPipeline.FRAME_DECODER, new LengthFieldBasedFrameDecoder(MAX_FRAME_BYTES, 0, 4, 0, 4))
                .addLast(IdleSessionPipeline.FRAME_ENCODER, new LengthFieldPrepender(4))
                .addLast(IdleSessionPipeline.PROTOBUF_DECODER, new ProtobufDecoder(ClientEnvelope.getDefaultInstance()))
                .addLast(IdleSessionPipeline.PROTOBUF_ENCODER, new ProtobufEncoder())
                .addLast(IdleSessionPipeline.SESSION_HANDLER, new IdleSessionHandler(identity, pingInterval));
    }
}
