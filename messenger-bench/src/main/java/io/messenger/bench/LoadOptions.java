package io.messenger.bench;

import io.messenger.bench.load.LoadSpec;
import java.time.Duration;
import picocli.CommandLine.Option;

/**
 * The load shape shared by the compare and failover commands.
 */
final class LoadOptions {

    @Option(names = "--clients", defaultValue = "100", description = "Clients (default: ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--rooms", defaultValue = "10", description = "Rooms; clients are spread round-robin (default: ${DEFAULT-VALUE}).")
    int rooms;

    @Option(names = "--size", defaultValue = "128", description = "Message size in bytes (default: ${DEFAULT-VALUE}).")
    int size;

    @Option(names = "--in-flight", defaultValue = "16",
            description = "Unacknowledged sends allowed per client (default: ${DEFAULT-VALUE}).")
    int inFlight;

    @Option(names = "--warmup", defaultValue = "5", description = "Warm-up seconds, not measured (default: ${DEFAULT-VALUE}).")
    int warmupSeconds;

    @Option(names = "--duration", defaultValue = "20", description = "Measured seconds (default: ${DEFAULT-VALUE}).")
    int durationSeconds;

    @Option(names = "--drain", defaultValue = "15",
            description = "Seconds to wait after sending for outstanding acks and deliveries (default: ${DEFAULT-VALUE}).")
    int drainSeconds;

    LoadSpec spec(double rate) {
        return new LoadSpec(clients, rooms, size, rate, inFlight, Duration.ofSeconds(warmupSeconds),
                Duration.ofSeconds(durationSeconds), Duration.ofSeconds(drainSeconds));
    }

    String describe(double rate) {
        return String.format("%d clients, %d rooms, %d-byte messages, %s, %d in flight per client, %d s warm-up + %d s measured",
                clients, rooms, size, rate == 0 ? "full speed" : String.format("%.0f msg/s offered", rate),
                inFlight, warmupSeconds, durationSeconds);
    }
}
