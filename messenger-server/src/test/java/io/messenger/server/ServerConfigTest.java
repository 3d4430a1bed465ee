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

    private ServerConfig run(Map<String, String> env, String... args) {
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
        assertThat(c.sendRate()).isEqualTo(new io.messenger.server.client.SendRate(50, 100));
        assertThat(c.userSendRate()).isEqualTo(new io.messenger.server.client.SendRate(100, 200));
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
