package io.messenger.cluster.storage;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One segment file of the log, named after the index of its first entry. The writer thread
 * writes through its own channel; readers use a separate read-only channel, so that a reader
 * thread being interrupted (which closes the channel it was using) cannot break the writer.
 */
final class LogSegment {

    private static final Pattern NAME = Pattern.compile("segment-(\\d{20})\\.log");

    final long firstIndex;
    final Path path;
    // Bytes the log has placed in this segment, including writes still queued; owned by the appending thread.
    long size;

    private boolean created; // the file exists on disk; writer thread only after construction
    private volatile FileChannel writeChannel; // volatile only so tests may count open channels
    private FileChannel readChannel;
    private boolean closed; // guarded by this: no read channel is reopened after close

    LogSegment(Path dir, long firstIndex, boolean existing) {
        this.firstIndex = firstIndex;
        this.path = dir.resolve(fileName(firstIndex));
        this.created = existing;
    }

    static String fileName(long firstIndex) {
        return String.format("segment-%020d.log", firstIndex);
    }

    static OptionalLong parseFirstIndex(String fileName) {
        Matcher m = NAME.matcher(fileName);
        if (!m.matches()) {
            return OptionalLong.empty();
        }
        try {
            return OptionalLong.of(Long.parseLong(m.group(1)));
        } catch (NumberFormatException e) {
            return OptionalLong.empty(); // 20 digits can exceed a long: not one of ours
        }
    }

    /**
     * Writer thread only. Returns true when this call created the file (the directory then needs an
     * fsync). A segment whose write channel was closed is reopened without creating it again.
     */
    boolean openForWriting() throws IOException {
        if (writeChannel != null) {
            return false;
        }
        if (created) {
            writeChannel = FileChannel.open(path, StandardOpenOption.WRITE);
            return false;
        }
        writeChannel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        created = true;
        return true;
    }

    /** Writer thread only: releases the write channel of a segment the log has moved past. */
    void closeWriteChannel() throws IOException {
        FileChannel channel = writeChannel;
        writeChannel = null;
        if (channel != null) {
            channel.close();
        }
    }

    boolean hasWriteChannel() {
        return writeChannel != null;
    }

    /** Writer thread only; {@link #openForWriting()} first. */
    FileChannel writeChannel() {
        return writeChannel;
    }

    /** Reads {@code dst.remaining()} bytes starting at file offset {@code position}. Any thread. */
    void readFully(ByteBuffer dst, long position) throws IOException {
        long filePosition = position;
        while (dst.hasRemaining()) {
            int n = readChannel().read(dst, filePosition);
            if (n < 0) {
                throw new EOFException(path + " ends at offset " + filePosition + ", before the record being read");
            }
            filePosition += n;
        }
    }

    private synchronized FileChannel readChannel() throws IOException {
        if (closed) {
            throw new ClosedChannelException();
        }
        if (readChannel == null || !readChannel.isOpen()) {
            readChannel = FileChannel.open(path, StandardOpenOption.READ);
        }
        return readChannel;
    }

    void close() throws IOException {
        IOException first = null;
        for (FileChannel channel : new FileChannel[] {writeChannel, takeReadChannel()}) {
            if (channel == null) {
                continue;
            }
            try {
                channel.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        writeChannel = null;
        if (first != null) {
            throw first;
        }
    }

    private synchronized FileChannel takeReadChannel() {
        closed = true;
        FileChannel channel = readChannel;
        readChannel = null;
        return channel;
    }

    @Override
    public String toString() {
        return path.getFileName().toString();
    }
}
