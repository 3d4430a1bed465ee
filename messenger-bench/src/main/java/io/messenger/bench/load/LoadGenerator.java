package io.messenger.bench.load;

import java.time.Duration;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives one {@link ChatSystem} with a {@link LoadSpec}: connects every client, sends at a fixed rate or
 * as fast as acks allow (never more than the in-flight bound per client), measures in one-second
 * intervals, then drains and verifies.
 *
 * <p>At a fixed rate each message carries the time it was due, not the time it left, so a stalled
 * system is charged for the wait (no coordinated omission).
 */
public final class LoadGenerator {

    private static final Logger log = LoggerFactory.getLogger(LoadGenerator.class);
    private static final long BACKPRESSURE_RETRY_MILLIS = 2;
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(60);
    /** How long measurement may run past its duration while a disturbance has not finished. */
    private static final long MAX_EXTENSION_SECONDS = 120;

    private final ChatSystem system;
    private final LoadSpec spec;
    private final Consumer<String> progress;
    private final String runId = Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
    private final LoadMetrics metrics = new LoadMetrics();
    private final Verifier verifier;
    private final List<Sender> senders = new ArrayList<>();
    private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(1, daemon("bench-timer"));
    private volatile boolean sending;
    private long startNanos;

    public LoadGenerator(ChatSystem system, LoadSpec spec, Consumer<String> progress) {
        this.system = system;
        this.spec = spec;
        this.progress = progress;
        int[] roomOf = new int[spec.clients()];
        for (int i = 0; i < roomOf.length; i++) {
            roomOf[i] = spec.roomOf(i);
        }
        this.verifier = new Verifier(roomOf);
    }

    public Verifier verifier() {
        return verifier;
    }

    public LoadMetrics metrics() {
        return metrics;
    }

    /** Next counter of every sender: a cut between messages sent before and after this moment. */
    public long[] nextCounters() {
        long[] next = new long[senders.size()];
        for (int i = 0; i < next.length; i++) {
            synchronized (senders.get(i)) {
                next[i] = senders.get(i).nextCounter;
            }
        }
        return next;
    }

    /**
     * Runs the whole load: connect, warm up, measure, drain, verify, disconnect.
     *
     * @param duringMeasurement started on its own thread when measurement begins (e.g. killing leaders);
     *     measurement lasts at least the spec's duration and until it returns (at most two minutes more);
     *     may be null
     */
    public RunResult run(Runnable duringMeasurement) throws Exception {
        List<String> rooms = new ArrayList<>();
        for (int r = 0; r < spec.rooms(); r++) {
            rooms.add("b" + runId + "-r" + r);
        }
        system.prepareRooms(rooms);
        try {
            connectAll(rooms);
            return measure(duringMeasurement);
        } finally {
            sending = false;
            timer.shutdownNow();
            for (Sender sender : senders) {
                if (sender.client == null) {
                    continue; // never connected; the system's close() releases anything half-opened
                }
                try {
                    sender.client.close();
                } catch (RuntimeException e) {
                    log.warn("Closing client {} failed: {}", sender.index, e.toString());
                }
            }
        }
    }

    private void connectAll(List<String> rooms) throws Exception {
        long begin = System.nanoTime();
        for (int i = 0; i < spec.clients(); i++) {
            senders.add(new Sender(i));
        }
        // Connect a few at a time: joins go through the log, and a thundering herd measures nothing useful.
        ExecutorService pool = Executors.newFixedThreadPool(8, daemon("bench-connect"));
        try {
            List<Future<BenchClient>> pending = new ArrayList<>();
            for (Sender sender : senders) {
                int receiver = sender.index;
                String room = rooms.get(spec.roomOf(receiver));
                String username = "b" + runId + "u" + receiver;
                pending.add(pool.submit(() -> system.connect(username, room, (roomSeq, text) -> onDeliver(receiver, roomSeq, text))));
            }
            for (int i = 0; i < pending.size(); i++) {
                try {
                    senders.get(i).client = pending.get(i).get(CONNECT_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    throw new IllegalStateException("Client " + i + " could not connect to " + system.name() + ": "
                            + e.getCause().getMessage(), e.getCause());
                }
            }
        } finally {
            pool.shutdownNow();
        }
        progress.accept(String.format("%s: %d clients joined %d rooms in %.1f s", system.name(), spec.clients(),
                spec.rooms(), (System.nanoTime() - begin) / 1e9));
    }

    private RunResult measure(Runnable duringMeasurement) throws Exception {
        long warmupSeconds = spec.warmup().toSeconds();
        long measureSeconds = spec.duration().toSeconds();
        startNanos = System.nanoTime();
        metrics.sample(0, false); // discard anything recorded while connecting
        sending = true;
        Thread pacer = null;
        if (spec.fullSpeed()) {
            senders.forEach(Sender::pump);
        } else {
            pacer = new Thread(this::paceFixedRate, "bench-pacer");
            pacer.setDaemon(true);
            pacer.start();
        }
        Measurement window = warmupSeconds == 0 ? new Measurement(duringMeasurement) : null;
        long last = warmupSeconds + measureSeconds;
        for (long second = 1; second <= last; second++) {
            sleepUntil(startNanos + TimeUnit.SECONDS.toNanos(second));
            boolean measuring = second > warmupSeconds;
            LoadMetrics.TimelinePoint point = metrics.sample(second, measuring);
            if (second == warmupSeconds) {
                window = new Measurement(duringMeasurement);
            }
            if (second == last && window != null && window.disturbance != null && window.disturbance.isAlive()
                    && last < warmupSeconds + measureSeconds + MAX_EXTENSION_SECONDS) {
                last++; // the disturbance is still at work (a node coming back): keep measuring
            }
            progress.accept(String.format("%s %3ds %s %8.0f acks/s %8.0f deliveries/s  p99 ack %7.1f ms, delivery %7.1f ms",
                    system.name(), second, measuring ? "measure" : "warm-up", point.acksPerSecond(),
                    point.deliveriesPerSecond(), point.ackP99Millis(), point.deliveryP99Millis()));
        }
        long measureEnd = System.nanoTime();
        long cpuEnd = ProcessCpu.selfNanos();
        // The same processes as at the start: a node restarted meanwhile makes the figure unknown, not wrong.
        long serverCpuEnd = ProcessCpu.nanosOf(window.serverPids);
        sending = false;
        if (pacer != null) {
            pacer.interrupt();
            pacer.join();
        }
        if (window.disturbance != null) {
            window.disturbance.join(TimeUnit.SECONDS.toMillis(30));
            window.disturbance.interrupt();
        }
        drain();
        Verifier.Verdict verdict = verifier.verify();
        double seconds = (measureEnd - window.startNanos) / 1e9;
        long acks = metrics.measuredAcks();
        long clientCpu = cpuEnd - window.cpuStart;
        double serverCores = window.serverCpuStart >= 0 && serverCpuEnd >= 0
                ? (serverCpuEnd - window.serverCpuStart) / 1e9 / seconds : -1;
        return new RunResult(system.name(), spec, seconds, acks, metrics.measuredDeliveries(),
                metrics.ackLatency(), metrics.deliveryLatency(), clientCpu / 1e9 / seconds,
                acks == 0 ? 0 : clientCpu / 1e3 / acks, serverCores, metrics.sendErrors(), notSent(),
                verdict, metrics.timeline(), startNanos);
    }

    /** Waits for in-flight sends to be acked and acked messages to be delivered, up to the drain time. */
    private void drain() {
        long deadline = System.nanoTime() + spec.drain().toNanos();
        while (System.nanoTime() < deadline && (inFlight() > 0 || verifier.outstanding() > 0)) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
        if (inFlight() > 0) {
            progress.accept(system.name() + ": " + inFlight() + " send(s) still unacknowledged after the "
                    + spec.drain().toSeconds() + " s drain; they are not counted");
        }
    }

    private long inFlight() {
        long total = 0;
        for (Sender sender : senders) {
            synchronized (sender) {
                total += sender.inFlight;
            }
        }
        return total;
    }

    private long notSent() {
        long total = 0;
        for (Sender sender : senders) {
            synchronized (sender) {
                total += sender.due.size();
            }
        }
        return total;
    }

    /** Hands each due message to its client, round-robin, every millisecond. */
    private void paceFixedRate() {
        double nanosPerMessage = 1e9 / spec.rate();
        long issued = 0;
        while (sending) {
            long due = (long) ((System.nanoTime() - startNanos) / nanosPerMessage);
            int first = (int) (issued % senders.size());
            int touched = (int) Math.min(due - issued, senders.size());
            for (; issued < due; issued++) {
                Sender sender = senders.get((int) (issued % senders.size()));
                synchronized (sender) {
                    sender.due.add(startNanos + (long) (issued * nanosPerMessage));
                }
            }
            for (int k = 0; k < touched; k++) {
                senders.get((first + k) % senders.size()).pump();
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
    }

    private void onDeliver(int receiver, long roomSeq, String text) {
        long now = System.nanoTime();
        Payload payload = Payload.parse(text);
        if (payload == null || !payload.runId().equals(runId)) {
            return; // history of an older run, or a person typing in the room
        }
        metrics.recordDelivery(payload.sentNanos(), now);
        verifier.delivered(receiver, payload.sender(), payload.counter(), roomSeq);
    }

    private static void sleepUntil(long deadlineNanos) throws InterruptedException {
        long left;
        while ((left = deadlineNanos - System.nanoTime()) > 0) {
            TimeUnit.NANOSECONDS.sleep(left);
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return runnable -> {
            Thread thread = new Thread(runnable, name);
            thread.setDaemon(true);
            return thread;
        };
    }

    /** Baselines taken when measurement begins, and the disturbance started then. */
    private final class Measurement {
        final long startNanos = System.nanoTime();
        final long cpuStart = ProcessCpu.selfNanos();
        final List<Long> serverPids = system.serverPids();
        final long serverCpuStart = ProcessCpu.nanosOf(serverPids);
        final Thread disturbance;

        Measurement(Runnable duringMeasurement) {
            if (duringMeasurement == null) {
                disturbance = null;
            } else {
                disturbance = new Thread(duringMeasurement, "bench-disturbance");
                disturbance.setDaemon(true);
                disturbance.start();
            }
        }
    }

    /**
     * One client's sending side: its queue of due messages and its in-flight count, guarded by itself.
     * Only one thread at a time sends for a client (whoever finds it idle in {@link #pump}), so messages
     * leave in counter order even though acks complete on many threads.
     */
    private final class Sender {
        final int index;
        final ArrayDeque<Long> due = new ArrayDeque<>();
        BenchClient client;
        long nextCounter = 1;
        int inFlight;
        /** A message the client refused for a full buffer: it goes out before any later one. */
        Payload refused;
        boolean pumping;
        boolean pumpAgain;

        Sender(int index) {
            this.index = index;
        }

        /** Sends while the bound allows and there is something due; callable from any thread. */
        void pump() {
            synchronized (this) {
                if (pumping) {
                    pumpAgain = true;
                    return;
                }
                pumping = true;
            }
            while (true) {
                Payload next;
                synchronized (this) {
                    next = next();
                    if (next == null) {
                        if (pumpAgain) {
                            pumpAgain = false;
                            continue;
                        }
                        pumping = false;
                        return;
                    }
                }
                CompletableFuture<?> acked = submit(next);
                if (acked.isCompletedExceptionally() && causeOf(acked) instanceof BenchClient.Backpressure) {
                    synchronized (this) {
                        refused = next;
                        inFlight--;
                        pumping = false;
                    }
                    timer.schedule(this::pump, BACKPRESSURE_RETRY_MILLIS, TimeUnit.MILLISECONDS);
                    return;
                }
                acked.whenComplete((ignored, error) -> onOutcome(next, error));
            }
        }

        /** The next message to send, counted as in flight; null when none is due or the bound is reached. */
        private Payload next() {
            if (inFlight >= spec.maxInFlight()) {
                return null;
            }
            Payload next;
            if (refused != null) {
                next = refused;
                refused = null;
            } else if (!sending) {
                return null;
            } else if (spec.fullSpeed()) {
                next = new Payload(runId, index, nextCounter++, System.nanoTime());
            } else if (due.isEmpty()) {
                return null;
            } else {
                next = new Payload(runId, index, nextCounter++, due.poll());
            }
            inFlight++;
            return next;
        }

        private CompletableFuture<?> submit(Payload payload) {
            try {
                return client.send(payload.encode(spec.messageBytes()));
            } catch (RuntimeException e) {
                return CompletableFuture.failedFuture(e);
            }
        }

        private void onOutcome(Payload payload, Throwable error) {
            long now = System.nanoTime();
            Throwable cause = error instanceof CompletionException && error.getCause() != null
                    ? error.getCause() : error;
            if (cause == null) {
                metrics.recordAck(payload.sentNanos(), now);
                verifier.acked(index, payload.counter());
            } else {
                // Backpressure reported after the fact would let later messages overtake this one, so it
                // counts as a failed send like any other error.
                metrics.recordSendError();
                log.warn("Send {} of client {} failed: {}", payload.counter(), index, cause.toString());
            }
            synchronized (this) {
                inFlight--;
            }
            pump();
        }
    }

    private static Throwable causeOf(CompletableFuture<?> failed) {
        try {
            failed.join();
            return null;
        } catch (CompletionException | java.util.concurrent.CancellationException e) {
            return e.getCause() != null ? e.getCause() : e;
        }
    }
}
