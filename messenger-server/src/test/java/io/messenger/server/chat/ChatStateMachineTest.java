package io.messenger.server.chat;

import static io.messenger.proto.client.ClientEnvelope.BodyCase.ACK;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.DELIVER;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.PRESENCE;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.REJECTION;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.SEND_FAILED;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.WELCOME;
import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.proto.chat.CloseSession;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Deliver;
import io.messenger.proto.client.Presence;
import io.messenger.proto.client.Rejection;
import io.messenger.proto.client.SendFailed;
import io.messenger.proto.client.Welcome;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChatStateMachineTest {

    private final ChatScript chat = new ChatScript();

    private static Welcome welcome(RecordingConnection c) {
        assertThat(c.frames).isNotEmpty();
        assertThat(c.frames.get(0).getBodyCase()).isEqualTo(WELCOME);
        return c.frames.get(0).getWelcome();
    }

    private static List<Long> seqs(List<Deliver> delivers) {
        return delivers.stream().map(Deliver::getRoomSeq).toList();
    }

    private static List<String> presence(RecordingConnection c) {
        return c.of(PRESENCE).stream()
                .map(ClientEnvelope::getPresence)
                .map(p -> p.getUsername() + " " + p.getKind())
                .toList();
    }

    @Test
    void thirdDeviceIsRefusedWithASentence() {
        chat.join("s1", "alice", "lobby", "phone");
        chat.join("s2", "alice", "lobby", "laptop");
        RecordingConnection third = chat.connect("s3");

        Object outcome = chat.open("s3", "alice", "lobby", "tablet");

        assertThat(outcome).isInstanceOf(ChatOutcome.SessionRefused.class);
        assertThat(third.kinds()).containsExactly(REJECTION);
        Rejection r = third.frames.get(0).getRejection();
        assertThat(r.getReason()).isEqualTo(Rejection.Reason.TOO_MANY_DEVICES);
        assertThat(r.getMessage()).contains("alice").contains("2 devices").endsWith(".");
        assertThat(third.closed()).isTrue();
        // Another user is not affected by alice's devices.
        assertThat(chat.open("s4", "bob", "lobby", "bob-phone")).isInstanceOf(ChatOutcome.SessionOpened.class);
    }

    @Test
    void sameClientIdIsTheSameDeviceAndReplacesItsSessionQuietly() {
        RecordingConnection bob = chat.join("b1", "bob", "lobby", "bob-phone");
        RecordingConnection first = chat.join("s1", "alice", "lobby", "phone");
        chat.join("s2", "alice", "lobby", "laptop");
        bob.frames.clear();

        RecordingConnection again = chat.join("s3", "alice", "lobby", "phone");

        assertThat(welcome(again).getSessionId()).isEqualTo("s3");
        assertThat(first.closed()).as("old connection of the same device is kicked").isTrue();
        assertThat(bob.frames).as("no leave/join spam for a reconnect").isEmpty();
        // Still two devices: a third distinct client id is refused.
        assertThat(chat.open("s4", "alice", "lobby", "tablet")).isInstanceOf(ChatOutcome.SessionRefused.class);
    }

    @Test
    void freshJoinGetsTheLastTenMessagesThenLiveOnes() {
        chat.join("b1", "bob", "lobby", "bob-phone");
        for (int i = 1; i <= 15; i++) {
            chat.post("b1", "bob-phone", i, "m" + i);
        }
        RecordingConnection alice = chat.join("a1", "alice", "lobby", "phone");
        chat.post("b1", "bob-phone", 16, "live");

        Welcome w = welcome(alice);
        assertThat(seqs(w.getHistoryList())).containsExactly(6L, 7L, 8L, 9L, 10L, 11L, 12L, 13L, 14L, 15L);
        assertThat(w.getHistory(9).getText()).isEqualTo("m15");
        assertThat(w.getRoomSeq()).isEqualTo(15);
        assertThat(w.getMembersList()).containsExactly("alice", "bob");
        assertThat(w.getHistoryTruncated()).isFalse();
        assertThat(alice.kinds()).containsExactly(WELCOME, DELIVER);
        assertThat(alice.frames.get(1).getDeliver().getRoomSeq()).isEqualTo(16);
    }

    @Test
    void historySizeIsConfigurable() {
        ChatScript small = new ChatScript(new ChatLimits(3, 100, 2, 4096, 4096));
        small.join("b1", "bob", "lobby", "bob-phone");
        for (int i = 1; i <= 5; i++) {
            small.post("b1", "bob-phone", i, "m" + i);
        }
        assertThat(seqs(welcome(small.join("a1", "alice", "lobby", "phone")).getHistoryList()))
                .containsExactly(3L, 4L, 5L);
    }

    @Test
    void resumeSendsEverythingAfterThePositionWithinTheRetainedWindow() {
        ChatScript c = new ChatScript(new ChatLimits(10, 20, 2, 4096, 4096));
        c.join("b1", "bob", "lobby", "bob-phone");
        for (int i = 1; i <= 30; i++) {
            c.post("b1", "bob-phone", i, "m" + i);
        }

        c.connect("r1");
        c.resume("r1", "alice", "lobby", "a1", 25);
        Welcome recent = welcome(c.connections.find("r1").map(RecordingConnection.class::cast).orElseThrow());
        assertThat(seqs(recent.getHistoryList())).containsExactly(26L, 27L, 28L, 29L, 30L);
        assertThat(recent.getHistoryTruncated()).isFalse();

        RecordingConnection edge = c.connect("r2");
        c.resume("r2", "carol", "lobby", "c1", 10);
        assertThat(welcome(edge).getHistoryCount()).isEqualTo(20);
        assertThat(welcome(edge).getHistoryTruncated()).as("11..30 are all retained").isFalse();

        RecordingConnection old = c.connect("r3");
        c.resume("r3", "dave", "lobby", "d1", 5);
        assertThat(seqs(welcome(old).getHistoryList())).startsWith(11L).endsWith(30L).hasSize(20);
        assertThat(welcome(old).getHistoryTruncated()).as("6..10 are gone").isTrue();

        RecordingConnection upToDate = c.connect("r4");
        c.resume("r4", "erin", "lobby", "e1", 30);
        assertThat(welcome(upToDate).getHistoryCount()).isZero();
        assertThat(welcome(upToDate).getHistoryTruncated()).isFalse();
    }

    @Test
    void aBacklogTooBigForOneFrameFollowsTheWelcomeAsDeliveries() {
        chat.join("b1", "bob", "lobby", "bob-phone");
        for (int i = 1; i <= 100; i++) {
            chat.post("b1", "bob-phone", i, i + "x".repeat(4000));
        }
        RecordingConnection back = chat.connect("a1");
        chat.resume("a1", "alice", "lobby", "phone", 20);
        chat.post("b1", "bob-phone", 101, "live");

        ClientEnvelope first = back.frames.get(0);
        assertThat(first.getSerializedSize()).isLessThan(60 * 1024);
        Welcome w = first.getWelcome();
        assertThat(w.getHistoryCount()).isBetween(5, 15);
        assertThat(w.getRoomSeq()).as("history ends at the last message it carries")
                .isEqualTo(w.getHistory(w.getHistoryCount() - 1).getRoomSeq());
        List<Long> all = new java.util.ArrayList<>(seqs(w.getHistoryList()));
        back.frames.stream().skip(1).filter(f -> f.getBodyCase() == DELIVER)
                .forEach(f -> all.add(f.getDeliver().getRoomSeq()));
        assertThat(all).as("gap-free, in order, live last")
                .isEqualTo(java.util.stream.LongStream.rangeClosed(21, 101).boxed().toList());
    }

    @Test
    void resentSendIsAckedWithItsOriginalRoomSeqAndNotAppliedTwice() {
        RecordingConnection bob = chat.join("b1", "bob", "lobby", "bob-phone");
        RecordingConnection alice = chat.join("a1", "alice", "lobby", "phone");
        chat.post("a1", "phone", 1, "hello");
        chat.post("b1", "bob-phone", 1, "hi alice");
        // alice lost her connection before the ack and resends on a new session.
        RecordingConnection again = chat.connect("a2");
        chat.resume("a2", "alice", "lobby", "phone", 0);
        assertThat(welcome(again).getLastAppliedSendSeq()).isEqualTo(1);
        Object outcome = chat.post("a2", "phone", 1, "hello");

        assertThat(outcome).isEqualTo(new ChatOutcome.MessagePosted(1, 1, true));
        assertThat(again.of(ACK)).singleElement()
                .satisfies(a -> assertThat(a.getAck().getRoomSeq()).isEqualTo(1));
        assertThat(bob.of(DELIVER)).hasSize(2);
        assertThat(chat.post("a2", "phone", 2, "next")).isEqualTo(new ChatOutcome.MessagePosted(2, 3, false));
        assertThat(alice.of(ACK)).singleElement()
                .satisfies(a -> assertThat(a.getAck().getRoomSeq()).isEqualTo(1));
    }

    @Test
    void dedupRemembersAWindowOfSequences() {
        ChatScript c = new ChatScript(new ChatLimits(10, 100, 2, 4, 4096));
        RecordingConnection a = c.join("a1", "alice", "lobby", "phone");
        for (int i = 1; i <= 10; i++) {
            c.post("a1", "phone", i, "m" + i);
        }
        assertThat(c.post("a1", "phone", 7, "m7")).isEqualTo(new ChatOutcome.MessagePosted(7, 7, true));
        Object tooOld = c.post("a1", "phone", 2, "m2");
        assertThat(tooOld).isInstanceOf(ChatOutcome.PostRefused.class);
        assertThat(a.of(SEND_FAILED).get(0).getSendFailed().getReason()).isEqualTo(SendFailed.Reason.BAD_SEQUENCE);
        assertThat(c.machine.describe()).contains("room lobby seq=10");
    }

    @Test
    void freshInstanceOfADeviceNumbersFromOneAgain() {
        chat.join("a1", "alice", "lobby", "phone");
        chat.post("a1", "phone", 1, "first life");
        chat.join("a2", "alice", "lobby", "phone");
        assertThat(chat.post("a2", "phone", 1, "second life")).isEqualTo(new ChatOutcome.MessagePosted(1, 2, false));
    }

    @Test
    void presenceAnnouncesFirstArrivalAndLastDeparture() {
        RecordingConnection bob = chat.join("b1", "bob", "lobby", "bob-phone");
        RecordingConnection alice = chat.join("a1", "alice", "lobby", "phone");
        chat.join("a2", "alice", "lobby", "laptop");
        chat.join("x1", "carol", "elsewhere", "carol-phone");
        chat.close("a1", CloseSession.Reason.LEFT);
        assertThat(presence(bob)).containsExactly("alice JOINED");
        chat.close("a2", CloseSession.Reason.LEFT);

        assertThat(presence(bob)).containsExactly("alice JOINED", "alice LEFT");
        assertThat(presence(alice)).as("a newcomer is not told of its own arrival").isEmpty();
        assertThat(chat.machine.members("lobby")).containsExactly("bob");
    }

    @Test
    void detachedSessionKeepsItsDeviceSlotUntilItExpires() {
        RecordingConnection bob = chat.join("b1", "bob", "lobby", "bob-phone");
        chat.join("a1", "alice", "lobby", "phone");
        chat.join("a2", "alice", "lobby", "laptop");
        chat.clock = 2_000;
        chat.detach("a1");
        assertThat(chat.machine.earliestDetachedMs()).isEqualTo(2_000);
        assertThat(chat.open("a3", "alice", "lobby", "tablet")).isInstanceOf(ChatOutcome.SessionRefused.class);

        chat.clock = 10_000;
        chat.expire(1_999); // not yet 15 s
        assertThat(chat.open("a4", "alice", "lobby", "tablet")).isInstanceOf(ChatOutcome.SessionRefused.class);

        chat.clock = 17_500;
        chat.expire(17_500 - 15_000);
        assertThat(chat.machine.earliestDetachedMs()).isEqualTo(Long.MAX_VALUE);
        assertThat(presence(bob)).containsExactly("alice JOINED");
        assertThat(chat.open("a5", "alice", "lobby", "tablet")).isInstanceOf(ChatOutcome.SessionOpened.class);
    }

    @Test
    void expiryOfTheLastSessionAnnouncesLeft() {
        RecordingConnection bob = chat.join("b1", "bob", "lobby", "bob-phone");
        RecordingConnection alice = chat.join("a1", "alice", "lobby", "phone");
        chat.detach("a1");
        chat.clock += 20_000;
        chat.expire(chat.clock - 15_000);
        assertThat(presence(bob)).containsExactly("alice JOINED", "alice LEFT");
        assertThat(alice.closed()).isTrue();
    }

    @Test
    void newLeaderDetachesSessionsOfEarlierEpochs() {
        chat.join("a1", "alice", "lobby", "phone");
        chat.clock = 5_000;
        chat.leaderChanged(2, 2);
        assertThat(chat.machine.earliestDetachedMs()).isEqualTo(5_000);
        chat.join("b1", "bob", "lobby", "bob-phone");
        chat.clock = 30_000;
        chat.expire(15_000);
        assertThat(chat.machine.members("lobby")).containsExactly("bob");
    }

    @Test
    void aNewLeaderRestartsTheGraceOfSessionsThatDroppedBeforeIt() {
        chat.join("b1", "bob", "lobby", "bob-phone");
        chat.join("a1", "alice", "lobby", "phone");
        chat.clock = 1_000;
        chat.detach("a1"); // alice's node went down; then no leader served for 19 s
        chat.clock = 20_000;
        chat.leaderChanged(2, 2);
        assertThat(chat.machine.earliestDetachedMs()).isEqualTo(20_000);
        RecordingConnection bob = chat.join("b2", "bob", "lobby", "bob-phone"); // bob resumes at once

        chat.clock = 21_000;
        chat.expire(chat.clock - 15_000); // 20 s after alice dropped, 1 s into a serving leader
        assertThat(chat.machine.members("lobby")).containsExactly("alice", "bob");
        assertThat(presence(bob)).isEmpty();

        chat.clock = 36_000;
        chat.expire(chat.clock - 15_000);
        assertThat(chat.machine.members("lobby")).containsExactly("bob");
        assertThat(presence(bob)).containsExactly("alice LEFT");
    }

    @Test
    void sendOnAClosedSessionIsRefusedAndTheConnectionDropped() {
        RecordingConnection a = chat.join("a1", "alice", "lobby", "phone");
        chat.detach("a1");
        chat.clock += 20_000;
        chat.expire(chat.clock - 15_000);
        Object outcome = chat.post("a1", "phone", 1, "late");
        assertThat(outcome).isInstanceOf(ChatOutcome.PostRefused.class);
        assertThat(a.of(SEND_FAILED).get(0).getSendFailed().getReason()).isEqualTo(SendFailed.Reason.SESSION_CLOSED);
    }

    @Test
    void welcomeComesFirstAndPresenceGoesToOthers() {
        RecordingConnection bob = chat.join("b1", "bob", "lobby", "bob-phone");
        RecordingConnection alice = chat.join("a1", "alice", "lobby", "phone");
        chat.post("b1", "bob-phone", 1, "hi");
        assertThat(alice.kinds()).containsExactly(WELCOME, DELIVER);
        assertThat(bob.kinds()).containsExactly(WELCOME, PRESENCE, ACK, DELIVER);
        assertThat(bob.frames.get(1).getPresence().getKind()).isEqualTo(Presence.Kind.JOINED);
    }

    @Test
    void twoInstancesApplyingTheSameCommandsEndIdentical() {
        ChatLimits limits = new ChatLimits(10, 50, 2, 64, 4096);
        ChatScript leader = new ChatScript(limits);
        Random random = new Random(42);
        String[] users = {"alice", "bob", "carol"};
        String[] rooms = {"lobby", "dev"};
        long[] nextSeq = new long[9];
        String[] lastSession = new String[9];
        for (int step = 0; step < 3_000; step++) {
            leader.clock += random.nextInt(2_000);
            int device = random.nextInt(9);
            String user = users[device / 3];
            String client = user + "-" + device;
            String session = lastSession[device] == null || random.nextInt(8) == 0
                    ? client + "-gone" : lastSession[device];
            String fresh = client + "-" + step;
            switch (random.nextInt(10)) {
                case 0 -> {
                    if (random.nextBoolean()) {
                        leader.connect(fresh);
                    }
                    leader.open(fresh, user, rooms[random.nextInt(2)], client);
                    lastSession[device] = fresh;
                    nextSeq[device] = 0;
                }
                case 1 -> {
                    leader.resume(fresh, user, rooms[random.nextInt(2)], client, random.nextInt(100));
                    lastSession[device] = fresh;
                }
                case 2 -> leader.close(session, CloseSession.Reason.forNumber(1 + random.nextInt(3)));
                case 3 -> leader.detach(session);
                case 4 -> leader.expire(leader.clock - 15_000);
                case 5 -> leader.leaderChanged(1 + random.nextInt(3), leader.epoch + random.nextInt(2));
                default -> leader.post(session, client, random.nextInt(5) == 0 ? Math.max(1, nextSeq[device] - 2)
                        : ++nextSeq[device], "text " + step);
            }
        }
        ChatStateMachine backup = new ChatStateMachine(2, limits, new LocalConnections());
        for (int i = 0; i < leader.log.size(); i++) {
            backup.apply(i + 1, leader.log.get(i).toByteString());
        }
        assertThat(backup.describe()).isEqualTo(leader.machine.describe());
        assertThat(leader.machine.describe()).contains("room lobby").contains("room dev");
    }

    private static ChatLimits roomLimits(int maxRooms, int perUserPerMinute) {
        return new ChatLimits(10, 50, 2, 64, 4096, maxRooms, perUserPerMinute);
    }

    private static Rejection refusal(RecordingConnection c) {
        assertThat(c.kinds()).containsExactly(REJECTION);
        assertThat(c.closed()).isTrue();
        return c.frames.get(0).getRejection();
    }

    @Test
    void aUserMayCreateOnlySoManyRoomsAMinuteByLeaderTime() {
        ChatScript c = new ChatScript(roomLimits(1000, 3));
        for (int i = 1; i <= 3; i++) {
            c.clock += 1_000;
            assertThat(c.open("s" + i, "alice", "room" + i, "phone")).isInstanceOf(ChatOutcome.SessionOpened.class);
        }
        c.clock += 1_000; // 4 s after the first creation
        RecordingConnection fourth = c.connect("s4");
        Object outcome = c.open("s4", "alice", "room4", "phone");
        assertThat(outcome).isEqualTo(new ChatOutcome.SessionRefused(Rejection.Reason.TOO_MANY_ROOMS,
                refusal(fourth).getMessage()));
        assertThat(refusal(fourth).getMessage()).contains("alice").contains("3 rooms in the last minute")
                .contains("try again in 57 s").endsWith(".");
        assertThat(c.machine.describe()).doesNotContain("room room4").contains("session s3");
        // Joining a room that exists creates nothing and is not limited; another user has a budget of its own.
        assertThat(c.open("s5", "alice", "room1", "phone")).isInstanceOf(ChatOutcome.SessionOpened.class);
        assertThat(c.open("s6", "bob", "room4", "bob-phone")).isInstanceOf(ChatOutcome.SessionOpened.class);
        // A minute of leader time after the first creation, one more fits, not two.
        c.clock += 57_000;
        assertThat(c.open("s7", "alice", "room5", "phone")).isInstanceOf(ChatOutcome.SessionOpened.class);
        assertThat(c.open("s8", "alice", "room6", "phone")).isInstanceOf(ChatOutcome.SessionRefused.class);
    }

    @Test
    void theClusterHoldsAtMostMaxRooms() {
        ChatScript c = new ChatScript(roomLimits(3, 100));
        c.join("a", "alice", "one", "alice-1");
        c.join("b", "bob", "two", "bob-1");
        c.join("c", "carol", "three", "carol-1");
        RecordingConnection dave = c.connect("d");
        assertThat(c.open("d", "dave", "four", "dave-1")).isInstanceOf(ChatOutcome.SessionRefused.class);
        assertThat(refusal(dave).getReason()).isEqualTo(Rejection.Reason.TOO_MANY_ROOMS);
        assertThat(refusal(dave).getMessage()).contains("3 rooms").contains("join an existing room").endsWith(".");
        // Existing rooms stay open to everyone.
        RecordingConnection again = c.join("d2", "dave", "one", "dave-1");
        assertThat(welcome(again).getMembersList()).containsExactly("alice", "dave");
        c.clock += 3_600_000;
        assertThat(c.open("d3", "erin", "five", "erin-1")).as("a total, not a rate")
                .isInstanceOf(ChatOutcome.SessionRefused.class);
    }

    @Test
    void roomLimitsDecideTheSameOnEveryReplicaWhateverItsClock() {
        ChatLimits limits = roomLimits(20, 2);
        ChatScript leader = new ChatScript(limits);
        Random random = new Random(7);
        int refused = 0;
        for (int step = 0; step < 400; step++) {
            leader.clock += random.nextInt(20_000);
            String user = "user" + random.nextInt(4);
            Object outcome = leader.open("s" + step, user, "room" + random.nextInt(40), user + "-" + random.nextInt(2));
            if (outcome instanceof ChatOutcome.SessionRefused r && r.reason() == Rejection.Reason.TOO_MANY_ROOMS) {
                refused++;
            }
        }
        assertThat(refused).as("both limits were hit").isPositive();
        ChatStateMachine backup = new ChatStateMachine(2, limits, new LocalConnections());
        List<Object> outcomes = new java.util.ArrayList<>();
        for (int i = 0; i < leader.log.size(); i++) {
            outcomes.add(backup.apply(i + 1, leader.log.get(i).toByteString()));
        }
        assertThat(backup.describe()).isEqualTo(leader.machine.describe()).contains("rooms created");
        assertThat(outcomes.stream().filter(o -> o instanceof ChatOutcome.SessionRefused r
                && r.reason() == Rejection.Reason.TOO_MANY_ROOMS).count()).isEqualTo(refused);
        assertThat(leader.machine.describe().lines().filter(l -> l.startsWith("room ")).count()).isEqualTo(20);
    }
}
