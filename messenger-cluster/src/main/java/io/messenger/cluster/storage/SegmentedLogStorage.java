package io.messenger.cluster.storage;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.messenger.proto.peer.Entry;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongConsumer;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable log of a node: append-only segment files {@code segment-<first index>.log} of
 * records {@code u32 length, u32 CRC32C(payload), payload = serialized Entry}, written and
 * fsync'd by one dedicated writer thread with group commit.
 *
 * <p>Appends and truncations are applied to the in-memory view at once (so reads see them) and
 * queued, in order, for the writer thread. The appending thread also decides where every record
 * goes (segment and offset), so the writer merely replays the queue: it drains everything
 * queued, writes it, forces each touched segment once, and only then advances
 * {@link #durableIndex()}. Each queued change carries a sequence number; durability is granted
 * per sequence, so an fsync that finishes after a truncation can never vouch for the entries
 * appended in place of the truncated ones. One change may take several queued operations (a
 * batch that crosses into a new segment, a truncation that deletes segments); the writer can
 * drain the queue between them, so only the last operation of a change completes its sequence.
 * Group commit has one exception: a batch holding a truncation or a deletion forces the cut
 * segment (and fsyncs the directory after a deletion) before it writes anything after the cut,
 * so a crash cannot splice new entries onto removed ones. After each batch the writer closes the
 * write channels of segments the log has rolled past; only the active segment keeps one open.
 *
 * <p>Memory holds, per entry, only its file offset and length (the segment is found from its
 * first index, the epoch from a map of epoch runs), plus a window of recent entries that always
 * includes every entry not yet durable. Older entries are read back with positional reads.
 *
 * <p>On open, a damaged tail (torn or corrupt record, broken index or epoch order) is cut off at
 * the first bad record, and later segments are deleted; everything that survives counts as
 * durable. The value handed to the {@link DurabilityListener} is the durable index at the time of
 * the call: a consumer on another thread that may have truncated since should re-read
 * {@link #durableIndex()}.
 *
 * <p>Compaction ({@link #compactTo}) deletes whole segments from the front once a snapshot
 * covers them. The log then starts after a <em>base</em>: the index and epoch of the last entry
 * deleted, kept in {@code log-base} (magic, index, epoch, CRC32C; replaced by temp file, fsync,
 * rename, directory fsync) which the writer makes durable before it unlinks any segment. On open,
 * segments that lie wholly at or below the base (a compaction that crashed before its deletes
 * finished) are deleted.
 *
 * <p>Once {@link #close()} has been called, {@code entry} and {@code entries} throw
 * {@link IllegalStateException} like the writes do; {@code lastIndex}, {@code epochAt} and
 * {@code durableIndex} keep answering from memory.
 */
public final class SegmentedLogStorage implements LogStorage {

    /** Largest serialized entry the format accepts; a longer length field on disk is damage. */
    public static final int MAX_ENTRY_BYTES = 16 * 1024 * 1024;

    static final int HEADER_BYTES = 8;
    private static final String LOCK_FILE = "log.lock";
    static final String BASE_FILE = "log-base";
    private static final String BASE_TEMP_FILE = "log-base.tmp";
    private static final int BASE_MAGIC = 0x4D45_4C42; // "MELB"
    private static final int BASE_FILE_BYTES = 4 + 8 + 8 + 4;
    // One positional read fetches at most this much (or one record) when serving entries(...).
    private static final int READ_CHUNK_BYTES = 1024 * 1024;
    // The writer hands at most this much to one write call when coalescing queued appends.
    private static final int WRITE_CHUNK_BYTES = 4 * 1024 * 1024;

    private static final Logger log = LoggerFactory.getLogger(SegmentedLogStorage.class);

    private final Path dir;
    private final LogStorageOptions options;
    private final DurabilityListener listener;
    private final FileChannel lockChannel;
    private final FileLock dirLock;

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    // Everything below up to the next blank line is guarded by lock.
    private final TreeMap<Long, LogSegment> segments = new TreeMap<>();
    private final TreeMap<Long, Long> epochRuns = new TreeMap<>();
    private long[] locations = new long[1024];
    private long lastIndex;
    // The last compacted entry (0/0: nothing compacted); locations[i] is entry baseIndex + 1 + i.
    private long baseIndex;
    private long baseEpoch;
    private final EntryWindow window = new EntryWindow();
    private DurabilityTracker durability; // set by recover(), before the writer starts
    private long nextSeq = 1;
    private boolean closed;

    private volatile long durableIndex;
    private volatile Throwable writerFailure;
    private final AtomicLong fsyncs = new AtomicLong();
    private final LinkedBlockingQueue<DiskOp> queue = new LinkedBlockingQueue<>();
    private final Thread writer;
    // Writer thread only: segments with an open write channel, and the one being appended to.
    private final Set<LogSegment> writable = Collections.newSetFromMap(new IdentityHashMap<>());
    private LogSegment active;
    // Test hook, see DiskStepObserver; set before the first write.
    private volatile DiskStepObserver diskSteps = (step, file) -> { };
    private volatile LongConsumer fsyncObserver = nanos -> { };

    private SegmentedLogStorage(Path dir, LogStorageOptions options, DurabilityListener listener,
            FileChannel lockChannel, FileLock dirLock) {
        this.dir = dir;
        this.options = options;
        this.listener = listener;
        this.lockChannel = lockChannel;
        this.dirLock = dirLock;
        this.writer = new Thread(this::runWriter, "log-writer-" + dir.getFileName());
        this.writer.setDaemon(true); // nothing counts as durable before its fsync, so exiting mid-write is safe
    }

    /**
     * Opens (creating if needed) the log in {@code dir}, repairing a damaged tail, and starts its
     * writer thread.
     *
     * @throws IllegalStateException if another open log holds the directory
     * @throws UncheckedIOException if the directory cannot be read or repaired
     */
    public static SegmentedLogStorage open(Path dir, LogStorageOptions options, DurabilityListener listener) {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(listener, "listener");
        FileChannel lockChannel = null;
        try {
            Files.createDirectories(dir);
            lockChannel = FileChannel.open(dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock dirLock;
            try {
                dirLock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                dirLock = null;
            }
            if (dirLock == null) {
                throw new IllegalStateException("the log in " + dir + " is already open (by this or another process)");
            }
            SegmentedLogStorage storage = new SegmentedLogStorage(dir, options, listener, lockChannel, dirLock);
            storage.recover();
            storage.writer.start();
            return storage;
        } catch (IOException e) {
            closeQuietly(lockChannel, e);
            throw new UncheckedIOException("cannot open the log in " + dir + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(lockChannel, e);
            throw e;
        }
    }

    // ---------------------------------------------------------------- reads

    @Override
    public long lastIndex() {
        lock.readLock().lock();
        try {
            return lastIndex;
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public long firstIndex() {
        lock.readLock().lock();
        try {
            return baseIndex + 1;
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public long lastEpoch() {
        lock.readLock().lock();
        try {
            return epochRuns.isEmpty() ? baseEpoch : epochRuns.lastEntry().getValue();
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public long epochAt(long index) {
        lock.readLock().lock();
        try {
            if (index == 0) {
                return 0;
            }
            if (index == baseIndex) {
                return baseEpoch;
            }
            checkIndex(index);
            Map.Entry<Long, Long> run = epochRuns.floorEntry(index);
            return run == null ? baseEpoch : run.getValue();
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public Entry entry(long index) {
        lock.readLock().lock();
        try {
            checkOpen();
            checkIndex(index);
            if (window.contains(index)) {
                return window.get(index);
            }
            List<Entry> out = new ArrayList<>(1);
            readFromSegments(index, index, out);
            return out.get(0);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public List<Entry> entries(long fromIndex, int maxEntries, long maxBytes) {
        lock.readLock().lock();
        try {
            if (fromIndex <= baseIndex || fromIndex < 1) {
                throw new IndexOutOfBoundsException("index " + fromIndex + " is before the first entry "
                        + (baseIndex + 1));
            }
            checkOpen();
            if (fromIndex > lastIndex || maxEntries <= 0) {
                return List.of();
            }
            long end = Math.min(lastIndex, fromIndex + maxEntries - 1);
            // Sizes are known without touching disk, so decide the extent first, then fetch it.
            long count = 0;
            long bytes = 0;
            for (long k = fromIndex; k <= end; k++) {
                long size = serializedSize(k);
                if (count > 0 && bytes + size > maxBytes) {
                    break;
                }
                bytes += size;
                count++;
            }
            long last = fromIndex + count - 1;
            List<Entry> out = new ArrayList<>((int) count);
            long lastOnDisk = Math.min(last, window.firstIndex() - 1);
            if (fromIndex <= lastOnDisk) {
                readFromSegments(fromIndex, lastOnDisk, out);
            }
            for (long k = Math.max(fromIndex, window.firstIndex()); k <= last; k++) {
                out.add(window.get(k));
            }
            return Collections.unmodifiableList(out);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public long durableIndex() {
        return durableIndex;
    }

    /** How many segment fsyncs the writer has done; group commit keeps it well below the number of appends. */
    public long fsyncCount() {
        return fsyncs.get();
    }

    /** The directory holding this log's segments. */
    public Path directory() {
        return dir;
    }

    // ---------------------------------------------------------------- writes

    @Override
    public void append(List<Entry> entries) {
        if (entries.isEmpty()) {
            return;
        }
        List<Entry> batch = List.copyOf(entries);
        lock.writeLock().lock();
        try {
            checkWritable();
            int[] sizes = new int[batch.size()];
            long epoch = epochRuns.isEmpty() ? baseEpoch : epochRuns.lastEntry().getValue();
            for (int i = 0; i < batch.size(); i++) {
                Entry e = batch.get(i);
                if (e.getIndex() != lastIndex + 1 + i) {
                    throw new IllegalArgumentException("entry index " + e.getIndex() + " does not continue the log at "
                            + (lastIndex + 1 + i));
                }
                if (e.getEpoch() < epoch) {
                    throw new IllegalArgumentException("entry " + e.getIndex() + " has epoch " + e.getEpoch()
                            + ", lower than the preceding epoch " + epoch);
                }
                epoch = e.getEpoch();
                sizes[i] = e.getSerializedSize();
                if (sizes[i] > MAX_ENTRY_BYTES) {
                    throw new IllegalArgumentException("entry " + e.getIndex() + " has " + sizes[i]
                            + " bytes, more than the maximum " + MAX_ENTRY_BYTES);
                }
            }
            long seq = nextSeq++;
            LogSegment segment = segments.isEmpty() ? null : segments.lastEntry().getValue();
            int runStart = 0;
            long runPosition = segment == null ? 0 : segment.size;
            for (int i = 0; i < batch.size(); i++) {
                Entry e = batch.get(i);
                long recordBytes = HEADER_BYTES + sizes[i];
                if (segment == null || (segment.size > 0 && segment.size + recordBytes > options.segmentBytes())) {
                    if (i > runStart) {
                        queue.add(new WriteOp(seq, false, segment, runPosition, batch.subList(runStart, i)));
                    }
                    segment = new LogSegment(dir, e.getIndex(), false);
                    segments.put(segment.firstIndex, segment);
                    runStart = i;
                    runPosition = 0;
                }
                placeRecord(e.getIndex(), e.getEpoch(), segment, sizes[i]);
                window.add(e);
            }
            queue.add(new WriteOp(seq, true, segment, runPosition, batch.subList(runStart, batch.size())));
            durability.appended(seq, batch.get(0).getIndex(), lastIndex);
            trimWindow();
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public void truncateFrom(long index) {
        if (index < 1) {
            throw new IndexOutOfBoundsException("cannot truncate from index " + index);
        }
        lock.writeLock().lock();
        try {
            checkWritable();
            if (index > lastIndex) {
                return;
            }
            if (index <= baseIndex) {
                throw new IllegalArgumentException("cannot truncate from " + index + ": entries up to " + baseIndex
                        + " are compacted into a snapshot");
            }
            long seq = nextSeq++;
            LogSegment containing = segments.floorEntry(index).getValue();
            boolean cutsIntoContaining = containing.firstIndex < index;
            NavigableMap<Long, LogSegment> doomed = segments.tailMap(index, true);
            int remaining = doomed.size();
            for (LogSegment segment : doomed.values()) {
                queue.add(new DeleteOp(seq, --remaining == 0 && !cutsIntoContaining, segment));
            }
            doomed.clear();
            if (cutsIntoContaining) {
                long offset = offsetOf(index);
                containing.size = offset;
                queue.add(new TruncateOp(seq, true, containing, offset));
            }
            epochRuns.tailMap(index, true).clear();
            window.removeFrom(index);
            lastIndex = index - 1;
            durability.truncatedFrom(index);
            durableIndex = durability.durableIndex();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Only whole segments go, and never the last one: the new first index is the first index of
     * the oldest segment kept. The in-memory view changes at once; the writer makes the new base
     * durable and then unlinks the segments, so a crash in between leaves the log as it was or
     * with segments that the next open deletes.
     */
    @Override
    public long compactTo(long index) {
        lock.writeLock().lock();
        try {
            checkWritable();
            long limit = Math.min(index, durableIndex);
            List<LogSegment> doomed = new ArrayList<>();
            long newFirst = baseIndex + 1;
            for (Map.Entry<Long, LogSegment> e : segments.entrySet()) {
                Long next = segments.higherKey(e.getKey());
                if (next == null || next - 1 > limit) {
                    break;
                }
                doomed.add(e.getValue());
                newFirst = next;
            }
            if (doomed.isEmpty()) {
                return baseIndex + 1;
            }
            long newBase = newFirst - 1;
            long newBaseEpoch = epochAt(newBase);
            long firstEpoch = epochAt(newFirst);
            long seq = nextSeq++;
            queue.add(new BaseOp(seq, false, newBase, newBaseEpoch));
            int remaining = doomed.size();
            for (LogSegment segment : doomed) {
                segments.remove(segment.firstIndex);
                queue.add(new DeleteOp(seq, --remaining == 0, segment));
            }
            epochRuns.headMap(newFirst, true).clear();
            epochRuns.put(newFirst, firstEpoch);
            int shift = (int) (newBase - baseIndex);
            locations = Arrays.copyOfRange(locations, shift, Math.max(shift + 1024, locations.length));
            while (window.size() > 0 && window.firstIndex() < newFirst) {
                window.removeFirst();
            }
            if (window.size() == 0 && window.firstIndex() < newFirst) {
                window.startAt(newFirst);
            }
            baseIndex = newBase;
            baseEpoch = newBaseEpoch;
            log.info("Compacted the log in {}: deleted {} segment(s), it now starts at index {}", dir, doomed.size(),
                    newFirst);
            return newFirst;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>The writer deletes the segments newest first (so a crash leaves a prefix of the old log),
     * then makes the new base durable; the durable index is the base once that is on disk.
     */
    @Override
    public void resetTo(long index, long epoch) {
        if (index < 1 || epoch < 1) {
            throw new IllegalArgumentException("a snapshot base needs an index and epoch of at least 1, not "
                    + index + "/" + epoch);
        }
        lock.writeLock().lock();
        try {
            checkWritable();
            long seq = nextSeq++;
            for (LogSegment segment : segments.descendingMap().values()) {
                queue.add(new DeleteOp(seq, false, segment));
            }
            queue.add(new BaseOp(seq, true, index, epoch));
            segments.clear();
            epochRuns.clear();
            locations = new long[1024];
            window.removeFrom(window.firstIndex());
            window.startAt(index + 1);
            durability.truncatedFrom(baseIndex + 1);
            // The base stands for the snapshot's entries: durable with this change, like an append.
            durability.appended(seq, index, index);
            baseIndex = index;
            baseEpoch = epoch;
            lastIndex = index;
            durableIndex = durability.durableIndex();
            log.info("Reset the log in {} to continue a snapshot at index {} (epoch {})", dir, index, epoch);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Bytes of entry records in this log's segments (queued writes included). */
    public long sizeInBytes() {
        lock.readLock().lock();
        try {
            long bytes = 0;
            for (LogSegment segment : segments.values()) {
                bytes += segment.size;
            }
            return bytes;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Writes and fsyncs everything queued, stops the writer thread and closes the files. Idempotent. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            queue.add(Stop.INSTANCE);
        } finally {
            lock.writeLock().unlock();
        }
        boolean interrupted = false;
        while (writer.isAlive()) {
            try {
                writer.join();
            } catch (InterruptedException e) {
                interrupted = true; // finish closing, which must not leave half-written state behind; re-flag below
            }
        }
        IOException failure = null;
        lock.writeLock().lock();
        try {
            for (LogSegment segment : segments.values()) {
                try {
                    segment.close();
                } catch (IOException e) {
                    failure = e;
                }
            }
            try {
                dirLock.release();
                lockChannel.close();
            } catch (IOException e) {
                failure = e;
            }
        } finally {
            lock.writeLock().unlock();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure != null) {
            log.warn("Closing the log in {} failed: {}", dir, failure.toString());
        }
    }

    // ---------------------------------------------------------------- in-memory index

    private void placeRecord(long index, long epoch, LogSegment segment, int size) {
        int slot = slotOf(index);
        if (slot >= locations.length) {
            locations = Arrays.copyOf(locations, (int) Math.min(Integer.MAX_VALUE - 8,
                    Math.max(slot + 1L, locations.length * 2L)));
        }
        locations[slot] = (segment.size << 32) | size;
        segment.size += HEADER_BYTES + size;
        Map.Entry<Long, Long> run = epochRuns.lastEntry();
        if (run == null ? epoch != 0 : run.getValue() != epoch) {
            epochRuns.put(index, epoch);
        }
        lastIndex = index;
    }

    private int slotOf(long index) {
        return (int) (index - 1 - baseIndex);
    }

    private long offsetOf(long index) {
        return locations[slotOf(index)] >>> 32;
    }

    private int lengthOf(long index) {
        return (int) locations[slotOf(index)];
    }

    private long serializedSize(long index) {
        return window.contains(index) ? window.get(index).getSerializedSize() : lengthOf(index);
    }

    private void trimWindow() {
        while (window.size() > options.cachedEntries() && window.firstIndex() <= durableIndex) {
            window.removeFirst();
        }
    }

    private void checkIndex(long index) {
        if (index <= baseIndex || index < 1 || index > lastIndex) {
            throw new IndexOutOfBoundsException("index " + index + " is outside the log [" + (baseIndex + 1) + ", "
                    + lastIndex + "]");
        }
    }

    /** Caller holds the lock. Reads refuse a closed log even for cached entries, so they fail the same way. */
    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the log in " + dir + " is closed");
        }
    }

    private void checkWritable() {
        checkOpen();
        Throwable failure = writerFailure;
        if (failure != null) {
            throw new IllegalStateException("the log writer for " + dir + " failed; the log accepts no more writes", failure);
        }
    }

    /** Reads durable entries {@code from..to} back from their segments; caller holds the read lock. */
    private void readFromSegments(long from, long to, List<Entry> out) {
        long k = from;
        while (k <= to) {
            LogSegment segment = segments.floorEntry(k).getValue();
            Long nextSegment = segments.higherKey(k);
            long runLast = nextSegment == null ? to : Math.min(to, nextSegment - 1);
            long start = offsetOf(k);
            long j = k;
            long end = start + HEADER_BYTES + lengthOf(k);
            while (j < runLast && offsetOf(j + 1) + HEADER_BYTES + lengthOf(j + 1) - start <= READ_CHUNK_BYTES) {
                j++;
                end = offsetOf(j) + HEADER_BYTES + lengthOf(j);
            }
            ByteBuffer buffer = ByteBuffer.allocate((int) (end - start));
            try {
                segment.readFully(buffer, start);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read entries " + k + ".." + j + " from " + segment.path, e);
            }
            buffer.flip();
            CRC32C crc = new CRC32C();
            for (long i = k; i <= j; i++) {
                out.add(decode(buffer, i, segment, offsetOf(i), crc));
            }
            k = j + 1;
        }
    }

    private Entry decode(ByteBuffer buffer, long index, LogSegment segment, long offset, CRC32C crc) {
        int length = buffer.getInt();
        int checksum = buffer.getInt();
        String problem = null;
        Entry entry = null;
        if (length != lengthOf(index)) {
            problem = "length " + length + " where " + lengthOf(index) + " was written";
        } else {
            crc.reset();
            crc.update(buffer.array(), buffer.position(), length);
            if ((int) crc.getValue() != checksum) {
                problem = "CRC mismatch";
            } else {
                try {
                    entry = Entry.parser().parseFrom(buffer.array(), buffer.position(), length);
                    if (entry.getIndex() != index) {
                        problem = "it holds index " + entry.getIndex();
                    }
                } catch (InvalidProtocolBufferException e) {
                    problem = "unparsable payload (" + e.getMessage() + ")";
                }
            }
        }
        if (problem != null) {
            throw new UncheckedIOException(new IOException("entry " + index + " in " + segment.path + " at offset "
                    + offset + " is damaged: " + problem));
        }
        buffer.position(buffer.position() + length);
        return entry;
    }

    // ---------------------------------------------------------------- recovery

    private void recover() throws IOException {
        long started = System.nanoTime();
        List<Path> files;
        try (Stream<Path> listing = Files.list(dir)) {
            files = listing.filter(p -> LogSegment.parseFirstIndex(p.getFileName().toString()).isPresent())
                    .sorted((a, b) -> Long.compare(firstIndexOf(a), firstIndexOf(b)))
                    .toList();
        }
        boolean directoryChanged = Files.deleteIfExists(dir.resolve(BASE_TEMP_FILE));
        readBase();
        lastIndex = baseIndex;
        // A compaction that crashed after making its base durable left segments it had meant to delete.
        List<Path> kept = new ArrayList<>();
        for (int k = 0; k < files.size(); k++) {
            boolean below = k + 1 < files.size() && firstIndexOf(files.get(k + 1)) <= baseIndex + 1;
            if (below) {
                Files.delete(files.get(k));
                directoryChanged = true;
            } else {
                kept.add(files.get(k));
            }
        }
        files = kept;
        Damage damage = null;
        long expectedIndex = baseIndex + 1;
        long previousEpoch = baseEpoch;
        CRC32C crc = new CRC32C();
        // Only each record's index and epoch are needed to place it: the payload is checked
        // (CRC, then its fields' structure) without building an Entry, and the newest entries,
        // which the window keeps, are read back in full once the scan is over.
        byte[] payload = new byte[4096];
        RecordHeader header = new RecordHeader();
        for (Path file : files) {
            long fileSize = Files.size(file);
            if (damage != null) {
                damage.droppedBytes += fileSize;
                damage.laterSegments++;
                Files.delete(file);
                directoryChanged = true;
                continue;
            }
            long first = firstIndexOf(file);
            LogSegment segment = new LogSegment(dir, first, true);
            long offset = 0;
            if (first != expectedIndex) {
                damage = new Damage(file, 0, "the segment starts at index " + first + " but the log continues at "
                        + expectedIndex, fileSize);
            } else {
                try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ);
                        DataInputStream in = new DataInputStream(
                                new BufferedInputStream(Channels.newInputStream(channel), 64 * 1024))) {
                    while (offset < fileSize) {
                        long remaining = fileSize - offset;
                        String problem = null;
                        boolean parsed = false;
                        int length = 0;
                        if (remaining < HEADER_BYTES) {
                            problem = "torn record header (" + remaining + " of " + HEADER_BYTES + " bytes)";
                        } else {
                            length = in.readInt();
                            int checksum = in.readInt();
                            // Check the claimed length before allocating anything for it.
                            if (length < 0 || length > MAX_ENTRY_BYTES) {
                                problem = "length field " + Integer.toUnsignedString(length)
                                        + " exceeds the maximum entry size " + MAX_ENTRY_BYTES;
                            } else if (length > remaining - HEADER_BYTES) {
                                problem = "record of " + length + " bytes runs past the end of the file ("
                                        + (remaining - HEADER_BYTES) + " bytes left)";
                            } else {
                                if (payload.length < length) {
                                    payload = new byte[Math.max(length, payload.length * 2)];
                                }
                                in.readFully(payload, 0, length);
                                crc.reset();
                                crc.update(payload, 0, length);
                                if ((int) crc.getValue() != checksum) {
                                    problem = "CRC mismatch";
                                } else {
                                    try {
                                        header.read(payload, length);
                                        parsed = true;
                                    } catch (InvalidProtocolBufferException e) {
                                        problem = "payload does not parse as an entry (" + e.getMessage() + ")";
                                    }
                                }
                                if (parsed && header.index != expectedIndex) {
                                    problem = "record holds index " + header.index + " where " + expectedIndex
                                            + " was expected";
                                } else if (parsed && header.epoch < previousEpoch) {
                                    problem = "epoch decreases from " + previousEpoch + " to " + header.epoch
                                            + " at index " + expectedIndex;
                                }
                            }
                        }
                        if (problem != null) {
                            damage = new Damage(file, offset, problem, remaining);
                            break;
                        }
                        placeRecord(header.index, header.epoch, segment, length);
                        offset += HEADER_BYTES + length;
                        expectedIndex++;
                        previousEpoch = header.epoch;
                    }
                }
            }
            if (damage != null && damage.file.equals(file)) {
                try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    channel.truncate(damage.offset);
                    channel.force(true);
                }
            }
            if (segment.size == 0) {
                // Nothing usable in it (a crash right after creating it, or damage at offset 0).
                Files.delete(file);
                directoryChanged = true;
            } else {
                segments.put(first, segment);
            }
        }
        if (directoryChanged) {
            DirectoryFsync.force(dir);
        }
        // The window: the newest recovered entries, parsed in full (which checks them once more).
        long windowFirst = Math.max(baseIndex + 1, lastIndex - options.cachedEntries() + 1);
        window.startAt(windowFirst);
        if (lastIndex >= windowFirst) {
            List<Entry> newest = new ArrayList<>((int) (lastIndex - windowFirst + 1));
            try {
                readFromSegments(windowFirst, lastIndex, newest);
            } catch (RuntimeException e) {
                for (LogSegment segment : segments.values()) {
                    try {
                        segment.close();
                    } catch (IOException suppressed) {
                        e.addSuppressed(suppressed);
                    }
                }
                throw e;
            }
            newest.forEach(window::add);
        }
        durability = new DurabilityTracker(lastIndex); // everything recovered is on disk already
        durableIndex = lastIndex;
        if (damage != null) {
            log.warn("Log segment {} is damaged at offset {}: {}; truncated it there, dropping {} bytes{}",
                    damage.file, damage.offset, damage.reason, damage.droppedBytes,
                    damage.laterSegments == 0 ? "" : " including " + damage.laterSegments + " later segment file(s)");
        }
        String settings = "segments of " + options.segmentBytes() + " bytes, " + options.cachedEntries()
                + " cached entries";
        if (lastIndex == 0) {
            log.info("Opened log in {} ({}): empty", dir, settings);
        } else {
            log.info("Opened log in {} ({}): recovered entries {}..{} (last epoch {}) from {} segment(s) in {} ms",
                    dir, settings, baseIndex + 1, lastIndex, lastEpoch(), segments.size(),
                    (System.nanoTime() - started) / 1_000_000);
        }
    }

    /**
     * The two fields of a recovered record that place it, read from its payload as protobuf
     * would read an {@link Entry} (unknown fields skipped), without copying the command.
     */
    private static final class RecordHeader {
        private static final int EPOCH_TAG = (Entry.EPOCH_FIELD_NUMBER << 3) | 0;
        private static final int INDEX_TAG = (Entry.INDEX_FIELD_NUMBER << 3) | 0;
        long epoch;
        long index;

        void read(byte[] payload, int length) throws InvalidProtocolBufferException {
            epoch = 0;
            index = 0;
            CodedInputStream in = CodedInputStream.newInstance(payload, 0, length);
            try {
                for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                    if (tag == EPOCH_TAG) {
                        epoch = in.readUInt64();
                    } else if (tag == INDEX_TAG) {
                        index = in.readUInt64();
                    } else if (!in.skipField(tag)) {
                        // A top-level end-group tag, which Entry's parser refuses too.
                        throw new InvalidProtocolBufferException("an end-group tag outside any group");
                    }
                }
            } catch (InvalidProtocolBufferException e) {
                throw e;
            } catch (java.io.IOException e) {
                throw new InvalidProtocolBufferException(e);
            }
        }
    }

    /** Reads {@code log-base} if there is one; a damaged one stops the open (the log cannot be placed). */
    private void readBase() throws IOException {
        Path file = dir.resolve(BASE_FILE);
        if (!Files.exists(file)) {
            return;
        }
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, Math.max(0, bytes.length - 4));
        if (bytes.length != BASE_FILE_BYTES || buffer.getInt() != BASE_MAGIC) {
            throw new IOException(file + " is damaged (" + bytes.length + " bytes)");
        }
        long index = buffer.getLong();
        long epoch = buffer.getLong();
        if (buffer.getInt() != (int) crc.getValue() || index < 0 || epoch < 0) {
            throw new IOException(file + " fails its CRC32C check");
        }
        baseIndex = index;
        baseEpoch = epoch;
    }

    /** Writer thread: makes the base durable (temp file, fsync, rename, directory fsync). */
    private void writeBase(long index, long epoch) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(BASE_FILE_BYTES).putInt(BASE_MAGIC).putLong(index).putLong(epoch);
        CRC32C crc = new CRC32C();
        crc.update(buffer.array(), 0, BASE_FILE_BYTES - 4);
        buffer.putInt((int) crc.getValue()).flip();
        Path temp = dir.resolve(BASE_TEMP_FILE);
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        }
        Files.move(temp, dir.resolve(BASE_FILE), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        forceDirectory();
    }

    private static long firstIndexOf(Path segmentFile) {
        OptionalLong first = LogSegment.parseFirstIndex(segmentFile.getFileName().toString());
        return first.orElseThrow();
    }

    // ---------------------------------------------------------------- writer thread

    private void runWriter() {
        List<DiskOp> batch = new ArrayList<>();
        WriteBuffer buffer = new WriteBuffer();
        try {
            boolean stop = false;
            while (!stop) {
                batch.add(queue.take());
                queue.drainTo(batch);
                stop = execute(batch, buffer);
                batch.clear();
            }
        } catch (InterruptedException e) {
            writerFailure = e;
            log.error("Log writer for {} was interrupted; the log accepts no more writes", dir);
        } catch (Throwable e) {
            // Record every failure, Errors included (OOM while framing, a listener's StackOverflowError):
            // a writer that dies silently would leave appends accepted and durableIndex frozen.
            writerFailure = e;
            log.error("Log writer for {} failed; the log accepts no more writes", dir, e);
            if (e instanceof Error error) {
                throw error;
            }
        }
    }

    /**
     * Writes one batch, forces every touched file once, then advances durability. Returns true on Stop.
     * A truncation or deletion is made durable before any later write of the batch: otherwise a
     * crash could keep the new bytes but lose the cut (an ftruncate or unlink not yet persisted),
     * splicing new entries onto ones that were removed.
     */
    private boolean execute(List<DiskOp> batch, WriteBuffer buffer) throws IOException {
        Set<LogSegment> touched = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<LogSegment> cut = Collections.newSetFromMap(new IdentityHashMap<>()); // truncated, not yet forced
        boolean deleted = false; // a segment was unlinked and the directory not yet fsync'd
        boolean directoryChanged = false;
        boolean stop = false;
        long completedSeq = 0; // every change up to this sequence is entirely in this batch or an earlier one
        int i = 0;
        while (i < batch.size()) {
            DiskOp op = batch.get(i);
            completedSeq = Math.max(completedSeq, op.completedSeq());
            if (op instanceof WriteOp write) {
                if (deleted || !cut.isEmpty()) {
                    for (LogSegment segment : cut) {
                        force(segment); // fdatasync persists the new, smaller size
                        touched.remove(segment);
                    }
                    cut.clear();
                    if (deleted) {
                        forceDirectory(); // also covers the files created so far in this batch
                        deleted = false;
                        directoryChanged = false;
                    }
                }
                directoryChanged |= write.segment().openForWriting();
                writable.add(write.segment());
                active = write.segment();
                buffer.clear();
                buffer.append(write.entries());
                long position = write.position();
                long end = position + buffer.size();
                // Coalesce queued appends that continue the same segment into one write call.
                while (i + 1 < batch.size() && buffer.size() < WRITE_CHUNK_BYTES
                        && batch.get(i + 1) instanceof WriteOp next
                        && next.segment() == write.segment() && next.position() == end) {
                    buffer.append(next.entries());
                    end = position + buffer.size();
                    completedSeq = Math.max(completedSeq, next.completedSeq());
                    i++;
                }
                buffer.writeTo(write.segment().writeChannel(), position);
                diskSteps.after(DiskStep.WRITE, write.segment().toString());
                touched.add(write.segment());
            } else if (op instanceof TruncateOp truncate) {
                directoryChanged |= truncate.segment().openForWriting();
                writable.add(truncate.segment());
                active = truncate.segment();
                truncate.segment().writeChannel().truncate(truncate.size());
                diskSteps.after(DiskStep.TRUNCATE, truncate.segment().toString());
                touched.add(truncate.segment());
                cut.add(truncate.segment());
            } else if (op instanceof BaseOp base) {
                writeBase(base.index(), base.epoch());
            } else if (op instanceof DeleteOp delete) {
                touched.remove(delete.segment());
                cut.remove(delete.segment());
                writable.remove(delete.segment());
                delete.segment().close();
                Files.deleteIfExists(delete.segment().path);
                diskSteps.after(DiskStep.DELETE, delete.segment().toString());
                directoryChanged = true;
                deleted = true;
            } else {
                stop = true;
            }
            i++;
        }
        for (LogSegment segment : touched) {
            force(segment);
        }
        if (directoryChanged) {
            forceDirectory();
        }
        // Everything written is on disk: release the segments rolled past, so open file
        // descriptors stay bounded however long the log grows. A later truncation reopens one.
        for (var it = writable.iterator(); it.hasNext(); ) {
            LogSegment segment = it.next();
            if (segment != active) {
                segment.closeWriteChannel();
                it.remove();
            }
        }
        if (completedSeq > 0) {
            markDurable(completedSeq);
        }
        return stop;
    }

    private void force(LogSegment segment) throws IOException {
        long start = System.nanoTime();
        segment.writeChannel().force(false); // fdatasync also persists size changes (growth and truncation)
        fsyncObserver.accept(System.nanoTime() - start);
        fsyncs.incrementAndGet();
        diskSteps.after(DiskStep.FORCE, segment.toString());
    }

    private void forceDirectory() throws IOException {
        DirectoryFsync.force(dir);
        diskSteps.after(DiskStep.DIRECTORY_FSYNC, dir.toString());
    }

    /** How many segments hold an open write channel; tests check it stays at one. */
    int openWriteChannels() {
        lock.readLock().lock();
        try {
            return (int) segments.values().stream().filter(LogSegment::hasWriteChannel).count();
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Installs what the writer thread tells the duration of each segment fsync, in nanoseconds
     * (for metrics); it must be quick and must not throw.
     */
    public void observeFsyncs(LongConsumer observer) {
        fsyncObserver = Objects.requireNonNull(observer, "observer");
    }

    /** Test hook: installs an observer the writer thread calls after each disk step. */
    void observeDiskSteps(DiskStepObserver observer) {
        diskSteps = Objects.requireNonNull(observer, "observer");
    }

    /** A step the writer thread takes on disk, as reported to a {@link DiskStepObserver}. */
    enum DiskStep { WRITE, TRUNCATE, DELETE, FORCE, DIRECTORY_FSYNC }

    /**
     * Told by the writer thread after each disk step, with the segment file name (or the
     * directory for {@link DiskStep#DIRECTORY_FSYNC}); lets tests check the order of steps
     * that crash safety depends on. The default does nothing.
     */
    @FunctionalInterface
    interface DiskStepObserver {
        void after(DiskStep step, String file);
    }

    private void markDurable(long seq) {
        long advancedTo = -1;
        lock.writeLock().lock();
        try {
            if (durability.fsyncedThrough(seq)) {
                durableIndex = durability.durableIndex();
                advancedTo = durableIndex;
            }
            trimWindow();
        } finally {
            lock.writeLock().unlock();
        }
        if (advancedTo >= 0) {
            try {
                listener.onDurable(advancedTo);
            } catch (RuntimeException e) {
                log.error("Durability listener of the log in {} failed at index {}", dir, advancedTo, e);
            }
            // An Error from the listener propagates: runWriter records it as the writer's failure.
        }
    }

    private static void closeQuietly(FileChannel channel, Exception primary) {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        } catch (IOException e) {
            primary.addSuppressed(e);
        }
    }

    // ---------------------------------------------------------------- queued disk operations

    /** One step of a change; {@code lastOfChange} marks the step after which change {@code seq} is whole. */
    private sealed interface DiskOp permits WriteOp, TruncateOp, DeleteOp, BaseOp, Stop {
        long seq();

        boolean lastOfChange();

        /** The highest sequence whose change is complete once this step (and all before it) is done. */
        default long completedSeq() {
            return lastOfChange() ? seq() : seq() - 1;
        }
    }

    private record WriteOp(long seq, boolean lastOfChange, LogSegment segment, long position, List<Entry> entries)
            implements DiskOp {
    }

    private record TruncateOp(long seq, boolean lastOfChange, LogSegment segment, long size) implements DiskOp {
    }

    private record DeleteOp(long seq, boolean lastOfChange, LogSegment segment) implements DiskOp {
    }

    /** Makes a compaction's new base durable; queued before the deletions of the segments it covers. */
    private record BaseOp(long seq, boolean lastOfChange, long index, long epoch) implements DiskOp {
    }

    private enum Stop implements DiskOp {
        INSTANCE;

        @Override
        public long seq() {
            return 0;
        }

        @Override
        public boolean lastOfChange() {
            return true;
        }
    }

    private static final class Damage {
        final Path file;
        final long offset;
        final String reason;
        long droppedBytes;
        int laterSegments;

        Damage(Path file, long offset, String reason, long droppedBytes) {
            this.file = file;
            this.offset = offset;
            this.reason = reason;
            this.droppedBytes = droppedBytes;
        }
    }

    /** The writer thread's reusable staging area where records are framed before a write call. */
    private static final class WriteBuffer {
        private byte[] bytes = new byte[64 * 1024];
        private int size;
        private final CRC32C crc = new CRC32C();

        void clear() {
            size = 0;
        }

        int size() {
            return size;
        }

        void append(List<Entry> entries) throws IOException {
            for (Entry entry : entries) {
                int length = entry.getSerializedSize();
                ensureCapacity(size + HEADER_BYTES + length);
                int payloadAt = size + HEADER_BYTES;
                CodedOutputStream out = CodedOutputStream.newInstance(bytes, payloadAt, length);
                entry.writeTo(out);
                out.checkNoSpaceLeft();
                crc.reset();
                crc.update(bytes, payloadAt, length);
                ByteBuffer.wrap(bytes, size, HEADER_BYTES).putInt(length).putInt((int) crc.getValue());
                size = payloadAt + length;
            }
        }

        void writeTo(FileChannel channel, long position) throws IOException {
            ByteBuffer src = ByteBuffer.wrap(bytes, 0, size);
            long at = position;
            while (src.hasRemaining()) {
                at += channel.write(src, at);
            }
        }

        private void ensureCapacity(int needed) {
            if (needed > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(needed, bytes.length * 2));
            }
        }
    }
}
