package io.messenger.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.proto.client.ClientEnvelope;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The meters a {@link MessengerClient} reports to the registry given to its builder. */
class ClientMetricsTest {

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

    private MessengerClient client(String seeds, String clientId, MeterRegistry registry) {
        MessengerClient c = MessengerClient.builder().servers(seeds).username("alice").room("lobby")
                .clientId(clientId).pongTimeout(Duration.ofSeconds(5))
                .backoff(Duration.ofMillis(10), Duration.ofMillis(100))
                .meterRegistry(registry).build();
        clients.add(c);
        return c;
    }

    private static <T> T join(CompletableFuture<T> f) throws Exception {
        return f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    private static double count(MeterRegistry r, String name) {
        return r.get(name).counter().count();
    }

    private static double pending(MeterRegistry r) {
        return r.get(MicrometerClientMetrics.PENDING_SENDS).gauge().value();
    }

    @Test
    void acknowledgedSendsAreTimedAndWaitingOnesCountInTheBufferGauge() throws Exception {
        FakeServer s1 = cluster.node(1);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        MessengerClient c = client(s1.hostPort(), "alice-laptop", registry);
        join(c.connect());

        assertThat(join(c.send("one"))).isEqualTo(1L);
        assertThat(join(c.send("two"))).isEqualTo(2L);
        var latency = registry.get(MicrometerClientMetrics.ACK_LATENCY).timer();
        assertThat(latency.count()).isEqualTo(2);
        assertThat(latency.totalTime(TimeUnit.NANOSECONDS)).isPositive();
        assertThat(pending(registry)).isZero();

        s1.applySends = false;
        c.send("three");
        c.send("four");
        await().atMost(WAIT).until(() -> pending(registry) == 2);
        assertThat(latency.count()).isEqualTo(2);
        assertThat(count(registry, MicrometerClientMetrics.RECONNECTS)).isZero();
        assertThat(count(registry, MicrometerClientMetrics.RESENDS)).isZero();
    }

    @Test
    void aLostSessionCountsOneReconnectAndEverySendWrittenBeforeItAsAResend() throws Exception {
        FakeServer s1 = cluster.node(1);
        FakeServer s2 = cluster.node(2);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        MessengerClient c = client(s1.hostPort() + "," + s2.hostPort(), "alice-laptop", registry);
        join(c.connect());

        s1.applySends = false; // the leader takes them in and dies before committing any
        List<CompletableFuture<Long>> sends = List.of(c.send("a"), c.send("b"), c.send("c"));
        await().atMost(WAIT).until(() -> s1.received(ClientEnvelope.BodyCase.SEND).size() == 3);
        assertThat(pending(registry)).isEqualTo(3);
        s1.redirectTo(s2);
        s1.dropConnections();

        for (CompletableFuture<Long> f : sends) {
            join(f);
        }
        assertThat(count(registry, MicrometerClientMetrics.RECONNECTS)).isEqualTo(1);
        assertThat(count(registry, MicrometerClientMetrics.RESENDS)).isEqualTo(3);
        assertThat(registry.get(MicrometerClientMetrics.ACK_LATENCY).timer().count()).isEqualTo(3);
        assertThat(pending(registry)).isZero();
    }

    @Test
    void sendsMadeWhileDisconnectedAreNotResends() throws Exception {
        FakeServer s1 = cluster.node(1);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        MessengerClient c = client(s1.hostPort(), "alice-laptop", registry);
        CompletableFuture<Long> early = c.send("before connect");
        join(c.connect());
        join(early);
        assertThat(count(registry, MicrometerClientMetrics.RESENDS)).isZero();
        assertThat(count(registry, MicrometerClientMetrics.RECONNECTS)).isZero();
    }

    @Test
    void clientsSharingARegistryAddUpAndAClosedOneLeavesTheGauge() throws Exception {
        FakeServer s1 = cluster.node(1);
        s1.applySends = false;
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        MessengerClient laptop = client(s1.hostPort(), "alice-laptop", registry);
        MessengerClient phone = client(s1.hostPort(), "alice-phone", registry);
        join(laptop.connect());
        join(phone.connect());

        laptop.send("1");
        laptop.send("2");
        phone.send("3");
        await().atMost(WAIT).until(() -> pending(registry) == 3);

        laptop.closeAsync().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        await().atMost(WAIT).until(() -> pending(registry) == 1);
    }

    @Test
    void prometheusShowsTheMetersWithConventionalNamesAndNoLabels() throws Exception {
        FakeServer s1 = cluster.node(1);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        MessengerClient c = client(s1.hostPort(), "alice-laptop", registry);
        join(c.connect());
        join(c.send("hi"));

        String text = registry.scrape();
        assertThat(text).contains("messenger_client_reconnects_total 0.0", "messenger_client_resends_total 0.0",
                "messenger_client_pending_sends 0.0", "messenger_client_ack_latency_seconds_count 1",
                "messenger_client_ack_latency_seconds_bucket{le=");
    }

    @Test
    void withoutARegistryNothingIsRecordedAndTheNoOpIsUsed() throws Exception {
        assertThat(ClientMetrics.of(null, () -> 0)).isSameAs(ClientMetrics.NONE);
    }
}
