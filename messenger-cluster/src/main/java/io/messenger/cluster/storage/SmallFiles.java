package io.messenger.cluster.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * The node's small state files (election state, standing, commit hint): each a fixed-size record
 * ending in a CRC32C, replaced whole by write-rename so that a reader finds the old record or the
 * new one, never a mix.
 */
final class SmallFiles {

    private SmallFiles() {
    }

    /**
     * Replaces {@code file} by {@code contents}: written to {@code temp}, then renamed over it
     * atomically. With {@code durable}, the temp file is fsync'd before the rename and the
     * directory after it, so the new record survives a crash once this returns; without, a crash
     * may leave the old record (or, on some file systems, an empty or torn file, which its CRC
     * refuses).
     */
    static void replace(Path file, Path temp, ByteBuffer contents, boolean durable) throws IOException {
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            while (contents.hasRemaining()) {
                channel.write(contents);
            }
            if (durable) {
                channel.force(true);
            }
        }
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        if (durable) {
            DirectoryFsync.force(file.getParent());
        }
    }

    /** The CRC32C of {@code bytes[0, length)}, as the records store it. */
    static int crc32c(byte[] bytes, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, length);
        return (int) crc.getValue();
    }
}
