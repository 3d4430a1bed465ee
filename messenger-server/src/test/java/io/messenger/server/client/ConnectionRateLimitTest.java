package io.messenger.server.client;

import static io.messenger.server.client.Frames.written;
import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Rejection;
import io.messenger.server.InProcessReplicator;
import io.messenger.server.chat.ChatLimits;
import io.messenger.server.chat.ChatStateMachine;
import io.messenger.server.chat.LocalConnections;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** New client connections over the per-address or total arrival rate are refused before anything is read. */
class ConnectionRateLimitTest {

    private static final long SECOND = 1_000_000_000L;

    private final AtomicLong nanos = new AtomicLong(42 * SECOND);
    private final List<EmbeddedChannel> channels = new ArrayList<>();

    private static InetSocketAddress from(String ip) {
        return new InetSocketAddress(ip, 40_000);
    }

    @AfterEach
    void finish() {
        channels.forEach(EmbeddedChannel::finishAndReleaseAll);
    }

    @Test
    void eachAddressHasItsOwnBucketThatRefillsAtItsRate() {
        ConnectionRateLimiter limiter = new ConnectionRateLimiter(new SendRate(2, 3), SendRate.OFF, nanos::get);
        for (int i = 0; i < 3; i++) {
            assertThat(limiter.admit(from("10.0.0.1"))).isEqualTo(ConnectionRateLimiter.Verdict.ADMITTED);
        }
        assertThat(limiter.admit(from("10.0.0.1"))).isEqualTo(ConnectionRateLimiter.Verdict.ADDRESS_OVER_RATE);
        assertThat(limiter.admit(new InetSocketAddress("10.0.0.1", 40_001)))
                .as("another port of the same address shares its bucket")
                .isEqualTo(ConnectionRateLimiter.Verdict.ADDRESS_OVER_RATE);
        assertThat(limiter.admit(from("10.0.0.2"))).as("another address is not affected")
                .isEqualTo(ConnectionRateLimiter.Verdict.ADMITTED);

        nanos.addAndGet(SECOND / 2); // one token at 2/s
        assertThat(limiter.admit(from("10.0.0.1"))).isEqualTo(ConnectionRateLimiter.Verdict.ADMITTED);
        assertThat(limiter.admit(from("10.0.0.1"))).isEqualTo(ConnectionRateLimiter.Verdict.ADDRESS_OVER_RATE);
        assertThat(limiter.refused()).isEqualTo(3);
        assertThat(limiter.refused(ConnectionRateLimiter.Verdict.ADDRESS_OVER_RATE)).isEqualTo(3);
        assertThat(limiter.refused(ConnectionRateLimiter.Verdict.TOTAL_OVER_RATE)).isZero();
    }

    @Test
    void theTotalBucketLimitsAllAddressesTogetherWithoutChargingTheRefusedAddress() {
        ConnectionRateLimiter limiter = new ConnectionRateLimiter(new SendRate(1, 1), new SendRate(1, 2), nanos::get);
        assertThat(limiter.admit(from("10.0.0.1"))).isEqualTo(ConnectionRateLimiter.Verdict.ADMITTED);
        assertThat(limiter.admit(from("10.0.0.2"))).isEqualTo(ConnectionRateLimiter.Verdict.ADMITTED);
        assertThat(limiter.admit(from("10.0.0.3"))).isEqualTo(ConnectionRateLimiter.Verdict.TOTAL_OVER_RATE);
        assertThat(limiter.refused(ConnectionRateLimiter.Verdict.TOTAL_OVER_RATE)).isEqualTo(1);
        assertThat(limiter.refused(ConnectionRateLimiter.Verdict.ADDRESS_OVER_RATE)).isZero();

        nanos.addAndGet(SECOND);
        assertThat(limiter.admit(from("10.0.0.3"))).as("its own token was given back when the total refused")
                .isEqualTo(ConnectionRateLimiter.Verdict.ADMITTED);
    }

    @Test
    void offLimitsNothing() {
        ConnectionRateLimiter limiter = new ConnectionRateLimiter(SendRate.OFF, SendRate.OFF, nanos::get);
        assertThat(limiter.off()).isTrue();
        for (int i = 0; i < 10_000; i++) {
            assertThat(limiter.admit(from("10.0.0.1"))).isEqualTo(ConnectionRateLimiter.Verdict.ADMITTED);
        }
        assertThat(limiter.trackedAddresses()).isZero();
    }

    @Test
    void refilledAddressesAreForgottenSoTheTableStaysBounded() {
        ConnectionRateLimiter limiter = new ConnectionRateLimiter(new SendRate(10, 10), SendRate.OFF, nanos::get);
        for (int i = 0; i < ConnectionRateLimiter.SWEEP_EVERY - 1; i++) {
            limiter.admit(from("10.1." + (i / 256) + "." + (i % 256)));
        }
        assertThat(limiter.trackedAddresses()).isEqualTo(ConnectionRateLimiter.SWEEP_EVERY - 1);
        nanos.addAndGet(SECOND); // every bucket refills
        limiter.admit(from("10.2.0.1"));
        assertThat(limiter.trackedAddresses()).as("the refilled ones were swept").isEqualTo(1);
    }

    @Test
    void aConnectionOverTheRateIsToldWhyAndClosedWithoutAPipeline() {
        LocalConnections connections = new LocalConnections();
        ChatStateMachine chat = new ChatStateMachine(1, ChatLimits.DEFAULTS, connections);
        ClientLimits limits = new ClientLimits(Duration.ofSeconds(5), ClientLimits.DEFAULT_SEND_RATE,
                ClientLimits.DEFAULT_USER_SEND_RATE, nanos::get, new SendRate(100, 2), new SendRate(1000, 2000));
        ClientServerContext context = new ClientServerContext(1, InProcessReplicator.direct(chat), chat, connections,
                4096, 64 * 1024, Duration.ofSeconds(10), 256, () -> 5_000L, new ClientTraffic(), limits);
        ChannelGroup group = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
        ClientServerInitializer initializer = new ClientServerInitializer(context, group);

        for (int i = 0; i < 2; i++) {
            EmbeddedChannel admitted = new EmbeddedChannel(initializer);
            channels.add(admitted);
            assertThat(admitted.pipeline().get(ClientPipeline.SESSION)).isNotNull();
            assertThat(admitted.isOpen()).isTrue();
        }
        EmbeddedChannel refused = new EmbeddedChannel(initializer);
        channels.add(refused);

        List<ClientEnvelope> out = written(refused);
        assertThat(out).singleElement().satisfies(e -> {
            assertThat(e.getRejection().getReason()).isEqualTo(Rejection.Reason.CONNECTION_RATE_LIMITED);
            assertThat(e.getRejection().getReason().getNumber()).isEqualTo(15);
            assertThat(e.getRejection().getMessage())
                    .isEqualTo("Your address opens connections faster than the 100 a second, in bursts of 2 this"
                            + " server allows; try again in a moment.");
        });
        assertThat(refused.isOpen()).as("closed after the refusal").isFalse();
        assertThat(refused.pipeline().get(ClientPipeline.SESSION)).as("no pipeline was built").isNull();
        assertThat(initializer.refusedArrivals()).isEqualTo(1);

        nanos.addAndGet(SECOND / 100); // one token at 100/s
        EmbeddedChannel later = new EmbeddedChannel(initializer);
        channels.add(later);
        assertThat(later.pipeline().get(ClientPipeline.SESSION)).as("admitted once the bucket refilled").isNotNull();
    }
}
