package io.messenger.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.server.auth.TokenMinter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * User authentication end to end, with the real launchers: {@code server.app token} creates a key and mints
 * tokens, a node started with that key lets token holders chat and turns everyone else away (no token, another
 * user's, another room's, a forged, a malformed or an expired one) with exit code 5 and a sentence; and a node asked to serve clients on a non-loopback address without a key refuses to start.
 */
class TokenAuthProcessTest {

    private static final Duration BOUND = Duration.ofSeconds(30);
    private static final int AUTH_FAILED = 5;

    @RegisterExtension
    final StartedProcesses processes = new StartedProcesses();
    private LocalCluster cluster;

    /** One run of the server launcher that is not a node: exit code, stdout and stderr. */
    private record Run(int code, String out, String err) {}

    private static Run serverApp(Path dir, String name, String... args) {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", AppJars.server().toString()));
        command.addAll(List.of(args));
        Path out = dir.resolve(name + ".out");
        Path err = dir.resolve(name + ".err");
        try {
            Process p = ProcessReaper.watch(new ProcessBuilder(command).redirectOutput(out.toFile())
                    .redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null")
                            .toFile())).start());
            try {
                if (!p.waitFor(BOUND.toSeconds(), TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor();
                    throw new AssertionError(String.join(" ", command) + " did not finish within " + BOUND);
                }
            } finally {
                ProcessReaper.release(p);
            }
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static String mint(Path dir, Path key, String user, String... more) {
        List<String> args = new ArrayList<>(List.of("token", "--auth-hmac-key-file", key.toString(), "--user", user));
        args.addAll(List.of(more));
        Run run = serverApp(dir, "mint-" + user, args.toArray(String[]::new));
        assertThat(run.code()).as("minting for " + user + ": " + run.err()).isZero();
        assertThat(run.out().lines().toList()).as("stdout holds the token alone").hasSize(1);
        return run.out().strip();
    }

    private CliSession cli(String name, String user, String room, String... tokenArgs) {
        List<String> args = new ArrayList<>(List.of("--servers", cluster.clientAddresses()));
        args.addAll(List.of(tokenArgs));
        args.addAll(List.of(user, room));
        CliSession session = CliSession.start(name, cluster.dir().resolve("transcripts"), args);
        return processes.adopt(session);
    }

    private static void awaitOnline(CliSession session, String firstLine) {
        session.type(firstLine);
        session.awaitLine("its own first line", line -> line.endsWith("(you): " + firstLine), BOUND);
    }

    private static void assertAuthFailure(CliSession session, String says) {
        int exit = session.awaitExit(BOUND);
        String err = String.join(" ", session.errors());
        System.out.println("TokenAuthProcessTest: " + session.name() + " exited " + exit + ": " + err);
        assertThat(exit).as(session.name() + " exits with the auth failure code" + session.describe())
                .isEqualTo(AUTH_FAILED);
        assertThat(session.errors()).as("one sentence on stderr").hasSize(1);
        assertThat(err).contains(says).doesNotContain("Exception").doesNotContain("\tat ");
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void tokenHoldersChatAndEveryoneElseIsTurnedAwayWithExitCodeFive() throws IOException {
        Path keys = AppJars.workDir().resolve("auth-keys");
        LocalCluster.deleteRecursively(keys);
        Files.createDirectories(keys);
        Path key = keys.resolve("token-key");
        Run generated = serverApp(keys, "generate", "token", "--generate-hmac-key", key.toString());
        assertThat(generated.code()).as(generated.err()).isZero();
        assertThat(generated.out()).as("nothing but tokens on stdout").isEmpty();
        assertThat(Files.size(key)).isEqualTo(32);

        cluster = processes.adopt(
                LocalCluster.create("auth", 1, List.of("--auth-hmac-key-file", key.toString()))).start();
        String aliceToken = mint(keys, key, "alice", "--rooms", "lobby", "--ttl", "10m");
        Path bobTokenFile = Files.writeString(keys.resolve("bob.token"), mint(keys, key, "bob") + "\n");

        CliSession alice = cli("alice", "alice", "lobby", "--token", aliceToken);
        awaitOnline(alice, "alice-0");
        CliSession bob = cli("bob", "bob", "lobby", "--token-file", bobTokenFile.toString());
        awaitOnline(bob, "bob-0");
        alice.type("hello bob");
        bob.awaitLine("alice's line", line -> line.endsWith("alice: hello bob"), BOUND);

        assertAuthFailure(cli("admin-no-token", "admin", "lobby"), "requires a token");
        assertAuthFailure(cli("admin-with-alices-token", "admin", "lobby", "--token", aliceToken),
                "issued for another user than admin");
        assertAuthFailure(cli("alice-in-dev", "alice", "dev", "--token", aliceToken), "room dev");
        String forged = aliceToken.substring(0, aliceToken.lastIndexOf('.') + 1) + "AAAA" + aliceToken.substring(
                aliceToken.lastIndexOf('.') + 5);
        assertAuthFailure(cli("alice-forged", "alice", "lobby", "--token", forged), "signature does not match");
        assertAuthFailure(cli("alice-garbage", "alice", "lobby", "--token", "not-a-jwt"), "not a well-formed JWT");
        // Signed with the node's own key, for the right user and room, but its exp is an hour past (beyond the
        // 30 s of clock skew); the launcher mints only tokens valid from now, so the test signs this one itself.
        Instant anHourAgo = Instant.now().minus(Duration.ofHours(1)).truncatedTo(ChronoUnit.SECONDS);
        String expired = TokenMinter.hmac(Files.readAllBytes(key)).mint("alice", List.of("lobby"),
                Duration.ofMinutes(10), anHourAgo);
        assertAuthFailure(cli("alice-expired", "alice", "lobby", "--token", expired),
                "The token expired at " + anHourAgo.plus(Duration.ofMinutes(10)) + "; get a fresh one.");

        List<String> log = Files.readAllLines(cluster.node(1).logFile());
        assertThat(log).as("the node logs each refusal").anyMatch(l -> l.contains("refused as user admin"));
        assertThat(String.join("\n", log)).as("and never a token").doesNotContain(aliceToken.split("\\.")[2]);

        for (CliSession s : List.of(alice, bob)) {
            s.endInput();
            assertThat(s.awaitExit(BOUND)).as(s.name() + " leaves cleanly" + s.describe()).isZero();
        }
    }

    @Test
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void aNodeRefusesToServeNonLoopbackClientsWithoutAuthUnlessInsecure() throws IOException {
        Path dir = AppJars.workDir().resolve("auth-insecure");
        LocalCluster.deleteRecursively(dir);
        Files.createDirectories(dir);
        Run refused = serverApp(dir, "open", "--client-host", "0.0.0.0", "--client-port", "0", "--admin-port", "0",
                "--peer-port", Integer.toString(LoopbackPorts.free(1).get(0)), "--data-dir",
                dir.resolve("data").toString());
        assertThat(refused.code()).as(refused.err()).isEqualTo(2);
        assertThat(refused.err()).startsWith("error: --client-host (MESSENGER_CLIENT_HOST) 0.0.0.0 lets clients"
                + " connect from the network").contains("--insecure");
        assertThat(Files.exists(dir.resolve("data"))).as("nothing was started").isFalse();
    }
}
