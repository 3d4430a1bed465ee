package io.messenger.cluster.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.messenger.cluster.storage.SnapshotStore.SnapshotMeta;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotStoreTest {

    @TempDir
    Path dir;

    @Test
    void aCommittedSnapshotIsFoundAgainAfterAReopen() throws IOException {
        SnapshotStore store = SnapshotStore.open(dir);
        assertThat(store.latest()).isEmpty();

        SnapshotMeta meta = store.commit(write(store, "state at 10"), 10, 2);

        assertThat(meta.directory()).isEqualTo(dir.resolve("snapshot-00000000000000000010"));
        assertThat(meta.directory().resolve("state")).hasContent("state at 10");
        assertThat(meta.directory().resolve("rooms/a")).hasContent("room a");
        SnapshotMeta reopened = SnapshotStore.open(dir).latest().orElseThrow();
        assertThat(reopened.index()).isEqualTo(10);
        assertThat(reopened.epoch()).isEqualTo(2);
        assertThat(reopened.files()).extracting(SnapshotStore.SnapshotFile::name).containsExactly("rooms/a", "state");
        assertThat(reopened.bytes()).isEqualTo("state at 10".length() + "room a".length());
    }

    @Test
    void onlyTheNewestTwoAreKept() throws IOException {
        SnapshotStore store = SnapshotStore.open(dir);
        store.commit(write(store, "one"), 10, 1);
        store.commit(write(store, "two"), 20, 1);
        store.commit(write(store, "three"), 30, 2);

        assertThat(snapshotDirectories()).containsExactly("snapshot-00000000000000000020",
                "snapshot-00000000000000000030");
        assertThat(store.latest().orElseThrow().index()).isEqualTo(30);
    }

    @Test
    void aSnapshotBeingSentIsNotPrunedUntilItIsReleased() throws IOException {
        SnapshotStore store = SnapshotStore.open(dir);
        store.commit(write(store, "one"), 10, 1);
        SnapshotMeta sending = store.pinLatest().orElseThrow();
        store.commit(write(store, "two"), 20, 1);
        store.commit(write(store, "three"), 30, 2);

        assertThat(snapshotDirectories()).containsExactly("snapshot-00000000000000000010",
                "snapshot-00000000000000000020", "snapshot-00000000000000000030");
        assertThat(Files.readString(sending.directory().resolve("state"))).isEqualTo("one");

        store.unpin(sending);
        assertThat(snapshotDirectories()).containsExactly("snapshot-00000000000000000020",
                "snapshot-00000000000000000030");
    }

    @Test
    void aSnapshotNotNewerThanTheLatestIsDropped() throws IOException {
        SnapshotStore store = SnapshotStore.open(dir);
        store.commit(write(store, "new"), 20, 1);
        Path older = write(store, "old");

        assertThat(store.commit(older, 15, 1).index()).isEqualTo(20);
        assertThat(older).doesNotExist();
    }

    @Test
    void unfinishedWorkAndIncomingDirectoriesAreDeletedOnOpen() throws IOException {
        SnapshotStore store = SnapshotStore.open(dir);
        Path work = write(store, "half");
        Path incoming = store.newWorkDirectory(SnapshotStore.INCOMING_PREFIX);

        SnapshotStore.open(dir);

        assertThat(work).doesNotExist();
        assertThat(incoming).doesNotExist();
    }

    @Test
    void aTornManifestMakesTheSnapshotInvisibleAndTheOlderOneIsUsed() throws IOException {
        SnapshotStore store = SnapshotStore.open(dir);
        store.commit(write(store, "old"), 10, 1);
        SnapshotMeta newer = store.commit(write(store, "new"), 20, 1);
        Path manifest = newer.directory().resolve(SnapshotStore.MANIFEST);
        byte[] bytes = Files.readAllBytes(manifest);
        Files.write(manifest, java.util.Arrays.copyOf(bytes, bytes.length - 5));

        SnapshotStore reopened = SnapshotStore.open(dir);

        assertThat(reopened.latest().orElseThrow().index()).isEqualTo(10);
        assertThat(newer.directory()).doesNotExist();
    }

    @Test
    void aSnapshotWithoutManifestIsDeleted() throws IOException {
        SnapshotStore store = SnapshotStore.open(dir);
        SnapshotMeta meta = store.commit(write(store, "x"), 10, 1);
        Files.delete(meta.directory().resolve(SnapshotStore.MANIFEST));

        assertThat(SnapshotStore.open(dir).latest()).isEmpty();
        assertThat(meta.directory()).doesNotExist();
    }

    @Test
    void aMissingFileMakesTheSnapshotInvalid() throws IOException {
        SnapshotStore store = SnapshotStore.open(dir);
        SnapshotMeta meta = store.commit(write(store, "x"), 10, 1);
        Files.delete(meta.directory().resolve("rooms/a"));

        assertThat(SnapshotStore.verify(meta.directory())).isEmpty();
        assertThat(SnapshotStore.open(dir).latest()).isEmpty();
    }

    @Test
    void aChangedByteFailsTheCrcCheckEvenWhenTheSizeMatches() throws IOException {
        SnapshotStore store = SnapshotStore.open(dir);
        SnapshotMeta meta = store.commit(write(store, "abcdef"), 10, 1);
        Files.writeString(meta.directory().resolve("state"), "abcdeX");

        assertThat(SnapshotStore.verify(meta.directory())).isEmpty();
        assertThat(SnapshotStore.open(dir).latest()).isEmpty();
    }

    @Test
    void aFileThatChecksItselfIsCheckedBySizeOnlyAtOpen() throws IOException {
        SnapshotStore store = SnapshotStore.open(dir);
        SnapshotMeta meta = store.commit(write(store, "abcdef"), 10, 1);
        Files.writeString(meta.directory().resolve("rooms/a"), "room X"); // same size, other bytes

        SnapshotStore trusting = SnapshotStore.open(dir, name -> name.startsWith("rooms/"));
        assertThat(trusting.latest()).as("kept: its own reads check that file").isPresent();
        assertThat(trusting.latest().orElseThrow().files()).extracting(SnapshotStore.SnapshotFile::name)
                .contains("rooms/a");

        Files.writeString(meta.directory().resolve("rooms/a"), "room"); // a size the manifest does not record
        assertThat(SnapshotStore.open(dir, name -> name.startsWith("rooms/")).latest()).isEmpty();
    }

    @Test
    void aFileThatChecksItselfDoesNotExemptTheOthers() throws IOException {
        SnapshotStore store = SnapshotStore.open(dir);
        SnapshotMeta meta = store.commit(write(store, "abcdef"), 10, 1);
        Files.writeString(meta.directory().resolve("state"), "abcdeX");

        assertThat(SnapshotStore.open(dir, name -> name.startsWith("rooms/")).latest()).isEmpty();
    }

    @Test
    void aTruncatedFileFailsTheSizeCheck() throws IOException {
        SnapshotStore store = SnapshotStore.open(dir);
        SnapshotMeta meta = store.commit(write(store, "abcdef"), 10, 1);
        Files.writeString(meta.directory().resolve("state"), "abc");

        assertThat(SnapshotStore.verify(meta.directory())).isEmpty();
    }

    @Test
    void aManifestNamingAFileOutsideTheSnapshotIsRefused() throws IOException {
        SnapshotStore store = SnapshotStore.open(dir);
        SnapshotMeta meta = store.commit(write(store, "x"), 10, 1);
        Path manifest = meta.directory().resolve(SnapshotStore.MANIFEST);
        String body = "messenger-snapshot 1\nindex 10\nepoch 1\nfile ../../etc 1 0\n";
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(body.getBytes(StandardCharsets.UTF_8));
        Files.writeString(manifest, body + "crc " + Long.toHexString(crc.getValue()) + "\n");

        assertThat(SnapshotStore.verify(meta.directory())).isEmpty();
    }

    private static Path write(SnapshotStore store, String state) throws IOException {
        Path work = store.newWorkDirectory();
        Files.writeString(work.resolve("state"), state);
        Files.createDirectories(work.resolve("rooms"));
        Files.writeString(work.resolve("rooms/a"), "room a");
        return work;
    }

    private java.util.List<String> snapshotDirectories() throws IOException {
        try (Stream<Path> children = Files.list(dir)) {
            return children.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("snapshot-")).sorted()
                    .toList();
        }
    }
}
