package io.messenger.server;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

/**
 * The server's command line, built from the {@link Setting} table so flags, environment
 * variables, config-file keys and usage text never drift apart.
 */
public final class ServerCommandLine {

    /** Exit code for a bad flag, value or config file. */
    public static final int USAGE_ERROR = 2;

    private final CommandLine commandLine;

    public ServerCommandLine() {
        CommandSpec spec = CommandSpec.create();
        spec.name("messenger-server");
        spec.mixinStandardHelpOptions(true);
        spec.version("messenger-server " + version());
        spec.usageMessage().description(
                "A node of the fault-tolerant chat messenger cluster.",
                "Each setting is taken from its flag, else from the environment variable MESSENGER_<FLAG>"
                        + " (e.g. MESSENGER_NODE_ID), else from the --config file (key = flag name without"
                        + " dashes, e.g. node-id=2), else from its default.",
                "'server.app token --help' tells how to create a token key and mint user tokens.");
        spec.addOption(OptionSpec.builder("--config").paramLabel("FILE").type(String.class)
                .description("properties file with settings (keys like node-id, client-port)").build());
        for (Setting s : Setting.values()) {
            String dflt = s.defaultValue() == null ? "" : " (default: " + s.defaultValue() + ")";
            OptionSpec.Builder option = OptionSpec.builder(s.flag()).type(String.class)
                    .description(s.description() + dflt + "; env " + s.environmentVariable());
            if (s.isSwitch()) {
                option.arity("0..1").paramLabel("true|false").fallbackValue("true");
            } else {
                option.paramLabel(s.label());
            }
            spec.addOption(option.build());
        }
        commandLine = new CommandLine(spec);
    }

    /** What the command line asked for: a configuration to run, or an exit with a code. */
    public sealed interface Outcome {
        record Run(ServerConfig config) implements Outcome {}

        record Exit(int code) implements Outcome {}
    }

    /**
     * Parses the flags and resolves the configuration. Help and version are printed to
     * {@code out}; a mistake is told in one sentence plus the usage on {@code err}.
     */
    public Outcome parse(String[] args, Map<String, String> environment, PrintWriter out, PrintWriter err) {
        try {
            ParseResult parsed = commandLine.parseArgs(args);
            if (parsed.isUsageHelpRequested()) {
                commandLine.usage(out);
                out.flush();
                return new Outcome.Exit(0);
            }
            if (parsed.isVersionHelpRequested()) {
                commandLine.printVersionHelp(out);
                out.flush();
                return new Outcome.Exit(0);
            }
            Map<String, ServerConfig.Source> sources = new LinkedHashMap<>();
            sources.put("flag", s -> parsed.matchedOptionValue(s.flag(), (String) null));
            sources.put("environment", ServerConfig.environment(environment));
            String configFile = parsed.matchedOptionValue("--config", environment.get("MESSENGER_CONFIG"));
            if (configFile != null) {
                sources.put("file " + configFile, ServerConfig.file(load(Path.of(configFile))));
            }
            return new Outcome.Run(ServerConfig.resolve(sources));
        } catch (CommandLine.ParameterException | IllegalArgumentException e) {
            err.println("error: " + e.getMessage());
            commandLine.usage(err);
            err.flush();
            return new Outcome.Exit(USAGE_ERROR);
        }
    }

    private static Properties load(Path file) {
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file)) {
            p.load(in);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("--config: the file " + file + " does not exist.", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("--config: cannot read " + file + " (" + e.getMessage() + ").", e);
        }
        for (String key : p.stringPropertyNames()) {
            boolean known = false;
            for (Setting s : Setting.values()) {
                known |= s.key().equals(key);
            }
            if (!known) {
                throw new IllegalArgumentException("--config: " + file + " sets '" + key
                        + "', which is not a setting (keys are flag names without dashes, like node-id).");
            }
        }
        return p;
    }

    private static String version() {
        String v = ServerCommandLine.class.getPackage().getImplementationVersion();
        return v == null ? "(development build)" : v;
    }
}
