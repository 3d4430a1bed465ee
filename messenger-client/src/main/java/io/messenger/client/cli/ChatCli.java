package io.messenger.client.cli;

import io.messenger.client.MessengerClient;
import io.messenger.client.MessengerListener;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.function.Supplier;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The command-line chat client: {@code client.app <username> <room>}. On a terminal it is an interactive chat
 * (JLine); with stdin from a pipe or file it is scripted: it prints the room transcript on stdout and sends
 * each input line. See {@link Transcript} for the line format and {@link ExitCode} for exit codes.
 */
@Command(name = "client.app", mixinStandardHelpOptions = true, sortOptions = false,
        version = "messenger client 0.1.0",
        description = {"Chat in a room of a messenger cluster.",
            "On a terminal: interactive (/who, /quit, Ctrl-D). Otherwise: sends each stdin line, prints the room "
                + "transcript on stdout and exits once every line is acknowledged."},
        footer = {"", "A cluster with user authentication needs a token for <username>: --token-file, $"
                + "MESSENGER_TOKEN or --token",
            "(its operator mints one with 'server.app token'). --token shows in the process list; prefer the others.",
            "", "Exit codes: 0 ok, 1 error or connection lost for good, 2 usage or invalid name,",
            "3 too many devices for this username, 4 some lines not acknowledged in time (scripted),",
            "5 the token was refused (missing, invalid, expired, for another user or another room),",
            "6 TLS failed (certificate not signed by the --tls-ca CA or not naming the host, server without TLS,",
            "  or a TLS-only server and no --tls-ca)."})
public final class ChatCli implements Callable<Integer> {

    static final String DEFAULT_SERVERS = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003";
    static final String SERVERS_ENV = "MESSENGER_SERVERS";
    static final String TOKEN_ENV = "MESSENGER_TOKEN";
    /** A token is a few hundred bytes; a file much larger than this is not one. */
    private static final long MAX_TOKEN_FILE_BYTES = 64 * 1024;

    @Parameters(index = "0", paramLabel = "<username>", description = "Your name: 1-32 of A-Z a-z 0-9 _ . -")
    private String username;

    @Parameters(index = "1", paramLabel = "<room>", description = "The room to join (same rule as names).")
    private String room;

    @Option(names = "--servers", paramLabel = "host:port,...",
            description = "Seed nodes. Default: $" + SERVERS_ENV + ", else " + DEFAULT_SERVERS + ".")
    private String servers;

    /** Where the CLI looks for the CA when {@code --tls-ca} is not given. */
    static final String TLS_CA_ENV = "MESSENGER_TLS_CA";

    @Option(names = "--client-id", paramLabel = "<id>",
            description = "Stable device id (1-64 of A-Z a-z 0-9 _ -). Default: a random one per run.")
    private String clientId;

    @Option(names = "--pong-timeout", paramLabel = "<duration>", defaultValue = "1s",
            converter = DurationConverter.class, description = "Silence that counts as a lost connection (default ${DEFAULT-VALUE}).")
    private Duration pongTimeout;

    @Option(names = "--max-pending", paramLabel = "<n>", defaultValue = "1000",
            description = "Most unacknowledged messages buffered, 1-1024 (default ${DEFAULT-VALUE}).")
    private int maxPending;

    @Option(names = "--ack-timeout", paramLabel = "<duration>", defaultValue = "30s",
            converter = DurationConverter.class,
            description = "At end of input (or /quit), how long to wait for acknowledgements (default ${DEFAULT-VALUE}).")
    private Duration ackTimeout;

    @Option(names = "--join-timeout", paramLabel = "<duration>", defaultValue = "30s",
            converter = DurationConverter.class, description = "How long to look for a leader when joining (default ${DEFAULT-VALUE}).")
    private Duration joinTimeout;

    @Option(names = "--reconnect-timeout", paramLabel = "<duration>", defaultValue = "60s",
            converter = DurationConverter.class,
            description = "After a lost connection, how long to keep trying before giving up; 0 = forever (default ${DEFAULT-VALUE}).")
    private Duration reconnectTimeout;

    @Option(names = "--token", paramLabel = "<jwt>",
            description = "Signed token for <username>, if the cluster requires one. Default: $" + TOKEN_ENV + ".")
    private String token;

    @Option(names = "--token-file", paramLabel = "<path>",
            description = "Read the token from this file, again before every reconnect (so it may be refreshed).")
    private Path tokenFile;
    @Option(names = "--tls-ca", paramLabel = "<file>",
            description = "Talk TLS and trust this CA certificate (PEM); the server's certificate must name the host"
                    + " as given in the server list. Default: $" + TLS_CA_ENV + ", else plaintext.")
    private String tlsCa;

    @Option(names = "--history", paramLabel = "<n>", defaultValue = "10",
            description = "How many of the room's last messages joining shows, 0-10000 (default ${DEFAULT-VALUE});"
                    + " /history [N] pages further back.")
    private int history;

    @Option(names = "--scripted", description = "Scripted mode even on a terminal.")
    private boolean scripted;

    @Option(names = "--log-file", paramLabel = "<path>",
            description = "Write the client's log there (default: no log, so nothing mixes with the chat).")
    private String logFile;

    private final InputStream in;
    private final PrintStream out;
    private final PrintStream err;
    private final Map<String, String> env;
    private final boolean terminal;

    private ChatCli(InputStream in, PrintStream out, PrintStream err, Map<String, String> env, boolean terminal) {
        this.in = in;
        this.out = out;
        this.err = err;
        this.env = env;
        this.terminal = terminal;
    }

    /** Process entry point. */
    public static void main(String[] args) {
        LogSetup.beforeAnyLogger(args);
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
        int code = run(args, System.in, out, err, System.getenv(), System.console() != null);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Runs the CLI with the given streams and environment; returns the exit code. */
    static int run(String[] args, InputStream in, PrintStream out, PrintStream err, Map<String, String> env,
                   boolean terminal) {
        CommandLine cmd = new CommandLine(new ChatCli(in, out, err, env, terminal));
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        cmd.setParameterExceptionHandler((e, a) -> {
            err.println(e.getMessage());
            err.println("Usage: client.app [--servers host:port,...] [options] <username> <room>  (--help for more)");
            return ExitCode.USAGE;
        });
        cmd.setExecutionExceptionHandler((e, c, p) -> {
            err.println(ExitCode.sentence(e));
            return ExitCode.ERROR;
        });
        return cmd.execute(args);
    }

    /**
     * Where the token comes from, first given wins: {@code --token}, {@code --token-file} (read now, to fail early,
     * and again before every reconnect), {@code $MESSENGER_TOKEN}; null for none.
     */
    private Supplier<String> tokens() {
        if (token != null && tokenFile != null) {
            throw new IllegalArgumentException("Give --token or --token-file, not both.");
        }
        if (token != null) {
            return () -> token;
        }
        if (tokenFile != null) {
            Path file = tokenFile;
            readToken(file); // a missing or empty file is a usage error now, not a failed connection later
            return () -> readToken(file);
        }
        String fromEnv = env.get(TOKEN_ENV);
        return fromEnv == null || fromEnv.isBlank() ? null : () -> fromEnv;
    }

    private static String readToken(Path file) {
        try {
            if (Files.size(file) > MAX_TOKEN_FILE_BYTES) {
                throw new IllegalArgumentException("The token file " + file + " is larger than "
                        + MAX_TOKEN_FILE_BYTES / 1024 + " KiB; it should hold one token.");
            }
            String text = Files.readString(file, StandardCharsets.US_ASCII).strip();
            if (text.isEmpty()) {
                throw new IllegalArgumentException("The token file " + file + " is empty.");
            }
            return text;
        } catch (IOException e) {
            throw new IllegalArgumentException("Cannot read the token file " + file + " ("
                    + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.getMessage()) + ").", e);
        }
    }

    @Override
    public Integer call() throws Exception {
        String seeds = servers;
        if (seeds == null) {
            String fromEnv = env.get(SERVERS_ENV);
            seeds = fromEnv == null || fromEnv.isBlank() ? DEFAULT_SERVERS : fromEnv;
        }
        MessengerClient.Builder builder;
        try {
            builder = MessengerClient.builder().servers(seeds).username(username).room(room).clientId(clientId)
                    .pongTimeout(pongTimeout).maxPendingSends(maxPending).joinTimeout(joinTimeout)
                    .reconnectTimeout(reconnectTimeout.isZero() ? null : reconnectTimeout)
                    .tokenSupplier(tokens()).joinHistory(history);
            String ca = tlsCa != null ? tlsCa : env.get(TLS_CA_ENV);
            if (ca != null && !ca.isBlank()) {
                builder.trustedCa(Path.of(ca));
            }
            builder.config(); // checks every setting now, before any terminal or network work
        } catch (IllegalArgumentException e) {
            err.println(e.getMessage());
            return ExitCode.USAGE;
        }
        Function<MessengerListener, MessengerClient> clients = listener -> builder.listener(listener).build();
        Transcript transcript = new Transcript(username, ZoneId.systemDefault());
        if (terminal && !scripted) {
            return new InteractiveChat(() -> TerminalBuilder.builder().system(true).build(), clients, err, transcript,
                    room, ackTimeout).run();
        }
        return new ScriptedChat(clients, in, out, err, transcript, ackTimeout).run();
    }
}
