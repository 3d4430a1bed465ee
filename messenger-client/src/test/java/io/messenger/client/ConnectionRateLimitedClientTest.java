package io.messenger.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.proto.client.Rejection;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A node refusing a connection for arriving too fast is retried with the usual backoff, unlike a bad token. */
class ConnectionRateLimitedClientTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String SENTENCE = "Your address opens connections faster than the 100 a second, in bursts"
            + " of 200 this server allows; try again in a moment.";

    private final FakeCluster cluster = new FakeCluster("lobby", 1);
    private MessengerClient client;

    @AfterEach
    void tearDown() throws Exception {
        if (client != null) {
            client.close();
        }
        cluster.close();
    }

    private MessengerClient client(FakeServer server, RecordingListener listener) {
        client = MessengerClient.builder().servers(server.hostPort()).username("alice").room("lobby")
                .clientId("alice-laptop").listener(listener).pongTimeout(Duration.ofSeconds(5))
                .backoff(Duration.ofMillis(10), Duration.ofMillis(100)).build();
        return client;
    }

    @Test
    void connectKeepsTryingThroughRateLimitedRefusalsAndJoins() throws Exception {
        FakeServer s1 = cluster.node(1);
        AtomicInteger refusals = new AtomicInteger();
        s1.refuse = hello -> refusals.incrementAndGet() <= 3
                ? Rejection.newBuilder().setReason(Rejection.Reason.CONNECTION_RATE_LIMITED).setMessage(SENTENCE).build()
                : null;
        RecordingListener listener = new RecordingListener();

        client(s1, listener).connect().get(WAIT.toSeconds(), TimeUnit.SECONDS);

        assertThat(s1.hellos).as("three refused attempts, then the one that joined").hasSize(4);
        assertThat(client.state()).isEqualTo(ConnectionState.CONNECTED);
        assertThat(listener.saw(ConnectionState.FAILED)).isFalse();
    }

    @Test
    void aRateLimitedReconnectIsRetriedToo() throws Exception {
        FakeServer s1 = cluster.node(1);
        RecordingListener listener = new RecordingListener();
        client(s1, listener).connect().get(WAIT.toSeconds(), TimeUnit.SECONDS);

        AtomicInteger refusals = new AtomicInteger();
        s1.refuse = hello -> refusals.incrementAndGet() <= 2
                ? Rejection.newBuilder().setReason(Rejection.Reason.CONNECTION_RATE_LIMITED).setMessage(SENTENCE).build()
                : null;
        s1.dropConnections();

        await().atMost(WAIT).until(() -> listener.saw(ConnectionState.RECONNECTED));
        assertThat(refusals.get()).isEqualTo(3);
        assertThat(listener.saw(ConnectionState.FAILED)).isFalse();
    }
}
