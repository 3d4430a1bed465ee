package io.messenger.cluster.transport;

import com.google.protobuf.ByteString;
import io.messenger.proto.peer.PeerEnvelope;
import io.messenger.proto.peer.PeerHello;
import io.messenger.proto.peer.PeerLane;
import io.messenger.proto.peer.PeerRejection;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.AttributeKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens a peer connection: the dialling side sends its hello first; the accepting side
 * checks it and answers with its own hello or a {@link PeerRejection} and closes. With a
 * cluster secret ({@link PeerAuthenticator}) each hello carries a fresh nonce, the acceptor's
 * hello answers the dialler's nonce, and the dialler answers the acceptor's in a
 * {@code PeerProof}; a side whose answer is missing or wrong is refused and the connection
 * closed before any consensus message is passed on. With peer TLS ({@link PeerTls}) the
 * hello only arrives once the TLS handshake has verified the peer's certificate against the
 * cluster's CA; the handler then also checks that the certificate names the node id the hello
 * announces, and refuses the connection otherwise. Once the peer is known (and proved) the
 * handler removes itself and fires an {@link Established} event.
 */
public final class PeerHandshakeHandler extends SimpleChannelInboundHandler<PeerEnvelope> {

    /** Set on a channel this node dials: the node id it expects to answer. */
    public static final AttributeKey<Integer> EXPECTED_PEER = AttributeKey.valueOf("messenger.expectedPeer");

    /** Set on a channel this node dials: the lane its hello names; {@code CONTROL} when unset. */
    public static final AttributeKey<PeerLane> LANE = AttributeKey.valueOf("messenger.peerLane");

    /**
     * Fired down the pipeline once the peer is identified.
     *
     * @param clientAddress the client endpoint the peer announced for itself in its hello
     */
    public record Established(int peerId, boolean dialled, String clientAddress) {
    }

    private static final Logger log = LoggerFactory.getLogger(PeerHandshakeHandler.class);

    private final PeerIdentity identity;
    /** The challenge this node sent on this connection, or empty without a secret. */
    private ByteString nonce = ByteString.EMPTY;
    /** On an accepted connection: the identified dialler whose proof is awaited, or null. */
    private PeerHello awaitingProof;
    /** Set once this connection is refused: frames still arriving are dropped unread. */
    private boolean refused;

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
            PeerAuthenticator auth = identity.authenticator();
            nonce = auth == null ? ByteString.EMPTY : auth.nonce();
            PeerLane lane = ctx.channel().attr(LANE).get();
            ctx.writeAndFlush(identity.hello(nonce, ByteString.EMPTY, lane == null ? PeerLane.PEER_LANE_CONTROL : lane))
                    .addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
        }
        ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, PeerEnvelope envelope) {
        if (refused) {
            return;
        }
        int expected = expectedPeer(ctx);
        if (envelope.hasRejection()) {
            log.warn("peer {} at {} refused this node: {}", expected == 0 ? "?" : expected,
                    ctx.channel().remoteAddress(), envelope.getRejection().getReason());
            ctx.close();
            return;
        }
        PeerAuthenticator auth = identity.authenticator();
        if (awaitingProof != null) {
            checkDiallerProof(ctx, envelope, auth);
            return;
        }
        String problem = identity.problemWith(envelope, expected);
        if (problem == null) {
            problem = tlsProblem(ctx, envelope.getHello().getNodeId());
        }
        if (problem != null) {
            refuse(ctx, problem);
            return;
        }
        PeerHello hello = envelope.getHello();
        int peerId = hello.getNodeId();
        boolean dialled = expected != 0;
        if (auth != null && hello.getNonce().size() != PeerAuthenticator.NONCE_BYTES) {
            refuse(ctx, "node " + peerId + " sent no challenge: it has no peer secret configured, and this node"
                    + " accepts only members that prove the cluster's secret");
            return;
        }
        if (dialled) {
            if (auth != null) {
                if (!auth.verify(hello.getProof(), false, nonce, identity.clusterName(), peerId, identity.selfId(),
                        hello.getClientAddress())) {
                    refuse(ctx, "node " + peerId + " failed the peer secret challenge (wrong or missing secret)");
                    return;
                }
                ctx.writeAndFlush(identity.proof(auth.proof(true, hello.getNonce(), identity.clusterName(),
                        identity.selfId(), peerId, identity.clientAddress())))
                        .addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
            }
            establish(ctx, peerId, true, hello.getClientAddress());
            return;
        }
        if (auth == null) {
            ctx.writeAndFlush(identity.hello()).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
            establish(ctx, peerId, false, hello.getClientAddress());
            return;
        }
        nonce = auth.nonce();
        ByteString answer = auth.proof(false, hello.getNonce(), identity.clusterName(), identity.selfId(), peerId,
                identity.clientAddress());
        ctx.writeAndFlush(identity.hello(nonce, answer)).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
        awaitingProof = hello;
    }

    /** With peer TLS: whether the completed handshake's peer certificate names {@code peerId}. */
    private String tlsProblem(ChannelHandlerContext ctx, int peerId) {
        if (identity.tls() == null) {
            return null;
        }
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl == null || !ssl.handshakeFuture().isSuccess()) {
            return "node " + peerId + " sent its hello without a completed TLS handshake";
        }
        return PeerTls.problemWith(ssl.engine().getSession(), peerId);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
        if (event instanceof SslHandshakeCompletionEvent done && !done.isSuccess()) {
            int expected = expectedPeer(ctx);
            if (expected != 0) {
                log.warn("node {} cannot open a TLS link to peer {} at {}: {}", identity.selfId(), expected,
                        ctx.channel().remoteAddress(), PeerTls.rootMessage(done.cause()));
            } else {
                log.warn("refusing peer connection from {}: TLS handshake failed: {}", ctx.channel().remoteAddress(),
                        PeerTls.rootMessage(done.cause()));
            }
            refused = true;
            ctx.close();
            return;
        }
        super.userEventTriggered(ctx, event);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (refused) {
            // The TLS failure that caused it is logged already; the connection is closing.
            ctx.close();
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    /** On an accepted connection: the frame after the hellos must be the dialler's correct proof. */
    private void checkDiallerProof(ChannelHandlerContext ctx, PeerEnvelope envelope, PeerAuthenticator auth) {
        int peerId = awaitingProof.getNodeId();
        if (!envelope.hasProof()) {
            refuse(ctx, "node " + peerId + " sent " + envelope.getBodyCase()
                    + " instead of its answer to the peer secret challenge");
            return;
        }
        if (envelope.getFrom() != peerId || !auth.verify(envelope.getProof().getProof(), true, nonce,
                identity.clusterName(), peerId, identity.selfId(), awaitingProof.getClientAddress())) {
            refuse(ctx, "node " + peerId + " failed the peer secret challenge (wrong secret)");
            return;
        }
        establish(ctx, peerId, false, awaitingProof.getClientAddress());
    }

    private void establish(ChannelHandlerContext ctx, int peerId, boolean dialled, String clientAddress) {
        ctx.pipeline().remove(this);
        ctx.fireUserEventTriggered(new Established(peerId, dialled, clientAddress));
    }

    private void refuse(ChannelHandlerContext ctx, String problem) {
        log.warn("refusing peer connection from {}: {}", ctx.channel().remoteAddress(), problem);
        awaitingProof = null;
        refused = true;
        PeerEnvelope rejection = PeerEnvelope.newBuilder()
                .setProtocolVersion(PeerIdentity.PROTOCOL_VERSION)
                .setFrom(identity.selfId())
                .setRejection(PeerRejection.newBuilder().setReason(problem))
                .build();
        ctx.writeAndFlush(rejection).addListener(ChannelFutureListener.CLOSE);
    }
}
