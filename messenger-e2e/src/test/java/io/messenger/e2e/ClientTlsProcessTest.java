package io.messenger.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.cluster.PeerTlsFiles;
import io.messenger.cluster.testing.TestPki;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * TLS on the client link with the real launchers: a node started with {@code --tls-cert}/{@code --tls-key}, and
 * the CLI as a separate process. With {@code --tls-ca} naming the cluster's CA two users chat; with another CA, with
 * a host name the certificate does not list, or without {@code --tls-ca} at all, the CLI exits at once with the TLS
 * exit code 6 (not the 1 of other failures) and one sentence on stderr saying what is wrong.
 */
class ClientTlsProcessTest {

    private static final Duration BOUND = Duration.ofSeconds(30);
    /** {@code ExitCode.TLS_FAILED} of the CLI, as the README documents it. */
    private static final int TLS_FAILED = 6;

    @RegisterExtension
    final StartedProcesses processes = new StartedProcesses();
    private LocalCluster cluster;

    private CliSession cli(String name, String servers, String... more) {
        List<String> args = new ArrayList<>(List.of("--servers", servers, "--join-timeout", "20s"));
        args.addAll(List.of(more));
        CliSession session = CliSession.start(name, cluster.dir().resolve("transcripts"), args);
        return processes.adopt(session);
    }

    private static void assertTlsFailure(CliSession session, String says) {
        int exit = session.awaitExit(BOUND);
        String err = String.join(" ", session.errors());
        System.out.println("ClientTlsProcessTest: " + session.name() + " exited " + exit + ": " + err);
        assertThat(exit).as(session.name() + " exits with the TLS failure code" + session.describe())
                .isEqualTo(TLS_FAILED);
        assertThat(session.errors()).as("one sentence on stderr" + session.describe()).hasSize(1);
        assertThat(err).contains(says).doesNotContain("Exception:").doesNotContain("\tat ");
        assertThat(session.transcript()).as("nothing joined, so nothing on stdout").isEmpty();
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void theCliChatsOverTlsWithTheClusterCaAndExitsWithCodeSixOnAnyTlsMismatch() {
        Path pki = AppJars.workDir().resolve("client-tls-pki");
        LocalCluster.deleteRecursively(pki);
        TestPki clusterCa = TestPki.create("client TLS process test CA");
        // Names the address only, so that dialling "localhost" is a host name the certificate does not list.
        PeerTlsFiles server = clusterCa.write(pki.resolve("cluster"), "server",
                clusterCa.server("messenger", "127.0.0.1"));
        Path otherCa = TestPki.create("somebody else's CA").writeCa(pki.resolve("other"));

        cluster = processes.adopt(LocalCluster.create("client-tls", 1, List.of(
                "--tls-cert", server.certificate().toString(), "--tls-key", server.privateKey().toString()))).start();
        String address = cluster.clientAddresses();
        String ca = server.trustedCa().toString();

        CliSession alice = cli("alice", address, "--tls-ca", ca, "alice", "lobby");
        alice.type("alice-0");
        alice.awaitLine("its own first line", line -> line.endsWith("alice (you): alice-0"), BOUND);
        CliSession bob = cli("bob", address, "--tls-ca", ca, "bob", "lobby");
        bob.type("bob-0");
        bob.awaitLine("its own first line", line -> line.endsWith("bob (you): bob-0"), BOUND);
        alice.type("hello bob, over TLS");
        bob.awaitLine("alice's line", line -> line.endsWith("alice: hello bob, over TLS"), BOUND);

        assertTlsFailure(cli("mallory-other-ca", address, "--tls-ca", otherCa.toString(), "mallory", "lobby"),
                "is not signed by the CA given with --tls-ca");
        assertTlsFailure(cli("carol-localhost", address.replace("127.0.0.1", "localhost"), "--tls-ca", ca,
                "carol", "lobby"), "does not name that host");
        assertTlsFailure(cli("dave-plaintext", address, "dave", "lobby"), "accepts only TLS connections");

        for (CliSession s : List.of(alice, bob)) {
            s.endInput();
            assertThat(s.awaitExit(BOUND)).as(s.name() + " leaves cleanly" + s.describe()).isZero();
        }
    }
}
