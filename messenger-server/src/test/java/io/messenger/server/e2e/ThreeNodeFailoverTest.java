package io.messenger.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.client.ChatMessage;
import io.messenger.client.MessengerClient;
import io.messenger.client.MessengerListener;
import io.messenger.client.PresenceEvent;
import io.messenger.client.RejectedException;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Rejection;
import io.messenger.server.Setting;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real nodes in one JVM: the leader goes away while clients chat, and the chat state
 * (device slots, dedup, history) carries over to the new leader through the log.
 */
class ThreeNodeFailoverTest {

    @TempDir
    Path dir;
    private final List<TestNode> nodes = new ArrayList<>();
    private final List<MessengerClient> clients = new ArrayList<>();
    private String servers;

    private void startCluster(String sessionGrace) throws InterruptedException {
        int[] peer = {TestNode.freePort(), TestNode.freePort(), TestNode.freePort()};
        int[] client = {TestNode.freePort(), TestNode.freePort(), TestNode.freePort()};
        String peers = IntStream.range(0, 3).mapToObj(i -> (i + 1) + "=127.0.0.1:" + peer[i])
                .collect(Collectors.joining(","));
        for (int i = 0; i < 3; i++) {
            nodes.add(new TestNode(dir.resolve("node-" + (i + 1)), Map.of(
                    Setting.NODE_ID, Integer.toString(i + 1),
                    Setting.PEERS, peers,
                    Setting.PEER_PORT, Integer.toString(peer[i]),
                    Setting.CLIENT_PORT, Integer.toString(client[i]),
                    Setting.SESSION_GRACE, sessionGrace)).start());
        }
        servers = IntStream.range(0, 3).mapToObj(i -> "127.0.0.1:" + client[i]).collect(Collectors.joining(","));
        await().atMost(Duration.ofSeconds(10)).until(() -> leader() != null);
    }

    @AfterEach
    void stop() {
        clients.forEach(MessengerClient::close);
        nodes.forEach(TestNode::close);
    }

    private TestNode leader() {
        return nodes.stream().filter(n -> n.server() != null && n.leads()).findFirst().orElse(null);
    }


    private MessengerClient client(String user, String clientId, MessengerListener listener) {
        MessengerClient c = MessengerClient.builder().servers(servers).username(user).room("lobby")
                .clientId(clientId).listener(listener).joinTimeout(Duration.ofSeconds(10)).build();
        clients.add(c);
        return c;
    }

    @Test
    void chatCarriesOnAcrossALeaderChangeExactlyOnceAndDeviceSlotsHold() throws Exception {
        startCluster("15s");
        Inbox aliceInbox = new Inbox();
        client("alice", "alice-phone", aliceInbox).connect().get(10, TimeUnit.SECONDS);
        client("alice", "alice-laptop", new Inbox()).connect().get(10, TimeUnit.SECONDS);
        MessengerClient bob = client("bob", "bob-phone", new Inbox());
        bob.connect().get(10, TimeUnit.SECONDS);

        List<CompletableFuture<Long>> acks = new ArrayList<>();
        for (int i = 1; i <= 20; i++) {
            acks.add(bob.send("before " + i));
        }
        acks.get(19).get(10, TimeUnit.SECONDS);

        TestNode old = leader();
        old.close();
        for (int i = 1; i <= 20; i++) {
            acks.add(bob.send("after " + i));
        }
        for (CompletableFuture<Long> ack : acks) {
            ack.get(20, TimeUnit.SECONDS);
        }
        assertThat(acks.stream().map(CompletableFuture::join).distinct().count()).isEqualTo(40);

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(aliceInbox.messages)
                .extracting(ChatMessage::text).hasSize(40));
        List<String> expected = new ArrayList<>();
        IntStream.rangeClosed(1, 20).forEach(i -> expected.add("before " + i));
        IntStream.rangeClosed(1, 20).forEach(i -> expected.add("after " + i));
        assertThat(aliceInbox.messages).extracting(ChatMessage::text).isEqualTo(expected);
        assertThat(aliceInbox.messages).extracting(ChatMessage::roomSeq)
                .isEqualTo(IntStream.rangeClosed(1, 40).mapToObj(i -> (long) i).toList());

        // alice's two devices came back to the new leader as the same devices: a third is refused.
        MessengerClient tablet = client("alice", "alice-tablet", new Inbox());
        try {
            tablet.connect().get(20, TimeUnit.SECONDS);
            throw new AssertionError("a third device was accepted after failover");
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(RejectedException.class);
            assertThat(((RejectedException) e.getCause()).reason()).isEqualTo(Rejection.Reason.TOO_MANY_DEVICES);
        }
        assertThat(aliceInbox.presence).extracting(PresenceEvent::kind).doesNotContain(PresenceEvent.Kind.LEFT);
    }

    @Test
    void aSessionThatNeverComesBackExpiresAndIsAnnouncedGone() throws Exception {
        startCluster("1s");
        Inbox aliceInbox = new Inbox();
        client("alice", "alice-phone", aliceInbox).connect().get(10, TimeUnit.SECONDS);
        // Leadership may still move once while the nodes link up: join wherever it is now.
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            TestNode leader = leader();
            if (leader == null) {
                return false;
            }
            try (RawClient carol = RawClient.connect(leader.clientPort())) {
                carol.write(RawClient.hello("carol", "lobby", "carol-1"));
                return carol.next().getBodyCase() == ClientEnvelope.BodyCase.WELCOME;
            } // closed without Bye: the session is only detached
        });

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(aliceInbox.presence)
                .extracting(PresenceEvent::username, PresenceEvent::kind)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("carol", PresenceEvent.Kind.JOINED),
                        org.assertj.core.groups.Tuple.tuple("carol", PresenceEvent.Kind.LEFT)));
        for (TestNode n : nodes) {
            await().atMost(Duration.ofSeconds(5)).until(() -> !n.server().chat().members("lobby").contains("carol"));
        }
    }
}
