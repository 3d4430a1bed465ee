package io.messenger.server.client;

import static io.messenger.server.client.Frames.buf;
import static io.messenger.server.client.Frames.envelope;
import static io.messenger.server.client.Frames.frame;
import static io.messenger.server.client.Frames.hello;
import static io.messenger.server.client.Frames.send;
import static io.messenger.server.client.Frames.written;
import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Hello;
import io.messenger.proto.client.SendFailed;
import io.messenger.server.InProcessReplicator;
import io.messenger.server.chat.ChatLimits;
import io.messenger.server.chat.ChatStateMachine;
import io.messenger.server.chat.LocalConnections;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The send rate limits of a connection and of a user, over EmbeddedChannels on a hand-driven clock. */
class SendRateLimitTest {

    private final LocalConnections connections = new LocalConnections();
    private final ChatStateMachine chat = new ChatStateMachine(1, ChatLimits.DEFAULTS, connections);
    private final InProcessReplicator replicator = InProcessReplicator.direct(chat);
    private final ClientTraffic traffic = new ClientTraffic();
    private final AtomicLong nanos = new AtomicLong();
    private final List<EmbeddedChannel> channels = new ArrayList<>();
    private ClientServerContext context = context(new SendRate(50, 100), ClientLimits.DEFAULT_USER_SEND_RATE);

    private ClientServerContext context(SendRate perConnection, SendRate perUser) {
        return new ClientServerContext(1, replicator, chat, connections, 4096, 64 * 1024, Duration.ofSeconds(10), 256,
                () -> 5_000L, traffic, new ClientLimits(Duration.ofSeconds(5), perConnection, perUser, nanos::get));
    }

    @AfterEach
    void finish() {
        channels.forEach(EmbeddedChannel::finishAndReleaseAll);
    }

    private EmbeddedChannel join(ClientEnvelope hello) {
        EmbeddedChannel ch = new EmbeddedChannel(new ClientServerInitializer(context,
                new DefaultChannelGroup(GlobalEventExecutor.INSTANCE)));
        channels.add(ch);
        ch.writeInbound(buf(frame(hello)));
        ch.runPendingTasks();
        assertThat(written(ch)).extracting(ClientEnvelope::getBodyCase).startsWith(ClientEnvelope.BodyCase.WELCOME);
        return ch;
    }

    private static List<ClientEnvelope> sendAll(EmbeddedChannel ch, long from, long to) {
        for (long seq = from; seq <= to; seq++) {
            ch.writeInbound(buf(frame(send(seq, "message " + seq))));
        }
        ch.runPendingTasks();
        return written(ch).stream().filter(e -> e.getBodyCase() == ClientEnvelope.BodyCase.ACK
                || e.getBodyCase() == ClientEnvelope.BodyCase.SEND_FAILED).toList();
    }

    @Test
    void overTheConnectionRateASendFailsRateLimitedAndTheSessionCarriesOn() {
        EmbeddedChannel ch = join(hello("alice", "lobby", "phone"));
        List<ClientEnvelope> burst = sendAll(ch, 1, 101);
        assertThat(burst).hasSize(101);
        assertThat(burst.subList(0, 100)).allSatisfy(e -> assertThat(e.getBodyCase()).isEqualTo(ClientEnvelope.BodyCase.ACK));
        assertThat(burst.get(100).getSendFailed()).satisfies(f -> {
            assertThat(f.getSeq()).isEqualTo(101);
            assertThat(f.getReason()).isEqualTo(SendFailed.Reason.RATE_LIMITED);
            assertThat(f.getMessage()).contains("50 messages a second (bursts of 100)").contains("101").endsWith(".");
        });
        assertThat(ch.isOpen()).as("a rate-limited send does not close the session").isTrue();
        assertThat(traffic.sendsRejected(SendFailed.Reason.RATE_LIMITED)).isEqualTo(1);

        nanos.addAndGet(20_000_000L); // 20 ms at 50/s: one token
        List<ClientEnvelope> next = sendAll(ch, 102, 103);
        assertThat(next.get(0).getAck().getSeq()).as("the next send after the refused one is applied").isEqualTo(102);
        assertThat(next.get(1).getSendFailed().getReason()).isEqualTo(SendFailed.Reason.RATE_LIMITED);
        assertThat(chat.describe()).contains("highest=102");
        assertThat(traffic.sendsAccepted()).isEqualTo(101);
    }

    @Test
    void aUsersDevicesShareTheUserRate() {
        context = context(SendRate.OFF, new SendRate(10, 5));
        EmbeddedChannel phone = join(hello("alice", "lobby", "phone"));
        EmbeddedChannel laptop = join(hello("alice", "lobby", "laptop"));
        EmbeddedChannel bob = join(hello("bob", "lobby", "bob-phone"));
        assertThat(sendAll(phone, 1, 3)).extracting(ClientEnvelope::getBodyCase).containsOnly(ClientEnvelope.BodyCase.ACK);
        List<ClientEnvelope> out = sendAll(laptop, 1, 3);
        assertThat(out).extracting(ClientEnvelope::getBodyCase).containsExactly(ClientEnvelope.BodyCase.ACK,
                ClientEnvelope.BodyCase.ACK, ClientEnvelope.BodyCase.SEND_FAILED);
        assertThat(out.get(2).getSendFailed().getMessage()).contains("per user").contains("10 messages a second");
        assertThat(sendAll(bob, 1, 5)).as("another user is not affected")
                .extracting(ClientEnvelope::getBodyCase).containsOnly(ClientEnvelope.BodyCase.ACK);
    }

    @Test
    void resendsOfAppliedSendsAfterAReconnectAreNeverRefused() {
        EmbeddedChannel first = join(hello("alice", "lobby", "phone"));
        sendAll(first, 1, 100); // the bucket of this connection is empty now
        first.close();
        first.runPendingTasks();
        // The reconnecting client did not see the acks of 51-100 and resends them, then sends new ones.
        EmbeddedChannel again = join(envelope().setHello(Hello.newBuilder().setUsername("alice").setRoom("lobby")
                .setClientId("phone").setResume(true).setResumeAfter(100)).build());
        List<ClientEnvelope> out = sendAll(again, 51, 100);
        assertThat(out).hasSize(50).allSatisfy(e -> assertThat(e.getBodyCase()).isEqualTo(ClientEnvelope.BodyCase.ACK));
        assertThat(out.get(0).getAck().getRoomSeq()).as("acknowledged with its original place").isEqualTo(51);
        assertThat(traffic.sendsDeduplicated()).isEqualTo(50);
        assertThat(traffic.sendsRejected(SendFailed.Reason.RATE_LIMITED)).isZero();
        // ... and they did not use up the fresh connection's burst.
        assertThat(sendAll(again, 101, 200)).extracting(ClientEnvelope::getBodyCase)
                .containsOnly(ClientEnvelope.BodyCase.ACK);
        // A resend exemption is used once: the same old sequence again counts against the bucket.
        assertThat(sendAll(again, 60, 60)).extracting(e -> e.getSendFailed().getReason())
                .containsExactly(SendFailed.Reason.RATE_LIMITED);
    }
}
