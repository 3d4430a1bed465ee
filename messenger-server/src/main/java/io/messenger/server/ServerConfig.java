package io.messenger.server;

import io.messenger.cluster.ClusterConfig;
import io.messenger.cluster.Member;
import io.messenger.cluster.PeerTlsFiles;
import io.messenger.cluster.SnapshotPolicy;
import io.messenger.proto.SendWindow;
import io.messenger.server.auth.ClientAuthenticator;
import io.messenger.server.auth.TokenVerifier;
import io.messenger.server.chat.ChatLimits;
import io.messenger.server.chat.HistoryRetention;
import java.net.InetAddress;
import java.net.UnknownHostException;
import io.messenger.server.client.ClientLimits;
import io.messenger.server.client.SendRate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A server node's typed configuration, with every default and range check in one place.
 * Values come, highest precedence first, from command-line flags, {@code MESSENGER_*}
 * environment variables, a properties file and the defaults of {@link Setting}.
 */
public record ServerConfig(
        int nodeId,
        String clientHost,
        int clientPort,
        String peerHost,
        int peerPort,
        String adminHost,
        int adminPort,
        List<Member> members,
        String advertisedClientAddress,
        String clusterName,
        Path dataDir,
        Path peerSecretFile,
        int historySize,
        int retainedMessages,
        int maxDevices,
        int maxMessageBytes,
        int maxFrameBytes,
        Duration idleTimeout,
        Duration sessionGrace,
        Duration heartbeat,
        Duration electionTimeout,
        int maxInFlight,
        int dedupWindow,
        boolean metrics,
        Path authHmacKeyFile,
        Path authPublicKeyFile,
        boolean insecure,
        PeerTlsFiles peerTls,
        Path tlsCert,
        Path tlsKey,
        Duration helloTimeout,
        Duration adminRequestTimeout,
        SendRate sendRate,
        SendRate userSendRate,
        int maxRooms,
        int maxRoomsPerUserPerMinute,
        HistoryRetention historyRetention,
        SendRate connectionRate,
        SendRate totalConnectionRate,
        SnapshotPolicy snapshots,
        Map<Setting, String> sources) {

    /**
     * Smallest dedup window: the client library keeps at most this many sends unacknowledged
     * ({@link SendWindow}), so every resend it makes is still remembered and acknowledged.
     */
    static final int MIN_DEDUP_WINDOW = SendWindow.MAX_UNACKNOWLEDGED;
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})\\s*(ms|s|m|h|d)");
    private static final Pattern CLUSTER_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final Pattern HOST_PORT = Pattern.compile("[^\\s:]+:(\\d{1,5})|\\[[0-9a-fA-F:]+]:(\\d{1,5})");

    public ServerConfig {
        members = List.copyOf(members);
        sources = Map.copyOf(sources);
    }

    /** Where one setting's value may come from, in precedence order. */
    @FunctionalInterface
    public interface Source {
        /** The raw value for the setting, or {@code null} if this source does not set it. */
        String lookup(Setting setting);
    }

    /** A source reading {@code MESSENGER_*} variables from {@code env}. */
    public static Source environment(Map<String, String> env) {
        return s -> env.get(s.environmentVariable());
    }

    /** A source reading keys named like the flags without dashes ({@code node-id=2}). */
    public static Source file(Properties properties) {
        return s -> properties.getProperty(s.key());
    }

    /**
     * Resolves every setting from the named sources (first one that sets it wins), then
     * checks ranges and consistency.
     *
     * @throws IllegalArgumentException with one sentence naming the setting, if a value is bad
     */
    public static ServerConfig resolve(Map<String, Source> sources) {
        Map<Setting, String> raw = new EnumMap<>(Setting.class);
        Map<Setting, String> from = new EnumMap<>(Setting.class);
        for (Setting s : Setting.values()) {
            for (Map.Entry<String, Source> source : sources.entrySet()) {
                String value = source.getValue().lookup(s);
                if (value != null) {
                    raw.put(s, value.trim());
                    from.put(s, source.getKey());
                    break;
                }
            }
            if (!raw.containsKey(s) && s.defaultValue() != null) {
                raw.put(s, s.defaultValue());
                from.put(s, "default");
            }
        }
        Function<Setting, String> get = raw::get;

        int nodeId = integer(get, Setting.NODE_ID, 1, 255);
        int clientPort = integer(get, Setting.CLIENT_PORT, 0, 65535);
        int peerPort = integer(get, Setting.PEER_PORT, 0, 65535);
        int adminPort = integer(get, Setting.ADMIN_PORT, 0, 65535);

        List<Member> members;
        if (raw.containsKey(Setting.PEERS)) {
            members = new ArrayList<>();
            for (String spec : raw.get(Setting.PEERS).split(",")) {
                if (spec.isBlank()) {
                    continue;
                }
                try {
                    members.add(Member.parse(spec.trim()));
                } catch (IllegalArgumentException e) {
                    throw bad(Setting.PEERS, e.getMessage());
                }
            }
            if (members.stream().map(Member::id).distinct().count() != members.size()) {
                throw bad(Setting.PEERS, "each node id may appear only once, got " + raw.get(Setting.PEERS));
            }
            Member self = members.stream().filter(m -> m.id() == nodeId).findFirst().orElseThrow(() -> bad(
                    Setting.PEERS, "this node's id " + nodeId + " is not among the members " + members));
            if (!"default".equals(from.get(Setting.PEER_PORT)) && self.peerPort() != peerPort) {
                throw bad(Setting.PEER_PORT, peerPort + " differs from this node's entry " + self + " in "
                        + Setting.PEERS.flag() + "; give the same port or leave " + Setting.PEER_PORT.flag()
                        + " out");
            }
            peerPort = self.peerPort();
        } else {
            if (peerPort == 0) {
                throw bad(Setting.PEER_PORT, "must be a fixed port when " + Setting.PEERS.flag()
                        + " is not given, since it becomes this node's member entry");
            }
            members = List.of(new Member(nodeId, "127.0.0.1", peerPort));
            raw.put(Setting.PEERS, members.get(0).toString());
            from.put(Setting.PEERS, "default");
        }

        if (clientPort == 0 && members.size() > 1 && !raw.containsKey(Setting.ADVERTISED_CLIENT_ADDRESS)) {
            throw bad(Setting.ADVERTISED_CLIENT_ADDRESS, "must be given when " + Setting.CLIENT_PORT.flag()
                    + " is 0 in a cluster, since backups send clients to it");
        }
        String advertised = raw.computeIfAbsent(Setting.ADVERTISED_CLIENT_ADDRESS, s -> {
            from.put(s, "default");
            return "127.0.0.1:" + clientPort;
        });
        Matcher hp = HOST_PORT.matcher(advertised);
        if (!hp.matches() || Integer.parseInt(hp.group(1) != null ? hp.group(1) : hp.group(2)) > 65535) {
            throw bad(Setting.ADVERTISED_CLIENT_ADDRESS, "must look like host:port (for example 127.0.0.1:7001), got '"
                    + advertised + "'");
        }
        String clusterName = raw.get(Setting.CLUSTER_NAME);
        if (!CLUSTER_NAME.matcher(clusterName).matches()) {
            throw bad(Setting.CLUSTER_NAME, "must be 1 to 64 letters, digits, '_', '.' or '-', got '"
                    + clusterName + "'");
        }
        String dataDir = raw.computeIfAbsent(Setting.DATA_DIR, s -> {
            from.put(s, "default");
            return "./data/node-" + nodeId;
        });
        if (dataDir.isEmpty()) {
            throw bad(Setting.DATA_DIR, "must not be empty");
        }

        Path peerSecretFile = null;
        if (raw.containsKey(Setting.PEER_SECRET_FILE)) {
            peerSecretFile = Path.of(raw.get(Setting.PEER_SECRET_FILE));
            if (!Files.isReadable(peerSecretFile)) {
                throw bad(Setting.PEER_SECRET_FILE, "must name a readable file, got '" + peerSecretFile + "'");
            }
        }

        int historySize = integer(get, Setting.HISTORY_SIZE, 0, 10_000);
        int retained = integer(get, Setting.RETAINED_MESSAGES, Math.max(1, historySize), 1_000_000);
        int maxDevices = integer(get, Setting.MAX_DEVICES, 1, 100);
        int maxFrame = integer(get, Setting.MAX_FRAME_BYTES, 2048, 16 * 1024 * 1024);
        int maxMessage = integer(get, Setting.MAX_MESSAGE_BYTES, 1, Math.min(60 * 1024, maxFrame - 1024));
        Duration idle = duration(get, Setting.IDLE_TIMEOUT, Duration.ofMillis(100), Duration.ofHours(1));
        Duration grace = duration(get, Setting.SESSION_GRACE, Duration.ofMillis(100), Duration.ofDays(1));
        Duration heartbeat = duration(get, Setting.HEARTBEAT, Duration.ofMillis(1), Duration.ofSeconds(10));
        Duration election = duration(get, Setting.ELECTION_TIMEOUT, heartbeat.multipliedBy(2), Duration.ofSeconds(60));
        int maxInFlight = integer(get, Setting.MAX_IN_FLIGHT, 1, 100_000);
        int dedupWindow = integer(get, Setting.DEDUP_WINDOW, 1, 1_000_000);
        if (dedupWindow < MIN_DEDUP_WINDOW) {
            throw bad(Setting.DEDUP_WINDOW, "must be at least " + MIN_DEDUP_WINDOW + ", the most sends a client keeps"
                    + " unacknowledged (an older resend would be refused although it was delivered), got " + dedupWindow);
        }

        boolean metrics = bool(get, Setting.METRICS);
        Path hmacKeyFile = keyFile(raw, Setting.AUTH_HMAC_KEY_FILE);
        Path publicKeyFile = keyFile(raw, Setting.AUTH_PUBLIC_KEY_FILE);
        if (hmacKeyFile != null && publicKeyFile != null) {
            throw bad(Setting.AUTH_PUBLIC_KEY_FILE, "cannot be combined with " + Setting.AUTH_HMAC_KEY_FILE.flag()
                    + "; a cluster verifies tokens with one key");
        }
        if (hmacKeyFile != null || publicKeyFile != null) {
            Setting which = hmacKeyFile != null ? Setting.AUTH_HMAC_KEY_FILE : Setting.AUTH_PUBLIC_KEY_FILE;
            try {
                TokenVerifier.fromFiles(hmacKeyFile, publicKeyFile, Clock.systemUTC());
            } catch (IllegalArgumentException e) {
                throw bad(which, "names an unusable key: " + stripDot(e.getMessage()));
            }
        }
        PeerTlsFiles peerTls = null;
        List<Setting> peerTlsSettings = List.of(Setting.PEER_TLS_CERT, Setting.PEER_TLS_KEY, Setting.PEER_TLS_CA);
        long peerTlsGiven = peerTlsSettings.stream().filter(raw::containsKey).count();
        if (peerTlsGiven == 3) {
            peerTls = new PeerTlsFiles(readableFile(raw, Setting.PEER_TLS_CERT), readableFile(raw, Setting.PEER_TLS_KEY),
                    readableFile(raw, Setting.PEER_TLS_CA));
        } else if (peerTlsGiven > 0) {
            Setting missing = peerTlsSettings.stream().filter(x -> !raw.containsKey(x)).findFirst().orElseThrow();
            throw bad(missing, "is missing: peer TLS needs all of --peer-tls-cert, --peer-tls-key and --peer-tls-ca");
        }
        Path tlsCert = null;
        Path tlsKey = null;
        if (raw.containsKey(Setting.TLS_CERT) != raw.containsKey(Setting.TLS_KEY)) {
            Setting missing = raw.containsKey(Setting.TLS_CERT) ? Setting.TLS_KEY : Setting.TLS_CERT;
            throw bad(missing, "is missing: client TLS needs both --tls-cert and --tls-key");
        }
        if (raw.containsKey(Setting.TLS_CERT)) {
            tlsCert = readableFile(raw, Setting.TLS_CERT);
            tlsKey = readableFile(raw, Setting.TLS_KEY);
        }

        Duration helloTimeout = duration(get, Setting.HELLO_TIMEOUT, Duration.ofMillis(100), Duration.ofHours(1));
        Duration adminRequestTimeout = duration(get, Setting.ADMIN_REQUEST_TIMEOUT, Duration.ofMillis(100),
                Duration.ofHours(1));
        SendRate sendRate = rate(get, Setting.SEND_RATE, Setting.SEND_BURST);
        SendRate userSendRate = rate(get, Setting.USER_SEND_RATE, Setting.USER_SEND_BURST);
        int maxRooms = integer(get, Setting.MAX_ROOMS, 1, 10_000_000);
        int maxRoomsPerUser = integer(get, Setting.MAX_ROOMS_PER_USER_PER_MINUTE, 1, 1_000_000);
        int retainMessages = integer(get, Setting.HISTORY_RETAIN_MESSAGES, 0, 1_000_000_000);
        Duration retainAge = "0".equals(get.apply(Setting.HISTORY_RETAIN_AGE).trim()) ? Duration.ZERO
                : duration(get, Setting.HISTORY_RETAIN_AGE, Duration.ofMinutes(1), Duration.ofDays(36_500));
        HistoryRetention historyRetention = new HistoryRetention(retainMessages, retainAge.toMillis());
        SendRate connectionRate = rate(get, Setting.CONNECTION_RATE, Setting.CONNECTION_BURST);
        SendRate totalConnectionRate = rate(get, Setting.CONNECTION_RATE_TOTAL, Setting.CONNECTION_BURST_TOTAL);
        SnapshotPolicy snapshots = new SnapshotPolicy(integer(get, Setting.SNAPSHOT_INTERVAL, 0, 1_000_000_000),
                integer(get, Setting.LOG_RETAIN_ENTRIES, 0, 1_000_000_000),
                integer(get, Setting.LOG_SEGMENT_BYTES, 4096, 1 << 30));

        // Last, so that a bad value of any other setting is reported as itself.
        boolean insecure = bool(get, Setting.INSECURE);
        String clientHost = raw.get(Setting.CLIENT_HOST);
        if (hmacKeyFile == null && publicKeyFile == null && !insecure && !isLoopback(clientHost)) {
            throw bad(Setting.CLIENT_HOST, clientHost + " lets clients connect from the network, and without "
                    + Setting.AUTH_HMAC_KEY_FILE.flag() + " or " + Setting.AUTH_PUBLIC_KEY_FILE.flag()
                    + " any of them may claim any username; give a token key, bind clients to loopback with "
                    + Setting.CLIENT_HOST.flag() + " 127.0.0.1, or accept that with " + Setting.INSECURE.flag());
        }

        return new ServerConfig(nodeId, clientHost, clientPort, raw.get(Setting.PEER_HOST),
                peerPort, raw.get(Setting.ADMIN_HOST), adminPort, members, advertised, clusterName, Path.of(dataDir),
                peerSecretFile, historySize, retained, maxDevices, maxMessage, maxFrame, idle, grace, heartbeat, election,
                maxInFlight, dedupWindow, metrics, hmacKeyFile, publicKeyFile, insecure, peerTls, tlsCert, tlsKey,
                helloTimeout, adminRequestTimeout, sendRate, userSendRate, maxRooms, maxRoomsPerUser,
                historyRetention, connectionRate, totalConnectionRate, snapshots, from);
    }

    private static Path readableFile(Map<Setting, String> raw, Setting s) {
        Path file = Path.of(raw.get(s));
        if (!Files.isReadable(file) || Files.isDirectory(file)) {
            throw bad(s, "must name a readable file, got '" + file + "'");
        }
        return file;
    }

    /** The replicated log's part of the configuration. */
    public ClusterConfig clusterConfig() {
        return new ClusterConfig(nodeId, members, dataDir, peerHost, advertisedClientAddress, clusterName,
                heartbeat, electionTimeout, ClusterConfig.DEFAULT_MAX_FRAME_BYTES,
                ClusterConfig.DEFAULT_MAX_APPEND_ENTRIES, ClusterConfig.DEFAULT_MAX_APPEND_BYTES, peerSecretFile, peerTls,
                snapshots);
    }

    /** Whether clients must present a signed token on hello. */
    public boolean authenticatesUsers() {
        return authHmacKeyFile != null || authPublicKeyFile != null;
    }

    /** What checks a client's hello: its token when a key is configured, nothing otherwise. */
    public ClientAuthenticator clientAuthenticator(Clock clock) {
        return authenticatesUsers() ? TokenVerifier.fromFiles(authHmacKeyFile, authPublicKeyFile, clock)
                : ClientAuthenticator.OPEN;
    }

    /** Whether the interface (a name or address) is the loopback one; an unresolvable name is not. */
    static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** The chat state machine's part of the configuration; equal on every node of a cluster. */
    public ChatLimits chatLimits() {
        return new ChatLimits(historySize, retainedMessages, maxDevices, dedupWindow, maxMessageBytes, maxRooms,
                maxRoomsPerUserPerMinute);
    }

    /** What this node bounds per client connection; local to the node. */
    public ClientLimits clientLimits() {
        return new ClientLimits(helloTimeout, sendRate, userSendRate, System::nanoTime, connectionRate,
                totalConnectionRate);
    }

    /** The effective configuration, one setting per line with where its value came from. */
    public String describe() {
        Map<Setting, Object> values = new EnumMap<>(Setting.class);
        values.put(Setting.NODE_ID, nodeId);
        values.put(Setting.CLIENT_HOST, clientHost);
        values.put(Setting.CLIENT_PORT, clientPort);
        values.put(Setting.PEER_HOST, peerHost);
        values.put(Setting.PEER_PORT, peerPort);
        values.put(Setting.ADMIN_HOST, adminHost);
        values.put(Setting.ADMIN_PORT, adminPort);
        values.put(Setting.PEERS, String.join(",", members.stream().map(Member::toString).toList()));
        values.put(Setting.ADVERTISED_CLIENT_ADDRESS, advertisedClientAddress);
        values.put(Setting.CLUSTER_NAME, clusterName);
        values.put(Setting.DATA_DIR, dataDir.toAbsolutePath().normalize());
        values.put(Setting.PEER_SECRET_FILE, peerSecretFile == null ? "none" : peerSecretFile.toAbsolutePath().normalize());
        values.put(Setting.HISTORY_SIZE, historySize);
        values.put(Setting.RETAINED_MESSAGES, retainedMessages);
        values.put(Setting.MAX_DEVICES, maxDevices);
        values.put(Setting.MAX_MESSAGE_BYTES, maxMessageBytes);
        values.put(Setting.MAX_FRAME_BYTES, maxFrameBytes);
        values.put(Setting.IDLE_TIMEOUT, text(idleTimeout));
        values.put(Setting.SESSION_GRACE, text(sessionGrace));
        values.put(Setting.HEARTBEAT, text(heartbeat));
        values.put(Setting.ELECTION_TIMEOUT, text(electionTimeout));
        values.put(Setting.MAX_IN_FLIGHT, maxInFlight);
        values.put(Setting.DEDUP_WINDOW, dedupWindow);
        values.put(Setting.METRICS, metrics);
        values.put(Setting.AUTH_HMAC_KEY_FILE, authHmacKeyFile == null ? "none"
                : authHmacKeyFile.toAbsolutePath().normalize());
        values.put(Setting.AUTH_PUBLIC_KEY_FILE, authPublicKeyFile == null ? "none"
                : authPublicKeyFile.toAbsolutePath().normalize());
        values.put(Setting.INSECURE, insecure);
        values.put(Setting.PEER_TLS_CERT, peerTls == null ? "none" : peerTls.certificate().toAbsolutePath().normalize());
        values.put(Setting.PEER_TLS_KEY, peerTls == null ? "none" : peerTls.privateKey().toAbsolutePath().normalize());
        values.put(Setting.PEER_TLS_CA, peerTls == null ? "none" : peerTls.trustedCa().toAbsolutePath().normalize());
        values.put(Setting.TLS_CERT, tlsCert == null ? "none" : tlsCert.toAbsolutePath().normalize());
        values.put(Setting.TLS_KEY, tlsKey == null ? "none" : tlsKey.toAbsolutePath().normalize());
        values.put(Setting.HELLO_TIMEOUT, text(helloTimeout));
        values.put(Setting.ADMIN_REQUEST_TIMEOUT, text(adminRequestTimeout));
        values.put(Setting.SEND_RATE, sendRate.off() ? "off" : raw(sendRate));
        values.put(Setting.SEND_BURST, sendRate.off() ? "-" : sendRate.burst());
        values.put(Setting.USER_SEND_RATE, userSendRate.off() ? "off" : raw(userSendRate));
        values.put(Setting.USER_SEND_BURST, userSendRate.off() ? "-" : userSendRate.burst());
        values.put(Setting.MAX_ROOMS, maxRooms);
        values.put(Setting.MAX_ROOMS_PER_USER_PER_MINUTE, maxRoomsPerUserPerMinute);
        values.put(Setting.HISTORY_RETAIN_MESSAGES, historyRetention.maxMessages() == 0 ? "0 (unlimited)"
                : historyRetention.maxMessages());
        values.put(Setting.HISTORY_RETAIN_AGE, historyRetention.maxAgeMs() == 0 ? "0 (unlimited)"
                : historyRetention.maxAgeMs() % 86_400_000 == 0 ? historyRetention.maxAgeMs() / 86_400_000 + "d"
                : text(Duration.ofMillis(historyRetention.maxAgeMs())));
        values.put(Setting.CONNECTION_RATE, connectionRate.off() ? "off" : raw(connectionRate));
        values.put(Setting.CONNECTION_BURST, connectionRate.off() ? "-" : connectionRate.burst());
        values.put(Setting.CONNECTION_RATE_TOTAL, totalConnectionRate.off() ? "off" : raw(totalConnectionRate));
        values.put(Setting.CONNECTION_BURST_TOTAL, totalConnectionRate.off() ? "-" : totalConnectionRate.burst());
        values.put(Setting.SNAPSHOT_INTERVAL, snapshots.enabled() ? snapshots.interval() : "0 (off)");
        values.put(Setting.LOG_RETAIN_ENTRIES, snapshots.retainEntries());
        values.put(Setting.LOG_SEGMENT_BYTES, snapshots.logSegmentBytes());
        StringBuilder out = new StringBuilder("effective configuration of node ").append(nodeId).append(':');
        for (Setting s : Setting.values()) {
            out.append(String.format(Locale.ROOT, "%n  %-26s %-40s (%s)", s.key(), values.get(s),
                    sources.getOrDefault(s, "default")));
        }
        return out.toString();
    }

    private static String raw(SendRate r) {
        String words = r.toString();
        return words.substring(0, words.indexOf(' '));
    }

    private static SendRate rate(Function<Setting, String> get, Setting rate, Setting burst) {
        double perSecond;
        try {
            perSecond = SendRate.parsePerSecond(get.apply(rate));
        } catch (IllegalArgumentException e) {
            throw bad(rate, e.getMessage());
        }
        int size = integer(get, burst, 1, 1_000_000);
        if (Double.isInfinite(perSecond)) {
            return SendRate.OFF;
        }
        if (perSecond > 1_000_000) {
            throw bad(rate, "must be at most 1000000/s (or off), got " + get.apply(rate));
        }
        return new SendRate(perSecond, size);
    }

    private static String text(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? (ms / 1000) + "s" : ms + "ms";
    }

    private static Path keyFile(Map<Setting, String> raw, Setting s) {
        String value = raw.get(s);
        if (value == null || value.isEmpty()) {
            return null;
        }
        Path file = Path.of(value);
        if (!Files.isReadable(file)) {
            throw bad(s, "must name a readable file, got '" + file + "'");
        }
        return file;
    }

    private static boolean bool(Function<Setting, String> get, Setting s) {
        String value = get.apply(s).toLowerCase(Locale.ROOT);
        return switch (value) {
            case "true", "yes", "on", "1" -> true;
            case "false", "no", "off", "0" -> false;
            default -> throw bad(s, "must be true or false, got '" + value + "'");
        };
    }

    private static String stripDot(String sentence) {
        return sentence.endsWith(".") ? sentence.substring(0, sentence.length() - 1) : sentence;
    }

    private static int integer(Function<Setting, String> get, Setting s, int min, int max) {
        String value = get.apply(s);
        long n;
        try {
            n = Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw bad(s, "must be a whole number, got '" + value + "'");
        }
        if (n < min || n > max) {
            throw bad(s, "must be between " + min + " and " + max + ", got " + n);
        }
        return (int) n;
    }

    /** Parses {@code 250ms}, {@code 10s}, {@code 2m}, {@code 1h}, {@code 1d} or ISO-8601 ({@code PT10S}). */
    static Duration parseDuration(String value) {
        Matcher m = DURATION.matcher(value.toLowerCase(Locale.ROOT));
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            return switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            };
        }
        try {
            return Duration.parse(value);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("must be a duration with a unit such as 500ms, 10s or 2m, got '"
                    + value + "'", e);
        }
    }

    private static Duration duration(Function<Setting, String> get, Setting s, Duration min, Duration max) {
        Duration d;
        try {
            d = parseDuration(get.apply(s));
        } catch (IllegalArgumentException e) {
            throw bad(s, e.getMessage());
        }
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            throw bad(s, "must be between " + text(min) + " and " + text(max) + ", got " + text(d));
        }
        return d;
    }

    private static IllegalArgumentException bad(Setting s, String problem) {
        return new IllegalArgumentException(s.flag() + " (" + s.environmentVariable() + ") " + problem + ".");
    }
}
