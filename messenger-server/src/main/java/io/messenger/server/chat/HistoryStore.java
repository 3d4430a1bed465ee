package io.messenger.server.chat;

import com.google.protobuf.InvalidProtocolBufferException;
import io.messenger.proto.chat.StoredMessage;
import io.messenger.proto.client.Deliver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import java.util.function.Predicate;
import org.rocksdb.Checkpoint;
import org.rocksdb.CompressionType;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable room history: every applied message in a RocksDB database, keyed by room and
 * room sequence so a page of one room is one short range scan.
 *
 * <p>Key: one byte holding the room name's length, the name (ASCII, 1 to 32 characters by
 * {@code NameRules}), then the room sequence as 8 big-endian bytes, so a room's messages sort
 * by sequence. Value: a {@link StoredMessage}. One metadata key (length byte 0, which no room
 * has) holds the log index of the last apply written, in the same batch as that apply's
 * changes.
 *
 * <p>Writes come only from the apply thread: {@link #put} and {@link #deleteThrough} collect
 * into a batch that {@link #commit} writes with the write-ahead log on but no fsync. That is
 * enough because the replicated log is the source of truth: after a crash the node applies
 * the log again from its snapshot (or from index 1), and every put and range delete is
 * idempotent, so the store converges to what the applies say. Reads may come from any
 * thread; a read-write lock keeps them off a database that {@link #close} or
 * {@link #replaceWith} is releasing.
 */
public final class HistoryStore implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(HistoryStore.class);
    private static final int READER_THREADS = 2;
    /** Page reads waiting for a reader; beyond this a request is refused as busy. */
    private static final int READ_QUEUE = 1024;
    private static final byte[] APPLIED_INDEX_KEY = "\0applied-index".getBytes(StandardCharsets.US_ASCII);

    static {
        RocksDB.loadLibrary();
    }

    private final Path dir;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final WriteOptions writeOptions = new WriteOptions().setSync(false).setDisableWAL(false);
    private final WriteBatch batch = new WriteBatch();
    /** Batches written since open, for tests and metrics (written on the apply thread). */
    private final AtomicLong batchesWritten = new AtomicLong();
    /** The log index whose write failed, 0 if none has (apply thread). */
    private long failedAt;
    /** Runs page reads for client requests, off the event loops and the apply thread. */
    private final ThreadPoolExecutor readers = new ThreadPoolExecutor(READER_THREADS, READER_THREADS, 30,
            TimeUnit.SECONDS, new ArrayBlockingQueue<>(READ_QUEUE), runnable -> {
                Thread t = new Thread(runnable, "history-reader");
                t.setDaemon(true);
                return t;
            });
    private Options options;
    private RocksDB db;
    private boolean closed;

    private HistoryStore(Path dir) throws IOException {
        this.dir = dir;
        readers.allowCoreThreadTimeOut(true);
        open();
    }

    /** Opens (creating if absent) the store in {@code dir}. */
    public static HistoryStore open(Path dir) throws IOException {
        return new HistoryStore(dir);
    }

    private void open() throws IOException {
        long started = System.nanoTime();
        Files.createDirectories(dir);
        options = new Options().setCreateIfMissing(true).setCompressionType(CompressionType.LZ4_COMPRESSION);
        try {
            db = RocksDB.open(options, dir.toString());
        } catch (RocksDBException e) {
            options.close();
            throw new IOException("cannot open the history store in " + dir + ": " + e.getMessage(), e);
        }
        log.info("Opened the history store in {} in {} ms", dir, (System.nanoTime() - started) / 1_000_000);
    }

    /**
     * Runs {@code read} on one of the store's reader threads. Fails with a
     * {@link java.util.concurrent.RejectedExecutionException} when too many reads wait already
     * or the store is closing.
     */
    public <T> CompletableFuture<T> readAsync(Supplier<T> read) {
        try {
            return CompletableFuture.supplyAsync(read, readers);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** Where the live database lives. */
    public Path directory() {
        return dir;
    }

    static byte[] key(String room, long seq) {
        byte[] name = room.getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.allocate(1 + name.length + Long.BYTES).put((byte) name.length).put(name).putLong(seq).array();
    }

    private static long seqOf(byte[] key) {
        return ByteBuffer.wrap(key, key.length - Long.BYTES, Long.BYTES).getLong();
    }

    /** Adds a message to the pending batch (apply thread). */
    void put(Deliver d) {
        byte[] value = StoredMessage.newBuilder().setSender(d.getSender()).setText(d.getText())
                .setServerTimeMs(d.getServerTimeMs()).build().toByteArray();
        try {
            batch.put(key(d.getRoom(), d.getRoomSeq()), value);
        } catch (RocksDBException e) {
            throw new IllegalStateException("history batch put failed: " + e.getMessage(), e);
        }
    }

    /** Adds the deletion of every message of {@code room} up to {@code seq} to the pending batch. */
    void deleteThrough(String room, long seq) {
        try {
            batch.deleteRange(key(room, 0), key(room, seq + 1));
        } catch (RocksDBException e) {
            throw new IllegalStateException("history batch delete failed: " + e.getMessage(), e);
        }
    }

    /**
     * Writes the pending batch, with {@code appliedIndex} recorded in it, if it holds anything.
     * A failure stops the apply (the state machine cannot stay consistent with its store).
     */
    void commit(long appliedIndex) {
        if (batch.count() == 0) {
            return;
        }
        lock.readLock().lock();
        try {
            ensureOpen();
            if (failedAt != 0) {
                // A later write would record an index past the lost batch, and a replay (which skips
                // the store for entries up to it) would never write that batch again: the store keeps
                // the index of its last good write, so the restart replays everything after it.
                throw new IllegalStateException("the history store refuses writes since writing at log index "
                        + failedAt + " failed; restart the node to replay the log into it");
            }
            batch.put(APPLIED_INDEX_KEY, ByteBuffer.allocate(Long.BYTES).putLong(appliedIndex).array());
            db.write(writeOptions, batch);
            batchesWritten.incrementAndGet();
        } catch (RocksDBException e) {
            failedAt = appliedIndex;
            throw new IllegalStateException("writing history at log index " + appliedIndex + " failed: "
                    + e.getMessage(), e);
        } finally {
            batch.clear();
            lock.readLock().unlock();
        }
    }

    /** How many write batches {@link #commit} has written since the store was opened. */
    public long batchesWritten() {
        return batchesWritten.get();
    }

    /** The log index of the last apply that wrote here, 0 for an empty store. */
    public long appliedIndex() {
        lock.readLock().lock();
        try {
            ensureOpen();
            byte[] v = db.get(APPLIED_INDEX_KEY);
            return v == null ? 0 : ByteBuffer.wrap(v).getLong();
        } catch (RocksDBException e) {
            throw new UncheckedIOException(new IOException("reading the history store failed: " + e.getMessage(), e));
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Up to {@code limit} messages of {@code room} with {@code fromSeq <= room_seq < beforeSeq},
     * the newest ones, oldest first, whose serialized sizes (plus 8 bytes each for framing) sum
     * to at most {@code maxBytes} (at least one message is returned if any exists).
     */
    public List<Deliver> before(String room, long fromSeq, long beforeSeq, int limit, int maxBytes) {
        List<Deliver> out = new ArrayList<>(Math.min(limit, 512));
        if (beforeSeq <= fromSeq || limit <= 0) {
            return out;
        }
        lock.readLock().lock();
        try (Slice lower = new Slice(key(room, fromSeq));
             Slice upper = new Slice(key(room, beforeSeq));
             ReadOptions ro = new ReadOptions().setIterateLowerBound(lower).setIterateUpperBound(upper);
             RocksIterator it = openIterator(ro)) {
            int budget = maxBytes;
            for (it.seekToLast(); it.isValid() && out.size() < limit; it.prev()) {
                Deliver d = decode(room, it.key(), it.value());
                budget -= d.getSerializedSize() + 8;
                if (budget < 0 && !out.isEmpty()) {
                    break;
                }
                out.add(d);
            }
            it.status();
        } catch (RocksDBException e) {
            throw new UncheckedIOException(new IOException("reading the history store failed: " + e.getMessage(), e));
        } finally {
            lock.readLock().unlock();
        }
        Collections.reverse(out);
        return out;
    }

    /**
     * Hands the messages of {@code room} with {@code fromSeq <= room_seq <= throughSeq} to
     * {@code consumer} in order, until it returns false. Reads as it goes: memory stays
     * bounded however long the range.
     */
    public void scan(String room, long fromSeq, long throughSeq, Predicate<Deliver> consumer) {
        if (throughSeq < fromSeq) {
            return;
        }
        lock.readLock().lock();
        try (Slice upper = new Slice(key(room, throughSeq + 1));
             ReadOptions ro = new ReadOptions().setIterateUpperBound(upper);
             RocksIterator it = openIterator(ro)) {
            for (it.seek(key(room, fromSeq)); it.isValid(); it.next()) {
                if (!consumer.test(decode(room, it.key(), it.value()))) {
                    break;
                }
            }
            it.status();
        } catch (RocksDBException e) {
            throw new UncheckedIOException(new IOException("reading the history store failed: " + e.getMessage(), e));
        } finally {
            lock.readLock().unlock();
        }
    }

    private RocksIterator openIterator(ReadOptions ro) {
        ensureOpen();
        return db.newIterator(ro);
    }

    private static Deliver decode(String room, byte[] key, byte[] value) {
        try {
            StoredMessage m = StoredMessage.parseFrom(value);
            return Deliver.newBuilder().setRoom(room).setRoomSeq(seqOf(key)).setSender(m.getSender())
                    .setText(m.getText()).setServerTimeMs(m.getServerTimeMs()).build();
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("history entry " + room + "#" + seqOf(key) + " is damaged", e);
        }
    }

    /** RocksDB's own size of the data: live SST files plus memtables, in bytes. */
    public long sizeBytes() {
        lock.readLock().lock();
        try {
            if (closed) {
                return 0;
            }
            return db.getLongProperty("rocksdb.total-sst-files-size") + db.getLongProperty("rocksdb.cur-size-all-mem-tables");
        } catch (RocksDBException e) {
            return -1;
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * Writes a consistent copy of the store into {@code target}, which must not exist yet (hard
     * links where the file system allows, so it is quick and small).
     */
    public void checkpoint(Path target) throws IOException {
        lock.readLock().lock();
        try (Checkpoint cp = Checkpoint.create(openDb())) {
            cp.createCheckpoint(target.toString());
        } catch (RocksDBException e) {
            throw new IOException("checkpoint of the history store into " + target + " failed: " + e.getMessage(), e);
        } finally {
            lock.readLock().unlock();
        }
    }

    private RocksDB openDb() {
        ensureOpen();
        return db;
    }

    /**
     * Replaces the live database by a copy of the checkpoint in {@code source} (apply thread;
     * readers wait meanwhile). The pending batch is dropped.
     */
    void replaceWith(Path source) throws IOException {
        lock.writeLock().lock();
        try {
            ensureOpen();
            batch.clear();
            db.close();
            options.close();
            deleteTree(dir);
            copyTree(source, dir);
            open();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Removes every message (apply thread), e.g. before a restore from a snapshot without history. */
    void clear() throws IOException {
        lock.writeLock().lock();
        try {
            ensureOpen();
            batch.clear();
            db.close();
            options.close();
            deleteTree(dir);
            open();
        } finally {
            lock.writeLock().unlock();
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var paths = Files.list(from)) {
            for (Path p : paths.toList()) {
                Files.copy(p, to.resolve(p.getFileName().toString()));
            }
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the history store is closed");
        }
    }

    /** Flushes the memtables and releases every native handle; idempotent. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            readers.shutdownNow(); // a read still running fails at its next step: the store is closed
            try {
                db.syncWal();
            } catch (RocksDBException e) {
                log.warn("syncing the history store's WAL on close failed: {}", e.getMessage());
            }
            db.close();
            options.close();
            batch.close();
            writeOptions.close();
        } finally {
            lock.writeLock().unlock();
        }
    }
}
