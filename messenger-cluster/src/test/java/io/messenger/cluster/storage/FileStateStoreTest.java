package io.messenger.cluster.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileStateStoreTest {

    @TempDir
    Path dir;

    @Test
    void aNewNodeStartsFromTheInitialState() {
        assertThat(FileStateStore.open(dir.resolve("fresh")).load()).isEqualTo(DurableState.INITIAL);
    }

    @Test
    void savedStateSurvivesAReopen() {
        FileStateStore store = FileStateStore.open(dir);
        store.save(new DurableState(7, 3));
        assertThat(store.load()).isEqualTo(new DurableState(7, 3));
        assertThat(FileStateStore.open(dir).load()).isEqualTo(new DurableState(7, 3));

        store.save(new DurableState(8, 0));
        assertThat(FileStateStore.open(dir).load()).isEqualTo(new DurableState(8, 0));
        assertThat(dir.resolve(FileStateStore.TEMP_FILE_NAME)).doesNotExist();
        assertThat(dir.resolve(FileStateStore.FILE_NAME)).hasSize(FileStateStore.FILE_BYTES);
    }

    @Test
    void aSaveInterruptedBeforeItsRenameLeavesThePreviousStateInForce() throws Exception {
        FileStateStore.open(dir).save(new DurableState(4, 2));
        // A crash mid-save leaves a partial temp file next to the intact state file.
        Files.write(dir.resolve(FileStateStore.TEMP_FILE_NAME), new byte[] {1, 2, 3});

        FileStateStore reopened = FileStateStore.open(dir);
        assertThat(reopened.load()).isEqualTo(new DurableState(4, 2));
        assertThat(dir.resolve(FileStateStore.TEMP_FILE_NAME)).doesNotExist();
        reopened.save(new DurableState(5, 1));
        assertThat(FileStateStore.open(dir).load()).isEqualTo(new DurableState(5, 1));
    }

    @Test
    void aTempFileWithoutAStateFileMeansNothingWasPromised() throws Exception {
        ByteBuffer complete = FileStateStore.encode(new DurableState(9, 1));
        Files.write(dir.resolve(FileStateStore.TEMP_FILE_NAME), complete.array());
        assertThat(FileStateStore.open(dir).load()).isEqualTo(DurableState.INITIAL);
    }

    @Test
    void aFlippedBitRefusesStartUp() throws Exception {
        FileStateStore.open(dir).save(new DurableState(12, 2));
        Path file = dir.resolve(FileStateStore.FILE_NAME);
        byte[] bytes = Files.readAllBytes(file);
        bytes[10] ^= 0x01;
        Files.write(file, bytes);

        assertThatThrownBy(() -> FileStateStore.open(dir))
                .isInstanceOf(CorruptStateException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("CRC")
                .hasMessageContaining("Refusing to start");
    }

    @Test
    void aTruncatedOrForeignFileRefusesStartUp() throws Exception {
        Path file = dir.resolve(FileStateStore.FILE_NAME);
        Files.write(file, new byte[0]);
        assertThatThrownBy(() -> FileStateStore.open(dir)).isInstanceOf(CorruptStateException.class)
                .hasMessageContaining("0 bytes");

        FileStateStore.open(dir.resolve("other")).save(new DurableState(3, 1));
        byte[] good = Files.readAllBytes(dir.resolve("other").resolve(FileStateStore.FILE_NAME));
        Files.write(file, java.util.Arrays.copyOf(good, good.length - 1));
        assertThatThrownBy(() -> FileStateStore.open(dir)).isInstanceOf(CorruptStateException.class);

        byte[] foreign = good.clone();
        foreign[0] = 'X';
        Files.write(file, foreign);
        assertThatThrownBy(() -> FileStateStore.open(dir)).isInstanceOf(CorruptStateException.class)
                .hasMessageContaining("magic");
    }
}
