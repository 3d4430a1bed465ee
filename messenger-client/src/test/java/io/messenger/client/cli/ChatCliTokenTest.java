package io.messenger.client.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.client.FakeCluster;
import io.messenger.client.FakeServer;
import io.messenger.proto.client.Hello;
import io.messenger.proto.client.Rejection;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the CLI takes its token from, and how a refused token ends it: one sentence and exit code 5. */
class ChatCliTokenTest {

    private FakeCluster cluster;
    private String stderr;

    @BeforeEach
    void setUp() {
        cluster = new FakeCluster("lobby", 1);
    }

    @AfterEach
    void tearDown() throws Exception {
        cluster.close();
    }

    private int cli(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = ChatCli.run(args, new ByteArrayInputStream("hello\n".getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
                env, false);
        stderr = err.toString(StandardCharsets.UTF_8);
        return code;
    }

    @Test
    void theTokenComesFromTheFlagTheFileOrTheEnvironment(@TempDir Path dir) throws Exception {
        FakeServer s1 = cluster.node(1);
        assertThat(cli(Map.of(), "--servers", s1.hostPort(), "--token", "from.flag.x", "alice", "lobby")).isZero();
        Path file = Files.writeString(dir.resolve("token"), "from.file.x\n");
        assertThat(cli(Map.of("MESSENGER_TOKEN", "from.env.x"), "--servers", s1.hostPort(), "--token-file",
                file.toString(), "alice", "lobby")).isZero();
        assertThat(cli(Map.of("MESSENGER_TOKEN", "from.env.x"), "--servers", s1.hostPort(), "alice", "lobby"))
                .isZero();
        assertThat(cli(Map.of(), "--servers", s1.hostPort(), "alice", "lobby")).isZero();
        assertThat(s1.hellos).extracting(Hello::getToken)
                .containsExactly("from.flag.x", "from.file.x", "from.env.x", "");
    }

    @Test
    void aRefusedTokenIsOneSentenceAndExitCodeFive() throws Exception {
        FakeServer s1 = cluster.node(1);
        s1.refuseWith(Rejection.Reason.UNAUTHENTICATED, "The token's signature does not match this server's key.");
        assertThat(cli(Map.of(), "--servers", s1.hostPort(), "--token", "forged", "admin", "lobby"))
                .isEqualTo(ExitCode.AUTH_FAILED).isEqualTo(5);
        assertThat(stderr).isEqualTo("The token's signature does not match this server's key.\n");

        s1.refuseWith(Rejection.Reason.ROOM_NOT_ALLOWED, "The token does not allow joining room lobby.");
        assertThat(cli(Map.of(), "--servers", s1.hostPort(), "--token", "t", "alice", "lobby"))
                .isEqualTo(ExitCode.AUTH_FAILED);
        assertThat(s1.hellos).as("refused once each, never retried").hasSize(2);
    }

    @Test
    void theTokenFileIsReadAgainBeforeAReconnect(@TempDir Path dir) throws Exception {
        FakeServer s1 = cluster.node(1);
        Path file = Files.writeString(dir.resolve("token"), "first.token.x\n");
        PipedOutputStream typing = new PipedOutputStream();
        PipedInputStream stdin = new PipedInputStream(typing);
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> ChatCli.run(new String[] {
            "--servers", s1.hostPort(), "--token-file", file.toString(), "alice", "lobby"}, stdin,
                new PrintStream(sink, true, StandardCharsets.UTF_8), new PrintStream(sink, true, StandardCharsets.UTF_8),
                Map.of(), false));
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> s1.sessionCount() == 1);
            Files.writeString(file, "refreshed.token.x\n");
            s1.dropConnections();
            await().atMost(Duration.ofSeconds(10)).until(() -> s1.hellos.size() == 2 && s1.sessionCount() == 1);
        } finally {
            typing.close(); // end of input: the CLI leaves
        }
        assertThat(exit.get(10, TimeUnit.SECONDS)).isZero();
        assertThat(s1.hellos).extracting(Hello::getToken).containsExactly("first.token.x", "refreshed.token.x");
    }

    @Test
    void anUnusableTokenFileIsAUsageError(@TempDir Path dir) throws Exception {
        FakeServer s1 = cluster.node(1);
        assertThat(cli(Map.of(), "--servers", s1.hostPort(), "--token-file", dir.resolve("absent").toString(),
                "alice", "lobby")).isEqualTo(ExitCode.USAGE);
        assertThat(stderr).startsWith("Cannot read the token file").contains("no such file");
        Path empty = Files.writeString(dir.resolve("empty"), "\n");
        assertThat(cli(Map.of(), "--servers", s1.hostPort(), "--token-file", empty.toString(), "alice", "lobby"))
                .isEqualTo(ExitCode.USAGE);
        assertThat(stderr).contains("is empty");
        assertThat(cli(Map.of(), "--servers", s1.hostPort(), "--token", "a", "--token-file", empty.toString(),
                "alice", "lobby")).isEqualTo(ExitCode.USAGE);
        assertThat(stderr).contains("not both");
        assertThat(s1.hellos).isEmpty();
    }
}
