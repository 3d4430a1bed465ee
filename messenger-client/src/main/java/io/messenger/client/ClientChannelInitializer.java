package io.messenger.client;

import io.messenger.proto.client.ClientEnvelope;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import io.netty.handler.codec.protobuf.ProtobufEncoder;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;

/**
 * Builds a client connection's pipeline: with TLS, Netty's {@code SslHandler} first (verifying
 * the server's certificate and host name), then length framing, protobuf codec, then the
 * {@link ClientHandler}.
 */
public final class ClientChannelInitializer extends ChannelInitializer<Channel> {

    private final int maxFrameBytes;
    private final ClientHandler handler;
    private final SslContext tls;
    private final InetSocketAddress server;

    public ClientChannelInitializer(int maxFrameBytes, ClientHandler handler) {
        this(maxFrameBytes, handler, null, null);
    }

    /** @param tls client TLS context, or null for plaintext; {@code server} names the host to verify */
    public ClientChannelInitializer(int maxFrameBytes, ClientHandler handler, SslContext tls,
                                    InetSocketAddress server) {
        this.maxFrameBytes = maxFrameBytes;
        this.handler = handler;
        this.tls = tls;
        this.server = server;
    }

    @Override
    protected void initChannel(Channel ch) {
        ChannelPipeline p = ch.pipeline();
        if (tls != null) {
            // The host as dialled (name or address literal) is what the certificate must name.
            p.addLast(ClientPipeline.TLS, tls.newHandler(ch.alloc(), server.getHostString(), server.getPort()));
        }
        p.addLast(ClientPipeline.FRAME_DECODER, new LengthFieldBasedFrameDecoder(maxFrameBytes, 0, 4, 0, 4));
        p.addLast(ClientPipeline.FRAME_ENCODER, new LengthFieldPrepender(4));
        p.addLast(ClientPipeline.PROTOBUF_DECODER, new ProtobufDecoder(ClientEnvelope.getDefaultInstance()));
        p.addLast(ClientPipeline.PROTOBUF_ENCODER, new ProtobufEncoder());
        p.addLast(ClientPipeline.CLIENT_HANDLER, handler);
    }
}
