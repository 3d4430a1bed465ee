package io.messenger.cluster.transport;

import io.messenger.proto.peer.PeerEnvelope;
import io.messenger.proto.peer.PeerRejection;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Last handler of a peer connection: hands envelopes of an identified peer to the
 * {@link PeerLinkEvents}, keeps the link alive while idle, closes a silent one, and turns
 * every codec error into one log line and a closed connection.
 */
public final class PeerDispatchHandler extends SimpleChannelInboundHandler<PeerEnvelope> {

    private static final Logger log = LoggerFactory.getLogger(PeerDispatchHandler.class);

    private final PeerIdentity identity;
    private final PeerLinkEvents events;
    private int peerId;
    private boolean closing;

    public PeerDispatchHandler(PeerIdentity identity, PeerLinkEvents events) {
        this.identity = identity;
        this.events = events;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
        if (event instanceof PeerHandshakeHandler.Established established) {
            peerId = established.peerId();
            events.linkEstablished(ctx.channel(), peerId, established.dialled());
            events.peerClientAddress(peerId, established.clientAddress());
        } else if (event instanceof IdleStateEvent idle) {
            if (idle.state() == IdleState.READER_IDLE) {
                closeWithReason(ctx, peerId == 0
                        ? "no handshake from " + ctx.channel().remoteAddress() + " in time"
                        : "peer " + peerId + " at " + ctx.channel().remoteAddress() + " went silent");
            } else if (idle.state() == IdleState.WRITER_IDLE && peerId != 0) {
                ctx.writeAndFlush(identity.keepalive()).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
            }
        } else {
            super.userEventTriggered(ctx, event);
        }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, PeerEnvelope envelope) {
        if (peerId == 0) {
            // The handshake handler is removed only after it forwarded the identity; anything
            // reaching here earlier means the pipeline was built wrongly.
            closeWithReason(ctx, "envelope before handshake from " + ctx.channel().remoteAddress());
            return;
        }
        if (envelope.getProtocolVersion() != PeerIdentity.PROTOCOL_VERSION) {
            reject(ctx, "peer protocol version " + envelope.getProtocolVersion()
                    + " is not supported; this node speaks " + PeerIdentity.PROTOCOL_VERSION);
            return;
        }
        if (envelope.getFrom() != peerId) {
            reject(ctx, "envelope claims to come from node " + envelope.getFrom()
                    + " on the connection of node " + peerId);
            return;
        }
        switch (envelope.getBodyCase()) {
            case BODY_NOT_SET -> {
                // keepalive: its arrival alone reset the silence detector
            }
            case HELLO -> reject(ctx, "second hello on an established connection");
            case PROOF -> reject(ctx, "peer secret proof on an established connection");
            case REJECTION -> closeWithReason(ctx,
                    "peer " + peerId + " closed the link: " + envelope.getRejection().getReason());
            default -> events.envelope(peerId, envelope);
        }
    }

    private void reject(ChannelHandlerContext ctx, String reason) {
        if (closing) {
            return;
        }
        closing = true;
        log.warn("closing link with peer {} at {}: {}", peerId, ctx.channel().remoteAddress(), reason);
        ctx.writeAndFlush(PeerEnvelope.newBuilder()
                        .setProtocolVersion(PeerIdentity.PROTOCOL_VERSION)
                        .setFrom(identity.selfId())
                        .setRejection(PeerRejection.newBuilder().setReason(reason))
                        .build())
                .addListener(ChannelFutureListener.CLOSE);
    }

    private void closeWithReason(ChannelHandlerContext ctx, String reason) {
        if (closing) {
            return;
        }
        closing = true;
        log.warn("closing peer connection: {}", reason);
        ctx.close();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Oversized frames, corrupt protobuf and I/O errors all land here; the stream can no
        // longer be trusted, so only this connection goes and the dialler redials.
        closeWithReason(ctx, (peerId == 0 ? "unidentified peer" : "peer " + peerId) + " at "
                + ctx.channel().remoteAddress() + ": " + cause);
    }
}
