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
}
