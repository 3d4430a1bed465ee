package io.messenger.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.messenger.cluster.Member;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerConfigTest {

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private ServerCommandLine.Outcome parse(Map<String, String> env, String... args) {
        return new ServerCommandLine().parse(args, env, new PrintWriter(out), new PrintWriter(err));
    }

    /**
     * Runs with {@code MESSENGER_INSECURE=true} unless {@code env} says otherwise: the default client host is
     * 0.0.0.0, which without a token key is refused (see {@link #aNonLoopbackClientHostWithoutAuthIsRefused}).
     */
    private ServerConfig run(Map<String, String> env, String... args) {
        Map<String, String> withInsecure = new java.util.HashMap<>(Map.of("MESSENGER_INSECURE", "true"));
        withInsecure.putAll(env);
        return runExactly(withInsecure, args);
    }

    private ServerConfig runExactly(Map<String, String> env, String... args) {
        ServerCommandLine.Outcome outcome = parse(env, args);
        assertThat(outcome).as(err.toString()).isInstanceOf(ServerCommandLine.Outcome.Run.class);
        return ((ServerCommandLine.Outcome.Run) outcome).config();
    }

    @Test
    void defaultsDescribeASingleNodeOnTheStandardPorts() {
        ServerConfig c = run(Map.of());
        assertThat(c.nodeId()).isEqualTo(1);
        assertThat(c.clientHost()).isEqualTo("0.0.0.0");
        assertThat(c.clientPort()).isEqualTo(7001);
        assertThat(c.peerPort()).isEqualTo(9001);
        assertThat(c.adminPort()).isEqualTo(8001);
        assertThat(c.adminHost()).as("the admin endpoint binds to loopback unless configured").isEqualTo("127.0.0.1");
        assertThat(c.adminRequestTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.helloTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.sendRate()).isEqualTo(new io.messenger.server.client.SendRate(50, 1024));
        assertThat(c.userSendRate()).isEqualTo(new io.messenger.server.client.SendRate(100, 2048));
        assertThat(c.chatLimits().maxRooms()).isEqualTo(10_000);
        assertThat(c.chatLimits().maxRoomsPerUserPerMinute()).isEqualTo(10);
        assertThat(c.members()).containsExactly(new Member(1, "127.0.0.1", 9001));
        assertThat(c.advertisedClientAddress()).isEqualTo("127.0.0.1:7001");
        assertThat(c.dataDir()).isEqualTo(Path.of("./data/node-1"));
        assertThat(c.historySize()).isEqualTo(10);
        assertThat(c.retainedMessages()).isEqualTo(10_000);
        assertThat(c.maxDevices()).isEqualTo(2);
        assertThat(c.maxMessageBytes()).isEqualTo(4096);
        assertThat(c.maxFrameBytes()).isEqualTo(65_536);
        assertThat(c.idleTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.sessionGrace()).isEqualTo(Duration.ofSeconds(15));
        assertThat(c.heartbeat()).isEqualTo(Duration.ofMillis(100));
        assertThat(c.electionTimeout()).isEqualTo(Duration.ofMillis(500));
        assertThat(c.clusterConfig().members()).hasSize(1);
        assertThat(c.describe()).contains("node-id").contains("(default)").contains("session-grace").contains("15s");
    }

    @Test
    void flagsBeatEnvironmentWhichBeatsTheFileWhichBeatsDefaults(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("node.properties");
        Files.writeString(file, "node-id=3\nclient-port=7100\nhistory-size=5\nmax-devices=4\n");
        ServerConfig c = run(Map.of("MESSENGER_CLIENT_PORT", "7200", "MESSENGER_HISTORY_SIZE", "6",
                        "MESSENGER_PEERS", "1=127.0.0.1:9001,2=127.0.0.1:9002,3=127.0.0.1:9003"),
                "--config", file.toString(), "--history-size", "7");
        assertThat(c.nodeId()).isEqualTo(3);
        assertThat(c.clientPort()).isEqualTo(7200);
        assertThat(c.historySize()).isEqualTo(7);
        assertThat(c.maxDevices()).isEqualTo(4);
        assertThat(c.peerPort()).as("taken from this node's --peers entry").isEqualTo(9003);
        assertThat(c.advertisedClientAddress()).isEqualTo("127.0.0.1:7200");
        assertThat(c.dataDir()).isEqualTo(Path.of("./data/node-3"));
        assertThat(c.describe()).contains("(flag)").contains("(environment)").contains("(file ");
    }

    @Test
    void aPeerSecretFileReachesTheClusterConfigAndAMissingOneIsRefused(@TempDir Path dir) throws Exception {
        assertThat(run(Map.of()).clusterConfig().peerSecretFile()).isNull();
        Path secret = Files.writeString(dir.resolve("peer-secret"), "0123456789abcdef0123456789abcdef");
        ServerConfig c = run(Map.of(), "--peer-secret-file", secret.toString());
        assertThat(c.clusterConfig().peerSecretFile()).isEqualTo(secret);
        assertThat(c.describe()).contains("peer-secret-file").contains(secret.toString());
        assertBad(new String[] {"--peer-secret-file", dir.resolve("absent").toString()},
                "--peer-secret-file (MESSENGER_PEER_SECRET_FILE) must name a readable file");
    }

    @Test
    void aNonLoopbackClientHostWithoutAuthIsRefused(@TempDir Path dir) throws Exception {
        err.getBuffer().setLength(0);
        assertThat(parse(Map.of())).as("the default client host 0.0.0.0 without a key")
                .isEqualTo(new ServerCommandLine.Outcome.Exit(ServerCommandLine.USAGE_ERROR));
        assertThat(err.toString()).startsWith("error: --client-host (MESSENGER_CLIENT_HOST) 0.0.0.0 lets clients"
                + " connect from the network").contains("--insecure").contains("--auth-hmac-key-file");
        assertThat(parse(Map.of(), "--client-host", "192.0.2.1", "--insecure=false"))
                .isEqualTo(new ServerCommandLine.Outcome.Exit(ServerCommandLine.USAGE_ERROR));

        assertThat(runExactly(Map.of(), "--client-host", "127.0.0.1").insecure()).isFalse();
        assertThat(runExactly(Map.of(), "--client-host", "localhost").authenticatesUsers()).isFalse();
        assertThat(runExactly(Map.of(), "--client-host", "::1").clientHost()).isEqualTo("::1");
        assertThat(runExactly(Map.of(), "--insecure").insecure()).as("--insecure alone").isTrue();
        assertThat(runExactly(Map.of("MESSENGER_INSECURE", "true")).insecure()).isTrue();
        Path key = Files.write(dir.resolve("token-key"), new byte[32]);
        ServerConfig withKey = runExactly(Map.of(), "--auth-hmac-key-file", key.toString());
        assertThat(withKey.authenticatesUsers()).isTrue();
        assertThat(withKey.describe()).contains("auth-hmac-key-file").contains(key.toString());
    }

    @Test
    void tokenKeyFilesAreCheckedAtStart(@TempDir Path dir) throws Exception {
        Path shortKey = Files.write(dir.resolve("short"), new byte[16]);
        assertBad(new String[] {"--auth-hmac-key-file", shortKey.toString()},
                "--auth-hmac-key-file (MESSENGER_AUTH_HMAC_KEY_FILE) names an unusable key: The HMAC key file");
        assertBad(new String[] {"--auth-public-key-file", dir.resolve("absent.pem").toString()},
                "must name a readable file");
        assertBad(new String[] {"--auth-public-key-file", shortKey.toString()}, "no PEM");
        Path key = Files.write(dir.resolve("key"), new byte[32]);
        Path pub = dir.resolve("public.pem");
        io.messenger.server.auth.TokenKeys.generateEcKeyPair(dir.resolve("private.pem"), pub);
        assertThat(runExactly(Map.of(), "--auth-public-key-file", pub.toString()).authenticatesUsers()).isTrue();
        assertBad(new String[] {"--auth-hmac-key-file", key.toString(), "--auth-public-key-file", pub.toString()},
                "one key");
    }

    @Test
    void durationsTakeUnits() {
        assertThat(ServerConfig.parseDuration("250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(ServerConfig.parseDuration("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(ServerConfig.parseDuration("PT3S")).isEqualTo(Duration.ofSeconds(3));
        assertThatThrownBy(() -> ServerConfig.parseDuration("10")).hasMessageContaining("unit");
    }

    @Test
    void badValuesExitWithCodeTwoOneSentenceAndUsage() {
        assertBad(new String[] {"--node-id", "0"}, "--node-id (MESSENGER_NODE_ID) must be between 1 and 255, got 0.");
        assertBad(new String[] {"--client-port", "70000"}, "--client-port");
        assertBad(new String[] {"--idle-timeout", "10"}, "unit");
        assertBad(new String[] {"--max-devices", "two"}, "whole number");
        assertBad(new String[] {"--peers", "1=127.0.0.1:9001", "--node-id", "2"}, "not among the members");
        assertBad(new String[] {"--peers", "1=127.0.0.1:9001", "--peer-port", "9005"}, "differs");
        assertBad(new String[] {"--peers", "banana"}, "id=host:port");
        assertBad(new String[] {"--heartbeat", "400ms"}, "--election-timeout");
        assertBad(new String[] {"--no-such-flag"}, "Unknown option");
        assertBad(new String[] {"--client-port", "0", "--peers", "1=127.0.0.1:9001,2=127.0.0.1:9002"},
                "--advertised-client-address");
        assertBad(new String[] {"--advertised-client-address", "nowhere"}, "host:port");
        assertBad(new String[] {"--config", "/does/not/exist.properties"}, "does not exist");
        assertBad(new String[] {"--dedup-window", "1023"}, "--dedup-window (MESSENGER_DEDUP_WINDOW) must be at least"
                + " 1024, the most sends a client keeps unacknowledged");
        assertThat(run(Map.of(), "--dedup-window", "1024").dedupWindow()).isEqualTo(1024);
        assertBad(new String[] {"--metrics", "maybe"}, "--metrics (MESSENGER_METRICS) must be true or false, got 'maybe'.");
    }

    @Test
    void metricsAreOnByDefaultAndCanBeSwitchedOff() {
        assertThat(run(Map.of()).metrics()).isTrue();
        assertThat(run(Map.of(), "--metrics", "false").metrics()).isFalse();
        assertThat(run(Map.of(), "--metrics=off").metrics()).isFalse();
        assertThat(run(Map.of("MESSENGER_METRICS", "FALSE")).metrics()).isFalse();
    }

    @Test
    void badEnvironmentIsNamedInTheSentence() {
        ServerCommandLine.Outcome outcome = parse(Map.of("MESSENGER_MAX_FRAME_BYTES", "12"));
        assertThat(outcome).isEqualTo(new ServerCommandLine.Outcome.Exit(2));
        assertThat(err.toString()).contains("MESSENGER_MAX_FRAME_BYTES");
    }

    @Test
    void helpPrintsEverySettingAndExitsZero() {
        assertThat(parse(Map.of(), "--help")).isEqualTo(new ServerCommandLine.Outcome.Exit(0));
        for (Setting s : Setting.values()) {
            assertThat(out.toString()).contains(s.flag()).contains(s.environmentVariable());
        }
    }

    private void assertBad(String[] args, String expected) {
        err.getBuffer().setLength(0);
        ServerCommandLine.Outcome outcome = parse(Map.of(), args);
        assertThat(outcome).isEqualTo(new ServerCommandLine.Outcome.Exit(ServerCommandLine.USAGE_ERROR));
        assertThat(err.toString()).startsWith("error: ").contains(expected).contains("Usage:");
    }

    @Test
    void peerTlsNeedsAllThreeFilesAndClientTlsBothAndEachMustBeReadable(@TempDir Path dir) throws Exception {
        Path cert = Files.writeString(dir.resolve("node-1.pem"), "x");
        Path key = Files.writeString(dir.resolve("node-1.key"), "x");
        Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
        ServerConfig c = run(Map.of("MESSENGER_PEER_TLS_CA", ca.toString()), "--peer-tls-cert", cert.toString(),
                "--peer-tls-key", key.toString(), "--tls-cert", cert.toString(), "--tls-key", key.toString());
        assertThat(c.clusterConfig().peerTls().certificate()).isEqualTo(cert);
        assertThat(c.clusterConfig().peerTls().trustedCa()).isEqualTo(ca);
        assertThat(c.tlsCert()).isEqualTo(cert);
        assertThat(c.describe()).contains("peer-tls-ca").contains(ca.toAbsolutePath().toString());
        assertThat(run(Map.of()).clusterConfig().peerTls()).isNull();

        assertThat(parse(Map.of(), "--peer-tls-cert", cert.toString(), "--peer-tls-key", key.toString()))
                .isInstanceOf(ServerCommandLine.Outcome.Exit.class);
        assertThat(err.toString()).contains("--peer-tls-ca").contains("needs all of");
        assertThat(parse(Map.of(), "--tls-cert", cert.toString())).isInstanceOf(ServerCommandLine.Outcome.Exit.class);
        assertThat(err.toString()).contains("--tls-key (MESSENGER_TLS_KEY) is missing");
        assertThat(parse(Map.of(), "--tls-cert", cert.toString(), "--tls-key", dir.resolve("nope").toString()))
                .isInstanceOf(ServerCommandLine.Outcome.Exit.class);
        assertThat(err.toString()).contains("--tls-key (MESSENGER_TLS_KEY) must name a readable file");
    }

    @Test
    void sendRatesParseAsPerSecondOrPerMinuteOrOff() {
        ServerConfig c = run(Map.of("MESSENGER_USER_SEND_RATE", "off"), "--send-rate", "600/m", "--send-burst", "7");
        assertThat(c.sendRate().perSecond()).isEqualTo(10.0);
        assertThat(c.sendRate().burst()).isEqualTo(7);
        assertThat(c.userSendRate().off()).isTrue();
        assertThat(c.clientLimits().userSendRate().off()).isTrue();
        assertThat(c.describe()).contains("send-rate").contains("10/s").contains("user-send-rate").contains("off");
        assertThat(parse(Map.of(), "--send-rate", "fast")).isEqualTo(new ServerCommandLine.Outcome.Exit(2));
        assertThat(err.toString()).contains("--send-rate").contains("50/s");
    }
}
