package io.messenger.server.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.cluster.Role;
import io.messenger.proto.chat.ChatCommand;
import io.messenger.proto.chat.DetachSession;
import io.messenger.proto.chat.OpenSession;
import io.messenger.server.InProcessReplicator;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LeaderDutiesTest {

    private final ChatStateMachine chat = new ChatStateMachine(1, ChatLimits.DEFAULTS, new LocalConnections());
    private final AtomicLong clock = new AtomicLong(100_000);

    private static byte[] open(String session, String user, long epoch) {
        return ChatCommand.newBuilder().setTimestampMs(1).setOpenSession(OpenSession.newBuilder()
                .setSessionId(session).setUsername(user).setRoom("lobby").setClientId(user + "-c")
                .setNodeId(2).setLeaderEpoch(epoch)).build().toByteArray();
    }

    @Test
    void aNewLeaderDetachesEarlierSessionsAndExpiresThemAfterTheGrace() throws Exception {
        try (InProcessReplicator log = InProcessReplicator.threaded(chat);
             LeaderDuties duties = new LeaderDuties(1, log, chat, Duration.ofSeconds(15), clock::get)) {
            log.become(Role.BACKUP, 1, 2, "127.0.0.1:7002");
            duties.start();
            log.become(Role.LEADER, 1, 1, "127.0.0.1:7001");
            log.propose(open("s1", "alice", 1)).get(30, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(30)).until(() -> log.logSize() >= 2); // epoch 1 announced

            log.become(Role.LEADER, 2, 1, "127.0.0.1:7001");
            await().atMost(Duration.ofSeconds(30)).until(() -> chat.earliestDetachedMs() == 100_000);
            assertThat(chat.members("lobby")).containsExactly("alice");

            clock.addAndGet(16_000);
            await().atMost(Duration.ofSeconds(30)).until(() -> chat.members("lobby").isEmpty());
            assertThat(chat.earliestDetachedMs()).isEqualTo(Long.MAX_VALUE);
        }
    }

    @Test
    void aBackupProposesNothing() throws Exception {
        try (InProcessReplicator log = InProcessReplicator.threaded(chat);
             LeaderDuties duties = new LeaderDuties(1, log, chat, Duration.ofMillis(100), clock::get)) {
            log.propose(open("s1", "alice", 1)).get(30, TimeUnit.SECONDS);
            log.propose(ChatCommand.newBuilder().setTimestampMs(1).setDetachSession(
                    DetachSession.newBuilder().setSessionId("s1")).build().toByteArray()).get(30, TimeUnit.SECONDS);
            log.become(Role.BACKUP, 3, 2, "127.0.0.1:7002");
            duties.start();
            clock.addAndGet(60_000);
            // The absence of proposals is the point: the log must stay as it is for a while.
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(10)).until(() -> log.logSize() == 2);
        }
    }
}
