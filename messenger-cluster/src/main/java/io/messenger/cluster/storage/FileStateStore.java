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
 * Keeps a node's {@link DurableState} in {@code <dir>/election-state}: magic, format version,
 * epoch, promisedTo and a CRC32C, replaced atomically (temp file, fsync, rename, directory
 * fsync). A damaged file stops start-up instead of being reset, because forgetting a promise
 * could let two tokens win the same epoch.
 */
public final class FileStateStore implements StateStore {

    static final String FILE_NAME = "election-state";
    static final String TEMP_FILE_NAME = "election-state.tmp";
    static final int MAGIC = 0x4D45_5354; // "MEST"
    static final int FORMAT_VERSION = 1;
    static final int FILE_BYTES = 4 + 4 + 8 + 4 + 4;

    private static final Logger log = LoggerFactory.getLogger(FileStateStore.class);

    private final Path dir;
    private final Path file;
    private final Path temp;
    private volatile DurableState current;

    private FileStateStore(Path dir) {
        this.dir = dir;
        this.file = dir.resolve(FILE_NAME);
        this.temp = dir.resolve(TEMP_FILE_NAME);
    }

    /**
     * Opens the store in {@code dir} (created if missing) and reads the saved state at once, so a
     * damaged file fails start-up here.
     *
     * @throws CorruptStateException if the state file exists but cannot be trusted
     * @throws UncheckedIOException if the directory or file cannot be read
     */
    public static FileStateStore open(Path dir) {
        FileStateStore store = new FileStateStore(dir);
        try {
            Files.createDirectories(dir);
            // A leftover temp file is a save that crashed before its rename: it was never
            // acknowledged, so the previous state file (or none) is the truth.
            if (Files.deleteIfExists(store.temp)) {
                log.info("Removed {} left by an interrupted save", store.temp);
            }
            store.current = store.read();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the election state in " + dir + ": " + e.getMessage(), e);
        }
        return store;
    }

    @Override
    public DurableState load() {
        return current;
    }

    @Override
    public synchronized void save(DurableState state) {
        ByteBuffer bytes = encode(state);
        try {
            SmallFiles.replace(file, temp, bytes, true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save the election state to " + file + ": " + e.getMessage(), e);
        }
        current = state;
    }

    private DurableState read() throws IOException {
        byte[] raw;
        try {
            raw = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return DurableState.INITIAL;
        }
        if (raw.length != FILE_BYTES) {
            throw corrupt("it has " + raw.length + " bytes instead of " + FILE_BYTES);
        }
        ByteBuffer in = ByteBuffer.wrap(raw);
        int magic = in.getInt();
        int version = in.getInt();
        long epoch = in.getLong();
        int promisedTo = in.getInt();
        int checksum = in.getInt();
        if (magic != MAGIC) {
            throw corrupt("it does not start with the election-state magic number");
        }
        if (crc(raw) != checksum) {
            throw corrupt("its CRC does not match its content");
        }
        if (version != FORMAT_VERSION) {
            throw corrupt("it has format version " + version + ", this build reads version " + FORMAT_VERSION);
        }
        if (epoch < 0) {
            throw corrupt("it holds a negative epoch " + epoch);
        }
        return new DurableState(epoch, promisedTo);
    }

    private CorruptStateException corrupt(String why) {
        return new CorruptStateException("The election state file " + file + " is damaged (" + why + "). Refusing to"
                + " start: forgetting the epoch this node promised could let two leaders win the same epoch. Restore"
                + " the file from a backup, or, while a majority of the other nodes is healthy, wipe this node's data"
                + " directory so that it rejoins as an empty node.");
    }

    static ByteBuffer encode(DurableState state) {
        ByteBuffer out = ByteBuffer.allocate(FILE_BYTES);
        out.putInt(MAGIC).putInt(FORMAT_VERSION).putLong(state.epoch()).putInt(state.promisedTo());
        out.putInt(crc(out.array()));
        return out.flip();
    }

    private static int crc(byte[] raw) {
        return SmallFiles.crc32c(raw, FILE_BYTES - 4);
    }
}
