package io.messenger.cluster.admin;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes an admin connection that has not delivered a whole request within the deadline of
 * its opening, or of its previous request on a kept-alive connection. A read timeout would
 * not do: a client trickling one header byte a second ("slowloris") resets it forever. Sits
 * behind the aggregator, so a request counts only once its headers and body are complete.
 */
final class AdminRequestDeadline extends ChannelInboundHandlerAdapter {

    private static final Logger log = LoggerFactory.getLogger(AdminRequestDeadline.class);

    private final Duration deadline;
    private ScheduledFuture<?> timer;

    AdminRequestDeadline(Duration deadline) {
        this.deadline = deadline;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        arm(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        disarm();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof FullHttpRequest) {
            arm(ctx); // the next request on this connection gets a deadline of its own
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        disarm();
        ctx.fireChannelInactive();
    }

    private void arm(ChannelHandlerContext ctx) {
        disarm();
        timer = ctx.executor().schedule(() -> {
            log.debug("closing admin connection from {}: no complete request within {} ms",
                    ctx.channel().remoteAddress(), deadline.toMillis());
            ctx.close();
        }, deadline.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void disarm() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
