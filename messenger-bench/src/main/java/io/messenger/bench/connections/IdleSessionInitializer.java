package io.messenger.bench.connections;

import io.messenger.client.ClientConfig;
import io.messenger.client.ClientPipeline;
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
 * that joins with the given name and room, under the client library's handler names.
 */
final class IdleSessionInitializer extends ChannelInitializer<Channel> {

    private final IdleSessionHandler.Identity identity;
    private final Duration pingInterval;

    IdleSessionInitializer(IdleSessionHandler.Identity identity, Duration pingInterval) {
        this.identity = identity;
        this.pingInterval = pingInterval;
    }

    @Override
    protected void initChannel(Channel channel) {
        channel.pipeline()
                .addLast(ClientPipeline.FRAME_DECODER, new LengthFieldBasedFrameDecoder(
                        ClientConfig.MAX_FRAME_BYTES, 0, 4, 0, 4))
                .addLast(ClientPipeline.FRAME_ENCODER, new LengthFieldPrepender(4))
                .addLast(ClientPipeline.PROTOBUF_DECODER, new ProtobufDecoder(ClientEnvelope.getDefaultInstance()))
                .addLast(ClientPipeline.PROTOBUF_ENCODER, new ProtobufEncoder())
                .addLast(ClientPipeline.CLIENT_HANDLER, new IdleSessionHandler(identity, pingInterval));
    }
}
