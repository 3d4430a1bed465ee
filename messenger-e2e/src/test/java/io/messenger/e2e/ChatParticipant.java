package io.messenger.e2e;

import io.messenger.client.BufferFullException;
import io.messenger.client.ChatMessage;
import io.messenger.client.ConnectionEvent;
import io.messenger.client.MessengerClient;
import io.messenger.client.ConnectionState;
import io.messenger.client.MessengerListener;
import io.messenger.client.PresenceEvent;
import io.messenger.proto.client.Welcome;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * One real {@link MessengerClient} in a room whose every send, acknowledgement, failure and delivery goes
 * into a shared {@link History}, with presence announcements and lost connections. Send texts are {@code <name>#<n>}, unique in the history.
 */
public final class ChatParticipant implements AutoCloseable {

    private final String name;
    private final History history;
    private final MessengerClient client;
    private final AtomicInteger sent = new AtomicInteger();
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicInteger bufferFull = new AtomicInteger();
    private final List<ConnectionEvent> connectionEvents = new CopyOnWriteArrayList<>();
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();

    /**
     * @param name unique in the history; one client instance
     * @param tuning further builder settings (client id, buffer size, ...) applied last
     */
    public ChatParticipant(History history, String name, String servers, String user, String room,
            UnaryOperator<MessengerClient.Builder> tuning) {
        this.name = name;
        this.history = history;
        history.register(name, user, room);
        MessengerListener listener = new MessengerListener() {
            @Override
            public void onMessage(ChatMessage m) {
                history.delivered(name, m.room(), m.roomSeq(), m.sender(), m.text(), m.fromHistory());
            }

            @Override
            public void onPresence(PresenceEvent e) {
                history.presence(name, e.username(), e.kind() == PresenceEvent.Kind.JOINED);
            }

            @Override
            public void onConnectionState(ConnectionEvent event) {
                connectionEvents.add(event);
                if (event.state() == ConnectionState.RECONNECTING) {
                    history.connectionLost(name);
                }
            }
        };
        this.client = tuning.apply(MessengerClient.builder()
                        .servers(servers)
                        .username(user)
                        .room(room)
                        .listener(listener))
                .build();
    }

    public String name() {
        return name;
    }

    public MessengerClient client() {
        return client;
    }

    /** Joins the room, waiting at most {@code bound}; the history notes the room seq the session opened at. */
    public Welcome join(Duration bound) throws Exception {
        history.connecting(name);
        Welcome welcome = client.connect().get(bound.toMillis(), TimeUnit.MILLISECONDS);
        history.joined(name, welcome.getRoomSeq());
        return welcome;
    }

    /** Sends the next numbered text; the outcome lands in the history when it is known. */
    public CompletableFuture<Long> sendNext() {
        String text = name + "#" + sent.incrementAndGet();
        history.sent(name, text);
        pending.incrementAndGet();
        CompletableFuture<Long> ack;
        try {
            ack = client.send(text);
        } catch (RuntimeException refusedAtOnce) {
            ack = CompletableFuture.failedFuture(refusedAtOnce);
        }
        return ack.whenComplete((roomSeq, error) -> {
            pending.decrementAndGet();
            if (error == null) {
                history.acked(text, roomSeq);
                return;
            }
            Throwable cause = error instanceof CompletionException && error.getCause() != null
                    ? error.getCause() : error;
            if (cause instanceof BufferFullException) {
                bufferFull.incrementAndGet();
            } else {
                failures.add(cause);
            }
            history.failed(text, cause.toString());
        });
    }

    /** Sends whose outcome is not known yet. */
    public int pending() {
        return pending.get();
    }

    /** Sends refused because the outgoing buffer was full. */
    public int bufferFull() {
        return bufferFull.get();
    }

    /** Sends that failed for another reason than a full buffer. */
    public List<Throwable> failures() {
        return List.copyOf(failures);
    }

    public List<ConnectionEvent> connectionEvents() {
        return List.copyOf(connectionEvents);
    }

    /** Leaves the room (the history notes its view may end here) and closes the client. */
    @Override
    public void close() {
        history.left(name);
        client.close();
    }
}
