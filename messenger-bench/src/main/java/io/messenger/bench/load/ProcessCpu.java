package io.messenger.bench.load;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * CPU time used so far by this JVM (the clients) and by server processes on this machine, read from the
 * JVM's OperatingSystemMXBean and from /proc.
 */
public final class ProcessCpu {

    /** Linux reports utime and stime in clock ticks; 100 per second on every mainstream kernel config. */
    private static final long NANOS_PER_TICK = 10_000_000L;

    private ProcessCpu() {}

    /** CPU time of this process in nanoseconds, or -1 when the JVM cannot tell. */
    public static long selfNanos() {
        if (ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    /** Summed CPU time of {@code pids} in nanoseconds, or -1 when any cannot be read (gone, no /proc). */
    public static long nanosOf(List<Long> pids) {
        if (pids.isEmpty()) {
            return -1;
        }
        long total = 0;
        for (long pid : pids) {
            try {
                String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
                // The command name in parentheses may contain spaces; fields are counted after it.
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                total += (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * NANOS_PER_TICK;
            } catch (IOException | RuntimeException unreadable) {
                return -1;
            }
        }
        return total;
    }

    /** Resident set size of a process in bytes from /proc/PID/status, or -1 when unreadable. */
    public static long rssBytes(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException unreadable) {
            return -1;
        }
        return -1;
    }
}
