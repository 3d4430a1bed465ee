package io.messenger.cluster.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether this node is a member in good standing, in {@code <dir>/standing} (magic, format
 * version, standing, CRC32C; replaced by write-fsync-rename). Written as {@link Standing#LEARNER}
 * before anything else in an empty data directory, and as {@link Standing#MEMBER} once the node
 * founded the cluster or was restored after a lost disk. A node that is not a member never
 * votes nor counts toward a majority (see the README, "Lost disks").
 */
public final class StandingStore {

    /** What the file says. */
    public enum Standing {
        /** Absent file in an empty data directory: a first start or a lost disk, not yet known. */
        EMPTY,
        /** Empty directory, never voted, still waiting to learn whether the cluster exists. */
        FRESH,
        /** Lost state in a cluster that exists, not yet restored: a non-voting learner. */
        LEARNER,
        /** Founded the cluster or was restored: votes. */
        MEMBER
    }

    static final String FILE_NAME = "standing";
    static final int MAGIC = 0x4D45_5354 + 1;
    static final int FORMAT_VERSION = 1;
    static final int FILE_BYTES = 4 + 4 + 4 + 4;

    private static final Logger log = LoggerFactory.getLogger(StandingStore.class);

    private final Path dir;
    private final Path file;
    private final Path temp;

    public StandingStore(Path dir) {
        this.dir = dir;
        this.file = dir.resolve(FILE_NAME);
        this.temp = dir.resolve(FILE_NAME + ".tmp");
    }

    /**
     * Reads the standing. An absent file is {@link Standing#EMPTY}; a damaged one is read as
     * {@link Standing#LEARNER} (with a warning): not knowing whether this node is restored, it
     * must be restored again, which is always safe.
     */
    public Standing load() {
        try {
            Files.createDirectories(dir);
            Files.deleteIfExists(temp);
            byte[] raw = Files.readAllBytes(file);
            ByteBuffer in = ByteBuffer.wrap(raw);
            if (raw.length != FILE_BYTES || in.getInt() != MAGIC || in.getInt() != FORMAT_VERSION
                    || crc(raw) != ByteBuffer.wrap(raw, FILE_BYTES - 4, 4).getInt()) {
                log.warn("{} is damaged: this node treats itself as having lost its state and restores from"
                        + " the leader before it votes again", file);
                return Standing.LEARNER;
            }
            int value = in.getInt();
            return value == 2 ? Standing.MEMBER : value == 3 ? Standing.FRESH : Standing.LEARNER;
        } catch (NoSuchFileException e) {
            return Standing.EMPTY;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Saves the standing durably (fsync of file and directory) before returning. */
    public synchronized void save(Standing standing) {
        if (standing == Standing.EMPTY) {
            throw new IllegalArgumentException("EMPTY is the absence of the file");
        }
        ByteBuffer out = ByteBuffer.allocate(FILE_BYTES);
        out.putInt(MAGIC).putInt(FORMAT_VERSION).putInt(switch (standing) {
            case MEMBER -> 2;
            case FRESH -> 3;
            default -> 1;
        });
        out.putInt(crc(out.array()));
        out.flip();
        try {
            Files.createDirectories(dir);
            SmallFiles.replace(file, temp, out, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save " + file + ": " + e.getMessage(), e);
        }
    }

    private static int crc(byte[] raw) {
        return SmallFiles.crc32c(raw, FILE_BYTES - 4);
    }
}
