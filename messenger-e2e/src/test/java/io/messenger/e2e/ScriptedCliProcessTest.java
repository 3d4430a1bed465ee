package io.messenger.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The CLI chat client as a person would run it, through its launcher jar in scripted mode (stdin piped):
 * two people chat, a newcomer sees the last ten messages, a third device of one user is refused with a
 * sentence and a failing exit code, and a chat carries on in one order while the leader is SIGKILLed.
 */
class ScriptedCliProcessTest {

    private static final Duration BOUND = Duration.ofSeconds(30);
    /** A chat line of the transcript: {@code [HH:MM:SS] sender...: text}. */
    private static final Pattern CHAT_LINE = Pattern.compile("^\\[\\d{2}:\\d{2}:\\d{2}\\] (\\S+?)\\b.*?: (.*)$");
    /** The texts the scripts type: {@code <user>-<n>}. */
    private static final Pattern SCRIPTED_TEXT = Pattern.compile("\\b((?:alice|bob)-\\d+)\\b");

    @RegisterExtension
    final StartedProcesses processes = new StartedProcesses();
    private LocalCluster cluster;

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void twoPeopleChatANewcomerSeesTheLastTenAndAThirdDeviceIsRefused() {
        cluster = processes.adopt(LocalCluster.create("cli-single", 1, List.of())).start();
        CliSession alice = cli("alice", "alice", "lobby");
        awaitOnline(alice, "alice-0");
        CliSession bob = cli("bob", "bob", "lobby");
        awaitOnline(bob, "bob-0");

        for (int i = 1; i <= 6; i++) {
            alice.type("alice-" + i);
            bob.type("bob-" + i);
        }
        List<String> aliceSaw = awaitChat(alice, 14);
        List<String> bobSaw = awaitChat(bob, 14);
        assertThat(bobSaw).as("both transcripts show one order").isEqualTo(aliceSaw);
        assertThat(aliceSaw).filteredOn(t -> t.startsWith("alice-"))
                .containsExactly("alice-0", "alice-1", "alice-2", "alice-3", "alice-4", "alice-5", "alice-6");
        assertThat(alice.transcript()).as("alice's own lines are marked, bob's are not")
                .anyMatch(line -> line.matches("^\\[\\d{2}:\\d{2}:\\d{2}\\] alice \\(you\\): alice-1$"))
                .anyMatch(line -> line.matches("^\\[\\d{2}:\\d{2}:\\d{2}\\] bob: bob-1$"))
                .as("presence lines are distinct").contains("-- bob joined lobby --");

        CliSession carol = cli("carol", "carol", "lobby");
        List<String> carolSaw = awaitChat(carol, 10);
        assertThat(carolSaw).as("a newcomer sees the room's last 10 messages").isEqualTo(aliceSaw.subList(4, 14));

        CliSession aliceLaptop = cli("alice-laptop", "alice", "lobby");
        awaitOnline(aliceLaptop, "hello from the laptop");
        CliSession aliceTablet = cli("alice-tablet", "alice", "lobby");
        int exit = aliceTablet.awaitExit(BOUND);
        System.out.println("ScriptedCliProcessTest: third device refused with exit code " + exit + ": "
                + String.join(" ", aliceTablet.errors()));
        assertThat(exit).as("a refused third device exits with the documented code 3" + aliceTablet.describe())
                .isEqualTo(3);
        assertThat(String.join(" ", aliceTablet.errors())).as("stderr says why in a sentence")
                .containsIgnoringCase("device").doesNotContain("Exception").doesNotContain("\tat ");

        for (CliSession session : List.of(alice, bob, carol, aliceLaptop)) {
            session.endInput();
            assertThat(session.awaitExit(BOUND)).as(session.name() + " leaves cleanly at end of input"
                    + session.describe()).isZero();
        }
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void aChatSurvivesTheLeadersDeathInOneOrder() throws InterruptedException {
        cluster = processes.adopt(LocalCluster.create("cli-failover", 3, List.of())).start();
        CliSession alice = cli("alice", "alice", "lobby");
        awaitOnline(alice, "alice-0");
        CliSession bob = cli("bob", "bob", "lobby");
        awaitOnline(bob, "bob-0");

        int perPerson = 20;
        ServerProcess leader = cluster.awaitLeader();
        AtomicInteger typed = new AtomicInteger();
        CountDownLatch allTyped = new CountDownLatch(1);
        ScheduledExecutorService typist = Executors.newSingleThreadScheduledExecutor();
        try {
            // A person types a line now and then, not a burst: the kill lands mid-conversation.
            typist.scheduleAtFixedRate(() -> {
                int i = typed.incrementAndGet();
                if (i > perPerson) {
                    allTyped.countDown();
                    return;
                }
                alice.type("alice-" + i);
                bob.type("bob-" + i);
                if (i == perPerson / 3) {
                    cluster.kill(leader);
                }
            }, 0, 100, TimeUnit.MILLISECONDS);
            assertThat(allTyped.await(30, TimeUnit.SECONDS)).as("typing finished").isTrue();
        } finally {
            typist.shutdownNow();
        }
        cluster.awaitNewLeader(leader);

        int total = 2 * perPerson + 2;
        List<String> aliceSaw = awaitChat(alice, total);
        List<String> bobSaw = awaitChat(bob, total);
        System.out.println("ScriptedCliProcessTest: both transcripts hold " + aliceSaw.size() + " messages");
        assertThat(aliceSaw).as("alice's transcript is complete").hasSize(total).doesNotHaveDuplicates();
        assertThat(bobSaw).as("bob's transcript is the same order").isEqualTo(aliceSaw);
        for (CliSession session : List.of(alice, bob)) {
            session.endInput();
            assertThat(session.awaitExit(BOUND)).as(session.name() + session.describe()).isZero();
        }
    }

    private CliSession cli(String name, String user, String room) {
        CliSession session = CliSession.start(name, transcripts(),
                List.of("--servers", cluster.clientAddresses(), user, room));
        return processes.adopt(session);
    }

    private Path transcripts() {
        return cluster.dir().resolve("transcripts");
    }

    /** Says a first line and waits until it comes back marked as one's own: the client has joined. */
    private static void awaitOnline(CliSession session, String firstLine) {
        session.type(firstLine);
        session.awaitLine("its own first line", line -> line.endsWith("(you): " + firstLine), BOUND);
    }

    /** Waits until the transcript holds {@code count} scripted messages and returns their texts in order. */
    private static List<String> awaitChat(CliSession session, int count) {
        session.awaitLine(count + " scripted messages", line -> scriptedTexts(session).size() >= count, BOUND);
        return scriptedTexts(session);
    }

    private static List<String> chatLines(CliSession session) {
        return session.transcript().stream().filter(line -> CHAT_LINE.matcher(line).matches()).toList();
    }

    private static List<String> scriptedTexts(CliSession session) {
        List<String> texts = new ArrayList<>();
        for (String line : chatLines(session)) {
            Matcher text = SCRIPTED_TEXT.matcher(CHAT_LINE.matcher(line).replaceFirst("$2"));
            if (text.find()) {
                texts.add(text.group(1));
            }
        }
        return texts;
    }
}
