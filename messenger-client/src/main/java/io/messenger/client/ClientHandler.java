package io.messenger.client;

import io.messenger.proto.client.ClientEnvelope;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
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

        /** The connection is closed (by either side); {@code why} names a local error, else null. */
        void closed(String why);
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
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (error == null) {
            error = "bad data from " + ctx.channel().remoteAddress() + ": " + cause.getMessage();
            log.warn("Closing connection to {}: {}", ctx.channel().remoteAddress(), cause.toString());
        }
        ctx.close();
    }
}
