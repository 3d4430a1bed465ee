package io.messenger.server.client;

import io.messenger.proto.client.ClientEnvelope;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.Channel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.protobuf.ProtobufDecoder;
import io.netty.handler.codec.protobuf.ProtobufEncoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;
import io.messenger.proto.client.Rejection;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Refuses a connection that arrives over the node's connection rate ({@link ConnectionRateLimiter}) with
 * {@code CONNECTION_RATE_LIMITED}, and otherwise builds its pipeline: TLS detection (and on a TLS port the
 * {@code SslHandler}), length-prefixed frames with a hard size limit,
 * protobuf {@link ClientEnvelope}s, a reader-idle watchdog and the session handler.
 */
public final class ClientServerInitializer extends ChannelInitializer<Channel> {

    private static final Logger log = LoggerFactory.getLogger(ClientServerInitializer.class);

    private final ClientServerContext context;
    private final ChannelGroup clients;
    private final SslContext tls;
    private final HelloVerifications verifications;
    private final ConnectionRateLimiter arrivals;
    private final HelloWaitingRoom waitingRoom;
    /** The whole frame refusing a connection over the per-address rate, and over the total rate: built once. */
    private final byte[] addressOverRate;
    private final byte[] totalOverRate;

    /** @param clients every connection is added to it (it forgets closed ones by itself) */
    public ClientServerInitializer(ClientServerContext context, ChannelGroup clients) {
        this(context, clients, null);
    }

    /** @param tls the client port's TLS context, or null for plaintext */
    public ClientServerInitializer(ClientServerContext context, ChannelGroup clients, SslContext tls) {
        this(context, clients, tls, HelloVerifications.INLINE);
    }

    /** @param verifications where costly token checks run (the caller owns and closes it) */
    public ClientServerInitializer(ClientServerContext context, ChannelGroup clients, SslContext tls,
                                   HelloVerifications verifications) {
        this(context, clients, tls, verifications, new HelloWaitingRoom());
    }

    /** @param waitingRoom where Hellos wait while no leader is known; told of leader changes from here on */
    ClientServerInitializer(ClientServerContext context, ChannelGroup clients, SslContext tls,
                            HelloVerifications verifications, HelloWaitingRoom waitingRoom) {
        this.context = context;
        this.waitingRoom = java.util.Objects.requireNonNull(waitingRoom, "waitingRoom");
        context.replicator().addListener(waitingRoom::leadershipChanged);
        this.clients = clients;
        this.tls = tls;
        this.verifications = java.util.Objects.requireNonNull(verifications, "verifications");
        ClientLimits limits = context.limits();
        this.arrivals = new ConnectionRateLimiter(limits.connectionRate(), limits.totalConnectionRate(),
                limits.nanoClock());
        this.addressOverRate = refusal("Your address opens connections faster than the "
                + arrivalWords(limits.connectionRate()) + " this server allows; try again in a moment.");
        this.totalOverRate = refusal("This server is taking new connections as fast as it allows ("
                + arrivalWords(limits.totalConnectionRate()) + " from all addresses); try again in a moment.");
    }

    private static String arrivalWords(SendRate rate) {
        if (rate.off()) {
            return "unlimited";
        }
        String perTime = rate.perSecond() == Math.rint(rate.perSecond()) ? (long) rate.perSecond() + " a second"
                : Math.round(rate.perSecond() * 60) + " a minute";
        return perTime + ", in bursts of " + rate.burst();
    }

    private static byte[] refusal(String sentence) {
        byte[] body = ClientSessionHandler.envelope().setRejection(Rejection.newBuilder()
                .setReason(Rejection.Reason.CONNECTION_RATE_LIMITED).setMessage(sentence)).build().toByteArray();
        return ByteBuffer.allocate(ClientPipeline.LENGTH_FIELD_BYTES + body.length).putInt(body.length).put(body)
                .array();
    }

    /** Connections refused for arriving too fast, so far. */
    public long refusedArrivals() {
        return arrivals.refused();
    }

    /** Connections refused for arriving too fast, so far, for one reason. */
    public long refusedArrivals(ConnectionRateLimiter.Verdict verdict) {
        return arrivals.refused(verdict);
    }

    @Override
    protected void initChannel(Channel ch) {
        ConnectionRateLimiter.Verdict verdict = arrivals.admit(ch.remoteAddress());
        if (verdict != ConnectionRateLimiter.Verdict.ADMITTED) {
            refuse(ch, verdict);
            return;
        }
        clients.add(ch);
        ChannelPipeline p = ch.pipeline();
        p.addLast(ClientPipeline.TLS_DETECTOR, new ClientTlsDetector(tls));
        p.addLast(ClientPipeline.FRAME_DECODER, new LengthFieldBasedFrameDecoder(context.maxFrameBytes(), 0,
                ClientPipeline.LENGTH_FIELD_BYTES, 0, ClientPipeline.LENGTH_FIELD_BYTES));
        p.addLast(ClientPipeline.FRAME_ENCODER, new LengthFieldPrepender(ClientPipeline.LENGTH_FIELD_BYTES));
        p.addLast(ClientPipeline.PROTOBUF_DECODER, new ProtobufDecoder(ClientEnvelope.getDefaultInstance()));
        p.addLast(ClientPipeline.PROTOBUF_ENCODER, new ProtobufEncoder());
        p.addLast(ClientPipeline.IDLE_STATE,
                new IdleStateHandler(context.idleTimeout().toMillis(), 0, 0, TimeUnit.MILLISECONDS));
        p.addLast(ClientPipeline.SESSION, new ClientSessionHandler(context, verifications, waitingRoom));
    }

    /**
     * Refuses a connection over the arrival rate as cheaply as it can: no pipeline, nothing read, one frame from a
     * shared array (plaintext port), then close. On a TLS port it closes without a word, since a plaintext frame
     * would read as a TLS failure and a handshake would cost more than the connection; the client library retries
     * either with its backoff. Logged at most once a second with a count, not once per connection.
     */
    private void refuse(Channel ch, ConnectionRateLimiter.Verdict verdict) {
        logRefusals(verdict);
        if (tls != null) {
            ch.close();
            return;
        }
        byte[] frame = verdict == ConnectionRateLimiter.Verdict.ADDRESS_OVER_RATE ? addressOverRate : totalOverRate;
        ch.writeAndFlush(Unpooled.wrappedBuffer(frame)).addListener(ChannelFutureListener.CLOSE);
    }

    private final java.util.concurrent.atomic.AtomicLong lastRefusalLogNanos =
            new java.util.concurrent.atomic.AtomicLong(System.nanoTime() - 2_000_000_000L);
    private final java.util.concurrent.atomic.AtomicLong refusalsLogged = new java.util.concurrent.atomic.AtomicLong();

    private void logRefusals(ConnectionRateLimiter.Verdict verdict) {
        long now = System.nanoTime();
        long last = lastRefusalLogNanos.get();
        if (now - last >= 1_000_000_000L && lastRefusalLogNanos.compareAndSet(last, now)) {
            long total = arrivals.refused();
            long since = total - refusalsLogged.getAndSet(total);
            log.info("refused {} client connection(s) over the arrival rate in the last second ({} in all; latest: {})",
                    since, total, verdict == ConnectionRateLimiter.Verdict.ADDRESS_OVER_RATE
                            ? "its address over " + arrivalWords(context.limits().connectionRate())
                            : "all addresses over " + arrivalWords(context.limits().totalConnectionRate()));
        }
    }
}
