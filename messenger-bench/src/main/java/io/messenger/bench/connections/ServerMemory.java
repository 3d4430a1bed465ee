package io.messenger.bench.connections;

import io.messenger.bench.load.ProcessCpu;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Memory of a server process: resident set from /proc, and live heap from {@code jcmd} (after a full GC
 * when asked, so garbage does not count as cost per connection).
 *
 * @param heapUsedBytes -1 when jcmd could not tell
 * @param rssBytes -1 when /proc could not tell
 */
public record ServerMemory(long heapUsedBytes, long rssBytes) {

    private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");

    public static ServerMemory of(long pid, boolean collectFirst) throws InterruptedException {
        if (collectFirst) {
            jcmd(pid, "GC.run");
        }
        String heapInfo = jcmd(pid, "GC.heap_info");
        Matcher used = HEAP_USED.matcher(heapInfo);
        return new ServerMemory(used.find() ? Long.parseLong(used.group(1)) * 1024 : -1, ProcessCpu.rssBytes(pid));
    }

    /** Soft limit on open files of a process, from /proc/PID/limits; -1 when unknown. */
    public static long openFileLimit(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "limits"))) {
                if (line.startsWith("Max open files")) {
                    String[] columns = line.substring("Max open files".length()).trim().split("\\s+");
                    return columns[0].equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(columns[0]);
                }
            }
        } catch (IOException | RuntimeException unreadable) {
            return -1;
        }
        return -1;
    }

    private static String jcmd(long pid, String command) throws InterruptedException {
        try {
            Process process = new ProcessBuilder("jcmd", Long.toString(pid), command).redirectErrorStream(true).start();
            byte[] output = process.getInputStream().readAllBytes();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return "";
            }
            return new String(output, StandardCharsets.UTF_8);
        } catch (IOException noJcmd) {
            return "";
        }
    }

    /** Difference, for the cost of what happened in between. */
    public ServerMemory minus(ServerMemory before) {
        return new ServerMemory(heapUsedBytes < 0 || before.heapUsedBytes < 0 ? -1 : heapUsedBytes - before.heapUsedBytes,
                rssBytes < 0 || before.rssBytes < 0 ? -1 : rssBytes - before.rssBytes);
    }
}
