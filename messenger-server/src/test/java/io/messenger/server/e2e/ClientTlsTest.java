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
    }

    @Test
    void aTlsClientAgainstAPlaintextPortIsToldTheServerHasNoTls() throws Exception {
        TestNode node = node(Map.of(), 0);
        Path ca = CA.writeCa(dir.resolve("ca"));
        Throwable failure = failureOf(client(node, "alice", new Inbox(), MessengerClient.builder().trustedCa(ca)));
        assertThat(failure).hasMessageContaining("does not speak TLS on this port");
    }
}
