package io.messenger.server.e2e;

import static io.messenger.proto.client.ClientEnvelope.BodyCase.ACK;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.DELIVER;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.PRESENCE;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.REJECTION;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.SEND_FAILED;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.WELCOME;
import static io.messenger.server.client.Frames.envelope;
import static io.messenger.server.client.Frames.hello;
import static io.messenger.server.client.Frames.send;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.proto.client.Bye;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Hello;
import io.messenger.proto.client.Ping;
import io.messenger.proto.client.Presence;
import io.messenger.proto.client.Rejection;
import io.messenger.proto.client.SendFailed;
import io.messenger.proto.client.WhoRequest;
import io.messenger.server.Setting;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every kind of bad or unusual input, spoken by a raw protocol client to a real single node. */
class SingleNodeProtocolTest {

    @TempDir
    Path dataDir;
    private TestNode node;
    private final List<RawClient> clients = new ArrayList<>();

    /**
     * Idleness is what one test is about; the others' raw clients never ping, so the node they
     * talk to waits far longer than any pause of a loaded shared machine before calling them silent.
     */
    private static final String PATIENT_IDLE_TIMEOUT = "60s";
    /** Short enough to test, long enough that a pause of a loaded shared machine is not "silence". */
    private static final Duration SHORT_IDLE_TIMEOUT = Duration.ofSeconds(3);

    @BeforeEach
    void startNode() throws InterruptedException {
        startNode(dataDir, PATIENT_IDLE_TIMEOUT);
    }

    private void startNode(Path dir, String idleTimeout) throws InterruptedException {
        // The floods here test backpressure, not the send rate limit (RateLimitedClientTest does).
        node = new TestNode(dir, Map.of(Setting.IDLE_TIMEOUT, idleTimeout, Setting.SEND_RATE, "off",
                Setting.USER_SEND_RATE, "off")).start();
        await().atMost(Duration.ofSeconds(30)).until(node::leads);
    }

    @AfterEach
    void stop() {
        clients.forEach(RawClient::close);
        node.close();
    }

    private RawClient connect() throws InterruptedException {
        RawClient c = RawClient.connect(node.clientPort());
        clients.add(c);
        return c;
    }

    private RawClient joined(String user, String room, String clientId) throws InterruptedException {
        RawClient c = connect();
        c.write(hello(user, room, clientId));
        assertThat(c.next().getBodyCase()).isEqualTo(WELCOME);
        return c;
    }

    private static void assertRejected(RawClient c, Rejection.Reason reason) throws InterruptedException {
        ClientEnvelope e = c.next();
        assertThat(e.getBodyCase()).isEqualTo(REJECTION);
        assertThat(e.getRejection().getReason()).isEqualTo(reason);
        assertThat(e.getRejection().getMessage()).isNotBlank().endsWith(".");
        assertThat(c.awaitClosed(Duration.ofSeconds(5))).as("connection closed").isTrue();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "''      | lobby | c1  | INVALID_USERNAME",
        "bad!    | lobby | c1  | INVALID_USERNAME",
        "alice   | .room | c1  | INVALID_ROOM",
        "alice   | lobby | c 1 | INVALID_CLIENT_ID",
    })
    void invalidNamesAreRefused(String user, String room, String clientId, Rejection.Reason reason)
            throws InterruptedException {
        RawClient c = connect();
        c.write(hello(user, room, clientId));
        assertRejected(c, reason);
    }

    @Test
    void wrongProtocolVersionIsRefused() throws InterruptedException {
        RawClient c = connect();
        c.write(hello("alice", "lobby", "c1").toBuilder().setProtocolVersion(7).build());
        assertRejected(c, Rejection.Reason.UNSUPPORTED_VERSION);
    }

    @Test
    void oversizedFrameClosesOnlyThatConnection() throws InterruptedException {
        RawClient bystander = joined("bob", "lobby", "bob-1");
        RawClient c = joined("alice", "lobby", "alice-1");
        c.writeRaw(ByteBuffer.allocate(8).putInt(100 * 1024 * 1024).putInt(0).array());
        assertRejected(c, Rejection.Reason.PROTOCOL_ERROR);

        bystander.write(send(1, "still here"));
        assertThat(bystander.next(ACK).getAck().getRoomSeq()).isEqualTo(1);
    }

    @Test
    void malformedFrameClosesTheConnection() throws InterruptedException {
        RawClient c = connect();
        byte[] garbage = {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F, 0x00};
        c.writeRaw(ByteBuffer.allocate(4 + garbage.length).putInt(garbage.length).put(garbage).array());
        assertRejected(c, Rejection.Reason.PROTOCOL_ERROR);
    }

    @Test
    void firstFrameOtherThanHelloIsAProtocolError() throws InterruptedException {
        RawClient c = connect();
        c.write(send(1, "hi"));
        assertRejected(c, Rejection.Reason.PROTOCOL_ERROR);
    }

    @Test
    void tooLongAndEmptyMessagesFailButTheSessionStays() throws InterruptedException {
        RawClient c = joined("alice", "lobby", "alice-1");
        c.write(send(1, "x".repeat(4097)));
        SendFailed tooLong = c.next(SEND_FAILED).getSendFailed();
        assertThat(tooLong.getReason()).isEqualTo(SendFailed.Reason.TOO_LONG);
        assertThat(tooLong.getMessage()).contains("4096");
        c.write(send(2, " \t "));
        assertThat(c.next(SEND_FAILED).getSendFailed().getReason()).isEqualTo(SendFailed.Reason.EMPTY);
        c.write(send(3, "x".repeat(4096)));
        assertThat(c.next(ACK).getAck().getSeq()).isEqualTo(3);
        assertThat(c.isOpen()).isTrue();
    }

    @Test
    void silentConnectionIsClosedAfterTheIdleTimeout() throws InterruptedException {
        node.close();
        startNode(dataDir.resolve("short-idle"), SHORT_IDLE_TIMEOUT.toMillis() + "ms");
        RawClient talker = joined("bob", "lobby", "bob-1");
        RawClient silent = connect();
        long start = System.nanoTime();
        // The talker pings; the silent one says nothing, not even Hello.
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(300)).until(() -> {
            talker.write(envelope().setPing(Ping.newBuilder().setNonce(1)).build());
            return !silent.isOpen();
        });
        assertThat(Duration.ofNanos(System.nanoTime() - start))
                .isGreaterThanOrEqualTo(SHORT_IDLE_TIMEOUT.minusMillis(100));
        assertThat(talker.isOpen()).isTrue();
    }

    @Test
    void pingIsAnsweredAndWhoListsTheRoom() throws InterruptedException {
        joined("bob", "lobby", "bob-1");
        RawClient c = joined("alice", "lobby", "alice-1");
        c.write(envelope().setPing(Ping.newBuilder().setNonce(42)).build());
        assertThat(c.next(ClientEnvelope.BodyCase.PONG).getPong().getNonce()).isEqualTo(42);
        c.write(envelope().setWhoRequest(WhoRequest.getDefaultInstance()).build());
        assertThat(c.next(ClientEnvelope.BodyCase.WHO_REPLY).getWhoReply().getMembersList())
                .containsExactly("alice", "bob");
    }

    @Test
    void resentSendIsAckedWithItsOriginalRoomSeqAndDeliveredOnce() throws InterruptedException {
        RawClient bob = joined("bob", "lobby", "bob-1");
        RawClient alice = joined("alice", "lobby", "alice-1");
        alice.write(send(1, "one"));
        alice.write(send(2, "two"));
        assertThat(alice.next(ACK).getAck().getRoomSeq()).isEqualTo(1);
        assertThat(alice.next(ACK).getAck().getRoomSeq()).isEqualTo(2);
        alice.close(); // lost before she saw the acks, say

        RawClient again = connect();
        again.write(envelope().setHello(Hello.newBuilder().setUsername("alice").setRoom("lobby")
                .setClientId("alice-1").setResume(true).setResumeAfter(1)).build());
        ClientEnvelope welcome = again.next();
        assertThat(welcome.getWelcome().getLastAppliedSendSeq()).isEqualTo(2);
        assertThat(welcome.getWelcome().getHistoryList()).extracting(d -> d.getText()).containsExactly("two");
        again.write(send(2, "two"));
        assertThat(again.next(ACK).getAck().getRoomSeq()).as("original room seq").isEqualTo(2);
        again.write(send(3, "three"));
        assertThat(again.next(ACK).getAck().getRoomSeq()).isEqualTo(3);

        List<ClientEnvelope> bobSaw = new ArrayList<>();
        while (bobSaw.stream().filter(e -> e.getBodyCase() == DELIVER).count() < 3) {
            bobSaw.add(bob.next());
        }
        assertThat(bobSaw.stream().filter(e -> e.getBodyCase() == DELIVER).map(e -> e.getDeliver().getText()))
                .containsExactly("one", "two", "three");
        assertThat(bobSaw).noneMatch(e -> e.getBodyCase() == PRESENCE
                && e.getPresence().getKind() == Presence.Kind.LEFT);
    }

    @Test
    void byeAnnouncesTheLeave() throws InterruptedException {
        RawClient bob = joined("bob", "lobby", "bob-1");
        RawClient alice = joined("alice", "lobby", "alice-1");
        assertThat(bob.next(PRESENCE).getPresence().getKind()).isEqualTo(Presence.Kind.JOINED);
        alice.write(envelope().setBye(Bye.getDefaultInstance()).build());
        assertThat(alice.awaitClosed(Duration.ofSeconds(5))).isTrue();
        Presence left = bob.next(PRESENCE).getPresence();
        assertThat(left.getUsername()).isEqualTo("alice");
        assertThat(left.getKind()).isEqualTo(Presence.Kind.LEFT);
    }

    @Test
    void aFloodIsAckedInOrderWhileOthersKeepChatting() throws InterruptedException {
        RawClient flood = joined("flood", "noisy", "flood-1");
        RawClient bob = joined("bob", "lobby", "bob-1");
        int total = 5_000;
        for (int seq = 1; seq <= total; seq++) {
            flood.feed(send(seq, "flood " + seq));
            if (seq % 500 == 0) {
                flood.flush();
            }
        }
        flood.flush();
        bob.write(send(1, "can anyone hear me?"));
        assertThat(bob.next(ACK).getAck().getRoomSeq()).isEqualTo(1);

        long expected = 1;
        while (expected <= total) {
            ClientEnvelope e = flood.received.poll(20, TimeUnit.SECONDS);
            if (e == null) {
                throw new AssertionError("no frame after ack " + (expected - 1) + "; open=" + flood.isOpen());
            }
            if (e.getBodyCase() == ACK) {
                assertThat(e.getAck().getSeq()).isEqualTo(expected);
                assertThat(e.getAck().getRoomSeq()).isEqualTo(expected);
                expected++;
            }
        }
    }

    @Test
    void aClientThatStopsReadingIsDisconnectedInsteadOfBufferedWithoutBound() throws Exception {
        RawClient deaf = RawClient.connect(node.clientPort(), false);
        clients.add(deaf);
        deaf.write(hello("deaf", "big", "deaf-1"));
        RawClient talker = joined("talker", "big", "talker-1");
        await().atMost(Duration.ofSeconds(30)).until(() -> node.server().connectedClients() == 2);
        // The deaf client pings (so it is not idle) but never reads: every message is delivered
        // to it too, so its unread output grows until the server gives up on it.
        ScheduledExecutorService pinger = Executors.newSingleThreadScheduledExecutor();
        try {
            pinger.scheduleAtFixedRate(() -> {
                if (deaf.isOpen()) {
                    deaf.feed(envelope().setPing(Ping.newBuilder().setNonce(1)).build());
                    deaf.flush();
                }
            }, 0, 200, TimeUnit.MILLISECONDS);
            String big = "y".repeat(4000);
            int seq = 0;
            int acked = 0;
            while (node.server().connectedClients() == 2 && seq < 10_000) {
                for (int i = 0; i < 100; i++) {
                    talker.feed(send(++seq, big));
                }
                talker.flush();
                while (acked < seq - 100) {
                    if (talker.next(Duration.ofSeconds(10)).getBodyCase() == ACK) {
                        acked++;
                    }
                }
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> node.server().connectedClients() == 1);
            assertThat(seq).as("disconnected after a bounded backlog").isLessThan(10_000);
        } finally {
            pinger.shutdownNow();
        }
        talker.write(envelope().setPing(Ping.newBuilder().setNonce(9)).build());
        assertThat(talker.next(ClientEnvelope.BodyCase.PONG).getPong().getNonce()).isEqualTo(9);
    }
}
