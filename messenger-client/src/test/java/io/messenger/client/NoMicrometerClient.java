package io.messenger.client;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Run by {@link ClientWithoutMicrometerTest} in a JVM whose class path lacks Micrometer: joins a fake node, sends
 * one message, prints its acknowledgement and exits 0. Exits 2 if Micrometer is on the class path after all (the
 * proof would be void), and with an exception otherwise.
 */
public final class NoMicrometerClient {

    private NoMicrometerClient() {
    }

    public static void main(String[] args) throws Exception {
        try {
            Class.forName("io.micrometer.core.instrument.MeterRegistry");
            System.out.println("Micrometer is on the class path; nothing would be proven");
            System.exit(2);
        } catch (ClassNotFoundException expected) {
            System.out.println("no Micrometer on the class path");
        }
        try (FakeCluster cluster = new FakeCluster("lobby", 1)) {
            FakeServer node = cluster.node(1);
            try (MessengerClient client = MessengerClient.builder().servers(node.hostPort()).username("alice")
                    .room("lobby").pongTimeout(Duration.ofSeconds(5)).build()) {
                client.connect().get(30, TimeUnit.SECONDS);
                long roomSeq = client.send("hello without metrics").get(30, TimeUnit.SECONDS);
                System.out.println("acknowledged as room sequence " + roomSeq);
            }
        }
        System.exit(0);
    }
}
