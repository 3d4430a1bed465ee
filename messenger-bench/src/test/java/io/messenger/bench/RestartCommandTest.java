package io.messenger.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the restart bench reports as a node's disk use. */
class RestartCommandTest {

    @TempDir
    Path dir;

    @Test
    void aFileWithSeveralHardLinksCountsOnce() throws Exception {
        Path history = Files.createDirectories(dir.resolve("history"));
        Path snapshot = Files.createDirectories(dir.resolve("snapshots/snapshot-1/history"));
        Files.write(history.resolve("000042.sst"), new byte[1000]);
        Files.createLink(snapshot.resolve("000042.sst"), history.resolve("000042.sst")); // a checkpoint's link
        Files.write(snapshot.getParent().resolve("chat-state.pb"), new byte[300]);

        assertThat(RestartCommand.bytesUnder(dir)).isEqualTo(1300);
        assertThat(RestartCommand.bytesUnder(dir.resolve("missing"))).isEqualTo(-1);
    }
}
