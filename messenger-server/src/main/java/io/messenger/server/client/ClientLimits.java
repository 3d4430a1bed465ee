package io.messenger.server.client;

import io.messenger.proto.SendWindow;
import java.time.Duration;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * The bounds a node puts on what one client connection may do before and after its Hello,
 * against clients that are hostile rather than merely buggy. Local to the node (unlike
 * {@link io.messenger.server.chat.ChatLimits}, they shape no replicated state).
 *
 * @param helloTimeout a connection that has not sent Hello this long after connecting is
 *     told {@code HELLO_TIMEOUT} and closed
 * @param sendRate the token bucket of each connection's sends
 * @param userSendRate the token bucket shared by all connections of one username to this node
 * @param nanoClock the monotonic clock the buckets refill by ({@code System::nanoTime})
 * @param connectionRate the token bucket of new connections from one remote address
 * @param totalConnectionRate the token bucket of new connections from all addresses together
 */
public record ClientLimits(Duration helloTimeout, SendRate sendRate, SendRate userSendRate, LongSupplier nanoClock,
                           SendRate connectionRate, SendRate totalConnectionRate) {

    public static final Duration DEFAULT_HELLO_TIMEOUT = Duration.ofSeconds(5);
    /**
     * 50 sends a second, in bursts up to the client library's largest buffer: a client's whole backlog, buffered
     * while the cluster elected and resent at once to the new leader, is taken without a refusal.
     */
    public static final SendRate DEFAULT_SEND_RATE = new SendRate(50, SendWindow.MAX_UNACKNOWLEDGED);
    /** Twice the connection's, for the two devices a username may use. */
    public static final SendRate DEFAULT_USER_SEND_RATE = new SendRate(100, 2 * SendWindow.MAX_UNACKNOWLEDGED);

    /**
     * 100 new connections a second from one address, in bursts of 200: far above what a person's devices or a NAT
     * of them open, far below a flood.
     */
    public static final SendRate DEFAULT_CONNECTION_RATE = new SendRate(100, 200);
    /** 1,000 new connections a second in all, in bursts of 2,000. */
    public static final SendRate DEFAULT_TOTAL_CONNECTION_RATE = new SendRate(1000, 2000);

    public static final ClientLimits DEFAULTS = new ClientLimits(DEFAULT_HELLO_TIMEOUT, DEFAULT_SEND_RATE,
            DEFAULT_USER_SEND_RATE, System::nanoTime);

    /** Only a hello deadline of its own; the default send rates on the real clock. */
    public ClientLimits(Duration helloTimeout) {
        this(helloTimeout, DEFAULT_SEND_RATE, DEFAULT_USER_SEND_RATE, System::nanoTime);
    }

    /** The given hello deadline and send rates, with the default connection arrival rates. */
    public ClientLimits(Duration helloTimeout, SendRate sendRate, SendRate userSendRate, LongSupplier nanoClock) {
        this(helloTimeout, sendRate, userSendRate, nanoClock, DEFAULT_CONNECTION_RATE, DEFAULT_TOTAL_CONNECTION_RATE);
    }

    public ClientLimits {
        Objects.requireNonNull(connectionRate, "connectionRate");
        Objects.requireNonNull(totalConnectionRate, "totalConnectionRate");
        Objects.requireNonNull(sendRate, "sendRate");
        Objects.requireNonNull(userSendRate, "userSendRate");
        Objects.requireNonNull(nanoClock, "nanoClock");
        if (helloTimeout.toMillis() < 1) {
            throw new IllegalArgumentException("hello timeout must be at least 1 ms");
        }
    }
}
