package io.messenger.server.client;

import java.time.Duration;

/**
 * The bounds a node puts on what one client connection may do before and after its Hello,
 * against clients that are hostile rather than merely buggy. Local to the node (unlike
 * {@link io.messenger.server.chat.ChatLimits}, they shape no replicated state).
 *
 * @param helloTimeout a connection that has not sent Hello this long after connecting is
 *     told {@code HELLO_TIMEOUT} and closed
 */
public record ClientLimits(Duration helloTimeout) {

    public static final Duration DEFAULT_HELLO_TIMEOUT = Duration.ofSeconds(5);

    public static final ClientLimits DEFAULTS = new ClientLimits(DEFAULT_HELLO_TIMEOUT);

    public ClientLimits {
        if (helloTimeout.toMillis() < 1) {
            throw new IllegalArgumentException("hello timeout must be at least 1 ms");
        }
    }
}
