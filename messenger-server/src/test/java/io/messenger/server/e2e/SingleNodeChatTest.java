package io.messenger.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.client.ChatMessage;
import io.messenger.client.MessengerClient;
import io.messenger.client.PresenceEvent;
import io.messenger.client.RejectedException;
import io.messenger.proto.client.Rejection;
import io.messenger.proto.client.Welcome;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real clients (the messenger-client library) against a real single node with a durable log. */
class SingleNodeChatTest {

    @TempDir
    Path dataDir;
    private TestNode node;
    private final List<MessengerClient> clients = new ArrayList<>();


    @BeforeEach
    void startNode() throws InterruptedException {
        node = new TestNode(dataDir, Map.of()).start();
        await().atMost(Duration.ofSeconds(30)).until(node::leads);
    }

    @AfterEach
    void stop() {
        clients.forEach(MessengerClient::close);
        node.close();
    }

    private MessengerClient client(String user, String clientId, Inbox inbox) {
        MessengerClient c = MessengerClient.builder()
                .servers(node.clientAddress())
                .username(user).room("lobby")
                .clientId(clientId)
                .listener(inbox)
                .joinTimeout(Duration.ofSeconds(5))
                .build();
        clients.add(c);
        return c;
    }

    private static Welcome join(MessengerClient c) throws Exception {
        return c.connect().get(10, TimeUnit.SECONDS);
    }

    @Test
    void twoClientsChat() throws Exception {
        Inbox aliceInbox = new Inbox();
        Inbox bobInbox = new Inbox();
        MessengerClient alice = client("alice", "alice-phone", aliceInbox);
        MessengerClient bob = client("bob", "bob-phone", bobInbox);
        join(alice);
        join(bob);

        long first = alice.send("hi bob").get(30, TimeUnit.SECONDS);
        long second = bob.send("hi alice").get(30, TimeUnit.SECONDS);

        assertThat(second).isEqualTo(first + 1);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(aliceInbox.texts()).containsExactly("hi bob", "hi alice");
            assertThat(bobInbox.texts()).containsExactly("hi bob", "hi alice");
        });
        assertThat(bobInbox.messages.get(0).sender()).isEqualTo("alice");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(aliceInbox.presence)
                .extracting(PresenceEvent::username, PresenceEvent::kind)
                .contains(org.assertj.core.groups.Tuple.tuple("bob", PresenceEvent.Kind.JOINED)));
        assertThat(alice.who().get(30, TimeUnit.SECONDS)).containsExactly("alice", "bob");
    }

    @Test
    void newcomerSeesTheLastTenMessages() throws Exception {
        MessengerClient alice = client("alice", "alice-phone", new Inbox());
        join(alice);
        for (int i = 1; i <= 15; i++) {
            alice.send("message " + i);
        }
        alice.send("message 16").get(30, TimeUnit.SECONDS);

        Inbox carolInbox = new Inbox();
        Welcome w = join(client("carol", "carol-phone", carolInbox));

        assertThat(w.getHistoryCount()).isEqualTo(10);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(carolInbox.texts())
                .containsExactly("message 7", "message 8", "message 9", "message 10", "message 11", "message 12",
                        "message 13", "message 14", "message 15", "message 16"));
        assertThat(carolInbox.messages).allMatch(ChatMessage::fromHistory);
    }

    @Test
    void aThirdDeviceIsRefused() throws Exception {
        join(client("alice", "phone", new Inbox()));
        join(client("alice", "laptop", new Inbox()));

        MessengerClient third = client("alice", "tablet", new Inbox());
        Throwable failure = catchFailure(third);

        assertThat(failure).isInstanceOf(RejectedException.class);
        assertThat(((RejectedException) failure).reason()).isEqualTo(Rejection.Reason.TOO_MANY_DEVICES);
        assertThat(failure.getMessage()).contains("alice").contains("2 devices");
        // The same device coming back is not a third one.
        join(client("alice", "phone", new Inbox()));
    }

    @Test
    void historySurvivesARestart() throws Exception {
        MessengerClient alice = client("alice", "alice-phone", new Inbox());
        join(alice);
        for (int i = 1; i <= 12; i++) {
            alice.send("before restart " + i).get(30, TimeUnit.SECONDS);
        }
        alice.close();

        node.restart();
        await().atMost(Duration.ofSeconds(30)).until(node::leads);

        Inbox inbox = new Inbox();
        Welcome w = join(client("dave", "dave-phone", inbox));
        assertThat(w.getRoomSeq()).isEqualTo(12);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(inbox.texts()).hasSize(10).startsWith("before restart 3").endsWith("before restart 12"));
    }

    private static Throwable catchFailure(MessengerClient c) {
        try {
            c.connect().get(10, TimeUnit.SECONDS);
            throw new AssertionError("the connection was accepted");
        } catch (java.util.concurrent.ExecutionException | CompletionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
