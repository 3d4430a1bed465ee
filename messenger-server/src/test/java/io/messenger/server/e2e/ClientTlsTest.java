package io.messenger.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.client.ClientTls;
import io.messenger.client.MessengerClient;
import io.messenger.cluster.PeerTlsFiles;
import io.messenger.cluster.testing.TestPki;
import io.messenger.server.Setting;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS on the client link, real client library against a real node: a client trusting the
 * cluster's CA chats; a wrong CA, a certificate that does not name the host dialled, and
 * plaintext against TLS either way fail at once with a sentence saying what is wrong.
 */
class ClientTlsTest {

    private static final TestPki CA = TestPki.create("client link CA");
    private static final TestPki OTHER_CA = TestPki.create("another CA");

    @TempDir
    Path dir;
    private final List<TestNode> nodes = new ArrayList<>();
    private final List<MessengerClient> clients = new ArrayList<>();

    @AfterEach
    void stop() {
        clients.forEach(MessengerClient::close);
        nodes.forEach(TestNode::close);
    }

    /** A node whose client port speaks TLS with a certificate naming {@code hosts}. */
    private TestNode tlsNode(String... hosts) throws InterruptedException {
        PeerTlsFiles files = CA.write(dir.resolve("server-" + nodes.size()), "server", CA.server("messenger", hosts));
        return node(Map.of(Setting.TLS_CERT, files.certificate().toString(),
                Setting.TLS_KEY, files.privateKey().toString()), nodes.size());
    }

    private TestNode node(Map<Setting, String> settings, int n) throws InterruptedException {
        TestNode node = new TestNode(dir.resolve("data-" + n), settings).start();
        nodes.add(node);
        await().atMost(Duration.ofSeconds(30)).until(node::leads);
        return node;
    }

    private MessengerClient client(TestNode node, String user, Inbox inbox, MessengerClient.Builder tls) {
        MessengerClient c = tls.servers(node.clientAddress()).username(user).room("lobby").listener(inbox)
                .joinTimeout(Duration.ofSeconds(20)).build();
        clients.add(c);
        return c;
    }

    /** The failure of a connect that must fail well before its 20 s join timeout. */
    private static Throwable failureOf(MessengerClient c) {
        try {
            c.connect().get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError("connect() neither failed nor succeeded within 10 s", e);
        }
        throw new AssertionError("connect() succeeded");
    }

    @Test
    void clientsTrustingTheClusterCaConnectOverTlsAndChat() throws Exception {
        TestNode node = tlsNode("localhost", "127.0.0.1");
        Path ca = CA.writeCa(dir.resolve("ca"));
        Inbox aliceInbox = new Inbox();
        Inbox bobInbox = new Inbox();
        MessengerClient alice = client(node, "alice", aliceInbox, MessengerClient.builder().trustedCa(ca));
        MessengerClient bob = client(node, "bob", bobInbox, MessengerClient.builder().tls(ClientTls.trusting(ca)));
        alice.connect().get(20, TimeUnit.SECONDS);
        bob.connect().get(20, TimeUnit.SECONDS);
        alice.send("hi bob, over TLS").get(30, TimeUnit.SECONDS);
        bob.send("hi alice").get(30, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(aliceInbox.texts()).containsExactly("hi bob, over TLS", "hi alice");
            assertThat(bobInbox.texts()).containsExactly("hi bob, over TLS", "hi alice");
        });
    }

    @Test
    void aClientTrustingAnotherCaFailsAtOnceSayingSo() throws Exception {
        TestNode node = tlsNode("localhost", "127.0.0.1");
        Path otherCa = OTHER_CA.writeCa(dir.resolve("other-ca"));
        Throwable failure = failureOf(client(node, "alice", new Inbox(), MessengerClient.builder().trustedCa(otherCa)));
        assertThat(failure).hasMessageContaining("is not signed by the CA given with --tls-ca");
    }

    @Test
    void aCertificateThatDoesNotNameTheHostDialledIsRefused() throws Exception {
        // Signed by the right CA, but for another host: only host name verification catches it.
        TestNode node = tlsNode("chat.example.test");
        Path ca = CA.writeCa(dir.resolve("ca"));
        Throwable failure = failureOf(client(node, "alice", new Inbox(), MessengerClient.builder().trustedCa(ca)));
        assertThat(failure).hasMessageContaining("does not name that host");
    }

    @Test
    void aPlaintextClientAgainstATlsPortIsToldToUseTls() throws Exception {
        TestNode node = tlsNode("localhost", "127.0.0.1");
        Throwable failure = failureOf(client(node, "alice", new Inbox(), MessengerClient.builder()));
        assertThat(failure).hasMessageContaining("accepts only TLS connections").hasMessageContaining("--tls-ca");
        assertThat(((io.messenger.client.RejectedException) failure).isTlsRequired()).isTrue();
    }

    @Test
    void aTlsClientAgainstAPlaintextPortIsToldTheServerHasNoTls() throws Exception {
        TestNode node = node(Map.of(), 0);
        Path ca = CA.writeCa(dir.resolve("ca"));
        Throwable failure = failureOf(client(node, "alice", new Inbox(), MessengerClient.builder().trustedCa(ca)));
        assertThat(failure).hasMessageContaining("does not speak TLS on this port");
    }

    @Test
    void aConnectionOverTheArrivalRateIsClosedBeforeTheHandshakeCountedOnMetricsAndRetried() throws Exception {
        // One connection per minute from an address: alice takes it, every attempt of bob's meets an empty bucket.
        PeerTlsFiles files = CA.write(dir.resolve("server-rate"), "server", CA.server("messenger", "127.0.0.1"));
        TestNode node = node(Map.of(Setting.TLS_CERT, files.certificate().toString(),
                Setting.TLS_KEY, files.privateKey().toString(), Setting.CONNECTION_RATE, "1/m",
                Setting.CONNECTION_BURST, "1"), 0);
        Path ca = CA.writeCa(dir.resolve("ca"));
        client(node, "alice", new Inbox(), MessengerClient.builder().trustedCa(ca)).connect().get(20, TimeUnit.SECONDS);

        MessengerClient bob = MessengerClient.builder().trustedCa(ca).servers(node.clientAddress()).username("bob")
                .room("lobby").listener(new Inbox()).joinTimeout(Duration.ofSeconds(3)).build();
        clients.add(bob);
        Throwable failure = failureOf(bob);

        assertThat(failure).as("retried through the join timeout, not ended as a TLS misconfiguration")
                .isNotInstanceOf(io.messenger.client.TlsFailureException.class)
                .hasMessageStartingWith("Could not join room lobby: no leader among " + node.clientAddress()
                        + " answered within 3 s")
                .hasMessageContaining("the server closed the connection during the TLS handshake");
        long refused = refusedOnMetrics(node, "address_over_rate");
        assertThat(refused).as("every attempt of bob's was refused and counted; there was more than one").isGreaterThan(1);
        assertThat(refusedOnMetrics(node, "total_over_rate")).isZero();
    }

    /** {@code messenger_connections_refused_total{reason=...}} as the node's /metrics shows it. */
    private static long refusedOnMetrics(TestNode node, String reason) throws Exception {
        java.net.http.HttpResponse<String> page = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + node.server().adminPort()
                        + "/metrics")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        String prefix = "messenger_connections_refused_total{reason=\"" + reason + "\"";
        return page.body().lines().filter(l -> l.startsWith(prefix)).findFirst()
                .map(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .orElseThrow(() -> new AssertionError("no " + prefix + " on /metrics"));
    }
}
