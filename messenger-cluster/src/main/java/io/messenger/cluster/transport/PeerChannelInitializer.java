package io.messenger.cluster.transport;

import io.messenger.proto.peer.PeerEnvelope;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import io.netty.handler.codec.protobuf.ProtobufEncoder;
import io.netty.handler.timeout.IdleStateHandler;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Builds a peer connection's pipeline, the same for dialled and accepted connections:
 * with peer TLS configured, Netty's {@code SslHandler} first (client mode on a dialled
 * connection, server mode requiring a client certificate on an accepted one), then
 * bounded length-prefixed framing, protobuf {@link PeerEnvelope}s, keepalive/silence
 * detection, the hello handshake, then dispatch to the owner.
 */
public final class PeerChannelInitializer extends ChannelInitializer<Channel> {

    private final PeerIdentity identity;
    private final int maxFrameBytes;
    private final Duration keepaliveInterval;
    private final Duration silenceTimeout;
    private final PeerLinkEvents events;

    /**
     * @param keepaliveInterval a keepalive goes out after this long without writes
     * @param silenceTimeout a connection that received nothing for this long is closed
     */
    public PeerChannelInitializer(PeerIdentity identity, int maxFrameBytes, Duration keepaliveInterval,
                                  Duration silenceTimeout, PeerLinkEvents events) {
        this.identity = identity;
        this.maxFrameBytes = maxFrameBytes;
        this.keepaliveInterval = keepaliveInterval;
        this.silenceTimeout = silenceTimeout;
        this.events = events;
    }

    @Override
    protected void initChannel(Channel channel) {
        ChannelPipeline pipeline = channel.pipeline();
        if (identity.tls() != null) {
            boolean dialled = channel.attr(PeerHandshakeHandler.EXPECTED_PEER).get() != null;
            pipeline.addLast(PeerPipeline.TLS, identity.tls().newHandler(channel.alloc(), dialled));
        }
        pipeline.addLast(PeerPipeline.FRAME_DECODER, new LengthFieldBasedFrameDecoder(maxFrameBytes, 0, 4, 0, 4));
        pipeline.addLast(PeerPipeline.FRAME_PREPENDER, new LengthFieldPrepender(4));
        pipeline.addLast(PeerPipeline.PROTOBUF_DECODER, new ProtobufDecoder(PeerEnvelope.getDefaultInstance()));
        pipeline.addLast(PeerPipeline.PROTOBUF_ENCODER, new ProtobufEncoder());
        pipeline.addLast(PeerPipeline.KEEPALIVE, new IdleStateHandler(silenceTimeout.toMillis(),
                keepaliveInterval.toMillis(), 0, TimeUnit.MILLISECONDS));
        pipeline.addLast(PeerPipeline.HANDSHAKE, new PeerHandshakeHandler(identity));
        pipeline.addLast(PeerPipeline.DISPATCH, new PeerDispatchHandler(identity, events));
    }
}
