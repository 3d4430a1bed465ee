package io.messenger.bench;

import io.messenger.bench.load.ChatSystem;
import io.messenger.bench.messenger.MessengerSystem;
import io.messenger.bench.nats.NatsCluster;
import io.messenger.bench.nats.NatsSystem;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * Where the systems under test are: the messenger cluster's client addresses and PID files, and how to
 * start the NATS cluster.
 */
final class SystemOptions {

    static final List<String> NAMES = List.of("messenger", "nats");

    @Option(names = "--servers", defaultValue = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
            description = "Messenger client addresses (default: ${DEFAULT-VALUE}).")
    String servers;

    @Option(names = "--pid-dir", defaultValue = "run",
            description = "Directory with the local nodes' node-N.pid files, for server CPU and memory "
                    + "(default: ${DEFAULT-VALUE}).")
    Path pidDir;

    @Option(names = "--io-threads", defaultValue = "2",
            description = "Event loop threads shared by all messenger clients (default: ${DEFAULT-VALUE}).")
    int ioThreads;

    @Option(names = "--nats-server", description = "nats-server binary (default: found on PATH or /usr/sbin).")
    Path natsBinary;

    @Option(names = "--nats-nodes", defaultValue = "3",
            description = "NATS JetStream cluster size; the stream is replicated on all of them (default: ${DEFAULT-VALUE}).")
    int natsNodes;

    void check(CommandSpec spec, String name) {
        if (!NAMES.contains(name)) {
            throw new ParameterException(spec.commandLine(), "Unknown system '" + name + "'; choose from " + NAMES);
        }
        if (name.equals("nats") && natsBinary() == null) {
            throw new ParameterException(spec.commandLine(),
                    "nats-server is not installed: run 'make bench-deps' or pass --nats-server PATH");
        }
    }

    NatsCluster startNats() throws IOException, InterruptedException {
        System.out.println("starting a " + natsNodes + "-node NATS JetStream cluster on 127.0.0.1");
        return NatsCluster.start(natsBinary(), natsNodes);
    }

    ChatSystem open(String name, NatsCluster nats) {
        return switch (name) {
            case "messenger" -> new MessengerSystem(servers, ioThreads, this::messengerPids);
            case "nats" -> new NatsSystem(nats, natsNodes);
            default -> throw new IllegalArgumentException("Unknown system " + name);
        };
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

    private Path natsBinary() {
        return natsBinary != null ? natsBinary : NatsCluster.findBinary();
    }
}
