package io.messenger.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.messenger.cluster.testing.RecordingStateMachine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ApplierTest {

    private static Applier.Committed entry(long index, String command, CompletableFuture<Object> future) {
        return new Applier.Committed(index, ByteString.copyFromUtf8(command), future, System.nanoTime(), null);
    }

    @Test
    void appliesInOrderAndPublishesTheAppliedIndexBeforeAnyFutureCompletes() throws Exception {
        RecordingStateMachine machine = new RecordingStateMachine();
        AtomicLong published = new AtomicLong();
        try (Applier applier = new Applier(1, machine, published::set).start()) {
            List<CompletableFuture<long[]>> seen = new ArrayList<>();
            for (int batch = 0; batch < 20; batch++) {
                List<Applier.Committed> entries = new ArrayList<>();
                for (int i = 1; i <= 50; i++) {
                    long index = batch * 50L + i;
                    CompletableFuture<Object> future = new CompletableFuture<>();
                    seen.add(future.thenApply(result -> new long[] {(Long) result, published.get()}));
                    entries.add(entry(index, "c" + index, future));
                }
                applier.submit(entries);
            }
            for (CompletableFuture<long[]> f : seen) {
                long[] resultAndPublished = f.get(30, TimeUnit.SECONDS);
                assertThat(resultAndPublished[1]).isGreaterThanOrEqualTo(resultAndPublished[0]);
            }
            assertThat(machine.applied()).hasSize(1000).startsWith("c1", "c2").endsWith("c1000");
            assertThat(applier.appliedIndex()).isEqualTo(1000);
            assertThat(applier.backlog()).isZero();
            assertThat(applier.commits()).isEqualTo(1000);
        }
    }

    @Test
    void aBatchTheStateMachineCannotFinishIsReported() throws Exception {
        IllegalStateException refused = new IllegalStateException("store refused the write");
        StateMachine machine = new StateMachine() {
            @Override
            public Object apply(long index, ByteString command) {
                return index;
            }

            @Override
            public void endOfBatch(long lastIndex) {
                if (lastIndex >= 3) {
                    throw refused;
                }
            }
        };
        List<RuntimeException> reported = new CopyOnWriteArrayList<>();
        try (Applier applier = new Applier(1, machine, index -> { }).start()) {
            applier.onBatchFailure(reported::add);
            applier.submit(List.of(entry(1, "a", null), entry(2, "b", null)));
            applier.submit(List.of(entry(3, "c", null)));
            await().atMost(Duration.ofSeconds(30)).until(() -> !reported.isEmpty());
            assertThat(reported).containsExactly(refused);
            assertThat(applier.applyFailures()).isEqualTo(1);
        }
    }

    @Test
    void aCutOffProposalFailsWithNotLeaderAndAFailingCommandIsCounted() throws Exception {
        StateMachine machine = (index, command) -> {
            if (command.toStringUtf8().equals("bad")) {
                throw new IllegalStateException("refused");
            }
            return index;
        };
        try (Applier applier = new Applier(1, machine, index -> { }).start()) {
            CompletableFuture<Object> cut = new CompletableFuture<>();
            CompletableFuture<Object> bad = new CompletableFuture<>();
            CompletableFuture<Object> good = new CompletableFuture<>();
            applier.submit(List.of(
                    new Applier.Committed(1, ByteString.copyFromUtf8("other leader's"), cut, System.nanoTime(),
                            new NotLeaderException(2, "127.0.0.1:7002")),
                    entry(2, "bad", bad),
                    new Applier.Committed(3, ByteString.EMPTY, null, 0, null),
                    entry(4, "good", good)));
            assertThat(good.get(30, TimeUnit.SECONDS)).isEqualTo(4L);
            assertThat(cut).isCompletedExceptionally();
            try {
                cut.get();
            } catch (ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(NotLeaderException.class);
            }
            assertThat(bad).isCompletedExceptionally();
            assertThat(applier.applyFailures()).isEqualTo(1);
            // The empty entry reaches no state machine but still counts as applied.
            assertThat(applier.commits()).isEqualTo(3);
            assertThat(applier.appliedIndex()).isEqualTo(4);
        }
    }

    @Test
    void tasksAndTheHookRunBetweenTwoAppliesInHandOverOrder() throws Exception {
        RecordingStateMachine machine = new RecordingStateMachine();
        List<String> events = new CopyOnWriteArrayList<>();
        try (Applier applier = new Applier(1, machine, index -> { }).start()) {
            applier.onBetweenApplies(index -> events.add("after " + index));
            applier.submit(List.of(entry(1, "a", null), entry(2, "b", null)));
            applier.runBetweenApplies(() -> events.add("task sees " + machine.count()));
            applier.submit(List.of(entry(3, "c", null)));
            await().atMost(Duration.ofSeconds(30)).until(() -> applier.appliedIndex() == 3);
            assertThat(events).containsExactly("after 1", "after 2", "task sees 2", "after 3");
        }
    }

    @Test
    void closingFailsTheFuturesOfWhatWasNotApplied() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch inApply = new CountDownLatch(1);
        StateMachine slow = (index, command) -> {
            inApply.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return index;
        };
        Applier applier = new Applier(1, slow, index -> { }).start();
        CompletableFuture<Object> first = new CompletableFuture<>();
        CompletableFuture<Object> queued = new CompletableFuture<>();
        applier.submit(List.of(entry(1, "a", first)));
        applier.submit(List.of(entry(2, "b", queued)));
        assertThat(inApply.await(30, TimeUnit.SECONDS)).isTrue();
        Thread closer = new Thread(applier::close);
        closer.start();
        // The closer waits for the apply thread only after it told it to stop.
        await().atMost(Duration.ofSeconds(30)).until(() -> closer.getState() == Thread.State.TIMED_WAITING);
        release.countDown();
        closer.join(TimeUnit.SECONDS.toMillis(30));
        assertThat(first.get(30, TimeUnit.SECONDS)).isEqualTo(1L);
        await().atMost(Duration.ofSeconds(30)).until(queued::isDone);
        assertThat(queued).isCompletedExceptionally();
    }
}
