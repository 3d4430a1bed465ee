package io.messenger.server.chat;

import static io.messenger.proto.client.ClientEnvelope.BodyCase.DELIVER;
import static io.messenger.proto.client.ClientEnvelope.BodyCase.WELCOME;
import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Deliver;
import io.messenger.proto.client.Welcome;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The chat state machine with its durable store: retention, resume and joins beyond the in-memory window. */
class HistoryRetentionTest {

    /** An in-memory window of 20 messages (and history size 10). */
    private static final ChatLimits SMALL_WINDOW = new ChatLimits(10, 20, 2, 4096, 4096);

    @TempDir
    Path dir;

    private static List<Long> seqs(List<Deliver> ds) {
        return ds.stream().map(Deliver::getRoomSeq).toList();
    }

    /** Every message a connection received as history and deliveries, in order. */
    private static List<Long> received(RecordingConnection c) {
        List<Long> out = new ArrayList<>();
        for (ClientEnvelope e : c.frames) {
            if (e.getBodyCase() == WELCOME) {
                out.addAll(seqs(e.getWelcome().getHistoryList()));
            } else if (e.getBodyCase() == DELIVER) {
                out.add(e.getDeliver().getRoomSeq());
            }
        }
        return out;
    }

    private static void post(ChatScript chat, int n) {
        for (int i = 1; i <= n; i++) {
            chat.post("s1", "phone", i, "message " + i);
        }
    }

    @Test
    void aResumeFromBeyondTheWindowIsServedInFullFromTheStore() throws Exception {
        try (HistoryStore store = HistoryStore.open(dir)) {
            ChatScript chat = new ChatScript(SMALL_WINDOW, store, HistoryRetention.UNLIMITED);
            chat.join("s1", "alice", "lobby", "phone");
            post(chat, 5000);

            RecordingConnection back = chat.connect("s2");
            chat.resume("s2", "bob", "lobby", "bob-phone", 100);

            Welcome w = back.frames.get(0).getWelcome();
            assertThat(w.getHistoryTruncated()).isFalse();
            assertThat(w.getFirstAvailableSeq()).isEqualTo(1);
            assertThat(received(back)).isEqualTo(LongStream.rangeClosed(101, 5000).boxed().toList());
            assertThat(w.getRoomSeq()).as("the Welcome names its last message").isLessThan(5000);
        }
    }

    @Test
    void aJoinMayAskForMoreThanTheWindow() throws Exception {
        try (HistoryStore store = HistoryStore.open(dir)) {
            ChatScript chat = new ChatScript(SMALL_WINDOW, store, HistoryRetention.UNLIMITED);
            chat.join("s1", "alice", "lobby", "phone");
            post(chat, 300);
            RecordingConnection c = chat.connect("s2");
            chat.apply(io.messenger.proto.chat.ChatCommand.newBuilder().setOpenSession(
                    io.messenger.proto.chat.OpenSession.newBuilder().setSessionId("s2").setUsername("bob")
                            .setRoom("lobby").setClientId("bob-phone").setNodeId(1).setLeaderEpoch(1)
                            .setHistoryCount(250)));
            assertThat(received(c)).isEqualTo(LongStream.rangeClosed(51, 300).boxed().toList());
        }
    }

    @Test
    void countRetentionDeletesTheOldestAndAResumeIsToldWhatIsGone() throws Exception {
        try (HistoryStore store = HistoryStore.open(dir)) {
            ChatScript chat = new ChatScript(SMALL_WINDOW, store, new HistoryRetention(1000, 0));
            chat.join("s1", "alice", "lobby", "phone");
            post(chat, 2500);

            ChatStateMachine.HistoryPage page = chat.machine.history("lobby", 0, 100000, Integer.MAX_VALUE);
            assertThat(page.firstAvailableSeq()).isEqualTo(1501);
            assertThat(seqs(page.messages())).isEqualTo(LongStream.rangeClosed(1501, 2500).boxed().toList());
            assertThat(page.more()).isFalse();
            // Physically deleted in steps of a hundredth of the bound (10 here), never read past the bound.
            assertThat(store.before("lobby", 0, Long.MAX_VALUE, 100000, Integer.MAX_VALUE).size())
                    .isBetween(1000, 1010);

            RecordingConnection back = chat.connect("s2");
            chat.resume("s2", "bob", "lobby", "bob-phone", 10);
            Welcome w = back.frames.get(0).getWelcome();
            assertThat(w.getHistoryTruncated()).isTrue();
            assertThat(w.getFirstAvailableSeq()).isEqualTo(1501);
            assertThat(received(back)).isEqualTo(LongStream.rangeClosed(1501, 2500).boxed().toList());
        }
    }

    @Test
    void ageRetentionFollowsTheLeaderTimeInTheCommands() throws Exception {
        try (HistoryStore store = HistoryStore.open(dir)) {
            long hour = 3_600_000;
            // 1 h of age: marks every 3.6 s of leader time.
            ChatScript chat = new ChatScript(SMALL_WINDOW, store, new HistoryRetention(0, hour));
            chat.join("s1", "alice", "lobby", "phone");
            chat.join("t1", "carol", "quiet", "carol-phone");
            for (int i = 1; i <= 100; i++) {
                chat.clock += 60_000; // one message a minute in lobby: 100 minutes
                chat.post("s1", "phone", i, "m" + i);
            }
            chat.post("t1", "carol-phone", 1, "the only message in quiet");
            // Now is minute 100; message 40 is exactly an hour old, so not older than the bound: 40..100 stay.
            ChatStateMachine.HistoryPage page = chat.machine.history("lobby", 0, 1000, Integer.MAX_VALUE);
            assertThat(page.firstAvailableSeq()).isEqualTo(40);
            assertThat(page.messages()).hasSize(61);

            // A room nobody writes to ages out by the sweeps that every command's leader time drives.
            chat.clock += 2 * hour;
            chat.detach("s1");
            assertThat(chat.machine.history("quiet", 0, 1000, Integer.MAX_VALUE).messages()).isEmpty();
            assertThat(chat.machine.history("lobby", 0, 1000, Integer.MAX_VALUE).firstAvailableSeq()).isEqualTo(101);
            assertThat(store.before("lobby", 0, Long.MAX_VALUE, 1000, Integer.MAX_VALUE)).isEmpty();
        }
    }

    @Test
    void replayOverALiveStoreConvergesToTheSameHistory() throws Exception {
        Path a = dir.resolve("a");
        try (HistoryStore store = HistoryStore.open(a)) {
            ChatScript chat = new ChatScript(SMALL_WINDOW, store, new HistoryRetention(300, 0));
            chat.join("s1", "alice", "lobby", "phone");
            post(chat, 1000);
            List<Deliver> before = chat.machine.history("lobby", 0, 500, Integer.MAX_VALUE).messages();
            String state = chat.machine.describe();

            // A restart without a snapshot applies the whole log again over the store it left.
            ChatStateMachine again = new ChatStateMachine(1, SMALL_WINDOW, new LocalConnections(), store,
                    new HistoryRetention(300, 0));
            for (int i = 0; i < chat.log.size(); i++) {
                again.apply(i + 1, chat.log.get(i).toByteString());
            }
            again.endOfBatch(chat.log.size());
            assertThat(again.describe()).isEqualTo(state);
            assertThat(again.history("lobby", 0, 500, Integer.MAX_VALUE).messages()).isEqualTo(before);
            assertThat(store.before("lobby", 0, Long.MAX_VALUE, 5000, Integer.MAX_VALUE).size()).isBetween(300, 303);
        }
    }
}
