package io.messenger.bench;

import io.messenger.bench.load.ChatSystem;
import io.messenger.bench.load.LoadGenerator;
import io.messenger.bench.load.RunResult;
import io.messenger.bench.nats.NatsCluster;
import io.messenger.bench.nats.NatsSystem;
import io.messenger.bench.report.ComparisonTable;
import io.messenger.bench.report.Scenario;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The same load against each system in turn, alternating them per rate, with a table per rate, a JSON
 * file and a chart. Exits non-zero when any run lost, duplicated or reordered a message.
 */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = "Run the same load against the messenger and NATS JetStream, alternating, and compare.")
final class CompareCommand implements Callable<Integer> {

    /** The two acks do not promise the same thing; a reader of the ratio must know. */
    static final String NATS_NOTE = "a JetStream publish ack means stored on a majority of replicas, but not fsync'd "
            + "(nats-server syncs to disk on a timer; 2.9 has no per-write sync option), while a messenger ack "
            + "means fsync'd on a majority";

    @Spec
    picocli.CommandLine.Model.CommandSpec commandSpec;

    @Mixin
    LoadOptions load;

    @Mixin
    Output output;

    @Mixin
    SystemOptions messenger;

    @Mixin
    NatsOptions natsOptions;

    @Mixin
    SystemChoice systemChoice;

    @Option(names = "--rates", split = ",", defaultValue = "full,5000",
            description = "Offered rates in messages/s for all clients together; 'full' = as fast as acks allow "
                    + "(default: ${DEFAULT-VALUE}).")
    List<String> rates;

    @Override
    public Integer call() throws Exception {
        List<Double> offered = new ArrayList<>();
        for (String rate : rates) {
            offered.add(parseRate(rate));
        }
        systemChoice.validate(commandSpec);
        if (systemChoice.names.contains("nats") && natsOptions.binary() == null) {
            throw new ParameterException(commandSpec.commandLine(),
                    "nats-server is not installed: run 'make bench-deps' or pass --nats-server PATH");
        }
        Map<String, Object> machineAtStart = Machine.describe();
        System.out.println("machine: " + machineAtStart.get("cores") + " cores, load average "
                + machineAtStart.get("loadAverage") + " (shared machines inflate every figure)");
        List<Scenario> scenarios = new ArrayList<>();
        boolean allOk = true;
        NatsCluster nats = systemChoice.names.contains("nats") ? natsOptions.start() : null;
        try {
            for (int r = 0; r < offered.size(); r++) {
                double rate = offered.get(r);
                // Alternate which system goes first, so neither always runs on a warmer (or more tired) machine.
                List<String> order = new ArrayList<>(systemChoice.names);
                if (r % 2 == 1) {
                    java.util.Collections.reverse(order);
                }
                Map<String, RunResult> byName = new LinkedHashMap<>();
                for (String name : order) {
                    try (ChatSystem system = name.equals("nats") ? new NatsSystem(nats, natsOptions.nodes)
                            : messenger.messenger()) {
                        System.out.println("== " + name + ": " + load.describe(rate));
                        RunResult result = new LoadGenerator(system, load.spec(rate), System.out::println).run(null);
                        byName.put(name, result);
                        allOk &= result.ok();
                    }
                }
                List<RunResult> runs = systemChoice.names.stream().map(byName::get).toList();
                Scenario scenario = new Scenario(load.describe(rate), runs, List.of());
                scenarios.add(scenario);
                System.out.println();
                System.out.println(ComparisonTable.render(scenario));
            }
        } finally {
            if (nats != null) {
                nats.close();
            }
        }
        if (scenarios.size() > 1) {
            // Each table was printed after its rate; together again here so they can be read side by side.
            for (Scenario scenario : scenarios) {
                System.out.println(ComparisonTable.render(scenario));
            }
        }
        Map<String, Object> json = new LinkedHashMap<>();
        if (nats != null) {
            json.put("nats", Map.of("version", NatsCluster.version(natsOptions.binary()), "note", NATS_NOTE));
            System.out.println("note: " + NATS_NOTE);
        }
        json.put("scenarios", scenarios);
        output.write("compare", machineAtStart, "Messenger vs NATS JetStream", json, scenarios);
        if (!allOk) {
            System.out.println("FAILURE: at least one run lost, duplicated or reordered messages (see above)");
        }
        return allOk ? 0 : 3;
    }

    private double parseRate(String rate) {
        if (rate.equalsIgnoreCase("full")) {
            return 0;
        }
        try {
            double value = Double.parseDouble(rate.replace("/s", ""));
            if (value > 0) {
                return value;
            }
        } catch (NumberFormatException e) {
            // falls through to the sentence below
        }
        throw new ParameterException(commandSpec.commandLine(),
                "--rates takes 'full' or positive numbers of messages per second, not '" + rate + "'");
    }
}
