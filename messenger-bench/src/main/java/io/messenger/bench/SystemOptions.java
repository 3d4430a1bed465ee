package io.messenger.bench;

import io.messenger.bench.messenger.MessengerSystem;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * Where the messenger cluster is: its client addresses and its local nodes' PID files.
 */
final class SystemOptions {

    @Option(names = "--servers", defaultValue = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
            description = "Messenger client addresses (default: ${DEFAULT-VALUE}).")
    String servers;

    @Option(names = "--tls-ca", paramLabel = "FILE",
            description = "Talk TLS to the messenger's client ports, trusting this CA (PEM). Default: plaintext.")
    String tlsCa;

    @Option(names = "--pid-dir", defaultValue = "run",
            description = "Directory with the local nodes' node-N.pid files, for server CPU and memory "
                    + "(default: ${DEFAULT-VALUE}).")
    Path pidDir;

    @Option(names = "--io-threads", defaultValue = "2",
            description = "Event loop threads shared by all bench clients or sessions (default: ${DEFAULT-VALUE}).")
    int ioThreads;

    MessengerSystem messenger() {
        return new MessengerSystem(servers, ioThreads, this::messengerPids,
                tlsCa == null ? null : io.messenger.client.ClientTls.trusting(java.nio.file.Path.of(tlsCa)));
    }

    /** PIDs of the local messenger nodes from their PID files; empty when there are none. */
    List<Long> messengerPids() {
        List<Long> pids = new ArrayList<>();
        for (int node = 1; node <= 9; node++) {
            Path file = pidDir.resolve("node-" + node + ".pid");
            if (Files.isReadable(file)) {
                try {
                    pids.add(Long.parseLong(Files.readString(file).strip()));
                } catch (IOException | NumberFormatException unreadable) {
                    System.err.println("ignoring unreadable PID file " + file + ": " + unreadable.getMessage());
                }
            }
        }
        return pids;
    }

}
