package io.messenger.cluster.transport;

import io.messenger.proto.peer.PeerEnvelope;
import io.messenger.proto.peer.PeerRejection;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.util.AttributeKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens a peer connection: the dialling side sends its hello first; the accepting side
 * checks it and answers with its own hello or a {@link PeerRejection} and closes. Once the
 * peer is known the handler removes itself and fires a {@link Established} event.
 */
public final class PeerHandshakeHandler extends SimpleChannelInboundHandler<PeerEnvelope> {

    /** Set on a channel this node dials: the node id it expects to answer. */
    public static final AttributeKey<Integer> EXPECTED_PEER = AttributeKey.valueOf("messenger.expectedPeer");

    /**
     * Fired down the pipeline once the peer is identified.
     *
     * @param clientAddress the client endpoint the peer announced for itself in its hello
     */
    public record Established(int peerId, boolean dialled, String clientAddress) {
    }

    private static final Logger log = LoggerFactory.getLogger(PeerHandshakeHandler.class);

    private final PeerIdentity identity;

    public PeerHandshakeHandler(PeerIdentity identity) {
        this.identity = identity;
    }

    private int expectedPeer(ChannelHandlerContext ctx) {
        Integer expected = ctx.channel().attr(EXPECTED_PEER).get();
        return expected == null ? 0 : expected;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (expectedPeer(ctx) != 0) {
            ctx.writeAndFlush(identity.hello()).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
        }
        ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, PeerEnvelope envelope) {
        int expected = expectedPeer(ctx);
        if (envelope.hasRejection()) {
            log.warn("peer {} at {} refused this node: {}", expected == 0 ? "?" : expected,
                    ctx.channel().remoteAddress(), envelope.getRejection().getReason());
            ctx.close();
            return;
        }
        String problem = identity.problemWith(envelope, expected);
        if (problem != null) {
            log.warn("refusing peer connection from {}: {}", ctx.channel().remoteAddress(), problem);
            PeerEnvelope rejection = PeerEnvelope.newBuilder()
                    .setProtocolVersion(PeerIdentity.PROTOCOL_VERSION)
                    .setFrom(identity.selfId())
                    .setRejection(PeerRejection.newBuilder().setReason(problem))
                    .build();
            ctx.writeAndFlush(rejection).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        int peerId = envelope.getHello().getNodeId();
        boolean dialled = expected != 0;
        if (!dialled) {
            ctx.writeAndFlush(identity.hello()).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
        }
        ctx.pipeline().remove(this);
        ctx.fireUserEventTriggered(new Established(peerId, dialled, envelope.getHello().getClientAddress()));
    }
}
