package io.messenger.server.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.messenger.proto.client.Hello;
import io.messenger.proto.client.Rejection;
import io.messenger.server.auth.ClientAuthenticator;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The bounded pool costly token checks run on. */
class HelloVerificationsTest {

    private static final Hello HELLO = Hello.newBuilder().setUsername("alice").setRoom("lobby").build();

    /** A costly check that waits for {@code release}, counting the checks that started. */
    private static ClientAuthenticator blockingUntil(CountDownLatch release, AtomicInteger started) {
        return new ClientAuthenticator() {
            @Override
            public Optional<Rejection> check(Hello hello) {
                started.incrementAndGet();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return Optional.empty();
            }

            @Override
            public boolean cheap() {
                return false;
            }
        };
    }

    @Test
    void aFullQueueRefusesAtOnceWithServerBusyAndTheQueuedChecksStillRun() {
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger started = new AtomicInteger();
        ClientAuthenticator slow = blockingUntil(release, started);
        try (HelloVerifications pool = HelloVerifications.pooled(1, 1)) {
            CompletableFuture<Optional<Rejection>> running = pool.verify(slow, HELLO);
            await().atMost(Duration.ofSeconds(30)).until(() -> started.get() == 1);
            CompletableFuture<Optional<Rejection>> queued = pool.verify(slow, HELLO);
            CompletableFuture<Optional<Rejection>> refused = pool.verify(slow, HELLO);

            assertThat(refused).isCompleted();
            assertThat(refused.join()).hasValueSatisfying(r -> {
                assertThat(r.getReason()).isEqualTo(Rejection.Reason.SERVER_BUSY);
                assertThat(r.getMessage()).contains("try again");
            });
            assertThat(pool.refusedBusy()).isEqualTo(1);
            assertThat(running).isNotDone();
            assertThat(queued).isNotDone();

            release.countDown();
            await().atMost(Duration.ofSeconds(30)).until(() -> running.isDone() && queued.isDone());
            assertThat(running.join()).isEmpty();
            assertThat(queued.join()).isEmpty();
        }
    }

    @Test
    void aCheapCheckRunsOnTheCallersThreadEvenWithAPool() {
        Thread caller = Thread.currentThread();
        Thread[] ranOn = new Thread[1];
        ClientAuthenticator cheap = hello -> {
            ranOn[0] = Thread.currentThread();
            return Optional.empty();
        };
        try (HelloVerifications pool = HelloVerifications.pooled(1, 1)) {
            assertThat(pool.verify(cheap, HELLO)).isCompletedWithValue(Optional.empty());
            assertThat(ranOn[0]).isSameAs(caller);
        }
    }

    @Test
    void aCostlyCheckRunsOnAPoolThread() {
        ClientAuthenticator costly = new ClientAuthenticator() {
            @Override
            public Optional<Rejection> check(Hello hello) {
                return Thread.currentThread().getName().startsWith("hello-verify-") ? Optional.empty()
                        : Optional.of(Rejection.newBuilder().setMessage("ran on " + Thread.currentThread()).build());
            }

            @Override
            public boolean cheap() {
                return false;
            }
        };
        try (HelloVerifications pool = HelloVerifications.pooled(2, 8)) {
            assertThat(pool.verify(costly, HELLO).join()).isEmpty();
        }
    }
}
