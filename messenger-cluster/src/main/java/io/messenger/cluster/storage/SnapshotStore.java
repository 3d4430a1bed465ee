package io.messenger.cluster.storage;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshots of one node in {@code <data-dir>/snapshots/}: each a directory
 * {@code snapshot-<index, 20 digits>} holding the state machine's files and a {@code MANIFEST}
 * (index, epoch, and each file's name, size and CRC32C, itself ended by a CRC32C of its text).
 *
 * <p>A snapshot is built in a {@code tmp-…} directory ({@link #newWorkDirectory()}) and made
 * visible by {@link #commit}: every file and the directory are fsync'd, the manifest is written
 * last (temp file, fsync, rename), and the directory is renamed into place and its parent
 * fsync'd. So a directory named {@code snapshot-…} with a valid manifest is complete; anything
 * else (a work directory, a torn or missing manifest, a file whose size or CRC does not match)
 * was never finished and is deleted by {@link #open}. The newest {@link #RETAINED} snapshots
 * are kept.
 *
 * <p>Thread-safe: {@link #commit} and {@link #latest()} may be called from different threads.
 */
public final class SnapshotStore {

    /** How many complete snapshots are kept (the newest; older ones are deleted by each commit). */
    public static final int RETAINED = 2;

    static final String MANIFEST = "MANIFEST";
    static final String MANIFEST_TEMP = "MANIFEST.tmp";
    static final String SNAPSHOT_PREFIX = "snapshot-";
    static final String WORK_PREFIX = "tmp-";
    /** Prefix of directories a snapshot being received from the leader is written into. */
    public static final String INCOMING_PREFIX = "incoming-";
    private static final String MANIFEST_MAGIC = "messenger-snapshot 1";

    private static final Logger log = LoggerFactory.getLogger(SnapshotStore.class);

    private final Path dir;
    private final Predicate<String> checksItself;
    private volatile SnapshotMeta latest;
    private long workCounter;
    /** Snapshot directories being read (sent to a backup), with their reader counts: never pruned. */
    private final java.util.Map<Path, Integer> pinned = new java.util.HashMap<>();

    private SnapshotStore(Path dir, Predicate<String> checksItself) {
        this.dir = dir;
        this.checksItself = checksItself;
    }

    /**
     * Opens (creating if needed) the snapshot directory {@code dir}: deletes unfinished work and
     * incoming directories and every {@code snapshot-…} directory whose manifest is missing,
     * torn, or does not match its files, then remembers the newest valid snapshot.
     *
     * @throws UncheckedIOException if the directory cannot be read or cleaned
     */
    public static SnapshotStore open(Path dir) {
        return open(dir, name -> false);
    }

    /**
     * {@link #open(Path)}, where the files for which {@code checksItself} holds (named by their
     * path in the snapshot, {@code /}-separated) are checked at open by size only: they carry
     * checksums of their own that whoever reads them verifies (a RocksDB SST file checks every block
     * it reads), and reading them all at every start would cost time in proportion to the history.
     * Their CRC32C is still recorded in the manifest, and checked by a backup receiving them.
     */
    public static SnapshotStore open(Path dir, Predicate<String> checksItself) {
        SnapshotStore store = new SnapshotStore(dir, Objects.requireNonNull(checksItself, "checksItself"));
        try {
            Files.createDirectories(dir);
            store.recover();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the snapshots in " + dir + ": " + e.getMessage(), e);
        }
        return store;
    }

    /** The directory this store keeps its snapshots in. */
    public Path directory() {
        return dir;
    }

    /** The newest complete snapshot, if any. */
    public Optional<SnapshotMeta> latest() {
        return Optional.ofNullable(latest);
    }

    /**
     * A new, empty directory beside the snapshots (never taken for one) for the state machine to
     * write a snapshot into before {@link #commit}, or to receive one into.
     */
    public synchronized Path newWorkDirectory(String prefix) throws IOException {
        if (!prefix.equals(WORK_PREFIX) && !prefix.equals(INCOMING_PREFIX)) {
            throw new IllegalArgumentException("unknown work directory prefix " + prefix);
        }
        Path work;
        do {
            work = dir.resolve(prefix + System.currentTimeMillis() + "-" + (++workCounter));
        } while (Files.exists(work));
        Files.createDirectory(work);
        return work;
    }

    /** {@link #newWorkDirectory(String)} for a snapshot this node takes itself. */
    public Path newWorkDirectory() throws IOException {
        return newWorkDirectory(WORK_PREFIX);
    }

    /**
     * Makes the files in {@code work} the snapshot at ({@code index}, {@code epoch}): fsyncs them,
     * writes the manifest, renames the directory into place and deletes all but the newest
     * {@link #RETAINED} snapshots. A snapshot at or below the latest one is refused (the work
     * directory is deleted) since it would add nothing.
     *
     * @return the committed snapshot, or the latest one if this one was not newer
     */
    public synchronized SnapshotMeta commit(Path work, long index, long epoch) throws IOException {
        if (index < 1 || epoch < 1) {
            throw new IllegalArgumentException("a snapshot needs an index and an epoch of at least 1, not "
                    + index + "/" + epoch);
        }
        SnapshotMeta current = latest;
        if (current != null && index <= current.index()) {
            deleteTree(work);
            return current;
        }
        List<SnapshotFile> files = new ArrayList<>();
        for (Path file : listFiles(work)) {
            String name = work.relativize(file).toString().replace('\\', '/');
            if (name.equals(MANIFEST) || name.equals(MANIFEST_TEMP)) {
                throw new IOException("the state machine wrote a file named " + name + ", which the snapshot needs");
            }
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
            files.add(new SnapshotFile(name, Files.size(file), crcOf(file)));
        }
        for (Path sub : listDirectories(work)) {
            DirectoryFsync.force(sub);
        }
        writeManifest(work, index, epoch, files);
        Path target = dir.resolve(directoryName(index));
        if (Files.exists(target)) {
            // Left by a commit that crashed after its rename but was then found invalid: gone below.
            deleteTree(target);
        }
        try {
            Files.move(work, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename a snapshot into place atomically in " + dir, e);
        }
        DirectoryFsync.force(dir);
        SnapshotMeta meta = new SnapshotMeta(index, epoch, target, List.copyOf(files));
        latest = meta;
        prune();
        return meta;
    }

    /**
     * The newest complete snapshot, kept from pruning until {@link #unpin} (a leader sending it to
     * a backup must not see it deleted half-way by two newer commits).
     */
    public synchronized Optional<SnapshotMeta> pinLatest() {
        SnapshotMeta meta = latest;
        if (meta != null) {
            pinned.merge(meta.directory(), 1, Integer::sum);
        }
        return Optional.ofNullable(meta);
    }

    /** Releases a snapshot taken by {@link #pinLatest()}; it may be pruned from now on. */
    public synchronized void unpin(SnapshotMeta meta) {
        Integer count = pinned.get(meta.directory());
        if (count == null) {
            return;
        }
        if (count == 1) {
            pinned.remove(meta.directory());
            try {
                prune();
            } catch (IOException e) {
                log.warn("cannot prune old snapshots in {}: {}", dir, e.toString());
            }
        } else {
            pinned.put(meta.directory(), count - 1);
        }
    }

    /** The name of the directory of the snapshot at {@code index}. */
    public static String directoryName(long index) {
        return SNAPSHOT_PREFIX + String.format("%020d", index);
    }

    /**
     * Reads and checks the snapshot in {@code snapshotDir}: its manifest must be complete and
     * every file it names must have the recorded size and CRC32C.
     *
     * @return the snapshot, or empty (with the reason logged) if it cannot be trusted
     */
    public static Optional<SnapshotMeta> verify(Path snapshotDir) {
        return verify(snapshotDir, name -> false);
    }

    /** {@link #verify(Path)}, checking the files for which {@code checksItself} holds by size only. */
    static Optional<SnapshotMeta> verify(Path snapshotDir, Predicate<String> checksItself) {
        try {
            SnapshotMeta meta = readManifest(snapshotDir);
            for (SnapshotFile f : meta.files()) {
                Path file = snapshotDir.resolve(f.name());
                if (!Files.isRegularFile(file)) {
                    log.warn("snapshot {}: file {} is missing", snapshotDir, f.name());
                    return Optional.empty();
                }
                long size = Files.size(file);
                if (size != f.size()) {
                    log.warn("snapshot {}: file {} holds {} bytes, the manifest says {}", snapshotDir, f.name(), size,
                            f.size());
                    return Optional.empty();
                }
                if (checksItself.test(f.name())) {
                    continue;
                }
                long crc = crcOf(file);
                if (crc != f.crc32c()) {
                    log.warn("snapshot {}: file {} fails its CRC32C check", snapshotDir, f.name());
                    return Optional.empty();
                }
            }
            return Optional.of(meta);
        } catch (IOException | RuntimeException e) {
            log.warn("snapshot {} has no valid manifest: {}", snapshotDir, e.toString());
            return Optional.empty();
        }
    }

    // ------------------------------------------------------------------ internals

    private void recover() throws IOException {
        List<Path> snapshots = new ArrayList<>();
        try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
            for (Path child : children) {
                String name = child.getFileName().toString();
                if (name.startsWith(WORK_PREFIX) || name.startsWith(INCOMING_PREFIX)) {
                    log.info("removing {}, a snapshot that was never finished", child);
                    deleteTree(child);
                } else if (name.startsWith(SNAPSHOT_PREFIX) && Files.isDirectory(child)) {
                    snapshots.add(child);
                }
            }
        }
        snapshots.sort(Comparator.comparing((Path p) -> p.getFileName().toString()).reversed());
        List<SnapshotMeta> valid = new ArrayList<>();
        for (Path candidate : snapshots) {
            Optional<SnapshotMeta> meta = verify(candidate, checksItself);
            if (meta.isEmpty() || !candidate.getFileName().toString().equals(directoryName(meta.get().index()))) {
                log.warn("removing {}: not a complete snapshot", candidate);
                deleteTree(candidate);
            } else {
                valid.add(meta.get());
            }
        }
        DirectoryFsync.force(dir);
        latest = valid.isEmpty() ? null : valid.get(0);
        prune();
    }

    /** Deletes every complete snapshot but the newest {@link #RETAINED}. */
    private void prune() throws IOException {
        List<Path> snapshots = new ArrayList<>();
        try (DirectoryStream<Path> children = Files.newDirectoryStream(dir, SNAPSHOT_PREFIX + "*")) {
            children.forEach(snapshots::add);
        }
        snapshots.sort(Comparator.comparing((Path p) -> p.getFileName().toString()).reversed());
        for (int i = RETAINED; i < snapshots.size(); i++) {
            if (!pinned.containsKey(snapshots.get(i))) {
                deleteTree(snapshots.get(i));
            }
        }
        if (snapshots.size() > RETAINED) {
            DirectoryFsync.force(dir);
        }
    }

    private static void writeManifest(Path work, long index, long epoch, List<SnapshotFile> files)
            throws IOException {
        StringBuilder text = new StringBuilder();
        text.append(MANIFEST_MAGIC).append('\n');
        text.append("index ").append(index).append('\n');
        text.append("epoch ").append(epoch).append('\n');
        for (SnapshotFile f : files) {
            if (f.name().contains(" ") || f.name().contains("\n")) {
                throw new IOException("snapshot file names may not hold spaces or line breaks: " + f.name());
            }
            text.append("file ").append(f.name()).append(' ').append(f.size()).append(' ')
                    .append(Long.toHexString(f.crc32c())).append('\n');
        }
        byte[] body = text.toString().getBytes(StandardCharsets.UTF_8);
        CRC32C crc = new CRC32C();
        crc.update(body);
        byte[] trailer = ("crc " + Long.toHexString(crc.getValue()) + "\n").getBytes(StandardCharsets.UTF_8);
        Path temp = work.resolve(MANIFEST_TEMP);
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.allocate(body.length + trailer.length).put(body).put(trailer).flip();
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        }
        Files.move(temp, work.resolve(MANIFEST), StandardCopyOption.ATOMIC_MOVE);
        DirectoryFsync.force(work);
    }

    static SnapshotMeta readManifest(Path snapshotDir) throws IOException {
        String text = Files.readString(snapshotDir.resolve(MANIFEST), StandardCharsets.UTF_8);
        int trailerAt = text.lastIndexOf("crc ");
        if (trailerAt < 0 || !text.endsWith("\n")) {
            throw new IOException("manifest is torn (no trailer)");
        }
        byte[] body = text.substring(0, trailerAt).getBytes(StandardCharsets.UTF_8);
        CRC32C crc = new CRC32C();
        crc.update(body);
        long recorded = Long.parseUnsignedLong(text.substring(trailerAt + 4, text.length() - 1).trim(), 16);
        if (recorded != crc.getValue()) {
            throw new IOException("manifest fails its CRC32C check");
        }
        String[] lines = text.substring(0, trailerAt).split("\n");
        if (lines.length < 3 || !lines[0].equals(MANIFEST_MAGIC) || !lines[1].startsWith("index ")
                || !lines[2].startsWith("epoch ")) {
            throw new IOException("manifest has an unknown format");
        }
        long index = Long.parseLong(lines[1].substring(6));
        long epoch = Long.parseLong(lines[2].substring(6));
        if (index < 1 || epoch < 1) {
            throw new IOException("manifest names index " + index + " and epoch " + epoch);
        }
        List<SnapshotFile> files = new ArrayList<>();
        for (int i = 3; i < lines.length; i++) {
            String[] parts = lines[i].split(" ");
            if (parts.length != 4 || !parts[0].equals("file")) {
                throw new IOException("manifest line " + (i + 1) + " is malformed");
            }
            Path resolved = snapshotDir.resolve(parts[1]).normalize();
            if (!resolved.startsWith(snapshotDir.normalize()) || resolved.equals(snapshotDir.normalize())) {
                throw new IOException("manifest names a file outside the snapshot: " + parts[1]);
            }
            files.add(new SnapshotFile(parts[1], Long.parseLong(parts[2]), Long.parseUnsignedLong(parts[3], 16)));
        }
        return new SnapshotMeta(index, epoch, snapshotDir, List.copyOf(files));
    }

    static long crcOf(Path file) throws IOException {
        CRC32C crc = new CRC32C();
        byte[] buffer = new byte[64 * 1024];
        try (InputStream in = Files.newInputStream(file)) {
            int n;
            while ((n = in.read(buffer)) > 0) {
                crc.update(buffer, 0, n);
            }
        }
        return crc.getValue();
    }

    private static List<Path> listFiles(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile).sorted().toList();
        }
    }

    private static List<Path> listDirectories(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList();
        }
    }

    /** Deletes a directory and everything under it (missing: nothing to do). */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** One file of a snapshot as its manifest records it. */
    public record SnapshotFile(String name, long size, long crc32c) {
    }

    /**
     * A complete snapshot: the state machine's state after applying every entry up to
     * {@code index} (whose epoch is {@code epoch}), in {@code directory}.
     */
    public record SnapshotMeta(long index, long epoch, Path directory, List<SnapshotFile> files) {

        /** Total bytes of the snapshot's files (without the manifest). */
        public long bytes() {
            return files.stream().mapToLong(SnapshotFile::size).sum();
        }
    }
}
