package io.messenger.cluster.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StandingStoreTest {

    @TempDir
    Path dir;

    @Test
    void absentIsEmptyAndSavesRoundTrip() {
        StandingStore store = new StandingStore(dir);
        assertThat(store.load()).isEqualTo(StandingStore.Standing.EMPTY);
        for (StandingStore.Standing s : new StandingStore.Standing[] {StandingStore.Standing.FRESH,
                StandingStore.Standing.LEARNER, StandingStore.Standing.MEMBER}) {
            store.save(s);
            assertThat(new StandingStore(dir).load()).isEqualTo(s);
        }
    }

    @Test
    void aDamagedFileMeansRestoringNeverMember() throws Exception {
        StandingStore store = new StandingStore(dir);
        store.save(StandingStore.Standing.MEMBER);
        Path file = dir.resolve(StandingStore.FILE_NAME);
        byte[] raw = Files.readAllBytes(file);
        raw[11] ^= 1;
        Files.write(file, raw);
        assertThat(store.load()).isEqualTo(StandingStore.Standing.LEARNER);
        Files.write(file, new byte[3]); // torn
        assertThat(store.load()).isEqualTo(StandingStore.Standing.LEARNER);
    }
}
