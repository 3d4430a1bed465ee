package io.messenger.bench.connections;

import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.ClientProtocolVersion;
import io.messenger.proto.client.Hello;
import io.messenger.proto.client.Ping;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One idle chat session: sends Hello when connected, completes {@link #joined()} on Welcome (or fails it on
 * Rejection or a lost connection), then only pings now and then, like a client whose user is reading.
 * Deliveries and presence events are read and dropped.
 */
final class IdleSessionHandler extends SimpleChannelInboundHandler<ClientEnvelope> {

    private final Identity identity;
    private final Duration pingInterval;
    private final CompletableFuture<Void> joined = new CompletableFuture<>();
    private ScheduledFuture<?> pings;
    private long nonce;

    IdleSessionHandler(Identity identity, Duration pingInterval) {
        this.identity = identity;
        this.pingInterval = pingInterval;
    }

    CompletableFuture<Void> joined() {
        return joined;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.writeAndFlush(envelope().setHello(Hello.newBuilder().setUsername(identity.username())
                .setRoom(identity.room()).setClientId(identity.clientId())).build());
        ctx.fireChannelActive();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ClientEnvelope message) {
        switch (message.getBodyCase()) {
            case WELCOME -> {
                joined.complete(null);
                // Spread the pings so ten thousand sessions do not all ping in the same millisecond.
                long first = ThreadLocalRandom.current().nextLong(pingInterval.toMillis()) + 1;
                pings = ctx.executor().scheduleAtFixedRate(() -> ctx.writeAndFlush(
                        envelope().setPing(Ping.newBuilder().setNonce(++nonce)).build()),
                        first, pingInterval.toMillis(), TimeUnit.MILLISECONDS);
            }
            case REJECTION -> {
                joined.completeExceptionally(new IOException("rejected: " + message.getRejection().getReason()
                        + " (" + message.getRejection().getMessage() + ")"));
                ctx.close();
            }
            default -> {
                // deliveries, presence and pongs: an idle reader has nothing to do with them
            }
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (pings != null) {
            pings.cancel(false);
        }
        joined.completeExceptionally(new IOException("connection closed before the session was welcomed"));
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        joined.completeExceptionally(cause);
        ctx.close();
    }

    private static ClientEnvelope.Builder envelope() {
        return ClientEnvelope.newBuilder().setProtocolVersion(ClientProtocolVersion.CLIENT_PROTOCOL_V1_VALUE);
    }

    /** Who a session joins as. */
    record Identity(String username, String room, String clientId) {}
}
