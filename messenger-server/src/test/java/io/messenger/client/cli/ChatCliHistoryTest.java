package io.messenger.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.client.MessengerClient;
import io.messenger.cluster.Role;
import io.messenger.server.InProcessReplicator;
import io.messenger.server.MessengerServer;
import io.messenger.server.ServerConfig;
import io.messenger.server.Setting;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI's --history and scripted /history against a real node server over an in-process log (in this module for the server). */
class ChatCliHistoryTest {

    @TempDir
    Path dataDir;
    private MessengerServer server;
    private String stdout;

    @BeforeEach
    void start() throws Exception {
        Map<Setting, String> settings = Map.of(
                Setting.CLIENT_HOST, "127.0.0.1", Setting.CLIENT_PORT, "0",
                Setting.ADMIN_HOST, "127.0.0.1", Setting.ADMIN_PORT, "0",
                Setting.DATA_DIR, dataDir.toString(),
                Setting.RETAINED_MESSAGES, "20", Setting.HISTORY_RETAIN_MESSAGES, "40");
        AtomicReference<InProcessReplicator> log = new AtomicReference<>();
        server = MessengerServer.start(ServerConfig.resolve(Map.of("test", settings::get)), (cluster, machine) -> {
            log.set(InProcessReplicator.threaded(machine));
            return new MessengerServer.StartedCluster(log.get(), Map::of, log.get());
        });
        log.get().become(Role.LEADER, 1, 1, "127.0.0.1:" + server.clientPort());
        try (MessengerClient alice = MessengerClient.builder().servers("127.0.0.1:" + server.clientPort())
                .username("alice").room("lobby").joinTimeout(Duration.ofSeconds(30)).build()) {
            alice.connect().get(30, TimeUnit.SECONDS);
            List<CompletableFuture<Long>> acks = new ArrayList<>();
            for (int i = 1; i <= 60; i++) {
                acks.add(alice.send("line " + i));
            }
            CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        }
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private int run(String stdin, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        String[] all = new String[args.length + 3];
        all[0] = "--servers=127.0.0.1:" + server.clientPort();
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "bob";
        all[args.length + 2] = "lobby";
        int code = ChatCli.run(all, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8),
                Map.of(), false);
        stdout = out.toString(StandardCharsets.UTF_8);
        return code;
    }

    private List<String> texts() {
        return Arrays.stream(stdout.split("\n")).filter(l -> l.contains("alice: "))
                .map(l -> l.substring(l.indexOf("alice: ") + 7)).toList();
    }

    @Test
    void historyFlagSetsHowManyAJoinShows() {
        assertThat(run("", "--history", "3")).isZero();
        assertThat(texts()).containsExactly("line 58", "line 59", "line 60");
        assertThat(run("", "--history", "0")).isZero();
        assertThat(texts()).isEmpty();
    }

    @Test
    void scriptedHistoryPagesBackUntilRetentionAndSaysSo() {
        // Retention keeps 21..60; the join shows 51..60, then pages of 15 and 100.
        assertThat(run("/history 15\n/history 100\n/history 0\n", "--history", "10")).isZero();
        assertThat(texts()).containsExactly(
                "line 51", "line 52", "line 53", "line 54", "line 55", "line 56", "line 57", "line 58", "line 59",
                "line 60",
                "line 36", "line 37", "line 38", "line 39", "line 40", "line 41", "line 42", "line 43", "line 44",
                "line 45", "line 46", "line 47", "line 48", "line 49", "line 50",
                "line 21", "line 22", "line 23", "line 24", "line 25", "line 26", "line 27", "line 28", "line 29",
                "line 30", "line 31", "line 32", "line 33", "line 34", "line 35");
        assertThat(stdout).contains("-- messages 1..20 of this room are past retention --");
        assertThat(stdout).contains("-- /history takes a number of messages from 1 to 500, not '0' --");
    }
}
