package io.messenger.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the results were measured on, including the load average at the time: on a shared machine the
 * figures mean little without it.
 */
final class Machine {

    private Machine() {}

    static Map<String, Object> describe() {
        Map<String, Object> machine = new LinkedHashMap<>();
        machine.put("cores", Runtime.getRuntime().availableProcessors());
        machine.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        machine.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        try {
            machine.put("loadAverage", Files.readString(Path.of("/proc/loadavg")).strip());
        } catch (IOException unavailable) {
            machine.put("loadAverage", "unknown");
        }
        return machine;
    }
}
