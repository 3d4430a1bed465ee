package io.messenger.server.chat;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.proto.chat.ChatCommand;
import io.messenger.proto.chat.OpenSession;
import io.messenger.proto.chat.PostMessage;
import io.messenger.proto.client.ClientEnvelope;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The history store is written once per run of applies, and reads on the apply thread never miss the run so far. */
class StoreBatchingTest {

    private static final ChatLimits LIMITS = new ChatLimits(5, 20, 2, 1024, 4096);

    @TempDir
    Path dir;

    private static ChatCommand open(String sid, String user, String clientId) {
        return ChatCommand.newBuilder().setTimestampMs(1_000).setOpenSession(OpenSession.newBuilder().setSessionId(sid)
                .setUsername(user).setRoom("lobby").setClientId(clientId).setNodeId(1).setLeaderEpoch(1)).build();
    }

    private static ChatCommand post(long seq) {
        return ChatCommand.newBuilder().setTimestampMs(1_000 + seq).setPostMessage(PostMessage.newBuilder()
                .setSessionId("s1").setClientId("phone").setClientSeq(seq).setText("message " + seq)).build();
    }

    @Test
    void aRunOfAppliesIsWrittenAtItsEndAndAReadInTheRunSeesItAll() throws Exception {
        try (HistoryStore store = HistoryStore.open(dir)) {
            LocalConnections connections = new LocalConnections();
            ChatStateMachine machine = new ChatStateMachine(1, LIMITS, connections, store, HistoryRetention.UNLIMITED);
            machine.apply(1, open("s1", "alice", "phone").toByteString());
            for (int i = 1; i <= 30; i++) {
                machine.apply(1 + i, post(i).toByteString());
            }
            assertThat(store.appliedIndex()).as("nothing written before the run ends").isZero();
            machine.endOfBatch(31);
            assertThat(store.appliedIndex()).isEqualTo(31);

            // A second run: more posts, then a resume from before the in-memory window (20) in the same run.
            for (int i = 31; i <= 40; i++) {
                machine.apply(1 + i, post(i).toByteString());
            }
            RecordingConnection bob = new RecordingConnection();
            connections.register("s2", bob);
            machine.apply(42, open("s2", "bob", "bob-phone").toBuilder()
                    .setOpenSession(open("s2", "bob", "bob-phone").getOpenSession().toBuilder().setResume(true)
                            .setResumeAfter(5)).build().toByteString());
            assertThat(store.appliedIndex()).as("the read wrote the run so far first").isEqualTo(41);
            long[] seen = bob.frames.stream().flatMap(f -> f.hasWelcome()
                    ? f.getWelcome().getHistoryList().stream() : f.hasDeliver()
                    ? java.util.stream.Stream.of(f.getDeliver()) : java.util.stream.Stream.empty())
                    .mapToLong(d -> d.getRoomSeq()).toArray();
            assertThat(seen).containsExactly(java.util.stream.LongStream.rangeClosed(6, 40).toArray());
            assertThat(bob.frames.get(0).getBodyCase()).isEqualTo(ClientEnvelope.BodyCase.WELCOME);
        }
    }

    /**
     * A restarted node replays entries its store already holds (the log after its snapshot): they
     * rebuild the in-memory state without writing the store again, and the first entry past the
     * store's index writes as usual; the history read afterwards is whole and in order.
     */
    @Test
    void replayingEntriesTheStoreAlreadyHoldsWritesNothing() throws Exception {
        HistoryRetention retention = new HistoryRetention(25, 0);
        try (HistoryStore store = HistoryStore.open(dir)) {
            ChatStateMachine first = new ChatStateMachine(1, LIMITS, new LocalConnections(), store, retention);
            first.apply(1, open("s1", "alice", "phone").toByteString());
            for (int i = 1; i <= 40; i++) {
                first.apply(1 + i, post(i).toByteString());
                first.endOfBatch(1 + i);
            }
            long written = store.batchesWritten();
            assertThat(store.appliedIndex()).isEqualTo(41);

            // The same store under a machine rebuilt from the log (no snapshot): entries 1-41 again.
            ChatStateMachine replayed = new ChatStateMachine(1, LIMITS, new LocalConnections(), store, retention);
            replayed.apply(1, open("s1", "alice", "phone").toByteString());
            for (int i = 1; i <= 40; i++) {
                replayed.apply(1 + i, post(i).toByteString());
                replayed.endOfBatch(1 + i);
            }
            assertThat(store.batchesWritten()).as("no write for entries the store holds").isEqualTo(written);
            assertThat(replayed.describe(false)).isEqualTo(first.describe(false));

            replayed.apply(42, post(41).toByteString());
            replayed.endOfBatch(42);
            assertThat(store.batchesWritten()).isEqualTo(written + 1);
            assertThat(store.appliedIndex()).isEqualTo(42);
            ChatStateMachine.HistoryPage page = replayed.history("lobby", 0, 100, 1 << 20);
            assertThat(page.firstAvailableSeq()).isEqualTo(17);
            assertThat(page.messages()).extracting(d -> d.getRoomSeq())
                    .as("the newest 25, whole and in order, from the store")
                    .containsExactlyElementsOf(java.util.stream.LongStream.rangeClosed(17, 41).boxed().toList());
        }
    }
}
