package io.messenger.bench.nats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The resend logic against a fake stream that de-duplicates by message id, as JetStream does. */
class ResendingPublisherTest {

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final LongAdder resends = new LongAdder();
    private final LongAdder duplicateAcks = new LongAdder();

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    /** A stream that stores each id once, in arrival order, and records every attempt. */
    private static final class FakeStream {
        final Set<String> stored = new LinkedHashSet<>();
        final List<String> storedBodies = new ArrayList<>();
        final List<Attempt> attempts = new CopyOnWriteArrayList<>();

        synchronized boolean store(String id, byte[] body) {
            boolean fresh = stored.add(id);
            if (fresh) {
                storedBodies.add(new String(body, StandardCharsets.UTF_8));
            }
            return !fresh;
        }
    }

    private record Attempt(String id, byte[] body, CompletableFuture<Boolean> result) {}

    private ResendingPublisher publisher(ResendingPublisher.Attempt attempt) {
        return new ResendingPublisher("p", attempt, scheduler, Duration.ofMillis(1), Duration.ofMillis(4), resends,
                duplicateAcks);
    }

    private static byte[] body(int i) {
        return ("m" + i).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void failedAttemptsAreResentWithTheSameIdAndEachMessageIsStoredOnceInOrder() {
        FakeStream stream = new FakeStream();
        int[] failuresLeft = {3};
        ResendingPublisher publisher = publisher((id, body) -> {
            stream.attempts.add(new Attempt(id, body, null));
            if (failuresLeft[0]-- > 0) {
                return CompletableFuture.failedFuture(new IllegalStateException("503 No Responders"));
            }
            return CompletableFuture.completedFuture(stream.store(id, body));
        });
        List<CompletableFuture<Void>> acks = new ArrayList<>();
        for (int i = 1; i <= 10; i++) {
            acks.add(publisher.send(body(i)));
        }

        await().atMost(Duration.ofSeconds(30)).until(() -> acks.stream().allMatch(CompletableFuture::isDone));

        assertThat(acks).allMatch(a -> !a.isCompletedExceptionally());
        assertThat(stream.stored).containsExactly("p-1", "p-2", "p-3", "p-4", "p-5", "p-6", "p-7", "p-8", "p-9", "p-10");
        assertThat(stream.storedBodies).containsExactly("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10");
        assertThat(stream.attempts).hasSize(13);
        assertThat(stream.attempts.subList(0, 4)).extracting(Attempt::id).containsOnly("p-1");
        assertThat(resends.sum()).isEqualTo(3);
        assertThat(duplicateAcks.sum()).isZero();
        assertThat(publisher.unacknowledged()).isZero();
    }

    @Test
    void aResendOfAStoredMessageWhoseAckWasLostIsDroppedByItsId() {
        FakeStream stream = new FakeStream();
        boolean[] loseNextAck = {true};
        ResendingPublisher publisher = publisher((id, body) -> {
            boolean duplicate = stream.store(id, body);
            if (loseNextAck[0]) {
                loseNextAck[0] = false;
                return CompletableFuture.failedFuture(new TimeoutException("no PubAck"));
            }
            return CompletableFuture.completedFuture(duplicate);
        });

        CompletableFuture<Void> first = publisher.send(body(1));
        CompletableFuture<Void> second = publisher.send(body(2));
        await().atMost(Duration.ofSeconds(30)).until(() -> first.isDone() && second.isDone());

        assertThat(first).isCompleted();
        assertThat(second).isCompleted();
        assertThat(stream.storedBodies).containsExactly("m1", "m2");
        assertThat(resends.sum()).isEqualTo(1);
        assertThat(duplicateAcks.sum()).isEqualTo(1);
    }

    @Test
    void nothingIsResentWhileAnEarlierAttemptIsStillInFlight() {
        FakeStream stream = new FakeStream();
        ResendingPublisher publisher = publisher((id, body) -> {
            CompletableFuture<Boolean> result = new CompletableFuture<>();
            stream.attempts.add(new Attempt(id, body, result));
            return result;
        });
        List<CompletableFuture<Void>> acks = List.of(publisher.send(body(1)), publisher.send(body(2)),
                publisher.send(body(3)));
        assertThat(stream.attempts).extracting(Attempt::id).containsExactly("p-1", "p-2", "p-3");

        stream.attempts.get(0).result().completeExceptionally(new CancellationException("timed out"));
        stream.attempts.get(1).result().completeExceptionally(new CancellationException("timed out"));
        // A new send during recovery waits behind the unacknowledged ones instead of overtaking them.
        CompletableFuture<Void> fourth = publisher.send(body(4));
        assertThat(stream.attempts).hasSize(3);

        // The last attempt in flight settles: only now is the oldest message resent, alone.
        stream.attempts.get(2).result().completeExceptionally(new CancellationException("timed out"));
        await().atMost(Duration.ofSeconds(30)).until(() -> stream.attempts.size() == 4);
        assertThat(stream.attempts.get(3).id()).isEqualTo("p-1");
        assertThat(stream.attempts).hasSize(4);

        stream.attempts.get(3).result().complete(stream.store("p-1", body(1)));
        // Acknowledged: the rest follow in order, pipelined, with their original ids.
        assertThat(stream.attempts).extracting(Attempt::id).containsExactly("p-1", "p-2", "p-3", "p-1", "p-2", "p-3",
                "p-4");
        for (int i = 4; i < 7; i++) {
            Attempt a = stream.attempts.get(i);
            a.result().complete(stream.store(a.id(), a.body()));
        }

        assertThat(acks).allMatch(a -> a.isDone() && !a.isCompletedExceptionally());
        assertThat(fourth).isCompleted();
        assertThat(stream.storedBodies).containsExactly("m1", "m2", "m3", "m4");
        assertThat(resends.sum()).isEqualTo(3);
    }

    @Test
    void closingFailsWhatWasNeverAcknowledged() {
        ResendingPublisher publisher = publisher((id, body) -> new CompletableFuture<>());
        CompletableFuture<Void> pending = publisher.send(body(1));

        publisher.close();

        assertThat(pending).isCompletedExceptionally();
        assertThat(publisher.send(body(2))).isCompletedExceptionally();
    }
}
