package io.messenger.bench;

import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/**
 * Which systems a command runs, shared by {@code compare} and {@code failover} so both declare
 * {@code --systems} once, with one default and one description.
 */
final class SystemChoice {

    static final List<String> SYSTEMS = List.of("messenger", "nats");

    @Option(names = "--systems", split = ",", defaultValue = "messenger,nats",
            description = "Systems to run, in order, comma-separated (default: ${DEFAULT-VALUE}).")
    List<String> names;

    /** Rejects the command line when it names an unknown system. */
    void validate(CommandSpec spec) {
        for (String name : names) {
            if (!SYSTEMS.contains(name)) {
                throw new ParameterException(spec.commandLine(), "Unknown system '" + name + "'; choose from " + SYSTEMS);
            }
        }
    }
}
