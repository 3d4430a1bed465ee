package io.messenger.client;

import io.messenger.proto.NameRules;
import io.messenger.proto.SendWindow;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Every setting of a {@link MessengerClient}, range-checked in one place. Built by {@link MessengerClient.Builder}.
 *
 * @param servers seed list; any node will do, backups redirect to the leader
 * @param username who sends (1-32 of {@code A-Za-z0-9_.-}, starting with a letter or digit)
 * @param room the room to join (same rule as the username)
 * @param clientId stable identity of this device (1-64 of {@code A-Za-z0-9_-})
 * @param maxPendingSends bound of the outgoing buffer of unacknowledged sends, 1 to {@link #MAX_PENDING_SENDS}
 * @param pongTimeout silence after which the connection is considered dead; pings go every third of it
 * @param connectTimeout how long one attempt may take from TCP connect to the server's welcome or refusal
 * @param joinTimeout how long {@link MessengerClient#connect()} keeps looking for a leader before failing
 * @param reconnectTimeout how long to keep looking for a leader after a loss; {@code null} means forever
 * @param initialBackoff first retry delay
 * @param maxBackoff cap of the retry delay
 * @param tokenSupplier asked for the signed token (JWT) before every connection attempt, so a refreshed one is sent
 *     on reconnect; {@code null}, or a supplier answering {@code null} or empty, sends none
 * @param joinHistory how many of the room's last messages the first join shows, 0 to {@link #MAX_JOIN_HISTORY};
 *     {@code -1} leaves it to the server's --history-size
 */
public record ClientConfig(
        List<InetSocketAddress> servers,
        String username,
        String room,
        String clientId,
        int maxPendingSends,
        Duration pongTimeout,
        Duration connectTimeout,
        Duration joinTimeout,
        Duration reconnectTimeout,
        Duration initialBackoff,
        Duration maxBackoff,
        Supplier<String> tokenSupplier,
        int joinHistory) {

    /** Names of users and rooms: the protocol's rule, which the server checks too. */
    public static final Pattern NAME = NameRules.USERNAME_OR_ROOM;
    /** Client ids: the protocol's rule, which the server checks too. */
    public static final Pattern CLIENT_ID = NameRules.CLIENT_ID;
    /** Largest client frame either side accepts. */
    public static final int MAX_FRAME_BYTES = 64 * 1024;
    /** Message size limit used until the server's welcome names its own. */
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 4096;
    public static final int DEFAULT_MAX_PENDING_SENDS = 1000;
    /**
     * Largest outgoing buffer. A resend is acknowledged only while the server still remembers its send number:
     * it keeps the last {@code --dedup-window} of them per client id and refuses to start with fewer than this
     * many, so with at most this many sends unacknowledged, every resend is recognised ({@link SendWindow}).
     */
    public static final int MAX_PENDING_SENDS = SendWindow.MAX_UNACKNOWLEDGED;
    public static final Duration DEFAULT_PONG_TIMEOUT = Duration.ofSeconds(1);
    /**
     * Twice the pong timeout on purpose: a welcome waits for the session to be committed (a replicated, fsynced
     * entry), which a failover's reconnect burst on a loaded host slows far more than a pong, and abandoning slow
     * joins would only add retries. A frozen node costs it only once: it is then tried last.
     */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(2);
    public static final Duration DEFAULT_JOIN_TIMEOUT = Duration.ofSeconds(30);
    public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofMillis(50);
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(1);
    /** Most messages a join may ask for (the server's bound). */
    public static final int MAX_JOIN_HISTORY = 10_000;
    /** Most messages one {@link MessengerClient#history} page may ask for (the server's bound). */
    public static final int MAX_HISTORY_PAGE = 500;

    /** Without a join history count of its own: the server's default applies. */
    public ClientConfig(List<InetSocketAddress> servers, String username, String room, String clientId,
                        int maxPendingSends, Duration pongTimeout, Duration connectTimeout, Duration joinTimeout,
                        Duration reconnectTimeout, Duration initialBackoff, Duration maxBackoff,
                        Supplier<String> tokenSupplier) {
        this(servers, username, room, clientId, maxPendingSends, pongTimeout, connectTimeout, joinTimeout,
                reconnectTimeout, initialBackoff, maxBackoff, tokenSupplier, -1);
    }

    public ClientConfig {
        servers = List.copyOf(Objects.requireNonNull(servers, "servers"));
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("Give at least one server address.");
        }
        if (username == null || !NAME.matcher(username).matches()) {
            throw new IllegalArgumentException("Username '" + username + "' is invalid: use 1-32 letters, digits, "
                    + "'_', '.' or '-', starting with a letter or digit.");
        }
        if (room == null || !NAME.matcher(room).matches()) {
            throw new IllegalArgumentException("Room '" + room + "' is invalid: use 1-32 letters, digits, "
                    + "'_', '.' or '-', starting with a letter or digit.");
        }
        if (clientId == null || !CLIENT_ID.matcher(clientId).matches()) {
            throw new IllegalArgumentException("Client id '" + clientId + "' is invalid: use 1-64 letters, digits, "
                    + "'_' or '-'.");
        }
        if (maxPendingSends < 1) {
            throw new IllegalArgumentException("The outgoing buffer must hold at least 1 message, not " + maxPendingSends + ".");
        }
        if (maxPendingSends > MAX_PENDING_SENDS) {
            throw new IllegalArgumentException("The outgoing buffer may hold at most " + MAX_PENDING_SENDS
                    + " messages, not " + maxPendingSends + ": the server remembers only that many send numbers"
                    + " for sure, and an older resend would be refused although it was delivered.");
        }
        requireAtLeast(pongTimeout, Duration.ofMillis(30), "pong timeout");
        requireAtLeast(connectTimeout, Duration.ofMillis(10), "connect timeout");
        requireAtLeast(joinTimeout, Duration.ofMillis(10), "join timeout");
        if (reconnectTimeout != null) {
            requireAtLeast(reconnectTimeout, Duration.ofMillis(10), "reconnect timeout");
        }
        requireAtLeast(initialBackoff, Duration.ofMillis(1), "initial backoff");
        requireAtLeast(maxBackoff, initialBackoff, "maximum backoff");
        if (joinHistory < -1 || joinHistory > MAX_JOIN_HISTORY) {
            throw new IllegalArgumentException("A join may show 0 to " + MAX_JOIN_HISTORY + " messages, not "
                    + joinHistory + ".");
        }
    }

    private static void requireAtLeast(Duration value, Duration min, String what) {
        Objects.requireNonNull(value, what);
        if (value.compareTo(min) < 0) {
            throw new IllegalArgumentException("The " + what + " must be at least " + min.toMillis() + " ms, not "
                    + value.toMillis() + " ms.");
        }
    }

    /** How often a ping goes out: a third of the pong timeout, so two may be lost before giving up. */
    public Duration pingInterval() {
        return pongTimeout.dividedBy(3);
    }
}
