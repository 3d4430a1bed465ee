package io.messenger.client.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.client.FakeCluster;
import io.messenger.client.FakeRoom;
import io.messenger.client.FakeServer;
import io.messenger.client.MessengerClient;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Rejection;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZoneOffset;
import org.jline.terminal.Terminal;
import org.jline.terminal.impl.DumbTerminal;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The interactive mode on a dumb JLine terminal fed from a byte stream. */
class InteractiveChatTest {

    private FakeCluster cluster;
    private FakeRoom room;
    private FakeServer server;
    private final ByteArrayOutputStream screen = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @BeforeEach
    void setUp() throws Exception {
        cluster = new FakeCluster("lobby", 1);
        room = cluster.room();
        server = cluster.node(1);
    }

    @AfterEach
    void tearDown() throws Exception {
        cluster.close();
    }

    private int chat(String keys) throws Exception {
        // A DumbTerminal reads the stream directly (a pty-backed one would race its pump to end of input).
        InteractiveChat.TerminalSource terminal = () -> new DumbTerminal("test", Terminal.TYPE_DUMB,
                new ByteArrayInputStream(keys.getBytes(StandardCharsets.UTF_8)), screen, StandardCharsets.UTF_8);
        return new InteractiveChat(terminal, listener -> MessengerClient.builder().servers(server.hostPort())
                .username("alice").room("lobby").listener(listener).build(),
                new PrintStream(err, true, StandardCharsets.UTF_8), new Transcript("alice", ZoneOffset.UTC), "lobby",
                Duration.ofSeconds(10)).run();
    }

    @Test
    void chatsListsMembersAndQuits() throws Exception {
        room.post("bob", "earlier");

        int code = chat("hello\n/who\n/nope\n/quit\nnever sent\n");

        String out = screen.toString(StandardCharsets.UTF_8);
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        assertThat(out).contains("-- joined lobby on node 1 (" + server.hostPort() + ")")
                .contains("bob: earlier")
                .contains("alice (you): hello")
                .contains("-- in lobby: alice --")
                .contains("-- unknown command /nope; try /who, /history [N] or /quit --");
        assertThat(room.texts()).containsExactly("earlier", "hello");
    }

    @Test
    void endOfInputLeavesCleanly() throws Exception {
        assertThat(chat("bye all\n")).isZero();
        assertThat(room.texts()).containsExactly("bye all");
        // The client writes Bye as it leaves; the fake server reads it on its own event loop.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(server.received(ClientEnvelope.BodyCase.BYE)).hasSize(1));
    }

    @Test
    void refusalIsOneSentenceOnStderr() throws Exception {
        server.refuseWith(Rejection.Reason.TOO_MANY_DEVICES, "alice is already online on 2 devices.");
        assertThat(chat("")).isEqualTo(ExitCode.TOO_MANY_DEVICES);
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("alice is already online on 2 devices.\n");
    }
}
