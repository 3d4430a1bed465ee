package io.messenger.containers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.messenger.client.MessengerClient;
import io.messenger.client.RejectedException;
import io.messenger.e2e.HistoryChecker;
import io.messenger.e2e.NodeStatus;
import io.messenger.proto.client.Rejection;
import io.messenger.server.auth.TokenMinter;

/**
 * The deploy/ image as a 3-node cluster, with clients chatting through the real client library while
 * the leader's container is killed, paused, cut from the network, and while every container restarts.
 * The cluster runs as {@code make deploy} runs it: peer mutual TLS, client TLS and signed user tokens
 * (ES256); every client connects over TLS with a token, and the first test checks that clients without
 * a valid one are turned away.
 * After each fault: nothing acknowledged is lost, nothing is delivered twice, every client sees one order
 * of the room, no epoch ever had two leaders, and all nodes converge on one commit index. The nodes run
 * with Netty's paranoid leak detector and their logs must not report a leak.
 * Skipped, with the reason, when no Docker engine answers.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(DockerEngineCondition.class)
class ClusterFailoverContainerTest {

    private static final Logger log = LoggerFactory.getLogger(ClusterFailoverContainerTest.class);
    private static final Duration ELECTION = Duration.ofSeconds(30);
    private static final Duration HEAL = Duration.ofSeconds(90);
    private static final Duration SETTLE = Duration.ofSeconds(60);
    private static final Duration SEND_INTERVAL = Duration.ofMillis(50);
    /** Acknowledgements the cluster must give while the fault is on (2 writers: about 40 a second). */
    private static final int FAULT_ACKS = 60;
    private static final Path LOGS = Paths.get("target", "container-logs");

    private static ContainerCluster cluster;
    private static LeaderWatch leaders;

    private ChatTraffic traffic;

    @BeforeAll
    static void startCluster() {
        String image = NodeImage.resolve();
        long started = System.nanoTime();
        cluster = ContainerCluster.start(image, 3);
        int leader = cluster.awaitLeader(ELECTION);
        log.info("cluster up with leader node{} {} ms after start", leader, (System.nanoTime() - started) / 1_000_000);
        leaders = LeaderWatch.start(cluster, Duration.ofMillis(100));
    }

    @AfterEach
    void stopTraffic() {
        if (traffic != null) {
            traffic.close();
        }
    }

    @AfterAll
    static void stopCluster() {
        if (leaders != null) {
            leaders.close();
        }
        if (cluster != null) {
            cluster.saveLogs(LOGS);
            cluster.close();
        }
    }

    @Test
    @Order(0)
    void onlyClientsWithAValidTokenJoinOverTls() throws Exception {
        cluster.awaitLeader(ELECTION);
        TokenMinter otherKey = TokenMinter.privateKey(freshEcPrivateKey());
        Instant now = Instant.now();

        assertThat(refusal("mallory", builder -> builder))
                .as("a client without a token").isEqualTo(Rejection.Reason.UNAUTHENTICATED);
        assertThat(refusal("mallory", builder -> builder.token(otherKey.mint("mallory", null, Duration.ofHours(1), now))))
                .as("a client whose token another key signed").isEqualTo(Rejection.Reason.UNAUTHENTICATED);
        assertThat(refusal("mallory", builder -> builder.token(cluster.token("alice"))))
                .as("a client with a valid token for another username").isEqualTo(Rejection.Reason.UNAUTHENTICATED);

        // Writers and readers with valid tokens chat in the same room, and none of the refused ever joined it.
        traffic = startTraffic("auth");
        settleAndCheck("auth");
        assertThat(traffic.membersSeen()).as("members the chatting clients saw in room auth")
                .doesNotContain("mallory");
    }

    /** Connects a client over TLS as {@code user} to room auth and returns why the cluster refused it. */
    private static Rejection.Reason refusal(String user, UnaryOperator<MessengerClient.Builder> token)
            throws InterruptedException {
        try (MessengerClient client = token.apply(MessengerClient.builder()
                        .servers(cluster.seeds())
                        .username(user)
                        .room("auth")
                        .trustedCa(cluster.caFile()))
                .build()) {
            Throwable failure = catchThrowable(() -> client.connect().get(ELECTION.toMillis(), TimeUnit.MILLISECONDS));
            assertThat(failure).as("connecting as " + user).isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(RejectedException.class);
            RejectedException rejected = (RejectedException) failure.getCause();
            log.info("auth: {} refused: {} ({})", user, rejected.reason(), rejected.getMessage());
            return rejected.reason();
        }
    }

    /** A P-256 key the cluster does not know. */
    private static PrivateKey freshEcPrivateKey() throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return generator.generateKeyPair().getPrivate();
    }

    @Test
    @Order(1)
    void killedLeaderIsReplacedWithoutLosingAcknowledgedMessages() {
        int leader = cluster.awaitLeader(ELECTION);
        traffic = startTraffic("kill");
        long faultAt = System.nanoTime();
        cluster.kill(leader);
        int next = cluster.awaitLeader(ELECTION, others(leader));
        log.info("kill: node{} killed, node{} leads {} ms later", leader, next, (System.nanoTime() - faultAt) / 1_000_000);
        // Keep the fault on while the new leader serves a while: the old one must notice, too.
        traffic.awaitMoreAcked(FAULT_ACKS, ELECTION);
        cluster.startAgain(leader);
        settleAndCheck("kill");
    }

    @Test
    @Order(2)
    void pausedLeaderIsReplacedAndRejoinsAsBackup() {
        int leader = cluster.awaitLeader(ELECTION);
        traffic = startTraffic("pause");
        long faultAt = System.nanoTime();
        cluster.pause(leader);
        int next = cluster.awaitLeader(ELECTION, others(leader));
        log.info("pause: node{} paused, node{} leads {} ms later", leader, next, (System.nanoTime() - faultAt) / 1_000_000);
        // Keep the fault on while the new leader serves a while: the old one must notice, too.
        traffic.awaitMoreAcked(FAULT_ACKS, ELECTION);
        cluster.unpause(leader);
        settleAndCheck("pause");
    }

    @Test
    @Order(3)
    void leaderCutFromTheNetworkIsReplacedAndCatchesUp() {
        int leader = cluster.awaitLeader(ELECTION);
        traffic = startTraffic("partition");
        long faultAt = System.nanoTime();
        cluster.disconnect(leader);
        int next = cluster.awaitLeader(ELECTION, others(leader));
        log.info("partition: node{} cut off, node{} leads {} ms later", leader, next,
                (System.nanoTime() - faultAt) / 1_000_000);
        // Keep the fault on while the new leader serves a while: the old one must notice, too.
        traffic.awaitMoreAcked(FAULT_ACKS, ELECTION);
        cluster.reconnect(leader);
        settleAndCheck("partition");
    }

    @Test
    @Order(4)
    void restartOfEveryContainerKeepsTheLogAndTheRoom() {
        cluster.awaitLeader(ELECTION);
        traffic = startTraffic("restart");
        long before = cluster.statuses().values().stream().mapToLong(NodeStatus::commitIndex).max().orElse(0);
        long faultAt = System.nanoTime();
        cluster.restartAll();
        int leader = cluster.awaitLeader(HEAL);
        log.info("restart: all nodes restarted, node{} leads {} ms later", leader, (System.nanoTime() - faultAt) / 1_000_000);
        traffic.awaitMoreAcked(20, HEAL);
        settleAndCheck("restart");
        assertThat(cluster.awaitConverged(SETTLE, before)).as("commit index after the restart").isGreaterThan(before);
    }

    @Test
    @Order(5)
    void nodesReportNoBufferLeak() {
        cluster.logs().forEach((id, text) -> assertThat(text).as("node%d's log", id).doesNotContain("LEAK: "));
    }

    private ChatTraffic startTraffic(String room) {
        ChatTraffic started = ChatTraffic.start(cluster, room, 2, 2, SEND_INTERVAL);
        started.awaitMoreAcked(20, ELECTION);
        return started;
    }

    private void settleAndCheck(String scenario) {
        cluster.awaitHealthy(HEAL);
        cluster.awaitLeader(ELECTION);
        traffic.awaitMoreAcked(20, ELECTION);
        traffic.stopAndSettle(SETTLE);
        long commit = cluster.awaitConverged(SETTLE, traffic.acked());
        log.info("{}: {} sends, longest pause between acknowledgements {} ms, all nodes at commit index {}",
                scenario, traffic.sendCount(), traffic.longestAckGap().toMillis(), commit);
        HistoryChecker.Verdict verdict = traffic.check();
        log.info("{}: {}", scenario, verdict.summary());
        assertThat(verdict.ok()).as("exactly-once breaches in room %s: %s", scenario, verdict).isTrue();
        assertThat(verdict.unacked()).as("sends not acknowledged in room %s: %s", scenario, verdict.unackedSends())
                .isZero();
        log.info("{}: leaders by epoch so far {}", scenario, leaders.leadersByEpoch());
        assertThat(leaders.violations()).as("epochs with two leaders, seen by sampling /status").isEmpty();
    }

    private static List<Integer> others(int node) {
        return cluster.ids().stream().filter(id -> id != node).toList();
    }
}
