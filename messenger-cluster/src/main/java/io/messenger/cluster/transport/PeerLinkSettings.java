package io.messenger.cluster.transport;

import io.messenger.cluster.ClusterConfig;
import java.time.Duration;

/**
 * Tunables of the peer links, checked in one place.
 *
 * @param keepaliveInterval a keepalive goes out on a link idle for this long
 * @param silenceTimeout a link that received nothing for this long is closed and redialled
 * @param redialBase first redial delay; it doubles per failed attempt
 * @param redialMax cap of the redial delay (jitter spreads each delay over its upper half)
 * @param maxQueuedPerPeer envelopes waiting for one peer's event loop; beyond it, sends are dropped
 */
public record PeerLinkSettings(
        Duration keepaliveInterval,
        Duration silenceTimeout,
        Duration redialBase,
        Duration redialMax,
        int maxQueuedPerPeer) {

    public PeerLinkSettings {
        if (keepaliveInterval.toMillis() < 1 || silenceTimeout.compareTo(keepaliveInterval.multipliedBy(2)) < 0) {
            throw new IllegalArgumentException("silence timeout must be at least twice the keepalive interval");
        }
        if (redialBase.toMillis() < 1 || redialMax.compareTo(redialBase) < 0) {
            throw new IllegalArgumentException("redial base must be positive and not above the redial cap");
        }
        if (maxQueuedPerPeer < 1) {
            throw new IllegalArgumentException("per-peer queue bound must be positive");
        }
    }

    /**
     * Derives the settings from a cluster config: keepalives at the heartbeat interval, a
     * link declared dead after two election timeouts of silence, and never under a second.
     * Failure detection proper is the consensus core's (heartbeats); this only finds
     * half-open connections, so it errs on the side of not tearing down a slow but live link.
     */
    public static PeerLinkSettings from(ClusterConfig config) {
        Duration keepalive = config.heartbeatInterval();
        Duration silence = config.electionTimeout().multipliedBy(2);
        if (silence.compareTo(Duration.ofSeconds(1)) < 0) {
            silence = Duration.ofSeconds(1);
        }
        if (silence.compareTo(keepalive.multipliedBy(3)) < 0) {
            silence = keepalive.multipliedBy(3);
        }
        return new PeerLinkSettings(keepalive, silence, Duration.ofMillis(20), Duration.ofSeconds(1), 4096);
    }
}
