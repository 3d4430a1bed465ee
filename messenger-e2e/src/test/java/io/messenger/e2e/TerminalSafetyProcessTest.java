package io.messenger.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.messenger.client.MessengerClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The CLI on a real terminal: tmux runs two CLI clients against a real server process; one (scripted, its
 * input from a file) sends messages made of escape sequences, a library client adds a bare CR, and the
 * other CLI, interactive in its tmux pane, must show them visibly escaped: {@code tmux capture-pane} finds
 * the screen not cleared, no colour from them, the pane's title unchanged. Skipped, saying so, where there
 * is no tmux.
 */
class TerminalSafetyProcessTest {

    private static final Duration BOUND = Duration.ofSeconds(60);
    private static final String CLEAR_AND_RED = "\u001b[2J\u001b[31mFAKE";
    private static final String OSC_TITLE = "\u001b]0;PWNED\u0007title";
    private static final String BACKSPACES = "abc\b\b\bXYZ";
    private static final String BIDI = "\u202Eevil-bidi";
    private static final String BARE_CR = "visible\rHIDDEN";
    /** An SGR sequence that sets the foreground red (31), alone or among other attributes. */
    private static final Pattern RED = Pattern.compile("\u001b\\[(?:[0-9;]*;)?31(?:;[0-9;]*)?m");

    private final String socket = "msgr-term-" + ProcessHandle.current().pid() + "-"
            + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
    private final List<String> sessions = new ArrayList<>();
    private final List<Long> panePids = new ArrayList<>();
    private final List<MessengerClient> clients = new ArrayList<>();
    private LocalCluster cluster;

    @AfterEach
    void tearDown() {
        clients.forEach(MessengerClient::close);
        for (String session : sessions) {
            tmuxQuietly("kill-session", "-t", session);
        }
        // Anything a pane started that outlived its session (the CLI JVMs), by PID.
        for (long pid : panePids) {
            ProcessHandle.of(pid).ifPresent(p -> {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            });
        }
        tmuxQuietly("kill-server"); // only the server of this test's own socket
        try {
            // tmux leaves its socket file behind; it lives under $TMUX_TMPDIR (default /tmp)/tmux-<uid>/.
            Process id = new ProcessBuilder("id", "-u").start();
            String uid = new String(id.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            Files.deleteIfExists(Path.of(System.getenv().getOrDefault("TMUX_TMPDIR", "/tmp"), "tmux-" + uid, socket));
        } catch (IOException e) {
            // nothing to tidy
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void escapeSequencesFromOtherUsersAreShownEscapedAndNeverActOnTheTerminal() throws Exception {
        assumeTrue(tmuxAvailable(), "tmux is not installed (apt-get install -y tmux): the terminal test is SKIPPED");
        cluster = LocalCluster.create("tmux-terminal", 1, List.of()).start();
        cluster.awaitLeader();
        Path dir = cluster.dir().resolve("tmux");
        Files.createDirectories(dir);

        String receiver = socket + "-bob";
        startInTmux(receiver, cli(dir, "bob", List.of()) + "; sleep 600");
        await("bob's interactive CLI shows its prompt").atMost(BOUND).pollInterval(Duration.ofMillis(250))
                .until(() -> capture(receiver, false).contains("lobby>"));

        Path script = dir.resolve("mallory.txt");
        Files.writeString(script, String.join("\n", "before-the-attack", CLEAR_AND_RED, OSC_TITLE, BACKSPACES, BIDI,
                "after-the-attack") + "\n", StandardCharsets.UTF_8);
        String sender = socket + "-mallory";
        startInTmux(sender, cli(dir, "mallory", List.of("--scripted")) + " < '" + script + "'"
                + "; echo SENDER-EXIT=$?; sleep 600");
        await("mallory's scripted CLI sent everything and exited").atMost(BOUND).pollInterval(Duration.ofMillis(250))
                .until(() -> capture(sender, false).contains("SENDER-EXIT="));
        assertThat(capture(sender, false)).as("the scripted sender's own transcript is escaped too")
                .contains("SENDER-EXIT=0").contains("\\e[2J\\e[31mFAKE");

        // A bare CR cannot travel as a line of a script: a library client sends it.
        MessengerClient eve = MessengerClient.builder().servers(cluster.clientAddresses()).username("eve")
                .room("lobby").joinTimeout(BOUND).build();
        clients.add(eve);
        eve.connect().get(BOUND.toSeconds(), TimeUnit.SECONDS);
        eve.send(BARE_CR).get(BOUND.toSeconds(), TimeUnit.SECONDS);

        await("bob's pane shows every message").atMost(BOUND).pollInterval(Duration.ofMillis(250))
                .until(() -> capture(receiver, false).contains("visible\\rHIDDEN"));
        String plain = capture(receiver, false);
        String withAttributes = capture(receiver, true);
        Files.writeString(dir.resolve("bob-pane.txt"), withAttributes, StandardCharsets.UTF_8);
        System.out.println("TerminalSafetyProcessTest: bob's pane:\n" + plain);

        assertThat(plain).as("each message visibly escaped")
                .contains("mallory: \\e[2J\\e[31mFAKE")
                .contains("mallory: \\e]0;PWNED\\u0007title")
                .contains("mallory: abc\\u0008\\u0008\\u0008XYZ")
                .contains("mallory: \\u202eevil-bidi")
                .contains("eve: visible\\rHIDDEN");
        assertThat(plain).as("the screen was not cleared: what came before is still on it")
                .contains("mallory: before-the-attack").contains("mallory: after-the-attack");
        assertThat(plain.indexOf("before-the-attack")).isLessThan(plain.indexOf("FAKE"));
        assertThat(withAttributes).as("no red from the message (capture-pane -e shows every attribute)")
                .doesNotContainPattern(RED);
        assertThat(withAttributes.lines().filter(l -> l.contains("FAKE") || l.contains("HIDDEN")
                || l.contains("evil-bidi") || l.contains("PWNED")))
                .as("the lines of those messages carry no attribute at all")
                .isNotEmpty().allSatisfy(l -> assertThat(l).doesNotContain("\u001b"));
        assertThat(plain).as("no raw control characters reached the screen")
                .doesNotContain("\u001b").doesNotContain("\b").doesNotContain("\u202e").doesNotContain("\r");
        assertThat(tmux("display-message", "-p", "-t", receiver, "#{pane_title}"))
                .as("the OSC sequence did not retitle the pane").doesNotContain("PWNED");
    }

    /** The shell command that runs the CLI jar for {@code user} in room lobby. */
    private String cli(Path dir, String user, List<String> extra) {
        String java = ProcessHandle.current().info().command().orElse("java");
        return "'" + java + "' -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -jar '" + AppJars.client() + "'"
                + " --log-file '" + dir.resolve(user + ".log") + "' --servers " + cluster.clientAddresses()
                + " " + String.join(" ", extra) + " " + user + " lobby";
    }

    private void startInTmux(String session, String shellCommand) {
        tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "40", shellCommand);
        sessions.add(session);
        String pid = tmux("display-message", "-p", "-t", session, "#{pane_pid}").trim();
        panePids.add(Long.parseLong(pid));
    }

    /** The visible pane, wrapped lines joined; with {@code attributes}, as escape sequences ({@code -e}). */
    private String capture(String session, boolean attributes) {
        return attributes ? tmux("capture-pane", "-p", "-J", "-e", "-t", session)
                : tmux("capture-pane", "-p", "-J", "-t", session);
    }

    private static boolean tmuxAvailable() {
        try {
            Process p = new ProcessBuilder("tmux", "-V").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private String tmux(String... args) {
        List<String> command = new ArrayList<>(List.of("tmux", "-L", socket));
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private void tmuxQuietly(String... args) {
        try {
            tmux(args);
        } catch (RuntimeException e) {
            // already gone
        }
    }
}
