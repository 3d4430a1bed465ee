package io.messenger.bench;

import io.messenger.bench.connections.ServerMemory;
import io.messenger.bench.connections.SilentFlood;
import io.messenger.client.MessengerClient;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The hostile-flood step of {@code connections --silent}: many connections that never say Hello, while
 * two real clients chat at 20 messages a second; how long the node keeps the silent ones, the memory
 * they cost at their peak, and the chat's send-to-ack latency during the flood.
 */
final class SilentFloodRun {

    private SilentFloodRun() {
    }

    static Map<String, Object> run(InetSocketAddress server, String servers, long pid, int count, int concurrency,
            List<String> sources, int ioThreads, boolean gc) throws Exception {
        Map<String, Object> f = new LinkedHashMap<>();
        String run = Long.toString(ThreadLocalRandom.current().nextLong(1L << 30), 36);
        MessengerClient alice = MessengerClient.builder().servers(servers).username("probe" + run + "a")
                .room("probe" + run).joinTimeout(Duration.ofSeconds(20)).build();
        AtomicInteger delivered = new AtomicInteger();
        MessengerClient bob = MessengerClient.builder().servers(servers).username("probe" + run + "b")
                .room("probe" + run).joinTimeout(Duration.ofSeconds(20))
                .listener(new io.messenger.client.MessengerListener() {
                    @Override
                    public void onMessage(io.messenger.client.ChatMessage m) {
                        delivered.incrementAndGet();
                    }
                }).build();
        alice.connect().get(30, TimeUnit.SECONDS);
        bob.connect().get(30, TimeUnit.SECONDS);
        ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        AtomicInteger failed = new AtomicInteger();
        AtomicInteger sent = new AtomicInteger();
        ScheduledExecutorService pace = Executors.newSingleThreadScheduledExecutor();
        pace.scheduleAtFixedRate(() -> {
            long t0 = System.nanoTime();
            sent.incrementAndGet();
            CompletableFuture<Long> ack = alice.send("probe " + t0);
            ack.whenComplete((seq, e) -> {
                if (e == null) {
                    latencies.add(System.nanoTime() - t0);
                } else {
                    failed.incrementAndGet();
                }
            });
        }, 0, 50, TimeUnit.MILLISECONDS);
        ServerMemory before = ServerMemory.of(pid, gc);
        try (SilentFlood flood = new SilentFlood(ioThreads)) {
            long start = System.nanoTime();
            int connected = flood.open(server, count, concurrency, sources);
            double openS = (System.nanoTime() - start) / 1e9;
            int openNow = flood.stillOpen();
            ServerMemory peak = ServerMemory.of(pid, gc);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (flood.stillOpen() > 0 && System.nanoTime() < deadline) {
                TimeUnit.MILLISECONDS.sleep(100);
            }
            double allClosedS = (System.nanoTime() - start) / 1e9;
            ServerMemory after = ServerMemory.of(pid, gc);
            f.put("requested", count);
            f.put("connected", connected);
            f.put("secondsToOpenAll", String.format(java.util.Locale.ROOT, "%.1f", openS));
            f.put("openRightAfter", openNow);
            f.put("stillOpenAfter60s", flood.stillOpen());
            f.put("secondsUntilAllClosed", String.format(java.util.Locale.ROOT, "%.1f", allClosedS));
            f.put("keptByServer", flood.lifetimesMs());
            f.put("toldWhyBeforeClose", flood.answered());
            f.put("heapBeforeMiB", before.heapUsedBytes() / 1048576);
            f.put("heapPeakMiB", peak.heapUsedBytes() / 1048576);
            f.put("heapAfterMiB", after.heapUsedBytes() / 1048576);
            f.put("rssBeforeMiB", before.rssBytes() / 1048576);
            f.put("rssPeakMiB", peak.rssBytes() / 1048576);
            f.put("heapBytesPerSilentConnection", openNow == 0 ? -1
                    : (peak.heapUsedBytes() - before.heapUsedBytes()) / openNow);
            f.put("connectFailures", flood.failures());
            f.put("ok", flood.stillOpen() == 0);
        } finally {
            pace.shutdownNow();
        }
        TimeUnit.SECONDS.sleep(1);
        List<Long> l = new ArrayList<>(latencies);
        Collections.sort(l);
        f.put("chatSendsDuringFlood", sent.get());
        f.put("chatSendsFailed", failed.get());
        f.put("chatDelivered", delivered.get());
        if (!l.isEmpty()) {
            f.put("chatAckP50Ms", l.get(l.size() / 2) / 1_000_000.0);
            f.put("chatAckP99Ms", l.get(Math.min(l.size() - 1, (int) (l.size() * 0.99))) / 1_000_000.0);
            f.put("chatAckMaxMs", l.get(l.size() - 1) / 1_000_000.0);
        }
        alice.close();
        bob.close();
        return f;
    }
}
