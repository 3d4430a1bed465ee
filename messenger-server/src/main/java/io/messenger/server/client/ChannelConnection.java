package io.messenger.server.client;

import io.messenger.proto.client.ClientEnvelope;
import io.messenger.server.chat.ClientConnection;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client's Netty channel as the state machine writes to it. A client that stops reading
 * is disconnected once its outbound buffer passes the high water mark, rather than letting
 * the buffer grow without bound; it resumes from its last room sequence on reconnect.
 */
final class ChannelConnection implements ClientConnection {

    private static final Logger log = LoggerFactory.getLogger(ChannelConnection.class);

    /** Unsent bytes beyond the write buffer's low water mark at which a client is dropped. */
    static final long SLOW_CONSUMER_BYTES = 16L * 1024 * 1024;

    private final Channel channel;
    private final AtomicBoolean closing = new AtomicBoolean();

    ChannelConnection(Channel channel) {
        this.channel = channel;
    }

    Channel channel() {
        return channel;
    }

    @Override
    public void send(ClientEnvelope envelope) {
        // Past the high water mark there is slack for a resume backlog; past that, the client
        // is not keeping up and memory, not it, would pay.
        if (channel.bytesBeforeWritable() > SLOW_CONSUMER_BYTES && channel.isActive()) {
            close("the client reads too slowly (more than " + (SLOW_CONSUMER_BYTES >> 20)
                    + " MiB waiting to be sent)");
            return;
        }
        channel.writeAndFlush(envelope, channel.voidPromise());
    }

    @Override
    public void sendAndClose(ClientEnvelope envelope, String reason) {
        if (closing.compareAndSet(false, true)) {
            log.info("closing client connection {}: {}", channel.remoteAddress(), reason);
            channel.writeAndFlush(envelope).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void close(String reason) {
        if (closing.compareAndSet(false, true)) {
            log.info("closing client connection {}: {}", channel.remoteAddress(), reason);
            channel.close();
        }
    }

    /** Marks the connection as closing without a log line; true if it was not already. */
    boolean markClosing() {
        return closing.compareAndSet(false, true);
    }
}
