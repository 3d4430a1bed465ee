package io.messenger.cluster;

import com.google.protobuf.ByteString;
import io.messenger.cluster.storage.SnapshotStore;
import io.messenger.cluster.storage.SnapshotStore.SnapshotFile;
import io.messenger.cluster.storage.SnapshotStore.SnapshotMeta;
import io.messenger.proto.peer.InstallSnapshot;
import io.messenger.proto.peer.InstallSnapshotResult;
import io.messenger.proto.peer.PeerEnvelope;
import io.messenger.proto.peer.PeerProtocolVersion;
import io.messenger.proto.peer.SnapshotFileInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * InstallSnapshot over the peer links, both ends, on one thread of its own (file reads and
 * writes never run on the consensus thread or an event loop).
 *
 * <p><b>Leader side.</b> When the core reports a backup whose next entries are compacted away,
 * {@link #send} pins the latest snapshot and streams its files, in manifest order, as one byte
 * stream cut into chunks of at most {@code chunkBytes}; the chunk at offset 0 carries the file
 * list (name, size, CRC32C). At most {@link #WINDOW} chunks are unanswered at a time (flow
 * control: a slow disk on the backup slows the stream, never fills the link). A backup that asks
 * for another offset (it already holds that much of the same snapshot, or missed a chunk) gets
 * the stream from there; a stream without an answer for {@link #RESEND_AFTER} is resent from the
 * last acknowledged offset, and one without progress for {@link #GIVE_UP_AFTER} ends (the core
 * asks again later if the backup still needs it). Leadership lost ends every transfer.
 *
 * <p><b>Backup side.</b> {@link #onChunk} (for chunks the core admitted from its leader) writes
 * into an {@code incoming-…} directory of the snapshot store, checking each file's CRC32C as its
 * last byte arrives. A chunk of another snapshot at offset 0 starts over; any other chunk not at
 * the offset written so far is answered with that offset. Only when every byte is in and every
 * file matched is the snapshot committed to the store and handed to the {@link Installer}; a
 * half-received one is never used (the store deletes {@code incoming-…} directories on open).
 * File names are checked against a strict pattern, so a peer cannot write outside the directory.
 */
final class SnapshotTransfer implements AutoCloseable {

    /** Most unanswered chunks per transfer. */
    static final int WINDOW = 4;
    /** A transfer without an answer for this long is resent from the last acknowledged offset. */
    static final Duration RESEND_AFTER = Duration.ofSeconds(1);
    /** A transfer without progress for this long ends. */
    static final Duration GIVE_UP_AFTER = Duration.ofSeconds(30);
    /** Most files a received snapshot may name. */
    static final int MAX_FILES = 100_000;
    /** Most bytes a received snapshot may hold. */
    static final long MAX_TOTAL_BYTES = 1L << 40;
    private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*");
    private static final Logger log = LoggerFactory.getLogger(SnapshotTransfer.class);

    /** Sends one envelope to a peer; false if the link dropped it. Thread-safe. */
    interface Link {
        boolean send(int peerId, PeerEnvelope envelope);
    }

    /** What the node does with transfers' outcomes; each call is made on the transfer thread. */
    interface Installer {
        /** Leader side: the transfer to {@code peerId} ended without the backup installing it. */
        void transferEnded(int peerId);

        /**
         * Backup side: a received snapshot is complete and committed to the store. The node
         * installs it on its own threads and then calls {@link #answerInstalled} so the leader
         * resumes appends only once this node's log continues from the snapshot.
         */
        void received(SnapshotMeta snapshot, int leaderId, long epoch);
    }

    private final int nodeId;
    private final SnapshotStore store;
    private final int chunkBytes;
    private final Link link;
    private final Installer installer;
    private final LongSupplier commitIndex;
    private final ScheduledExecutorService thread;

    // Transfer thread only.
    private final Map<Integer, Outgoing> outgoing = new HashMap<>();
    private Incoming incoming;

    private volatile long snapshotsSent;
    private volatile long snapshotsReceived;
    private volatile long bytesSent;

    SnapshotTransfer(int nodeId, SnapshotStore store, int chunkBytes, Link link, Installer installer,
            LongSupplier commitIndex) {
        if (chunkBytes < 1024) {
            throw new IllegalArgumentException("snapshot chunks must hold at least 1024 bytes, not " + chunkBytes);
        }
        this.nodeId = nodeId;
        this.store = store;
        this.chunkBytes = chunkBytes;
        this.link = link;
        this.installer = installer;
        this.commitIndex = commitIndex;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "snapshot-transfer-" + nodeId);
            t.setDaemon(true);
            return t;
        });
        long period = RESEND_AFTER.toMillis() / 4;
        thread.scheduleAtFixedRate(this::checkStalls, period, period, TimeUnit.MILLISECONDS);
    }

    // ------------------------------------------------------------------ leader side

    /** Starts streaming the latest snapshot to {@code peerId} as leader of {@code epoch}. */
    void send(int peerId, long epoch) {
        run(() -> {
            Outgoing current = outgoing.get(peerId);
            if (current != null) {
                // The core asks again only once it no longer counts on this transfer (the backup
                // installed it and then fell behind a newer compaction, say): start afresh with
                // the latest snapshot; a backup holding part of the same one resumes from there.
                outgoing.remove(peerId);
                store.unpin(current.meta);
            }
            Optional<SnapshotMeta> latest = store.pinLatest();
            if (latest.isEmpty()) {
                log.error("node {}: backup {} needs a snapshot but this node has none", nodeId, peerId);
                installer.transferEnded(peerId);
                return;
            }
            Outgoing out = new Outgoing(peerId, epoch, latest.get());
            outgoing.put(peerId, out);
            log.info("node {}: sending the snapshot at index {} ({} bytes in {} files) to backup {}", nodeId,
                    out.meta.index(), out.total, out.meta.files().size(), peerId);
            pump(out);
        });
    }

    /** An answer from {@code peerId} to one of this node's chunks (sent in {@code epoch}). */
    void onResult(int peerId, long epoch, InstallSnapshotResult result) {
        run(() -> {
            Outgoing out = outgoing.get(peerId);
            if (out == null || out.epoch != epoch || result.getSnapshotIndex() != out.meta.index()) {
                return;
            }
            if (result.getInstalled()) {
                log.info("node {}: backup {} installed the snapshot at index {}", nodeId, peerId, out.meta.index());
                snapshotsSent++;
                end(out, true);
                return;
            }
            if (!result.getRefused().isEmpty()) {
                log.warn("node {}: backup {} refused the snapshot at index {}: {}", nodeId, peerId, out.meta.index(),
                        result.getRefused());
                end(out, false);
                return;
            }
            long next = Math.min(result.getNextOffset(), out.total);
            out.lastAnswerNanos = System.nanoTime();
            if (next < out.acked) {
                // The backup no longer holds what it acknowledged (it restarted, and a half-received
                // snapshot is discarded on start): the stream starts over from what it has.
                out.acked = next;
                out.sent = next;
                out.lastProgressNanos = out.lastAnswerNanos;
            } else if (next > out.acked) {
                out.acked = next;
                out.lastProgressNanos = out.lastAnswerNanos;
            }
            if (next > out.sent) {
                out.sent = next; // the backup holds more of this snapshot already: resume there
            }
            pump(out);
        });
    }

    /** This node no longer leads {@code epoch} (or leads another one): its transfers end. */
    void leadershipChanged(boolean leading, long epoch) {
        run(() -> {
            for (Outgoing out : List.copyOf(outgoing.values())) {
                if (!leading || out.epoch != epoch) {
                    end(out, false);
                }
            }
        });
    }

    private void pump(Outgoing out) {
        while ((out.sent < out.total || (out.total == 0 && !out.emptySent))
                && out.sent - out.acked < (long) WINDOW * chunkBytes) {
            InstallSnapshot.Builder chunk = InstallSnapshot.newBuilder()
                    .setSnapshotIndex(out.meta.index())
                    .setSnapshotEpoch(out.meta.epoch())
                    .setOffset(out.sent)
                    .setTotalBytes(out.total);
            if (out.sent == 0) {
                for (SnapshotFile f : out.meta.files()) {
                    chunk.addFiles(SnapshotFileInfo.newBuilder().setName(f.name()).setSize(f.size())
                            .setCrc32C((int) f.crc32c()));
                }
            }
            ByteString data;
            try {
                data = read(out, out.sent, (int) Math.min(chunkBytes, out.total - out.sent));
            } catch (IOException e) {
                log.error("node {}: cannot read the snapshot at index {} for backup {}", nodeId, out.meta.index(),
                        out.peerId, e);
                end(out, false);
                return;
            }
            chunk.setData(data);
            if (!link.send(out.peerId, envelope(out.epoch).setInstallSnapshot(chunk).build())) {
                return; // the link is full or down: the stall check resends
            }
            out.sent += data.size();
            bytesSent += data.size();
            out.emptySent = out.total == 0; // a snapshot without bytes still needs its one chunk
        }
    }

    /** Reads {@code length} bytes of the stream at {@code offset}, across file boundaries. */
    private ByteString read(Outgoing out, long offset, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        long fileStart = 0;
        for (SnapshotFile f : out.meta.files()) {
            long fileEnd = fileStart + f.size();
            if (offset < fileEnd && buffer.hasRemaining()) {
                try (FileChannel channel = FileChannel.open(out.meta.directory().resolve(f.name()),
                        StandardOpenOption.READ)) {
                    long position = offset - fileStart;
                    while (buffer.hasRemaining() && position < f.size()) {
                        int limit = (int) Math.min(buffer.remaining(), f.size() - position);
                        ByteBuffer slice = buffer.slice(buffer.position(), limit);
                        int n = channel.read(slice, position);
                        if (n < 0) {
                            throw new IOException("snapshot file " + f.name() + " is shorter than its manifest says");
                        }
                        buffer.position(buffer.position() + n);
                        position += n;
                        offset += n;
                    }
                }
            }
            fileStart = fileEnd;
        }
        buffer.flip();
        return ByteString.copyFrom(buffer);
    }

    private void end(Outgoing out, boolean installed) {
        outgoing.remove(out.peerId, out);
        store.unpin(out.meta);
        if (!installed) {
            installer.transferEnded(out.peerId);
        }
    }

    private void checkStalls() {
        long now = System.nanoTime();
        for (Outgoing out : List.copyOf(outgoing.values())) {
            if (now - out.lastProgressNanos > GIVE_UP_AFTER.toNanos()) {
                log.warn("node {}: the snapshot transfer to backup {} made no progress for {} s; it ends", nodeId,
                        out.peerId, GIVE_UP_AFTER.toSeconds());
                end(out, false);
            } else if (now - out.lastAnswerNanos > RESEND_AFTER.toNanos()) {
                out.lastAnswerNanos = now;
                out.sent = out.acked; // lost chunks or answers: send again from what is acknowledged
                out.emptySent = false;
                pump(out);
            }
        }
    }

    // ------------------------------------------------------------------ backup side

    /** A chunk from the leader this node follows (admitted by the core). */
    void onChunk(PeerEnvelope envelope) {
        run(() -> receive(envelope));
    }

    private void receive(PeerEnvelope envelope) {
        int leader = envelope.getFrom();
        long epoch = envelope.getEpoch();
        InstallSnapshot chunk = envelope.getInstallSnapshot();
        long index = chunk.getSnapshotIndex();
        if (index <= commitIndex.getAsLong()) {
            // Already committed this far (installed before, or caught up from the log meanwhile).
            answerInstalled(leader, epoch, index);
            return;
        }
        Incoming in = incoming;
        boolean same = in != null && in.index == index && in.epoch == chunk.getSnapshotEpoch()
                && in.total == chunk.getTotalBytes();
        if (!same) {
            if (chunk.getOffset() != 0) {
                answer(leader, epoch, InstallSnapshotResult.newBuilder().setSnapshotIndex(index).setNextOffset(0));
                return;
            }
            String problem = problemWithManifest(chunk);
            if (problem != null) {
                log.warn("node {}: refused the snapshot at index {} from node {}: {}", nodeId, index, leader, problem);
                answer(leader, epoch, InstallSnapshotResult.newBuilder().setSnapshotIndex(index).setRefused(problem));
                return;
            }
            discardIncoming();
            try {
                in = new Incoming(index, chunk.getSnapshotEpoch(), chunk.getTotalBytes(), chunk.getFilesList(),
                        store.newWorkDirectory(SnapshotStore.INCOMING_PREFIX));
            } catch (IOException e) {
                refuse(leader, epoch, index, "cannot create a directory for it: " + e.getMessage());
                return;
            }
            incoming = in;
            log.info("node {}: receiving the snapshot at index {} (epoch {}, {} bytes in {} files) from node {}",
                    nodeId, index, in.epoch, in.total, in.files.size(), leader);
        }
        if (chunk.getOffset() == in.received) {
            if (chunk.getData().size() > in.total - in.received) {
                refuse(leader, epoch, index, "a chunk runs past the end of the snapshot");
                return;
            }
            try {
                in.write(chunk.getData());
            } catch (IOException e) {
                refuse(leader, epoch, index, e.getMessage());
                return;
            }
        }
        if (in.received < in.total) {
            answer(leader, epoch, InstallSnapshotResult.newBuilder().setSnapshotIndex(index)
                    .setNextOffset(in.received));
            return;
        }
        SnapshotMeta committed;
        try {
            in.close();
            committed = store.commit(in.dir, in.index, in.epoch);
        } catch (IOException e) {
            refuse(leader, epoch, index, "cannot commit it: " + e.getMessage());
            return;
        }
        incoming = null;
        if (committed.index() != index) {
            refuse(leader, epoch, index, "this node holds a newer snapshot (index " + committed.index() + ")");
            return;
        }
        snapshotsReceived++;
        log.info("node {}: received the snapshot at index {} from node {}; installing it", nodeId, index, leader);
        installer.received(committed, leader, epoch);
    }

    /**
     * Backup side, from any thread: tells {@code leaderId} that the snapshot at {@code index} is
     * installed (or was not needed: this node had committed that far), so it resumes appends after it.
     */
    void answerInstalled(int leaderId, long epoch, long index) {
        answer(leaderId, epoch, InstallSnapshotResult.newBuilder().setSnapshotIndex(index).setInstalled(true));
    }

    private String problemWithManifest(InstallSnapshot chunk) {
        if (chunk.getFilesCount() > MAX_FILES) {
            return "it names " + chunk.getFilesCount() + " files, more than " + MAX_FILES;
        }
        if (chunk.getTotalBytes() > MAX_TOTAL_BYTES) {
            return "it holds " + chunk.getTotalBytes() + " bytes, more than " + MAX_TOTAL_BYTES;
        }
        if (chunk.getSnapshotIndex() < 1 || chunk.getSnapshotEpoch() < 1) {
            return "it names index " + chunk.getSnapshotIndex() + " and epoch " + chunk.getSnapshotEpoch();
        }
        long sum = 0;
        java.util.Set<String> names = new java.util.HashSet<>();
        for (SnapshotFileInfo f : chunk.getFilesList()) {
            if (!SAFE_NAME.matcher(f.getName()).matches() || f.getName().length() > 255) {
                return "it names a file " + quoted(f.getName()) + ", which is not a plain relative path";
            }
            if (!names.add(f.getName()) || f.getName().equals("MANIFEST") || f.getName().equals("MANIFEST.tmp")) {
                return "it names the file " + f.getName() + " twice or reserved";
            }
            if (f.getSize() < 0 || f.getSize() > MAX_TOTAL_BYTES) {
                return "file " + f.getName() + " has size " + f.getSize();
            }
            sum += f.getSize();
        }
        if (sum != chunk.getTotalBytes()) {
            return "its files hold " + sum + " bytes, but it says " + chunk.getTotalBytes();
        }
        return null;
    }

    private static String quoted(String name) {
        String shown = name.length() > 64 ? name.substring(0, 64) + "…" : name;
        return "'" + shown.replaceAll("[^\\x20-\\x7e]", "?") + "'";
    }

    private void refuse(int leader, long epoch, long index, String reason) {
        log.warn("node {}: gave up the snapshot at index {} from node {}: {}", nodeId, index, leader, reason);
        discardIncoming();
        answer(leader, epoch, InstallSnapshotResult.newBuilder().setSnapshotIndex(index).setRefused(reason));
    }

    private void discardIncoming() {
        Incoming in = incoming;
        incoming = null;
        if (in != null) {
            in.closeQuietly();
            try {
                SnapshotStore.deleteTree(in.dir);
            } catch (IOException e) {
                log.warn("node {}: cannot delete {}: {}", nodeId, in.dir, e.toString());
            }
        }
    }

    private void answer(int leader, long epoch, InstallSnapshotResult.Builder result) {
        link.send(leader, envelope(epoch).setInstallSnapshotResult(result).build());
    }

    // ------------------------------------------------------------------ plumbing

    private PeerEnvelope.Builder envelope(long epoch) {
        return PeerEnvelope.newBuilder()
                .setProtocolVersion(PeerProtocolVersion.PEER_PROTOCOL_V1_VALUE)
                .setFrom(nodeId)
                .setEpoch(epoch);
    }

    private void run(Runnable task) {
        try {
            thread.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    log.error("node {}: a snapshot transfer task failed", nodeId, e);
                }
            });
        } catch (RejectedExecutionException e) {
            log.debug("node {}: closing, snapshot transfer task dropped", nodeId);
        }
    }

    /** Snapshots this node sent that a backup installed. */
    long snapshotsSent() {
        return snapshotsSent;
    }

    /** Snapshots this node received complete. */
    long snapshotsReceived() {
        return snapshotsReceived;
    }

    /** Snapshot bytes sent (resends included). */
    long bytesSent() {
        return bytesSent;
    }

    /** Ends every transfer; an incoming snapshot stays as it is (the store deletes it on the next open). */
    @Override
    public void close() {
        run(() -> {
            for (Outgoing out : List.copyOf(outgoing.values())) {
                outgoing.remove(out.peerId);
                store.unpin(out.meta);
            }
            Incoming in = incoming;
            if (in != null) {
                in.closeQuietly();
            }
        });
        thread.shutdown();
        try {
            if (!thread.awaitTermination(10, TimeUnit.SECONDS)) {
                thread.shutdownNow();
            }
        } catch (InterruptedException e) {
            thread.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /** One snapshot being sent to one backup. */
    private static final class Outgoing {
        final int peerId;
        final long epoch;
        final SnapshotMeta meta;
        final long total;
        long sent;
        long acked;
        long lastProgressNanos = System.nanoTime();
        long lastAnswerNanos = System.nanoTime();
        boolean emptySent;

        Outgoing(int peerId, long epoch, SnapshotMeta meta) {
            this.peerId = peerId;
            this.epoch = epoch;
            this.meta = meta;
            this.total = meta.bytes();
        }
    }

    /** The snapshot being received, written file by file in stream order. */
    private static final class Incoming {
        final long index;
        final long epoch;
        final long total;
        final List<SnapshotFileInfo> files;
        final Path dir;
        long received;
        private int fileIndex;
        private long fileWritten;
        private FileChannel channel;
        private final CRC32C crc = new CRC32C();

        Incoming(long index, long epoch, long total, List<SnapshotFileInfo> files, Path dir) throws IOException {
            this.index = index;
            this.epoch = epoch;
            this.total = total;
            this.files = new ArrayList<>(files);
            this.dir = dir;
            openNext();
        }

        /** Skips (creating them empty) files of size 0, and opens the next file that takes bytes. */
        private void openNext() throws IOException {
            while (fileIndex < files.size()) {
                SnapshotFileInfo f = files.get(fileIndex);
                Path path = dir.resolve(f.getName());
                Files.createDirectories(path.getParent());
                channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                crc.reset();
                fileWritten = 0;
                if (f.getSize() > 0) {
                    return;
                }
                finishFile();
            }
        }

        void write(ByteString data) throws IOException {
            ByteBuffer buffer = data.asReadOnlyByteBuffer();
            while (buffer.hasRemaining()) {
                if (fileIndex >= files.size()) {
                    throw new IOException("more bytes than the files named");
                }
                SnapshotFileInfo f = files.get(fileIndex);
                int n = (int) Math.min(buffer.remaining(), f.getSize() - fileWritten);
                ByteBuffer slice = buffer.slice(buffer.position(), n);
                crc.update(slice.duplicate());
                while (slice.hasRemaining()) {
                    channel.write(slice);
                }
                buffer.position(buffer.position() + n);
                fileWritten += n;
                received += n;
                if (fileWritten == f.getSize()) {
                    finishFile();
                    openNext();
                }
            }
        }

        private void finishFile() throws IOException {
            SnapshotFileInfo f = files.get(fileIndex);
            channel.close();
            channel = null;
            if ((int) crc.getValue() != f.getCrc32C()) {
                throw new IOException("file " + f.getName() + " fails its CRC32C check");
            }
            fileIndex++;
        }

        void close() throws IOException {
            if (channel != null) {
                channel.close();
                channel = null;
            }
            if (fileIndex != files.size() || received != total) {
                throw new IOException("the snapshot is incomplete");
            }
        }

        void closeQuietly() {
            try {
                if (channel != null) {
                    channel.close();
                }
            } catch (IOException ignored) {
                // being discarded
            }
            channel = null;
        }
    }
}
