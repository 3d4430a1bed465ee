package io.messenger.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.messenger.cluster.storage.SnapshotStore;
import io.messenger.cluster.storage.SnapshotStore.SnapshotMeta;
import io.messenger.proto.peer.InstallSnapshot;
import io.messenger.proto.peer.InstallSnapshotResult;
import io.messenger.proto.peer.PeerEnvelope;
import io.messenger.proto.peer.PeerProtocolVersion;
import io.messenger.proto.peer.SnapshotFileInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The InstallSnapshot stream between two {@link SnapshotTransfer}s over an in-memory link that
 * can be cut: chunking across files, flow control, a transfer cut in the middle and resumed or
 * restarted, and a backup that refuses what it cannot trust.
 */
class SnapshotTransferTest {

    private static final int LEADER = 1;
    private static final int BACKUP = 2;
    private static final long EPOCH = 7;
    private static final int CHUNK = 16 * 1024;
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private SnapshotStore leaderStore;
    private SnapshotTransfer leader;
    private volatile SnapshotTransfer backup;
    private SnapshotStore backupStore;
    private final AtomicBoolean linkUp = new AtomicBoolean(true);
    /** Chunks delivered to the backup before the link is cut by itself (-1: never). */
    private final AtomicInteger chunksBeforeCut = new AtomicInteger(-1);
    private final AtomicInteger chunksDelivered = new AtomicInteger();
    private final AtomicReference<SnapshotMeta> received = new AtomicReference<>();
    private final List<Integer> ended = new CopyOnWriteArrayList<>();
    private final List<InstallSnapshotResult> answers = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() {
        if (leader != null) {
            leader.close();
        }
        if (backup != null) {
            backup.close();
        }
    }

    private boolean deliver(int to, PeerEnvelope envelope) {
        if (to == BACKUP) {
            if (!linkUp.get()) {
                return true; // lost on the way, as on a link that drops
            }
            if (chunksBeforeCut.get() >= 0 && chunksDelivered.get() >= chunksBeforeCut.get()) {
                linkUp.set(false);
                return true;
            }
            chunksDelivered.incrementAndGet();
            backup.onChunk(envelope);
        } else {
            answers.add(envelope.getInstallSnapshotResult());
            if (linkUp.get() && leader != null) {
                leader.onResult(BACKUP, envelope.getEpoch(), envelope.getInstallSnapshotResult());
            }
        }
        return true;
    }

    private SnapshotMeta leaderSnapshot(long index) throws Exception {
        leaderStore = SnapshotStore.open(dir.resolve("leader"));
        Path work = leaderStore.newWorkDirectory();
        Random random = new Random(index);
        write(work.resolve("state.pb"), random, 100_000);
        write(work.resolve("empty"), random, 0);
        Files.createDirectories(work.resolve("history"));
        write(work.resolve("history/000012.sst"), random, 250_001);
        write(work.resolve("history/CURRENT"), random, 16);
        return leaderStore.commit(work, index, 3);
    }

    private static void write(Path file, Random random, int size) throws Exception {
        byte[] bytes = new byte[size];
        random.nextBytes(bytes);
        Files.write(file, bytes);
    }

    private void startLeader() {
        leader = new SnapshotTransfer(LEADER, leaderStore, CHUNK, this::deliver, new SnapshotTransfer.Installer() {
            @Override
            public void transferEnded(int peerId) {
                ended.add(peerId);
            }

            @Override
            public void received(SnapshotMeta snapshot, int leaderId, long epoch) {
                throw new AssertionError("the leader receives nothing");
            }
        }, () -> 0);
    }

    private void startBackup() {
        backupStore = SnapshotStore.open(dir.resolve("backup"));
        backup = new SnapshotTransfer(BACKUP, backupStore, CHUNK, this::deliver, new SnapshotTransfer.Installer() {
            @Override
            public void transferEnded(int peerId) {
                throw new AssertionError("the backup sends nothing");
            }

            @Override
            public void received(SnapshotMeta snapshot, int leaderId, long epoch) {
                received.set(snapshot);
                backup.answerInstalled(leaderId, epoch, snapshot.index());
            }
        }, () -> 0);
    }

    private static void assertSameFiles(SnapshotMeta expected, SnapshotMeta actual) throws Exception {
        assertThat(actual.index()).isEqualTo(expected.index());
        assertThat(actual.epoch()).isEqualTo(expected.epoch());
        assertThat(actual.files()).isEqualTo(expected.files());
        for (SnapshotStore.SnapshotFile f : expected.files()) {
            assertThat(Files.readAllBytes(actual.directory().resolve(f.name())))
                    .as(f.name()).isEqualTo(Files.readAllBytes(expected.directory().resolve(f.name())));
        }
        assertThat(SnapshotStore.verify(actual.directory())).isPresent();
    }

    private List<Path> incomingDirectories() throws Exception {
        try (Stream<Path> children = Files.list(dir.resolve("backup"))) {
            return children.filter(p -> p.getFileName().toString().startsWith(SnapshotStore.INCOMING_PREFIX)).toList();
        }
    }

    @Test
    void theWholeSnapshotArrivesChunkedAcrossFilesAndMatchesTheLeaders() throws Exception {
        SnapshotMeta meta = leaderSnapshot(42);
        startLeader();
        startBackup();
        leader.send(BACKUP, EPOCH);
        await().atMost(WAIT).until(() -> received.get() != null);
        assertSameFiles(meta, received.get());
        assertThat(backupStore.latest()).map(SnapshotMeta::index).contains(42L);
        await().atMost(WAIT).until(() -> leader.snapshotsSent() == 1);
        // Several chunks, across file boundaries (resends after a slow answer may add some).
        assertThat(chunksDelivered.get()).isGreaterThanOrEqualTo((int) ((meta.bytes() + CHUNK - 1) / CHUNK));
        assertThat(ended).isEmpty();
    }

    @Test
    void aTransferCutInTheMiddleIsNeverUsedAndResumesWhereItStoppedOnceTheLinkIsBack() throws Exception {
        SnapshotMeta meta = leaderSnapshot(42);
        startLeader();
        startBackup();
        chunksBeforeCut.set(8);
        leader.send(BACKUP, EPOCH);
        await().atMost(WAIT).until(() -> !linkUp.get());
        await().atMost(WAIT).until(() -> !answers.isEmpty()
                && answers.get(answers.size() - 1).getNextOffset() == 8L * CHUNK);
        // Half received: written to an incoming directory, never committed, never handed over.
        assertThat(backupStore.latest()).isEmpty();
        assertThat(received.get()).isNull();
        assertThat(incomingDirectories()).hasSize(1);

        chunksBeforeCut.set(-1);
        linkUp.set(true);
        await().atMost(WAIT).until(() -> received.get() != null);
        assertSameFiles(meta, received.get());
        // Resumed where the backup stood, not sent again from the start: at most the chunks in flight
        // at the cut and those resent from the last acknowledged offset go twice.
        assertThat(leader.bytesSent()).isLessThan(meta.bytes() + 2L * (SnapshotTransfer.WINDOW + 1) * CHUNK);
        assertThat(incomingDirectories()).isEmpty();
    }

    @Test
    void aBackupRestartedMidTransferDiscardsTheHalfAndTheStreamStartsOver() throws Exception {
        SnapshotMeta meta = leaderSnapshot(42);
        startLeader();
        startBackup();
        chunksBeforeCut.set(6);
        leader.send(BACKUP, EPOCH);
        await().atMost(WAIT).until(() -> !linkUp.get());
        await().atMost(WAIT).until(() -> !answers.isEmpty()
                && answers.get(answers.size() - 1).getNextOffset() == 6L * CHUNK);
        backup.close();
        // The restart: the half-received snapshot is deleted, nothing is taken for a snapshot.
        startBackup();
        assertThat(incomingDirectories()).isEmpty();
        assertThat(backupStore.latest()).isEmpty();

        chunksBeforeCut.set(-1);
        linkUp.set(true);
        await().atMost(WAIT).until(() -> received.get() != null);
        assertSameFiles(meta, received.get());
    }

    @Test
    void aFileThatFailsItsChecksumIsRefusedAndNothingIsCommitted() throws Exception {
        SnapshotMeta meta = leaderSnapshot(42);
        // Damage the leader's copy after its manifest was written: the stream no longer matches it.
        Path sst = meta.directory().resolve("history/000012.sst");
        byte[] bytes = Files.readAllBytes(sst);
        bytes[1234] ^= 0x5a;
        Files.write(sst, bytes);
        startLeader();
        startBackup();
        leader.send(BACKUP, EPOCH);
        await().atMost(WAIT).until(() -> answers.stream().anyMatch(a -> !a.getRefused().isEmpty()));
        assertThat(answers.stream().filter(a -> !a.getRefused().isEmpty()).findFirst().orElseThrow().getRefused())
                .contains("CRC32C");
        await().atMost(WAIT).until(() -> ended.contains(BACKUP));
        assertThat(received.get()).isNull();
        assertThat(backupStore.latest()).isEmpty();
        assertThat(incomingDirectories()).isEmpty();
    }

    @Test
    void fileNamesThatLeaveTheSnapshotDirectoryAreRefused() throws Exception {
        startBackup();
        for (String name : List.of("../escaped", "/etc/passwd", "history/../../x", "a//b", ".hidden", "MANIFEST")) {
            answers.clear();
            backup.onChunk(PeerEnvelope.newBuilder()
                    .setProtocolVersion(PeerProtocolVersion.PEER_PROTOCOL_V1_VALUE)
                    .setFrom(LEADER)
                    .setEpoch(EPOCH)
                    .setInstallSnapshot(InstallSnapshot.newBuilder().setSnapshotIndex(9).setSnapshotEpoch(2)
                            .setTotalBytes(4).setData(ByteString.copyFromUtf8("evil"))
                            .addFiles(SnapshotFileInfo.newBuilder().setName(name).setSize(4)))
                    .build());
            await().atMost(WAIT).until(() -> !answers.isEmpty());
            assertThat(answers.get(0).getRefused()).as(name).isNotEmpty();
        }
        assertThat(dir.resolve("escaped")).doesNotExist();
        assertThat(dir.resolve("x")).doesNotExist();
        assertThat(backupStore.latest()).isEmpty();
        assertThat(incomingDirectories()).isEmpty();
    }
}
