package io.messenger.bench.load;

import java.time.Duration;

/**
 * What one load run offers: clients spread round-robin over rooms, message size, rate, in-flight bound
 * and timing. Checked once here so every driver can trust it.
 *
 * @param rate messages per second offered by all clients together; 0 means as fast as acks allow
 * @param maxInFlight unacknowledged sends each client may have outstanding
 * @param drain how long to wait after sending stops for outstanding acks and deliveries
 */
public record LoadSpec(int clients, int rooms, int messageBytes, double rate, int maxInFlight,
        Duration warmup, Duration duration, Duration drain) {

    public LoadSpec {
        require(clients >= 1, "clients must be at least 1");
        require(rooms >= 1 && rooms <= clients, "rooms must be between 1 and the number of clients");
        require(messageBytes >= 1 && messageBytes <= 4096, "message size must be 1..4096 bytes");
        require(rate >= 0, "rate must be 0 (full speed) or positive");
        require(maxInFlight >= 1, "in-flight bound must be at least 1");
        require(!warmup.isNegative(), "warm-up must not be negative");
        require(duration.toSeconds() >= 1, "duration must be at least 1 s");
        require(!drain.isNegative(), "drain must not be negative");
    }

    public boolean fullSpeed() {
        return rate == 0;
    }

    /** Room number of a client: round-robin, so rooms differ in size by at most one. */
    public int roomOf(int client) {
        return client % rooms;
    }

    /** "full speed" or "5000/s", for tables. */
    public String rateLabel() {
        return fullSpeed() ? "full speed" : String.format("%.0f/s", rate);
    }

    private static void require(boolean condition, String sentence) {
        if (!condition) {
            throw new IllegalArgumentException(sentence);
        }
    }
}
