package io.messenger.client;

import io.messenger.proto.client.ClientEnvelope;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import io.netty.handler.codec.protobuf.ProtobufEncoder;

/** Builds a client connection's pipeline: length framing, protobuf codec, then the {@link ClientHandler}. */
public final class ClientChannelInitializer extends ChannelInitializer<Channel> {

    private final int maxFrameBytes;
    private final ClientHandler handler;

    public ClientChannelInitializer(int maxFrameBytes, ClientHandler handler) {
        this.maxFrameBytes = maxFrameBytes;
        this.handler = handler;
    }

    @Override
    protected void initChannel(Channel ch) {
        ChannelPipeline p = ch.pipeline();
        p.addLast(ClientPipeline.FRAME_DECODER, new LengthFieldBasedFrameDecoder(maxFrameBytes, 0, 4, 0, 4));
        p.addLast(ClientPipeline.FRAME_ENCODER, new LengthFieldPrepender(4));
        p.addLast(ClientPipeline.PROTOBUF_DECODER, new ProtobufDecoder(ClientEnvelope.getDefaultInstance()));
        p.addLast(ClientPipeline.PROTOBUF_ENCODER, new ProtobufEncoder());
        p.addLast(ClientPipeline.CLIENT_HANDLER, handler);
    }
}
