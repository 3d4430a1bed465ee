package io.messenger.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.client.MessengerClient;
import io.messenger.client.SendRejectedException;
import io.messenger.proto.client.SendFailed;
import io.messenger.server.Setting;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The send rate limit seen through the real client library: a send over the rate fails with
 * RATE_LIMITED, is never delivered, and the session and every later send carry on.
 */
class RateLimitedClientTest {

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

    private MessengerClient join(String user, Inbox inbox) throws Exception {
        MessengerClient c = MessengerClient.builder().servers(node.clientAddress()).username(user).room("lobby")
                .clientId(user + "-1").listener(inbox).joinTimeout(Duration.ofSeconds(10)).build();
        clients.add(c);
        c.connect().get(20, TimeUnit.SECONDS);
        return c;
    }

    @Test
    void aSendOverTheRateFailsRateLimitedAndLaterSendsStillGoThrough() throws Exception {
        // 1 per second, bursts of 3: the first three go at once, the next ones are refused.
        node = new TestNode(dataDir, Map.of(Setting.SEND_RATE, "60/m", Setting.SEND_BURST, "3")).start();
        await().atMost(Duration.ofSeconds(30)).until(node::leads);
        Inbox bobSees = new Inbox();
        join("bob", bobSees);
        MessengerClient alice = join("alice", new Inbox());

        List<CompletableFuture<Long>> sends = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            sends.add(alice.send("burst " + i));
        }
        for (int i = 0; i < 3; i++) {
            assertThat(sends.get(i).get(20, TimeUnit.SECONDS)).isPositive();
        }
        for (int i = 3; i < 5; i++) {
            CompletableFuture<Long> refused = sends.get(i);
            assertThat(refused).failsWithin(Duration.ofSeconds(20)).withThrowableOfType(ExecutionException.class)
                    .havingCause().isInstanceOf(SendRejectedException.class)
                    .satisfies(e -> assertThat(((SendRejectedException) e).reason())
                            .isEqualTo(SendFailed.Reason.RATE_LIMITED))
                    .withMessageContaining("per connection");
        }
        assertThat(alice.pendingSends()).as("a refused send leaves the buffer, it is not retried").isZero();

        // The bucket refills at one a second; the session never closed, numbering carries on.
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300)).untilAsserted(() ->
                assertThat(alice.send("after the pause").handle((seq, e) -> e == null).get(20, TimeUnit.SECONDS))
                        .isTrue());
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(bobSees.texts())
                .contains("burst 1", "burst 2", "burst 3", "after the pause")
                .doesNotContain("burst 4", "burst 5"));
        assertThat(node.server().chat().describe()).doesNotContain("burst 4");
    }
}
