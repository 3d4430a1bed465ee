package io.messenger.server.auth;

import io.messenger.proto.NameRules;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code server.app token}: mints a user token from the node's key for development, or creates a key. The token
 * alone goes to stdout, so {@code TOKEN=$(server.app token ...)} works; everything else goes to stderr.
 */
@Command(name = "token", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Mint a user token (JWT) from the cluster's token key, for development, or create a key.",
            "  server.app token --generate-hmac-key run/token-key",
            "  server.app token --auth-hmac-key-file run/token-key --user alice [--rooms lobby,dev] [--ttl 1h]",
            "  server.app token --generate-ec-key es256-private.pem --public-key-out es256-public.pem",
            "  server.app token --auth-private-key-file es256-private.pem --user alice",
            "Nodes verify with --auth-hmac-key-file (the same file) or --auth-public-key-file (the public half)."},
        footer = {"", "Exit codes: 0 ok, 2 bad usage or unusable key file."})
public final class TokenCommand implements java.util.concurrent.Callable<Integer> {

    static final int USAGE = 2;

    @ArgGroup(exclusive = true, multiplicity = "1")
    private Action action;

    static final class Action {
        @Option(names = "--auth-hmac-key-file", paramLabel = "FILE", description = "HS256: sign with this shared key.")
        Path hmacKeyFile;

        @Option(names = "--auth-private-key-file", paramLabel = "FILE",
                description = "ES256 or RS256: sign with this PEM private key (PKCS#8), by its type.")
        Path privateKeyFile;

        @Option(names = "--generate-hmac-key", paramLabel = "FILE",
                description = "Create a random 32-byte HS256 key (owner-only, never overwritten) and exit.")
        Path generateHmacKey;

        @Option(names = "--generate-ec-key", paramLabel = "FILE",
                description = "Create a P-256 private key for ES256 (owner-only) and exit; needs --public-key-out.")
        Path generateEcKey;
    }

    @Option(names = "--public-key-out", paramLabel = "FILE",
            description = "With --generate-ec-key: where the public key for --auth-public-key-file goes.")
    private Path publicKeyOut;

    @Option(names = "--user", paramLabel = "NAME", description = "The username the token is for (its sub).")
    private String user;

    @Option(names = "--rooms", paramLabel = "ROOM,...", split = ",",
            description = "Only these rooms may be joined with the token (default: any room).")
    private List<String> rooms;

    @Option(names = "--ttl", paramLabel = "DURATION", defaultValue = "1h",
            description = "How long the token is valid, like 30m, 1h, 7d (default ${DEFAULT-VALUE}).")
    private String ttl;

    private final PrintWriter out;
    private final PrintWriter err;
    private final Clock clock;
    private final Function<String, Duration> durations;

    private TokenCommand(PrintWriter out, PrintWriter err, Clock clock, Function<String, Duration> durations) {
        this.out = out;
        this.err = err;
        this.clock = clock;
        this.durations = durations;
    }

    /**
     * Runs {@code token <args>} and returns its exit code.
     *
     * @param durations parses a duration such as {@code 1h}, throwing IllegalArgumentException with a sentence
     */
    public static int run(String[] args, PrintWriter out, PrintWriter err, Clock clock,
                          Function<String, Duration> durations) {
        CommandLine cmd = new CommandLine(new TokenCommand(out, err, clock, durations));
        cmd.setOut(out);
        cmd.setErr(err);
        cmd.setParameterExceptionHandler((e, a) -> {
            err.println("error: " + e.getMessage().replaceFirst("^Error: ", ""));
            err.println("Usage: server.app token --auth-hmac-key-file FILE --user NAME [--rooms R,...] [--ttl 1h]"
                    + "  (--help for more)");
            err.flush();
            return USAGE;
        });
        cmd.setExecutionExceptionHandler((e, c, p) -> {
            err.println("error: " + e.getMessage());
            err.flush();
            return USAGE;
        });
        int code = cmd.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    @Override
    public Integer call() {
        if (action.generateHmacKey != null) {
            TokenKeys.generateHmacKey(action.generateHmacKey);
            err.println("Created the HS256 key " + action.generateHmacKey + "; start nodes with --auth-hmac-key-file "
                    + action.generateHmacKey + ".");
            return 0;
        }
        if (action.generateEcKey != null) {
            if (publicKeyOut == null) {
                throw new IllegalArgumentException("--generate-ec-key needs --public-key-out FILE for the public key.");
            }
            TokenKeys.generateEcKeyPair(action.generateEcKey, publicKeyOut);
            err.println("Created the ES256 key pair " + action.generateEcKey + " (private, signs tokens) and "
                    + publicKeyOut + " (public: start nodes with --auth-public-key-file " + publicKeyOut + ").");
            return 0;
        }
        if (user == null) {
            throw new IllegalArgumentException("Give --user NAME, the username the token is for.");
        }
        Optional<String> badUser = NameRules.checkUsername(user);
        if (badUser.isPresent()) {
            throw new IllegalArgumentException("--user: " + badUser.get());
        }
        List<String> allowed = null;
        if (rooms != null) {
            allowed = new ArrayList<>();
            for (String room : rooms) {
                String r = room.trim();
                Optional<String> bad = NameRules.checkRoom(r);
                if (bad.isPresent()) {
                    throw new IllegalArgumentException("--rooms: " + bad.get());
                }
                allowed.add(r);
            }
        }
        Duration lifetime;
        try {
            lifetime = durations.apply(ttl);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--ttl " + e.getMessage() + ".", e);
        }
        if (lifetime.isNegative() || lifetime.isZero()) {
            throw new IllegalArgumentException("--ttl must be positive, got " + ttl + ".");
        }
        TokenMinter minter = action.hmacKeyFile != null
                ? TokenMinter.hmac(TokenKeys.readHmacKey(action.hmacKeyFile))
                : TokenMinter.privateKey(TokenKeys.readPrivateKey(action.privateKeyFile));
        out.println(minter.mint(user, allowed, lifetime, clock.instant()));
        return 0;
    }
}
