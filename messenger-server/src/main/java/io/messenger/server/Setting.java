package io.messenger.server;

import java.util.Locale;

/**
 * Every server setting in one table: its flag, the environment variable and config-file key
 * derived from it, its default (as text) and a one-line description for the usage text.
 * A default of {@code null} is derived from other settings (see {@link ServerConfig}).
 */
public enum Setting {
    NODE_ID("node-id", "ID", "1", "this node's id, 1-255"),
    CLIENT_HOST("client-host", "HOST", "0.0.0.0", "interface the client port binds to"),
    CLIENT_PORT("client-port", "PORT", "7001", "port clients connect to (0 = any free port)"),
    PEER_HOST("peer-host", "HOST", "0.0.0.0", "interface the peer port binds to"),
    PEER_PORT("peer-port", "PORT", "9001", "port other nodes connect to; must match this node's entry in --peers"),
    ADMIN_HOST("admin-host", "HOST", "127.0.0.1",
            "interface the admin HTTP port binds to (loopback unless configured; containers set 0.0.0.0)"),
    ADMIN_PORT("admin-port", "PORT", "8001", "admin HTTP port: GET /status, GET /health (0 = any free port)"),
    PEERS("peers", "ID=HOST:PORT,...", null,
            "every member of the cluster, this node included (default: only this node, at 127.0.0.1:<peer-port>)"),
    ADVERTISED_CLIENT_ADDRESS("advertised-client-address", "HOST:PORT", null,
            "this node's client address as clients reach it, sent in redirects (default: 127.0.0.1:<client-port>)"),
    CLUSTER_NAME("cluster-name", "NAME", "messenger", "nodes of differently named clusters refuse each other"),
    DATA_DIR("data-dir", "DIR", null, "where the replicated log lives (default: ./data/node-<node-id>)"),
    PEER_SECRET_FILE("peer-secret-file", "PATH", null,
            "file with the cluster's shared peer secret (16+ bytes) every peer must prove (default: none, any process may join)"),
    HISTORY_SIZE("history-size", "N", "10", "messages a newcomer receives on joining a room, 0-10000"),
    RETAINED_MESSAGES("retained-messages", "N", "10000",
            "messages kept per room for history and resume, history-size to 1000000"),
    MAX_DEVICES("max-devices", "N", "2", "devices (client ids) one username may be online with, 1-100"),
    MAX_MESSAGE_BYTES("max-message-bytes", "BYTES", "4096", "longest message in UTF-8 bytes, 1 to max-frame-bytes - 1024"),
    MAX_FRAME_BYTES("max-frame-bytes", "BYTES", "65536", "largest client frame; larger ones close the connection, 2048-16777216"),
    IDLE_TIMEOUT("idle-timeout", "DURATION", "10s", "a client silent this long is disconnected, 100ms-1h"),
    SESSION_GRACE("session-grace", "DURATION", "15s",
            "how long a dropped session keeps its device slot and may resume, 100ms-1d"),
    HEARTBEAT("heartbeat", "DURATION", "100ms", "leader heartbeat interval, 1ms-10s"),
    ELECTION_TIMEOUT("election-timeout", "DURATION", "500ms",
            "silence after which a backup starts an election, at least twice the heartbeat, up to 60s"),
    MAX_IN_FLIGHT("max-in-flight", "N", "256",
            "uncommitted sends per connection before the server stops reading from it, 1-100000"),
    DEDUP_WINDOW("dedup-window", "N", "4096",
            "send sequences remembered per client id to acknowledge resends, 1024 (the client's largest buffer)-1000000"),

    // metrics (issue 12): switch the meters off, e.g. to measure what they cost
    METRICS("metrics", "BOOL", "true",
            "Prometheus meters on the admin port's /metrics; false: no registry, no latency histograms, /metrics is 404"),
    // User authentication (issue 10): signed tokens on hello, and the refusal to serve non-loopback clients without.
    AUTH_HMAC_KEY_FILE("auth-hmac-key-file", "PATH", null,
            "users must present an HS256 token signed with this shared key (32+ bytes) (default: none, anyone may claim any name)"),
    AUTH_PUBLIC_KEY_FILE("auth-public-key-file", "PATH", null,
            "users must present an ES256 or RS256 token verified with this PEM public key (default: none)"),
    INSECURE("insecure", null, "false",
            "allow clients on a non-loopback --client-host without token authentication"),
    // TLS (issue 10): peer mutual TLS with the cluster's CA, and TLS on the client link.
    PEER_TLS_CERT("peer-tls-cert", "PEM", null,
            "this node's peer certificate (CN=node-<id>, from the cluster's CA); with the key and CA: peer mutual TLS"),
    PEER_TLS_KEY("peer-tls-key", "PEM", null, "the PKCS#8 private key of --peer-tls-cert"),
    PEER_TLS_CA("peer-tls-ca", "PEM", null,
            "the cluster's CA certificate; every peer must present a certificate of it naming its node id"),
    TLS_CERT("tls-cert", "PEM", null, "certificate (chain) for the client port; with --tls-key clients must use TLS"),
    TLS_KEY("tls-key", "PEM", null, "the PKCS#8 private key of --tls-cert"),
    // limits (issue 10: hostile input from clients)
    HELLO_TIMEOUT("hello-timeout", "DURATION", "5s",
            "a connection that has not sent Hello this long after connecting is closed, 100ms-1h"),
    ADMIN_REQUEST_TIMEOUT("admin-request-timeout", "DURATION", "5s",
            "an admin connection that has not sent a whole request this long after opening (or its last request) is closed, 100ms-1h"),
    SEND_RATE("send-rate", "RATE", "50/s",
            "sends one connection may make, as a token bucket refilling at N/s or N/m (off = unlimited); over it a send fails RATE_LIMITED"),
    SEND_BURST("send-burst", "N", "1024", "the connection bucket's size: sends allowed at once after a quiet spell (default: the client's largest buffer, so a backlog resent after a failover passes), 1-1000000"),
    USER_SEND_RATE("user-send-rate", "RATE", "100/s",
            "sends one username may make across its connections to this node, N/s or N/m (off = unlimited)"),
    USER_SEND_BURST("user-send-burst", "N", "2048", "the user bucket's size, 1-1000000"),
    MAX_ROOMS("max-rooms", "N", "10000",
            "most rooms the cluster holds; a join that would create another is refused (same on every node), 1-10000000"),
    MAX_ROOMS_PER_USER_PER_MINUTE("max-rooms-per-user-per-minute", "N", "10",
            "most rooms one username may create within a minute of leader time (same on every node), 1-1000000"),
    // durable room history (issue 9): retention of the RocksDB history store, applied from the log
    HISTORY_RETAIN_MESSAGES("history-retain-messages", "N", "1000000",
            "messages the durable history keeps per room, older ones are deleted (same on every node), 0 = unlimited, up to 1000000000"),
    HISTORY_RETAIN_AGE("history-retain-age", "DURATION", "30d",
            "messages older than this (leader time) are deleted from the history, within 1/1000 of it (same on every node), 0 = unlimited, 1m-36500d"),
    // connection arrival rate (issue 10: a flood of connections is refused before any of it is read)
    CONNECTION_RATE("connection-rate", "RATE", "100/s",
            "new client connections one remote address may open, N/s or N/m (off = unlimited); over it a connection is refused CONNECTION_RATE_LIMITED"),
    CONNECTION_BURST("connection-burst", "N", "200", "the per-address connection bucket's size, 1-1000000"),
    CONNECTION_RATE_TOTAL("connection-rate-total", "RATE", "1000/s",
            "new client connections from all addresses together, N/s or N/m (off = unlimited)"),
    CONNECTION_BURST_TOTAL("connection-burst-total", "N", "2000", "the total connection bucket's size, 1-1000000"),
    // snapshots and log compaction (issue 9)
    SNAPSHOT_INTERVAL("snapshot-interval", "N", "50000",
            "applied log entries between two snapshots of the chat state, after which the log they cover is"
                    + " deleted; 0 turns snapshots and log compaction off, 0-1000000000"),
    LOG_RETAIN_ENTRIES("log-retain-entries", "N", "10000",
            "log entries kept below the latest snapshot, so a backup lagging by less catches up from the log,"
                    + " 0-1000000000"),
    LOG_SEGMENT_BYTES("log-segment-bytes", "N", "4194304",
            "size of one log segment file; compaction deletes whole segments, so this much log may stay on disk"
                    + " past the retained entries, 4096-1073741824");

    private final String flag;
    private final String label;
    private final String defaultValue;
    private final String description;

    Setting(String flag, String label, String defaultValue, String description) {
        this.flag = flag;
        this.label = label;
        this.defaultValue = defaultValue;
        this.description = description;
    }

    /** Whether this is an on/off switch: {@code --insecure} alone means true, and it takes no label. */
    public boolean isSwitch() {
        return label == null;
    }

    /** The long option without dashes, also the key in a config file. */
    public String key() {
        return flag;
    }

    public String flag() {
        return "--" + flag;
    }

    /** {@code MESSENGER_} and the key in upper case with underscores. */
    public String environmentVariable() {
        return "MESSENGER_" + flag.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    public String label() {
        return label;
    }

    /** The default as text, or {@code null} when it is derived from other settings. */
    public String defaultValue() {
        return defaultValue;
    }

    public String description() {
        return description;
    }
}
