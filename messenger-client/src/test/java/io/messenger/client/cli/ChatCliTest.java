package io.messenger.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.client.FakeCluster;
import io.messenger.client.FakeRoom;
import io.messenger.client.FakeServer;
import io.messenger.proto.client.Rejection;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The CLI's scripted mode, run in-process against fake nodes with piped stdin and captured stdout/stderr. */
class ChatCliTest {

    private static final String TIME = "\\[\\d\\d:\\d\\d:\\d\\d\\] ";

    private FakeCluster cluster;
    private FakeRoom room;
    private String stdout;
    private String stderr;

    @BeforeEach
    void setUp() {
        cluster = new FakeCluster("lobby", 1);
        room = cluster.room();
    }

    @AfterEach
    void tearDown() throws Exception {
        cluster.close();
    }

    private int cli(String stdin, Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ChatCli.run(args, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
                env, false);
        stdout = out.toString(StandardCharsets.UTF_8);
        stderr = err.toString(StandardCharsets.UTF_8);
        return code;
    }

    private List<String> lines() {
        return stdout.isEmpty() ? List.of() : List.of(stdout.split("\n"));
    }

    @Test
    void transcriptHasHistoryPresenceAndOwnMessagesInRoomOrder() throws Exception {
        room.post("bob", "hi");
        room.post("bob", "multi\nline");
        FakeServer s1 = cluster.node(1);
        s1.presentOnJoin = "carol";

        int code = cli("hello\n\n   \nwörld\n", Map.of(), "--servers", s1.hostPort(), "alice", "lobby");

        assertThat(code).as(stderr).isZero();
        assertThat(stderr).isEmpty();
        List<String> lines = lines();
        assertThat(lines).hasSize(5);
        assertThat(lines.get(0)).matches(TIME + "bob: hi");
        assertThat(lines.get(1)).matches(TIME + "bob: multi\\\\nline");
        assertThat(lines.get(2)).isEqualTo("-- carol joined lobby --");
        assertThat(lines.get(3)).matches(TIME + "alice \\(you\\): hello");
        assertThat(lines.get(4)).matches(TIME + "alice \\(you\\): wörld");
        assertThat(room.texts()).containsExactly("hi", "multi\nline", "hello", "wörld");
    }

    @Test
    void serverListComesFromTheEnvironment() throws Exception {
        FakeServer s1 = cluster.node(1);
        int code = cli("one\n", Map.of(ChatCli.SERVERS_ENV, s1.hostPort()), "alice", "lobby");
        assertThat(code).as(stderr).isZero();
        assertThat(lines()).singleElement().asString().matches(TIME + "alice \\(you\\): one");
    }

    @Test
    void reconnectInTheMiddleOfAScriptSendsEveryLineExactlyOnce() throws Exception {
        FakeServer s1 = cluster.node(1);
        FakeServer s2 = cluster.node(2);
        Rejection notLeader = Rejection.newBuilder().setReason(Rejection.Reason.NOT_LEADER)
                .setMessage("Node 1 is not the leader.").setLeaderAddress(s2.hostPort()).setLeaderId(2).build();
        s1.refuse = hello -> s1.hellos.size() > 1 ? notLeader : null;
        s1.dropBeforeAck = true;

        int code = cli("a\nb\nc\n", Map.of(), "--servers", s1.hostPort() + "," + s2.hostPort(), "alice", "lobby");

        assertThat(code).as(stderr).isZero();
        assertThat(room.texts()).containsExactly("a", "b", "c");
        assertThat(lines()).hasSize(3);
        assertThat(lines().get(0)).endsWith("alice (you): a");
        assertThat(lines().get(1)).endsWith("alice (you): b");
        assertThat(lines().get(2)).endsWith("alice (you): c");
        assertThat(stderr).contains("-- reconnecting: ").contains("-- reconnected to node 2 (" + s2.hostPort() + ") --");
    }

    @Test
    void tooManyDevicesIsOneSentenceAndExitCodeThree() throws Exception {
        FakeServer s1 = cluster.node(1);
        s1.refuseWith(Rejection.Reason.TOO_MANY_DEVICES, "alice is already online on 2 devices.");

        int code = cli("hello\n", Map.of(), "--servers", s1.hostPort(), "alice", "lobby");

        assertThat(code).isEqualTo(ExitCode.TOO_MANY_DEVICES);
        assertThat(stderr).isEqualTo("alice is already online on 2 devices.\n");
        assertThat(stdout).isEmpty();
    }

    @Test
    void aTlsOnlyServerTellingAPlaintextClientToUseTlsIsExitCodeSix() throws Exception {
        FakeServer s1 = cluster.node(1);
        String sentence = "This server accepts only TLS connections on its client port; connect with --tls-ca and"
                + " the cluster's CA certificate.";
        s1.refuseWith(Rejection.Reason.TLS_REQUIRED, sentence);

        int code = cli("hello\n", Map.of(), "--servers", s1.hostPort(), "alice", "lobby");

        assertThat(code).isEqualTo(ExitCode.TLS_FAILED).isEqualTo(6);
        assertThat(stderr).isEqualTo(sentence + "\n");
        assertThat(s1.hellos).as("final: not retried").hasSize(1);
    }

    @Test
    void aTlsClientAgainstAPlaintextServerFailsAtOnceWithExitCodeSix() throws Exception {
        // Answers every connection in plaintext, as a node's plaintext port answers a TLS hello: the CLI's TLS
        // handshake reads it as "not an SSL/TLS record".
        Path ca = Path.of(getClass().getResource("/tls/unrelated-ca.pem").toURI());
        try (ServerSocket plaintext = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread answering = new Thread(() -> {
                while (!plaintext.isClosed()) {
                    try (java.net.Socket s = plaintext.accept()) {
                        s.getOutputStream().write("\0\0\0\u0005plain".getBytes(StandardCharsets.US_ASCII));
                        s.getInputStream().read();
                    } catch (java.io.IOException closed) {
                        // the test is over, or the client hung up
                    }
                }
            }, "plaintext-server");
            answering.setDaemon(true);
            answering.start();
            String address = "127.0.0.1:" + plaintext.getLocalPort();

            int code = cli("hello\n", Map.of(), "--servers", address, "--tls-ca", ca.toString(), "alice", "lobby");

            assertThat(code).as(stderr).isEqualTo(ExitCode.TLS_FAILED);
            assertThat(stderr).startsWith("The server at ").contains(address).endsWith(" does not speak TLS on this"
                    + " port; connect without --tls-ca, or start the server with --tls-cert and --tls-key.\n");
            assertThat(stderr.lines()).hasSize(1);
            assertThat(stdout).isEmpty();
        }
    }

    @Test
    void everyExitCodeKeepsItsNumber() {
        // Scripts test these numbers; a new failure gets a new code, an old one never changes.
        assertThat(List.of(ExitCode.OK, ExitCode.ERROR, ExitCode.USAGE, ExitCode.TOO_MANY_DEVICES,
                ExitCode.UNACKNOWLEDGED, ExitCode.AUTH_FAILED, ExitCode.TLS_FAILED)).containsExactly(0, 1, 2, 3, 4, 5, 6);
        assertThat(ExitCode.of(new io.messenger.client.TlsFailureException("x"))).isEqualTo(ExitCode.TLS_FAILED);
        assertThat(ExitCode.of(new io.messenger.client.MessengerException("x"))).isEqualTo(ExitCode.ERROR);
    }

    @Test
    void unacknowledgedLinesGiveExitCodeFour() throws Exception {
        FakeServer s1 = cluster.node(1);
        s1.applySends = false;

        int code = cli("lost\n", Map.of(), "--servers", s1.hostPort(), "--ack-timeout", "300ms", "alice", "lobby");

        assertThat(code).isEqualTo(ExitCode.UNACKNOWLEDGED);
        assertThat(stderr).isEqualTo("1 of 1 messages were not acknowledged within 300 ms.\n");
    }

    @Test
    void unreachableClusterIsOneSentenceAndExitCodeOne() throws Exception {
        String nobody;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            nobody = "127.0.0.1:" + s.getLocalPort();
        }
        int code = cli("", Map.of(), "--servers", nobody, "--join-timeout", "300ms", "alice", "lobby");

        assertThat(code).isEqualTo(ExitCode.ERROR);
        assertThat(stderr).startsWith("Could not join room lobby: no leader among " + nobody + " answered within 300 ms")
                .doesNotContain("Exception").endsWith(".\n");
        assertThat(stderr.lines()).hasSize(1);
    }

    @Test
    void usageErrorsExitTwo() {
        assertThat(cli("", Map.of(), "alice")).isEqualTo(ExitCode.USAGE);
        assertThat(stderr).contains("Missing required parameter").contains("Usage:");

        assertThat(cli("", Map.of(), "bad name", "lobby")).isEqualTo(ExitCode.USAGE);
        assertThat(stderr).startsWith("Username 'bad name' is invalid");

        assertThat(cli("", Map.of(), "--servers", "nohost", "alice", "lobby")).isEqualTo(ExitCode.USAGE);
        assertThat(stderr).contains("'nohost' is not host:port");

        assertThat(cli("", Map.of(), "--pong-timeout", "soon", "alice", "lobby")).isEqualTo(ExitCode.USAGE);
        assertThat(stderr).contains("'soon' is not a duration");

        assertThat(cli("", Map.of(), "--max-pending", "5000", "alice", "lobby")).isEqualTo(ExitCode.USAGE);
        assertThat(stderr).startsWith("The outgoing buffer may hold at most 1024 messages, not 5000");
    }

    @Test
    void helpExitsZero() {
        assertThat(cli("", Map.of(), "--help")).isZero();
        assertThat(stdout).contains("--servers").contains("Exit codes");
    }

    @Test
    void transcriptFormatsPresenceAndPendingLines() {
        Transcript t = new Transcript("alice", java.time.ZoneOffset.UTC);
        assertThat(t.message(new io.messenger.client.ChatMessage("lobby", 7, "bob", "yo",
                java.time.Instant.parse("2026-01-02T03:04:05Z"), false))).isEqualTo("[03:04:05] bob: yo");
        assertThat(t.presence(new io.messenger.client.PresenceEvent("lobby", "bob",
                io.messenger.client.PresenceEvent.Kind.LEFT, java.time.Instant.EPOCH))).isEqualTo("-- bob left lobby --");
        assertThat(t.pending("hey")).isEqualTo("[--:--:--] alice (sending…): hey");
    }
}
