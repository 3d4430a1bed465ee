package io.messenger.server.client;

import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Rejection;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First in a client connection's pipeline: looks at the first bytes to tell a TLS client from
 * a plaintext one, so that a mismatch ends with a sentence rather than an opaque failure. On a
 * TLS port a TLS client gets the {@code SslHandler} in this handler's place, and a plaintext one
 * a plaintext {@code TLS_REQUIRED} rejection saying to use TLS; on a plaintext port a TLS
 * client's hello is answered with plaintext (which its TLS stack reports as "not an SSL/TLS
 * record"), and a plaintext client continues with this handler gone.
 */
final class ClientTlsDetector extends ByteToMessageDecoder {

    private static final Logger log = LoggerFactory.getLogger(ClientTlsDetector.class);
    /** A TLS record header: type, version, length. */
    private static final int PEEK_BYTES = 5;

    private final SslContext tls;

    /** @param tls the client port's TLS context, or null for a plaintext port */
    ClientTlsDetector(SslContext tls) {
        this.tls = tls;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < PEEK_BYTES) {
            return;
        }
        boolean clientSpeaksTls = SslHandler.isEncrypted(in, false);
        if (clientSpeaksTls == (tls != null)) {
            if (tls != null) {
                ctx.pipeline().replace(this, ClientPipeline.TLS, tls.newHandler(ctx.alloc()));
            } else {
                ctx.pipeline().remove(this);
            }
            return;
        }
        in.skipBytes(in.readableBytes());
        String sentence = tls != null
                ? "This server accepts only TLS connections on its client port; connect with --tls-ca and the"
                        + " cluster's CA certificate."
                : "This server does not speak TLS on its client port; connect without --tls-ca.";
        log.info("closing client connection from {}: it speaks {} to a {} port", ctx.channel().remoteAddress(),
                clientSpeaksTls ? "TLS" : "plaintext", tls != null ? "TLS" : "plaintext");
        byte[] body = ClientEnvelope.newBuilder()
                .setProtocolVersion(ClientSessionHandler.envelope().getProtocolVersion())
                .setRejection(Rejection.newBuilder().setReason(tls != null ? Rejection.Reason.TLS_REQUIRED
                        : Rejection.Reason.PROTOCOL_ERROR).setMessage(sentence))
                .build().toByteArray();
        ByteBuf frame = ctx.alloc().buffer(ClientPipeline.LENGTH_FIELD_BYTES + body.length);
        frame.writeInt(body.length).writeBytes(body);
        // Written from here, below the codecs: raw bytes straight to the socket.
        ctx.writeAndFlush(frame).addListener(ChannelFutureListener.CLOSE);
    }
}
