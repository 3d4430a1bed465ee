package io.messenger.cluster.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Makes file creations, renames and deletions in a directory durable (POSIX needs an fsync of the directory itself). */
final class DirectoryFsync {

    private DirectoryFsync() {
    }

    static void force(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }
}
