package io.messenger.bench;

import io.messenger.bench.nats.NatsCluster;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * How to start the local NATS JetStream cluster the messenger is compared with.
 */
final class NatsOptions {

    @Option(names = "--nats-server", description = "nats-server binary (default: found on PATH or /usr/sbin).")
    Path binary;

    @Option(names = "--nats-nodes", defaultValue = "3",
            description = "NATS JetStream cluster size; the stream is replicated on all of them (default: ${DEFAULT-VALUE}).")
    int nodes;

    /** The binary to run, or null when none is given or installed. */
    Path binary() {
        return binary != null ? binary : NatsCluster.findBinary();
    }

    NatsCluster start() throws IOException, InterruptedException {
        System.out.println("starting a " + nodes + "-node NATS JetStream cluster on 127.0.0.1");
        return NatsCluster.start(binary(), nodes);
    }
}
