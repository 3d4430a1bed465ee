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
 * A lower bound of the commit index that survives a restart, in {@code <dir>/committed-index}
 * (magic, format version, index, the epoch of the entry at that index, CRC32C; replaced by
 * write-rename). The node saves the highest index it has applied that its log also holds
 * durably, now and then from the apply thread; at start it applies its log up to that index at
 * once, while its peer links come up, instead of waiting for a leader to tell it the commit
 * index again (etcd keeps the commit index in its saved hard state for the same reason).
 *
 * <p>Losing or damaging this file costs only time: the value is a hint, and a missing, stale or
 * unreadable one means the node learns the rest from its leader, as it always could. So the
 * file is not fsync'd: the value it names is always an index the log held durably when it was
 * written, which only the fsync of the log (done before) had to guarantee. The epoch ties the
 * hint to this log: a file left beside another log (a data directory partly deleted by hand)
 * names an entry that log does not hold with that epoch, and is ignored. Saves are throttled to
 * one per {@link #SAVE_INTERVAL_NANOS}; {@link #saveNow} writes regardless (at a clean stop).
 *
 * <p>Saves come from one thread at a time (the apply thread, then the stopping thread after it
 * has finished).
 */
public final class CommittedIndexStore {

    static final String FILE_NAME = "committed-index";
    static final int MAGIC = 0x4D45_5354 + 2;
    static final int FORMAT_VERSION = 1;
    static final int FILE_BYTES = 4 + 4 + 8 + 8 + 4;
    /** At most this often the file is rewritten: 10 a second costs nothing and loses little. */
    static final long SAVE_INTERVAL_NANOS = 100_000_000L;

    private static final Logger log = LoggerFactory.getLogger(CommittedIndexStore.class);

    /** The saved entry: its index and epoch. */
    public record Committed(long index, long epoch) {
        /** No hint. */
        public static final Committed NONE = new Committed(0, 0);
    }

    private final Path file;
    private final Path temp;
    private long saved;
    private long lastSaveNanos;
    private boolean failed;

    public CommittedIndexStore(Path dir) {
        this.file = dir.resolve(FILE_NAME);
        this.temp = dir.resolve(FILE_NAME + ".tmp");
        this.lastSaveNanos = System.nanoTime() - SAVE_INTERVAL_NANOS;
    }

    /**
     * The saved entry, {@link Committed#NONE} if there is none. A damaged file is read as none
     * with a warning: the node then learns the commit index from its leader.
     */
    public Committed load() {
        try {
            Files.deleteIfExists(temp);
            byte[] raw = Files.readAllBytes(file);
            ByteBuffer in = ByteBuffer.wrap(raw);
            if (raw.length != FILE_BYTES || in.getInt() != MAGIC || in.getInt() != FORMAT_VERSION
                    || crc(raw) != ByteBuffer.wrap(raw, FILE_BYTES - 4, 4).getInt()) {
                log.warn("{} is damaged; ignored (this node replays only what its leader says is committed)", file);
                return Committed.NONE;
            }
            long index = in.getLong();
            long epoch = in.getLong();
            if (index <= 0 || epoch < 0) {
                return Committed.NONE;
            }
            saved = index;
            return new Committed(index, epoch);
        } catch (NoSuchFileException e) {
            return Committed.NONE;
        } catch (IOException e) {
            log.warn("cannot read {} ({}); ignored", file, e.toString());
            return Committed.NONE;
        }
    }

    /** Deletes the file (a data directory found empty must not keep a hint of another log). */
    public void clear() {
        try {
            Files.deleteIfExists(file);
            Files.deleteIfExists(temp);
            saved = 0;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Saves ({@code index}, {@code epoch}) unless the index is not above the saved one or the last
     * save was less than {@link #SAVE_INTERVAL_NANOS} ago.
     *
     * @param index an index known committed that the log holds durably
     * @param epoch the epoch of the log's entry at {@code index}
     */
    public void offer(long index, long epoch, long nowNanos) {
        if (index > saved && nowNanos - lastSaveNanos >= SAVE_INTERVAL_NANOS) {
            lastSaveNanos = nowNanos;
            saveNow(index, epoch);
        }
    }

    /**
     * Saves ({@code index}, {@code epoch}) now if the index is above the saved one. A failure is
     * logged once and otherwise ignored: without the file a restart only takes longer.
     */
    public void saveNow(long index, long epoch) {
        if (index <= saved) {
            return;
        }
        ByteBuffer out = ByteBuffer.allocate(FILE_BYTES);
        out.putInt(MAGIC).putInt(FORMAT_VERSION).putLong(index).putLong(epoch);
        out.putInt(crc(out.array()));
        out.flip();
        try {
            SmallFiles.replace(file, temp, out, false);
            saved = index;
            failed = false;
        } catch (IOException e) {
            if (!failed) {
                failed = true;
                log.warn("cannot save {} ({}); a restart replays its log only once a leader answers", file,
                        e.toString());
            }
        }
    }

    /** The last index saved or loaded. */
    public long saved() {
        return saved;
    }

    private static int crc(byte[] raw) {
        return SmallFiles.crc32c(raw, FILE_BYTES - 4);
    }
}
