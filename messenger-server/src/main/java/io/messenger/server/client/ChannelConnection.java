package io.messenger.server.client;

import io.messenger.proto.client.ClientEnvelope;
import io.messenger.server.chat.ClientConnection;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client's Netty channel as the state machine writes to it. A client that stops reading
 * is disconnected once more than {@link #SLOW_CONSUMER_BYTES} wait to be sent to it, rather
 * than letting the buffer grow without bound; it resumes from its last room sequence on reconnect.
 */
final class ChannelConnection implements ClientConnection {

    private static final Logger log = LoggerFactory.getLogger(ChannelConnection.class);

    /**
     * Unsent bytes at which a client is dropped: frames still queued for the event loop plus the
     * channel's outbound buffer beyond its low water mark.
     */
    static final long SLOW_CONSUMER_BYTES = 16L * 1024 * 1024;

    private final Channel channel;
    private final AtomicBoolean closing = new AtomicBoolean();
    /**
     * Bytes of frames handed to the event loop from other threads that the channel has not taken
     * yet. Netty would queue such a write as a task it sizes at a few bytes whatever the frame
     * (it estimates an unencoded message blindly), so a welcome with a large resume backlog or a
     * burst of deliveries would pass the cap unseen; these are counted here until the event loop
     * writes them, from when the channel's own pending-bytes count has them.
     */
    private final AtomicLong queuedBytes = new AtomicLong();

    private final ClientTraffic traffic;

    ChannelConnection(Channel channel) {
        this(channel, new ClientTraffic());
    }

    ChannelConnection(Channel channel, ClientTraffic traffic) {
        this.traffic = traffic;
        this.channel = channel;
    }

    Channel channel() {
        return channel;
    }

    @Override
    public void send(ClientEnvelope envelope) {
        if (closing.get()) {
            return; // the last frame, if any, was written by sendAndClose
        }
        if (envelope.hasDeliver()) {
            traffic.delivered();
        } else if (envelope.hasSendFailed()) {
            traffic.sendRejected(envelope.getSendFailed().getReason());
        }
        if (channel.eventLoop().inEventLoop()) {
            if (!tooSlow(queuedBytes.get())) {
                channel.writeAndFlush(envelope, channel.voidPromise());
            }
            return;
        }
        long size = ClientPipeline.LENGTH_FIELD_BYTES + envelope.getSerializedSize();
        if (tooSlow(queuedBytes.addAndGet(size))) {
            queuedBytes.addAndGet(-size);
            return;
        }
        try {
            channel.eventLoop().execute(() -> {
                queuedBytes.addAndGet(-size);
                channel.writeAndFlush(envelope, channel.voidPromise());
            });
        } catch (RejectedExecutionException e) {
            queuedBytes.addAndGet(-size);
            log.debug("frame for client {} dropped: its event loop is shutting down", channel.remoteAddress());
        }
    }

    /** Closes the connection, and says so, if {@code queued} plus the channel's backlog pass the cap. */
    private boolean tooSlow(long queued) {
        // Past the high water mark there is slack for a resume backlog; past that, the client
        // is not keeping up and memory, not it, would pay.
        if (queued + channel.bytesBeforeWritable() > SLOW_CONSUMER_BYTES && channel.isActive()) {
            traffic.slowConsumerDisconnected();
            close("the client reads too slowly (more than " + (SLOW_CONSUMER_BYTES >> 20)
                    + " MiB waiting to be sent)");
            return true;
        }
        return false;
    }

    /** Bytes queued for the event loop by other threads and not yet handed to the channel. */
    long queuedBytes() {
        return queuedBytes.get();
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
