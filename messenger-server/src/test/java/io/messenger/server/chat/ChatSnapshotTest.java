package io.messenger.server.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.messenger.cluster.StateMachine;
import io.messenger.proto.chat.ChatCommand;
import io.messenger.proto.chat.CloseSession;
import io.messenger.proto.chat.ChatSnapshot;
import io.messenger.proto.chat.ClientSendsSnapshot;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.Deliver;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Snapshot and restore of the chat state machine: a restored machine continues exactly like one that replayed. */
class ChatSnapshotTest {

    private static final ChatLimits LIMITS = new ChatLimits(5, 20, 2, 1024, 4096, 6, 3);
    private static final HistoryRetention RETENTION = new HistoryRetention(50, 3_600_000);
    private static final String[] ROOMS = {"r0", "r1", "r2", "r3"};

    @TempDir
    Path dir;

    /** Random commands of every kind, as leaders would propose them, with leader time moving on. */
    private static void randomCommands(ChatScript chat, Random random, int n) {
        List<String> opened = new ArrayList<>();
        long epoch = 1;
        for (int i = 0; i < n; i++) {
            chat.clock += random.nextInt(60_000);
            int user = random.nextInt(5);
            String clientId = "c" + user + "-" + random.nextInt(3);
            int op = random.nextInt(100);
            if (op < 12 || opened.isEmpty()) {
                String sid = "s" + i;
                opened.add(sid);
                if (random.nextBoolean()) {
                    chat.open(sid, "u" + user, ROOMS[random.nextInt(ROOMS.length)], clientId);
                } else {
                    chat.resume(sid, "u" + user, ROOMS[random.nextInt(ROOMS.length)], clientId, random.nextInt(200));
                }
            } else if (op < 80) {
                String sid = opened.get(random.nextInt(opened.size()));
                chat.post(sid, clientId, 1 + random.nextInt(400), "text " + i);
            } else if (op < 87) {
                chat.detach(opened.get(random.nextInt(opened.size())));
            } else if (op < 92) {
                chat.close(opened.get(random.nextInt(opened.size())),
                        random.nextBoolean() ? CloseSession.Reason.LEFT : CloseSession.Reason.DISCONNECTED);
            } else if (op < 97) {
                chat.expire(chat.clock - random.nextInt(120_000));
            } else {
                chat.leaderChanged(1 + random.nextInt(3), ++epoch);
            }
        }
    }

    private static List<Deliver> allHistory(ChatStateMachine m, String room) {
        ChatStateMachine.HistoryPage page = m.history(room, 0, 100_000, Integer.MAX_VALUE);
        return page == null ? List.of() : page.messages();
    }

    private static void applyFrom(ChatStateMachine m, List<ChatCommand> log, int from) {
        for (int i = from; i < log.size(); i++) {
            m.apply(i + 1, log.get(i).toByteString());
        }
        m.endOfBatch(log.size());
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void aRestoredMachineContinuesExactlyLikeTheOneThatReplayed(long seed) throws Exception {
        Random random = new Random(seed);
        int n = 1500;
        int k = 300 + random.nextInt(900);
        try (HistoryStore storeA = HistoryStore.open(dir.resolve("a"));
             HistoryStore storeB = HistoryStore.open(dir.resolve("b"))) {
            ChatScript a = new ChatScript(LIMITS, storeA, RETENTION);
            randomCommands(a, random, n);
            List<ChatCommand> log = a.log;

            // Replay A from scratch up to k, snapshot, apply a few more before writing (a fuzzy checkpoint).
            ChatStateMachine replayed = new ChatStateMachine(1, LIMITS, new LocalConnections(),
                    HistoryStore.open(dir.resolve("r")), RETENTION);
            for (int i = 0; i < k; i++) {
                replayed.apply(i + 1, log.get(i).toByteString());
            }
            StateMachine.Snapshot snap = replayed.snapshot();
            String atK = replayed.describe(false);
            for (int i = k; i < k + 20; i++) {
                replayed.apply(i + 1, log.get(i).toByteString());
            }
            replayed.endOfBatch(k + 20);
            Path snapDir = Files.createDirectories(dir.resolve("snap"));
            snap.writeTo(snapDir);

            ChatStateMachine restored = new ChatStateMachine(1, LIMITS, new LocalConnections(), storeB, RETENTION);
            restored.restore(snapDir);
            // The state at k; the messages come from the checkpoint, 20 entries ahead, until the replay.
            assertThat(restored.describe(false)).isEqualTo(atK);
            applyFrom(restored, log, k);

            assertThat(restored.describe()).isEqualTo(a.machine.describe());
            for (String room : ROOMS) {
                assertThat(allHistory(restored, room)).as(room).isEqualTo(allHistory(a.machine, room));
            }
            assertThat(restored.appliedIndex()).isEqualTo(n);
        }
    }

    private static List<Long> seqsSent(RecordingConnection c) {
        List<Long> out = new ArrayList<>();
        for (ClientEnvelope e : c.frames) {
            if (e.hasWelcome()) {
                e.getWelcome().getHistoryList().forEach(d -> out.add(d.getRoomSeq()));
            } else if (e.hasDeliver()) {
                out.add(e.getDeliver().getRoomSeq());
            }
        }
        return out;
    }

    /** A start checks only the sizes of the checkpoint's SST files (RocksDB checks their blocks itself). */
    @Test
    void onlyTheHistoryCheckpointsSstFilesCheckThemselves() throws Exception {
        Path snapDir = Files.createDirectories(dir.resolve("snap"));
        try (HistoryStore store = HistoryStore.open(dir.resolve("store"))) {
            ChatScript a = new ChatScript(LIMITS, store, HistoryRetention.UNLIMITED);
            a.join("s1", "alice", "lobby", "phone");
            for (int i = 1; i <= 20; i++) {
                a.post("s1", "phone", i, "message " + i);
            }
            a.machine.snapshot().writeTo(snapDir);
            List<String> names;
            try (java.util.stream.Stream<Path> files = Files.walk(snapDir)) {
                names = files.filter(Files::isRegularFile).map(f -> snapDir.relativize(f).toString().replace('\\', '/'))
                        .sorted().toList();
            }
            List<String> selfChecking = names.stream().filter(a.machine::snapshotFileChecksItself).toList();
            assertThat(selfChecking).as("the checkpoint's SST files").isNotEmpty()
                    .allSatisfy(n -> assertThat(n).startsWith("history/").endsWith(".sst"));
            assertThat(names).filteredOn(n -> !a.machine.snapshotFileChecksItself(n))
                    .contains(ChatStateMachine.SNAPSHOT_STATE_FILE, "history/CURRENT")
                    .noneMatch(n -> n.endsWith(".sst"));
        }
    }

    @Test
    void withAStoreTheSnapshotCarriesNoMessagesAndTheRestoredMachineServesJoinsAndResumesFromTheStore()
            throws Exception {
        Path snapDir = Files.createDirectories(dir.resolve("snap"));
        try (HistoryStore leader = HistoryStore.open(dir.resolve("leader"));
             HistoryStore backup = HistoryStore.open(dir.resolve("backup"))) {
            ChatScript a = new ChatScript(LIMITS, leader, HistoryRetention.UNLIMITED);
            a.join("s1", "alice", "lobby", "phone");
            for (int i = 1; i <= 100; i++) {
                a.post("s1", "phone", i, "message " + i);
            }
            a.machine.snapshot().writeTo(snapDir);
            ChatSnapshot written = ChatSnapshot.parseFrom(
                    Files.readAllBytes(snapDir.resolve(ChatStateMachine.SNAPSHOT_STATE_FILE)));
            assertThat(written.getRoomsList()).singleElement().satisfies(r -> {
                assertThat(r.getLastSeq()).isEqualTo(100);
                assertThat(r.getWindowCount()).as("the window is left to the store").isZero();
            });

            ChatScript b = new ChatScript(LIMITS, backup, HistoryRetention.UNLIMITED);
            b.machine.restore(snapDir);
            b.log.addAll(a.log); // b numbers its next commands after the snapshot's index

            RecordingConnection joined = b.join("s2", "bob", "lobby", "bob-phone");
            assertThat(seqsSent(joined)).as("the last 5, from the store").containsExactly(96L, 97L, 98L, 99L, 100L);
            RecordingConnection resumed = b.connect("s3");
            b.resume("s3", "carol", "lobby", "carol-phone", 40);
            assertThat(seqsSent(resumed)).isEqualTo(LongStream.rangeClosed(41, 100).boxed().toList());
            assertThat(resumed.frames.get(0).getWelcome().getHistoryTruncated()).isFalse();

            b.post("s2", "bob-phone", 1, "after the restore");
            RecordingConnection late = b.join("s4", "dave", "lobby", "dave-phone");
            assertThat(seqsSent(late)).as("store and window together").containsExactly(97L, 98L, 99L, 100L, 101L);
            assertThat(late.frames.get(0).getWelcome().getHistory(4).getText()).isEqualTo("after the restore");
        }
    }

    @Test
    void restoringOverALiveStoreAheadOfTheSnapshotKeepsItAndReplayChangesNothing() throws Exception {
        try (HistoryStore store = HistoryStore.open(dir.resolve("live"))) {
            ChatScript a = new ChatScript(LIMITS, store, RETENTION);
            randomCommands(a, new Random(7), 400);
            StateMachine.Snapshot snap = a.machine.snapshot();
            int k = a.log.size();
            randomCommands(a, new Random(8), 400);
            String expected = a.machine.describe();
            List<List<Deliver>> history = new ArrayList<>();
            for (String room : ROOMS) {
                history.add(allHistory(a.machine, room));
            }
            Path snapDir = Files.createDirectories(dir.resolve("snap"));
            snap.writeTo(snapDir);

            // The node restarts from its own snapshot: its live store went further (index 800 > 400).
            ChatStateMachine again = new ChatStateMachine(1, LIMITS, new LocalConnections(), store, RETENTION);
            again.restore(snapDir);
            assertThat(store.appliedIndex()).as("kept, not replaced").isGreaterThan(k);
            applyFrom(again, a.log, k - 50); // a replay that starts before the snapshot's index skips what it covers
            applyFrom(again, a.log, k); // and a second replay of the same entries is harmless too
            assertThat(again.describe()).isEqualTo(expected);
            for (int i = 0; i < ROOMS.length; i++) {
                assertThat(allHistory(again, ROOMS[i])).isEqualTo(history.get(i));
            }
        }
    }

    @Test
    void aLiveStoreBehindTheSnapshotIsReplacedByItsCheckpoint() throws Exception {
        Path snapDir = Files.createDirectories(dir.resolve("snap"));
        ChatScript a;
        try (HistoryStore store = HistoryStore.open(dir.resolve("leader"))) {
            a = new ChatScript(LIMITS, store, RETENTION);
            randomCommands(a, new Random(9), 600);
            a.machine.snapshot().writeTo(snapDir);
            List<Deliver> r0 = allHistory(a.machine, "r0");
            // A wiped backup: an empty live store, restored from the leader's snapshot.
            try (HistoryStore empty = HistoryStore.open(dir.resolve("backup"))) {
                ChatStateMachine b = new ChatStateMachine(2, LIMITS, new LocalConnections(), empty, RETENTION);
                b.restore(snapDir);
                assertThat(b.describe()).isEqualTo(a.machine.describe());
                assertThat(allHistory(b, "r0")).isEqualTo(r0);
                assertThat(empty.appliedIndex()).isPositive();
            }
        }
    }

    @Test
    void aSnapshotWithADamagedDedupWindowIsRefusedBeforeTheStoreIsReplaced() throws Exception {
        Path snapDir = Files.createDirectories(dir.resolve("snap"));
        try (HistoryStore leader = HistoryStore.open(dir.resolve("leader"));
             HistoryStore backup = HistoryStore.open(dir.resolve("backup"))) {
            ChatScript a = new ChatScript(LIMITS, leader, RETENTION);
            randomCommands(a, new Random(5), 300);
            a.machine.snapshot().writeTo(snapDir);
            Path state = snapDir.resolve(ChatStateMachine.SNAPSHOT_STATE_FILE);
            // Remembered sends must strictly increase; this window goes backwards.
            Files.write(state, ChatSnapshot.parseFrom(Files.readAllBytes(state)).toBuilder()
                    .addSends(ClientSendsSnapshot.newBuilder().setClientId("broken").setHighest(9)
                            .addSeqs(9).addRoomSeqs(1).addSeqs(4).addRoomSeqs(2))
                    .build().toByteArray());

            ChatStateMachine b = new ChatStateMachine(2, LIMITS, new LocalConnections(), backup, RETENTION);
            String before = b.describe();
            assertThatThrownBy(() -> b.restore(snapDir)).isInstanceOf(IOException.class).hasMessageContaining("damaged");
            assertThat(backup.appliedIndex()).as("the live store was not replaced").isZero();
            assertThat(b.describe()).isEqualTo(before);
        }
    }

    @Test
    void aDamagedSnapshotIsRefusedAndTheStateIsUntouched() throws Exception {
        ChatScript a = new ChatScript(LIMITS);
        randomCommands(a, new Random(3), 200);
        String before = a.machine.describe();
        Path snapDir = Files.createDirectories(dir.resolve("snap"));
        Files.write(snapDir.resolve(ChatStateMachine.SNAPSHOT_STATE_FILE), new byte[] {(byte) 0xff, 0x01, 0x02});
        assertThatThrownBy(() -> a.machine.restore(snapDir)).isInstanceOf(IOException.class)
                .hasMessageContaining("damaged");
        assertThat(a.machine.describe()).isEqualTo(before);
    }
}
