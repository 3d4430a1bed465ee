package io.messenger.client;

import io.messenger.proto.client.ClientEnvelope;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The application end of one client connection: passes decoded envelopes and the connection's end to
 * its {@link Connection}. Bad input (an oversized or malformed frame) closes the connection with one log line.
 */
public final class ClientHandler extends SimpleChannelInboundHandler<ClientEnvelope> {

    private static final Logger log = LoggerFactory.getLogger(ClientHandler.class);

    /** What the handler reports to; every method runs on the connection's event loop. */
    public interface Connection {
        /** An envelope arrived from the server. */
        void received(ClientEnvelope envelope);

        /** The connection is closed (by either side); {@code why} is a short phrase naming an error, else null. */
        void closed(String why);

        /** The TLS handshake failed: a sentence for the user; retrying would not help. Default: just closed. */
        default void tlsFailed(String sentence) {
            closed(sentence);
        }
    }

    private final Connection connection;
    private String error;

    public ClientHandler(Connection connection) {
        this.connection = connection;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ClientEnvelope envelope) {
        connection.received(envelope);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        connection.closed(error);
        ctx.fireChannelInactive();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
        if (event instanceof SslHandshakeCompletionEvent done && !done.isSuccess()) {
            if (error == null) {
                log.debug("TLS handshake with {} failed: {}", ctx.channel().remoteAddress(), done.cause().toString());
                if (ClientTls.isConfigurationFailure(done.cause())) {
                    error = ClientTls.describeFailure(String.valueOf(ctx.channel().remoteAddress()), done.cause());
                    connection.tlsFailed(error);
                } else if (ClientTls.isClosedDuringHandshake(done.cause())) {
                    // A node refusing connections over its arrival rate closes a TLS connection before the
                    // handshake (a handshake would cost more than the refusal should), as NATS does with its TLS
                    // rate limit; a node killed mid-handshake looks the same. Both are retried with the backoff.
                    error = "the server closed the connection during the TLS handshake (a node does so while new"
                            + " connections arrive faster than it allows)";
                } else {
                    // The server stalled mid-handshake (a handshake timeout on a loaded machine): an ordinary
                    // loss, the client reconnects.
                    error = "TLS handshake failed: " + done.cause();
                }
            }
            ctx.close();
            return;
        }
        super.userEventTriggered(ctx, event);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (error == null) {
            if (cause instanceof IOException) {
                // The network failed (reset, broken pipe): an ordinary loss, the client reconnects.
                error = "connection failed: " + cause.getMessage();
                log.debug("Connection to {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
            } else {
                error = "bad data from the server: " + cause.getMessage();
                log.warn("Closing connection to {}: {}", ctx.channel().remoteAddress(), cause.toString());
            }
        }
        ctx.close();
    }
}
