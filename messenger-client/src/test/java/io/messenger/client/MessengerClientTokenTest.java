package io.messenger.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.messenger.proto.client.Hello;
import io.messenger.proto.client.Rejection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Tokens on hello: sent, asked for anew on every reconnect, and a refusal of them is final. */
class MessengerClientTokenTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private FakeCluster cluster;
    private final List<MessengerClient> clients = new ArrayList<>();

    @BeforeEach
    void setUp() {
        cluster = new FakeCluster("lobby", 2);
    }

    @AfterEach
    void tearDown() throws Exception {
        clients.forEach(MessengerClient::close);
        cluster.close();
    }

    private MessengerClient client(String seeds, RecordingListener listener, Consumer<MessengerClient.Builder> tweak) {
        MessengerClient.Builder b = MessengerClient.builder().servers(seeds).username("alice").room("lobby")
                .clientId("alice-laptop").listener(listener).pongTimeout(Duration.ofSeconds(5))
                .backoff(Duration.ofMillis(10), Duration.ofMillis(100));
        tweak.accept(b);
        MessengerClient c = b.build();
        clients.add(c);
        return c;
    }

    @Test
    void aFixedTokenGoesOnEveryHelloAndNoneWithoutOne() throws Exception {
        FakeServer s1 = cluster.node(1);
        MessengerClient c = client(s1.hostPort(), new RecordingListener(), b -> b.token("header.claims.sig"));
        c.connect().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(s1.hellos).extracting(Hello::getToken).containsExactly("header.claims.sig");

        MessengerClient anonymous = client(s1.hostPort(), new RecordingListener(), b -> b.clientId("other"));
        anonymous.connect().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(s1.hellos.get(1).getToken()).isEmpty();
    }

    @Test
    void theSupplierIsAskedAgainOnEveryReconnectSoARefreshedTokenIsSent() throws Exception {
        FakeServer s1 = cluster.node(1);
        AtomicInteger asked = new AtomicInteger();
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> b.tokenSupplier(() -> "token-" + asked.incrementAndGet()));
        c.connect().get(WAIT.toSeconds(), TimeUnit.SECONDS);

        s1.dropConnections();
        await().atMost(WAIT).until(() -> l.saw(ConnectionState.RECONNECTED));
        assertThat(s1.hellos).extracting(Hello::getToken).containsExactly("token-1", "token-2");
    }

    @Test
    void aRefusedTokenFailsConnectForGoodWithoutRetrying() throws Exception {
        FakeServer s1 = cluster.node(1);
        FakeServer s2 = cluster.node(2);
        s1.refuseWith(Rejection.Reason.UNAUTHENTICATED, "The token expired at 2026-12-06T22:00:00Z; get a fresh one.");
        s2.refuseWith(Rejection.Reason.UNAUTHENTICATED, "The token expired at 2026-12-06T22:00:00Z; get a fresh one.");
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort() + "," + s2.hostPort(), l, b -> b.token("old"));

        assertThatThrownBy(() -> c.connect().join()).isInstanceOf(CompletionException.class)
                .cause().isInstanceOf(RejectedException.class)
                .hasMessage("The token expired at 2026-12-06T22:00:00Z; get a fresh one.")
                .satisfies(e -> {
                    assertThat(((RejectedException) e).reason()).isEqualTo(Rejection.Reason.UNAUTHENTICATED);
                    assertThat(((RejectedException) e).isAuthenticationFailure()).isTrue();
                });
        await().atMost(WAIT).until(() -> l.saw(ConnectionState.FAILED));
        assertThat(s1.hellos.size() + s2.hellos.size()).as("one hello, no retry on the other node").isEqualTo(1);
    }

    @Test
    void aRoomTheTokenDoesNotAllowFailsAfterAReconnectWithAFailedEvent() throws Exception {
        FakeServer s1 = cluster.node(1);
        RecordingListener l = new RecordingListener();
        MessengerClient c = client(s1.hostPort(), l, b -> b.token("t"));
        c.connect().get(WAIT.toSeconds(), TimeUnit.SECONDS);

        s1.refuseWith(Rejection.Reason.ROOM_NOT_ALLOWED, "The token does not allow joining room lobby.");
        s1.dropConnections();

        await().atMost(WAIT).until(() -> l.saw(ConnectionState.FAILED));
        ConnectionEvent failed = l.events.get(l.events.size() - 1);
        assertThat(failed.cause()).isInstanceOfSatisfying(RejectedException.class,
                r -> assertThat(r.reason()).isEqualTo(Rejection.Reason.ROOM_NOT_ALLOWED));
        assertThat(failed.reason()).isEqualTo("The token does not allow joining room lobby.");
        assertThat(c.state()).isEqualTo(ConnectionState.FAILED);
    }

    @Test
    void aSupplierThatThrowsFailsOnlyThatAttempt() throws Exception {
        FakeServer s1 = cluster.node(1);
        AtomicInteger asked = new AtomicInteger();
        MessengerClient c = client(s1.hostPort(), new RecordingListener(), b -> b.tokenSupplier(() -> {
            if (asked.incrementAndGet() == 1) {
                throw new IllegalStateException("the identity service is down");
            }
            return "fresh";
        }));
        c.connect().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(asked.get()).isEqualTo(2);
        assertThat(s1.hellos).extracting(Hello::getToken).containsExactly("fresh");
    }
}
