package io.messenger.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.messenger.client.BufferFullException;
import io.messenger.client.ConnectionState;
import io.messenger.client.MessengerClient;
import io.messenger.client.RejectedException;
import io.messenger.proto.client.Rejection;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Promises of the client library that only a real cluster can show: a bounded buffer that fails fast
 * during a long outage and drains exactly once after it, and a device limit that survives failover while
 * still letting a device that lost its connection come back.
 */
class ClientContractProcessTest {

    private static final Duration JOIN_BOUND = Duration.ofSeconds(30);

    private final History history = new History();
    private final List<ChatParticipant> participants = new ArrayList<>();
    private final List<EventLoopGroup> groups = new ArrayList<>();
    private LocalCluster cluster;

    @AfterEach
    void tearDown() {
        for (ChatParticipant participant : participants) {
            try {
                participant.client().close();
            } catch (RuntimeException e) {
                // The device whose event loop the test shut down cannot say goodbye; the others still must close.
                System.out.println("close of " + participant.name() + " failed: " + e);
            }
        }
        groups.forEach(g -> g.shutdownGracefully(0, 1, TimeUnit.SECONDS));
        if (cluster != null) {
            cluster.close();
            assertThat(cluster.leakReports()).as("Netty leak reports in server logs").isEmpty();
        }
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void aFullBufferFailsFastDuringAnOutageAndDrainsExactlyOnceAfterIt() throws Exception {
        cluster = LocalCluster.create("outage", 3, List.of()).start();
        ChatParticipant carol = participant("carol1", "carol", "attic", b -> b.maxPendingSends(5));
        ChatParticipant watcher = participant("watch1", "watcher", "attic", b -> b);
        carol.join(JOIN_BOUND);
        watcher.join(JOIN_BOUND);
        carol.sendNext().get(10, TimeUnit.SECONDS);

        history.fault("all nodes killed");
        cluster.nodes().forEach(cluster::kill);
        await("carol notices the outage").atMost(Duration.ofSeconds(10))
                .until(() -> carol.client().state() == ConnectionState.RECONNECTING);
        List<CompletableFuture<Long>> buffered = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            buffered.add(carol.sendNext());
        }
        CompletableFuture<Long> overflow = carol.sendNext();

        assertThat(overflow).as("the sixth send fails at once").isCompletedExceptionally();
        assertThat(buffered).noneMatch(CompletableFuture::isDone);
        ExecutionException refused = assertThrows(ExecutionException.class,
                overflow::get);
        assertThat(refused.getCause()).isInstanceOf(BufferFullException.class);
        assertThat(refused.getCause().getMessage()).contains("buffer is full");
        System.out.println("ClientContractProcessTest: buffer full says: " + refused.getCause().getMessage());

        cluster.nodes().forEach(cluster::restart);
        cluster.awaitLeader();
        CompletableFuture.allOf(buffered.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        long end = buffered.get(4).get();
        await("the watcher sees the drained buffer").atMost(Duration.ofSeconds(20))
                .until(() -> history.receiver("watch1").lastSeq() >= end);

        HistoryChecker.Verdict verdict = HistoryChecker.check(history);
        System.out.println("ClientContractProcessTest: outage " + verdict.summary());
        assertThat(verdict.ok()).as(verdict.toString()).isTrue();
        assertThat(verdict.acked()).isEqualTo(6);
        assertThat(verdict.unacked()).isEqualTo(1);
        assertThat(verdict.unackedLanded()).as("the refused send never went out").isZero();
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void aThirdDeviceIsStillRefusedAfterFailoverButAReturningDeviceIsNot() throws Exception {
        cluster = LocalCluster.create("devices", 3, List.of()).start();
        ChatParticipant phone = participant("dana-phone", "dana", "den", b -> b.clientId("dana-phone"));
        EventLoopGroup laptopLoop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        groups.add(laptopLoop);
        ChatParticipant laptop = participant("dana-laptop", "dana", "den",
                b -> b.clientId("dana-laptop").eventLoopGroup(laptopLoop));
        phone.join(JOIN_BOUND);
        laptop.join(JOIN_BOUND);

        ServerProcess leader = cluster.awaitLeader();
        history.fault("kill leader " + leader.nodeId());
        cluster.kill(leader);
        cluster.awaitNewLeader(leader);
        await("both devices reconnected to the new leader").atMost(Duration.ofSeconds(20))
                .until(() -> phone.client().state() == ConnectionState.RECONNECTED
                        && laptop.client().state() == ConnectionState.RECONNECTED);

        ChatParticipant tablet = participant("dana-tablet", "dana", "den", b -> b.clientId("dana-tablet"));
        ExecutionException refused = assertThrows(ExecutionException.class,
                () -> tablet.join(JOIN_BOUND));
        assertThat(refused.getCause()).isInstanceOf(RejectedException.class);
        assertThat(((RejectedException) refused.getCause()).reason()).isEqualTo(Rejection.Reason.TOO_MANY_DEVICES);
        assertThat(refused.getCause().getMessage()).as("a sentence a person can act on").contains("dana")
                .endsWith(".");

        // The laptop loses its connection without saying goodbye (its network dies), then comes back with
        // the same client id: the same device, not a third one.
        laptopLoop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).syncUninterruptibly();
        ChatParticipant laptopAgain = participant("dana-laptop-again", "dana", "den",
                b -> b.clientId("dana-laptop"));
        laptopAgain.join(JOIN_BOUND);
        assertThat(laptopAgain.client().state().isOnline()).isTrue();
        assertThat(laptopAgain.sendNext().get(10, TimeUnit.SECONDS)).isPositive();
    }

    private ChatParticipant participant(String name, String user, String room,
            UnaryOperator<MessengerClient.Builder> tuning) {
        ChatParticipant participant = new ChatParticipant(history, name, cluster.clientAddresses(), user, room,
                tuning);
        participants.add(participant);
        return participant;
    }
}
