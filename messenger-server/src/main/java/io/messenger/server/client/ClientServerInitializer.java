package io.messenger.server.client;

import io.messenger.proto.client.ClientEnvelope;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.Channel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import io.netty.handler.codec.protobuf.ProtobufEncoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/**
 * Builds a client connection's pipeline: TLS detection (and on a TLS port the
 * {@code SslHandler}), length-prefixed frames with a hard size limit,
 * protobuf {@link ClientEnvelope}s, a reader-idle watchdog and the session handler.
 */
public final class ClientServerInitializer extends ChannelInitializer<Channel> {

    private final ClientServerContext context;
    private final ChannelGroup clients;
    private final SslContext tls;
    private final HelloVerifications verifications;

    /** @param clients every connection is added to it (it forgets closed ones by itself) */
    public ClientServerInitializer(ClientServerContext context, ChannelGroup clients) {
        this(context, clients, null);
    }

    /** @param tls the client port's TLS context, or null for plaintext */
    public ClientServerInitializer(ClientServerContext context, ChannelGroup clients, SslContext tls) {
        this(context, clients, tls, HelloVerifications.INLINE);
    }

    /** @param verifications where costly token checks run (the caller owns and closes it) */
    public ClientServerInitializer(ClientServerContext context, ChannelGroup clients, SslContext tls,
                                   HelloVerifications verifications) {
        this.context = context;
        this.clients = clients;
        this.tls = tls;
        this.verifications = java.util.Objects.requireNonNull(verifications, "verifications");
    }

    @Override
    protected void initChannel(Channel ch) {
        clients.add(ch);
        ChannelPipeline p = ch.pipeline();
        p.addLast(ClientPipeline.TLS_DETECTOR, new ClientTlsDetector(tls));
        p.addLast(ClientPipeline.FRAME_DECODER, new LengthFieldBasedFrameDecoder(context.maxFrameBytes(), 0,
                ClientPipeline.LENGTH_FIELD_BYTES, 0, ClientPipeline.LENGTH_FIELD_BYTES));
        p.addLast(ClientPipeline.FRAME_ENCODER, new LengthFieldPrepender(ClientPipeline.LENGTH_FIELD_BYTES));
        p.addLast(ClientPipeline.PROTOBUF_DECODER, new ProtobufDecoder(ClientEnvelope.getDefaultInstance()));
        p.addLast(ClientPipeline.PROTOBUF_ENCODER, new ProtobufEncoder());
        p.addLast(ClientPipeline.IDLE_STATE,
                new IdleStateHandler(context.idleTimeout().toMillis(), 0, 0, TimeUnit.MILLISECONDS));
        p.addLast(ClientPipeline.SESSION, new ClientSessionHandler(context, verifications));
    }
}
