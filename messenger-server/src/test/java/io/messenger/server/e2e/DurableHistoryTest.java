package io.messenger.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.messenger.client.ChatMessage;
import io.messenger.client.MessengerClient;
import io.messenger.proto.client.Welcome;
import io.messenger.server.Setting;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The durable history on a real node: a small in-memory window (20 messages), pages and joins
 * reaching further back, before and after the node restarts on the same data directory.
 */
class DurableHistoryTest {

    @TempDir
    Path dataDir;
    private TestNode node;
    private final List<MessengerClient> clients = new ArrayList<>();

    @AfterEach
    void stop() {
        clients.forEach(MessengerClient::close);
        if (node != null) {
            node.close();
        }
    }

    private void start(Map<Setting, String> settings) throws InterruptedException {
        node = new TestNode(dataDir, settings).start();
        await().atMost(Duration.ofSeconds(30)).until(node::leads);
    }

    private MessengerClient client(String user, Inbox inbox, int joinHistory) {
        MessengerClient c = MessengerClient.builder()
                .servers(node.clientAddress())
                .username(user).room("lobby")
                .listener(inbox)
                .joinHistory(joinHistory)
                .joinTimeout(Duration.ofSeconds(30))
                .build();
        clients.add(c);
        return c;
    }

    private static List<Long> seqs(List<ChatMessage> ms) {
        return ms.stream().map(ChatMessage::roomSeq).toList();
    }

    private static List<Long> range(long from, long through) {
        return LongStream.rangeClosed(from, through).boxed().toList();
    }

    private void post(MessengerClient c, int n) throws Exception {
        List<CompletableFuture<Long>> acks = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            acks.add(c.send("message " + i));
        }
        CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    }

    @Test
    void historyOlderThanTheInMemoryWindowIsReadableAfterARestart() throws Exception {
        start(Map.of(Setting.RETAINED_MESSAGES, "20"));
        MessengerClient alice = client("alice", new Inbox(), -1);
        alice.connect().get(30, TimeUnit.SECONDS);
        post(alice, 300);
        assertThat(seqs(alice.history(101, 100).get(10, TimeUnit.SECONDS))).isEqualTo(range(1, 100));
        alice.close();

        node.restart();
        await().atMost(Duration.ofSeconds(30)).until(node::leads);

        Inbox inbox = new Inbox();
        MessengerClient bob = client("bob", inbox, 150);
        Welcome w = bob.connect().get(30, TimeUnit.SECONDS);
        assertThat(w.getFirstAvailableSeq()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(30)).until(() -> inbox.messages.size() >= 150);
        assertThat(seqs(inbox.messages)).as("a join may show more than the in-memory window").isEqualTo(range(151, 300));

        List<ChatMessage> page = bob.history(151, 100).get(10, TimeUnit.SECONDS);
        assertThat(seqs(page)).isEqualTo(range(51, 150));
        assertThat(page.get(0).text()).isEqualTo("message 51");
        assertThat(page.get(0).sender()).isEqualTo("alice");
        assertThat(page).allMatch(ChatMessage::fromHistory);
        assertThat(seqs(bob.history(51, 500).get(10, TimeUnit.SECONDS))).isEqualTo(range(1, 50));
        assertThat(bob.history(1, 10).get(10, TimeUnit.SECONDS)).isEmpty();
        assertThat(bob.firstAvailableSeq()).isEqualTo(1);
        assertThat(node.server().chat().historyBytes()).isPositive();
    }

    @Test
    void retentionIsToldToTheClientAndBadRequestsFailClearly() throws Exception {
        start(Map.of(Setting.RETAINED_MESSAGES, "20", Setting.HISTORY_RETAIN_MESSAGES, "100"));
        MessengerClient alice = client("alice", new Inbox(), -1);
        alice.connect().get(30, TimeUnit.SECONDS);
        post(alice, 250);
        Welcome w = client("carol", new Inbox(), 0).connect().get(30, TimeUnit.SECONDS);
        assertThat(w.getHistoryCount()).as("joinHistory(0): the join shows nothing").isZero();
        assertThat(w.getFirstAvailableSeq()).isEqualTo(151);

        assertThat(seqs(alice.history(0, 500).get(10, TimeUnit.SECONDS))).isEqualTo(range(151, 250));
        assertThat(alice.firstAvailableSeq()).isEqualTo(151);
        assertThatThrownBy(() -> alice.history(0, 0).get()).hasCauseInstanceOf(IllegalArgumentException.class);
        CompletableFuture<List<ChatMessage>> bad = alice.history(-5, 10);
        assertThatThrownBy(bad::get).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> alice.history(0, 501).get()).hasCauseInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1 to 500");
    }
}
