package io.messenger.e2e;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Kills, at JVM exit, every child process a test started and has not stopped, so no server outlives a
 * test run even when the test fails or the JVM is interrupted. Tests still stop their own processes in
 * {@code finally}/{@code @AfterEach}; this is the last line of defence.
 */
public final class ProcessReaper {

    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ProcessReaper::killAll, "e2e-process-reaper"));
    }

    private ProcessReaper() {
    }

    /** Starts watching a process; it is killed at JVM exit unless {@link #release} was called. */
    public static Process watch(Process process) {
        LIVE.add(process);
        return process;
    }

    /** Stops watching a process the caller has ended. */
    public static void release(Process process) {
        LIVE.remove(process);
    }

    private static void killAll() {
        for (Process process : LIVE) {
            // SIGKILL by PID; descendants first in case a launcher forked.
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }
}
