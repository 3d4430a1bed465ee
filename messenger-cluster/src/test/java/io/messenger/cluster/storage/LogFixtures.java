package io.messenger.cluster.storage;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.google.protobuf.ByteString;
import io.messenger.proto.peer.Entry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.LoggerFactory;

/** Entries with content derived from (epoch, index), and small file and log inspection tools for storage tests. */
final class LogFixtures {

    private LogFixtures() {
    }

    static Entry entry(long epoch, long index) {
        return Entry.newBuilder()
                .setEpoch(epoch)
                .setIndex(index)
                .setCommand(ByteString.copyFromUtf8("cmd-" + epoch + "-" + index + "-" + "x".repeat((int) (index % 37))))
                .build();
    }

    static List<Entry> entries(long epoch, long from, long to) {
        List<Entry> out = new ArrayList<>();
        for (long i = from; i <= to; i++) {
            out.add(entry(epoch, i));
        }
        return out;
    }

    static Entry sized(long epoch, long index, int commandBytes) {
        byte[] command = new byte[commandBytes];
        for (int i = 0; i < commandBytes; i++) {
            command[i] = (byte) (index + i);
        }
        return Entry.newBuilder().setEpoch(epoch).setIndex(index).setCommand(ByteString.copyFrom(command)).build();
    }

    /** Size of the record of {@code entry} on disk: header plus payload. */
    /** Entries {@code from..to} of one epoch, each with a command of {@code commandBytes} bytes. */
    static List<Entry> sizedEntries(long epoch, long from, long to, int commandBytes) {
        List<Entry> out = new ArrayList<>();
        for (long i = from; i <= to; i++) {
            out.add(sized(epoch, i, commandBytes));
        }
        return out;
    }

    static long recordBytes(Entry entry) {
        return SegmentedLogStorage.HEADER_BYTES + entry.getSerializedSize();
    }

    static long sizeOf(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Path> segmentFiles(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().matches("segment-\\d{20}\\.log")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Captures what one class logs at WARN and above while a piece of test code runs. */
    static final class CapturedWarnings implements AutoCloseable {
        private final Logger logger;
        private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

        CapturedWarnings(Class<?> source) {
            logger = (Logger) LoggerFactory.getLogger(source);
            appender.start();
            logger.addAppender(appender);
        }

        List<String> messages() {
            return appender.list.stream()
                    .filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                    .map(ILoggingEvent::getFormattedMessage)
                    .toList();
        }

        @Override
        public void close() {
            logger.detachAppender(appender);
            appender.stop();
        }
    }
}
