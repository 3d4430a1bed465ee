package io.messenger.cluster.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CommittedIndexStoreTest {

    @TempDir
    Path dir;

    @Test
    void savesIndexAndEpochAndOnlyEverRaisesThem() {
        CommittedIndexStore store = new CommittedIndexStore(dir);
        assertThat(store.load()).isEqualTo(CommittedIndexStore.Committed.NONE);
        store.saveNow(42, 3);
        store.saveNow(41, 3); // lower: ignored
        assertThat(new CommittedIndexStore(dir).load()).isEqualTo(new CommittedIndexStore.Committed(42, 3));

        CommittedIndexStore reopened = new CommittedIndexStore(dir);
        reopened.load();
        long now = System.nanoTime();
        reopened.offer(50, 4, now);
        reopened.offer(60, 4, now + 1); // within the save interval: not written
        assertThat(new CommittedIndexStore(dir).load().index()).isEqualTo(50);
        reopened.offer(60, 4, now + CommittedIndexStore.SAVE_INTERVAL_NANOS);
        assertThat(new CommittedIndexStore(dir).load()).isEqualTo(new CommittedIndexStore.Committed(60, 4));
    }

    @Test
    void aDamagedFileIsNoHintAndClearRemovesIt() throws Exception {
        CommittedIndexStore store = new CommittedIndexStore(dir);
        store.saveNow(42, 3);
        Path file = dir.resolve(CommittedIndexStore.FILE_NAME);
        byte[] bytes = Files.readAllBytes(file);
        bytes[10] ^= 1;
        Files.write(file, bytes);
        assertThat(new CommittedIndexStore(dir).load()).isEqualTo(CommittedIndexStore.Committed.NONE);

        store.clear();
        assertThat(file).doesNotExist();
        assertThat(new CommittedIndexStore(dir).load()).isEqualTo(CommittedIndexStore.Committed.NONE);
    }
}
