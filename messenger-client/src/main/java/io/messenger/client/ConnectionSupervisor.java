package io.messenger.client;

import io.messenger.proto.client.Ack;
import io.messenger.proto.client.Bye;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.ClientProtocolVersion;
import io.messenger.proto.client.Deliver;
import io.messenger.proto.client.Hello;
import io.messenger.proto.client.Ping;
import io.messenger.proto.client.Presence;
import io.messenger.proto.client.Rejection;
import io.messenger.proto.client.Send;
import io.messenger.proto.client.SendFailed;
import io.messenger.proto.client.Welcome;
import io.messenger.proto.client.HistoryReply;
import io.messenger.proto.client.HistoryRequest;
import io.messenger.proto.client.WhoRequest;
import io.netty.bootstrap.Bootstrap;
import io.netty.handler.ssl.SslContext;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one session with whichever node leads, in the manner of Lettuce's {@code ConnectionWatchdog}: it
 * follows "not leader" redirects, retries other nodes with capped, jittered backoff (timers on the event loop,
 * never a thread per attempt), detects dead connections by missed pongs, resends unacknowledged sends in order
 * after every reconnect and resumes delivery after the last room sequence seen.
 *
 * <p>Attempts go in rounds: the last known leader, then the other seeds. A node that went silent (missed pongs,
 * or no answer within the connect timeout) is left out of the rounds for one connect timeout, then tried last,
 * until it answers again or a session starts: a frozen process still accepts TCP, so trying it would cost a
 * whole connect timeout while the others elect a new leader. A redirect naming it is not followed during that
 * time either (backups name the old leader until they notice). It is still tried when no other node is left
 * to try. A node whose port refuses connections (its process is down, as a killed leader's is) is left out the
 * same way, and the next node is tried at once. A reset connection leaves the order as it is.
 *
 * <p>A node that knows no leader may hold the Hello until the election ends, sending keep-alive Pongs: while it
 * does, the connect timeout counts from the last frame heard, up to twice its length in all.
 *
 * <p>Every field without {@code volatile} is confined to the client's single event loop; public entry points
 * hop onto it. Listener callbacks and future completions go through the {@link EventDispatcher}.
 */
final class ConnectionSupervisor {

    private static final Logger log = LoggerFactory.getLogger(ConnectionSupervisor.class);
    private static final int VERSION = ClientProtocolVersion.CLIENT_PROTOCOL_V1_VALUE;
    /**
     * Upper bound on how long close() waits, after writing Bye, for the server to close the connection; acks of
     * sends the server committed before the Bye still arrive in that time.
     */
    private static final long BYE_GRACE_MILLIS = 500;
    /** Redirects followed at once before backoff applies, so two confused nodes cannot make us spin. */
    private static final int IMMEDIATE_REDIRECTS = 3;
    /** At most one resume per this interval to fetch messages missing from the live stream. */
    private static final long GAP_RESUME_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(5);

    private enum Phase { IDLE, JOINING, ONLINE, RECONNECTING, CLOSED, FAILED }

    private final ClientConfig config;
    private final EventLoop loop;
    private final Bootstrap bootstrap;
    private final SslContext tls;
    private final EventDispatcher events;
    private final MessengerListener listener;
    private final OutgoingBuffer outgoing;
    private final ReconnectBackoff backoff;
    private final ClientMetrics metrics;
    private final Runnable releaseResources;
    private final CompletableFuture<Welcome> joined = new CompletableFuture<>();
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();

    private volatile ConnectionState state = ConnectionState.NEW;
    private volatile List<String> members = List.of();
    private volatile int maxMessageBytes = ClientConfig.DEFAULT_MAX_MESSAGE_BYTES;
    private volatile long lastSeenRoomSeq;

    private Phase phase = Phase.IDLE;
    private Attempt current;
    /** The session close() said Bye on, until its connection is closed: its acks still count. */
    private Attempt closing;
    private InetSocketAddress lastLeader;
    private InetSocketAddress redirect;
    private int failures;
    private int redirects;
    /** Addresses still to try in the current round; refilled by {@link #newRound(long)} when empty. */
    private final ArrayDeque<InetSocketAddress> round = new ArrayDeque<>();
    /** Nodes that went silent since the last session started, the most recent last. */
    private final List<Silence> silent = new ArrayList<>();
    private long streakStartNanos;
    private String lastProblem = "no attempt yet";
    private boolean welcomedOnce;
    private long pingNonce;
    private long lastGapResumeNanos;
    /** Highest send sequence written to any session so far: pending sends up to it are resends. */
    private long highestWrittenSeq;
    private ScheduledFuture<?> retryTask;
    private final ArrayDeque<CompletableFuture<List<String>>> whoRequests = new ArrayDeque<>();
    /** History pages asked for on the current connection, by request id. */
    private final Map<Long, CompletableFuture<List<ChatMessage>>> historyRequests = new HashMap<>();
    private long historyRequestId;
    private volatile long firstAvailableSeq;

    ConnectionSupervisor(ClientConfig config, EventLoop loop, Bootstrap bootstrap, EventDispatcher events,
                         MessengerListener listener, Object meterRegistry, Runnable releaseResources) {
        this(config, loop, bootstrap, events, listener, meterRegistry, releaseResources, null);
    }

    /**
     * @param meterRegistry a Micrometer {@code MeterRegistry}, or null for no client meters
     * @param tls the client link's TLS context, or null for plaintext
     */
    ConnectionSupervisor(ClientConfig config, EventLoop loop, Bootstrap bootstrap, EventDispatcher events,
                         MessengerListener listener, Object meterRegistry, Runnable releaseResources, SslContext tls) {
        this.tls = tls;
        this.config = config;
        this.loop = loop;
        this.bootstrap = bootstrap;
        this.events = events;
        this.listener = listener;
        this.outgoing = new OutgoingBuffer(config.maxPendingSends());
        this.backoff = new ReconnectBackoff(config.initialBackoff(), config.maxBackoff());
        this.metrics = ClientMetrics.of(meterRegistry, outgoing::size);
        this.releaseResources = releaseResources;
    }

    /** A node that stopped answering with its connection open, and when. */
    private record Silence(InetSocketAddress address, long sinceNanos) {
    }

    /** One connection attempt and, once welcomed, the session it carries. */
    private final class Attempt implements ClientHandler.Connection {
        final InetSocketAddress address;
        Channel channel;
        boolean welcomed;
        boolean over;
        int nodeId;
        final long startedNanos = System.nanoTime();
        long lastHeardNanos = startedNanos;
        /** Whether the node sent anything yet (keep-alives while it holds the Hello, or its answer). */
        boolean answered;
        ScheduledFuture<?> handshakeTimer;
        ScheduledFuture<?> pingTask;

        Attempt(InetSocketAddress address) {
            this.address = address;
        }

        @Override
        public void received(ClientEnvelope envelope) {
            onEnvelope(this, envelope);
        }

        @Override
        public void closed(String why) {
            onClosed(this, why);
        }

        @Override
        public void tlsFailed(String sentence) {
            // A certificate the CA did not sign, a host it does not name, a server without TLS:
            // no other attempt would go differently, so fail now with the reason, not after the join timeout.
            if (over) {
                return;
            }
            end();
            if (current == this) {
                current = null;
            }
            fail(new TlsFailureException(sentence));
        }

        String node() {
            return "node " + nodeId + " (" + ServerAddresses.format(address) + ")";
        }

        void end() {
            over = true;
            cancel(handshakeTimer);
            cancel(pingTask);
            if (channel != null) {
                channel.close();
            }
        }
    }

    // ---- entry points (any thread) ----

    CompletableFuture<Welcome> connect() {
        onLoop(() -> {
            if (phase != Phase.IDLE) {
                return;
            }
            phase = Phase.JOINING;
            streakStartNanos = System.nanoTime();
            changeState(ConnectionEvent.of(ConnectionState.CONNECTING));
            attempt();
        });
        return joined;
    }

    CompletableFuture<Long> send(String text) {
        if (state.isTerminal()) {
            return CompletableFuture.failedFuture(new MessengerException("The client is " + state.name().toLowerCase()
                    + "; the message was not sent."));
        }
        if (text == null || text.isBlank()) { // the server's rule: Unicode white space counts
            return CompletableFuture.failedFuture(
                    new SendRejectedException(SendFailed.Reason.EMPTY, "The message is empty; nothing was sent."));
        }
        int bytes = utf8Length(text);
        int limit = maxMessageBytes;
        if (bytes > limit) {
            return CompletableFuture.failedFuture(new SendRejectedException(SendFailed.Reason.TOO_LONG,
                    "The message is " + bytes + " bytes long; the limit is " + limit + " bytes (UTF-8)."));
        }
        if (!outgoing.reserve()) {
            return CompletableFuture.failedFuture(new BufferFullException(outgoing.capacity()));
        }
        CompletableFuture<Long> future = new CompletableFuture<>();
        long sentNanos = System.nanoTime();
        try {
            loop.execute(() -> enqueue(text, future, sentNanos));
        } catch (RejectedExecutionException e) {
            outgoing.unreserve();
            future.completeExceptionally(new MessengerException("The client is closed; the message was not sent.", e));
        }
        return future;
    }

    CompletableFuture<List<ChatMessage>> history(long beforeRoomSeq, int limit) {
        if (limit < 1 || limit > ClientConfig.MAX_HISTORY_PAGE) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("Ask for 1 to "
                    + ClientConfig.MAX_HISTORY_PAGE + " messages per page, not " + limit + "."));
        }
        if (beforeRoomSeq < 0) {
            return CompletableFuture.failedFuture(new IllegalArgumentException(
                    "A room sequence is 0 (the newest) or positive, not " + beforeRoomSeq + "."));
        }
        CompletableFuture<List<ChatMessage>> future = new CompletableFuture<>();
        try {
            loop.execute(() -> {
                if (phase == Phase.ONLINE && current != null) {
                    long id = ++historyRequestId;
                    historyRequests.put(id, future);
                    current.channel.writeAndFlush(envelope().setHistoryRequest(HistoryRequest.newBuilder()
                            .setRequestId(id).setBeforeRoomSeq(beforeRoomSeq).setLimit(limit)).build());
                } else {
                    events.run(() -> future.completeExceptionally(new MessengerException(
                            "Not connected to the room right now; ask for the history again once online.")));
                }
            });
        } catch (RejectedExecutionException e) {
            future.completeExceptionally(new MessengerException("The client is closed.", e));
        }
        return future;
    }

    long firstAvailableSeq() {
        return firstAvailableSeq;
    }

    private void onHistoryReply(HistoryReply r) {
        CompletableFuture<List<ChatMessage>> waiting = historyRequests.remove(r.getRequestId());
        if (waiting == null) {
            return;
        }
        if (r.getError() != HistoryReply.Error.NONE) {
            HistoryException e = new HistoryException(r.getError(), r.getErrorMessage());
            events.run(() -> waiting.completeExceptionally(e));
            return;
        }
        firstAvailableSeq = r.getFirstAvailableSeq();
        List<ChatMessage> page = r.getMessagesList().stream().map(d -> new ChatMessage(d.getRoom(), d.getRoomSeq(),
                d.getSender(), d.getText(), Instant.ofEpochMilli(d.getServerTimeMs()), true)).toList();
        events.run(() -> waiting.complete(page));
    }

    /** Fails the history pages still unanswered: the connection they were asked on is gone. */
    private void failHistoryRequests() {
        if (historyRequests.isEmpty()) {
            return;
        }
        List<CompletableFuture<List<ChatMessage>>> waiting = new ArrayList<>(historyRequests.values());
        historyRequests.clear();
        MessengerException e = new MessengerException(
                "The connection was lost before the history arrived; ask again once reconnected.");
        events.run(() -> waiting.forEach(f -> f.completeExceptionally(e)));
    }

    CompletableFuture<List<String>> who() {
        CompletableFuture<List<String>> future = new CompletableFuture<>();
        try {
            loop.execute(() -> {
                if (phase == Phase.ONLINE && current != null) {
                    whoRequests.add(future);
                    current.channel.writeAndFlush(envelope().setWhoRequest(WhoRequest.getDefaultInstance()).build());
                } else {
                    List<String> known = members;
                    events.run(() -> future.complete(known));
                }
            });
        } catch (RejectedExecutionException e) {
            future.complete(members);
        }
        return future;
    }

    CompletableFuture<Void> close() {
        onLoop(this::closeOnLoop);
        return terminated;
    }

    ConnectionState state() {
        return state;
    }

    List<String> members() {
        return members;
    }

    int pendingSends() {
        return outgoing.size();
    }

    long lastSeenRoomSeq() {
        return lastSeenRoomSeq;
    }

    boolean inCallbackThread() {
        return events.inDispatchThread() || loop.inEventLoop();
    }

    // ---- connection attempts (event loop) ----

    private void attempt() {
        retryTask = null;
        if (phase != Phase.JOINING && phase != Phase.RECONNECTING) {
            return;
        }
        Attempt a = new Attempt(nextAddress());
        current = a;
        log.debug("Connecting to {}", ServerAddresses.format(a.address));
        ChannelFuture connecting = bootstrap.clone()
                .handler(new ClientChannelInitializer(ClientConfig.MAX_FRAME_BYTES, new ClientHandler(a), tls,
                        a.address))
                .connect(a.address);
        a.channel = connecting.channel();
        armHandshakeTimer(a, config.connectTimeout().toNanos());
        connecting.addListener(f -> {
            if (!f.isSuccess()) {
                boolean refused = f.cause() instanceof java.net.ConnectException
                        && !(f.cause() instanceof ConnectTimeoutException);
                if ((f.cause() instanceof ConnectTimeoutException || refused) && !a.over) {
                    wentSilent(a.address);
                }
                attemptFailed(a, "could not connect to " + ServerAddresses.format(a.address) + " ("
                        + describe(f.cause()) + ")", refused && !round.isEmpty());
            } else if (!a.over) {
                a.lastHeardNanos = System.nanoTime();
                String token;
                try {
                    token = currentToken();
                } catch (RuntimeException e) {
                    attemptFailed(a, "the token supplier failed (" + describe(e) + ")");
                    return;
                }
                a.channel.writeAndFlush(envelope().setHello(Hello.newBuilder()
                        .setUsername(config.username())
                        .setRoom(config.room())
                        .setClientId(config.clientId())
                        .setResume(welcomedOnce)
                        .setResumeAfter(lastSeenRoomSeq)
                        .setToken(token)
                        .mergeFrom(joinHistoryField())).build());
            }
        });
    }

    /**
     * Gives up on the attempt if the node says nothing for a connect timeout before its Welcome. A node that
     * holds the Hello while it elects a leader sends keep-alives: the timeout then counts from the last one,
     * but the whole handshake never takes more than twice the connect timeout.
     */
    private void armHandshakeTimer(Attempt a, long delayNanos) {
        a.handshakeTimer = loop.schedule(() -> {
            if (a.over || a.welcomed) {
                return;
            }
            long now = System.nanoTime();
            long timeout = config.connectTimeout().toNanos();
            long quietUntil = a.lastHeardNanos + timeout;
            long latest = a.startedNanos + 2 * timeout;
            if (a.answered && quietUntil > now && now < latest) {
                armHandshakeTimer(a, Math.min(quietUntil, latest) - now);
                return;
            }
            wentSilent(a.address);
            attemptFailed(a, "no answer from " + ServerAddresses.format(a.address) + " within "
                    + config.connectTimeout().toMillis() + " ms");
        }, delayNanos, TimeUnit.NANOSECONDS);
    }

    /** Hello.history_count when this client asks for a number of its own. */
    private Hello joinHistoryField() {
        return config.joinHistory() < 0 ? Hello.getDefaultInstance()
                : Hello.newBuilder().setHistoryCount(config.joinHistory()).build();
    }

    /** Asked anew for every attempt, so a refreshed token reaches the next node. */
    private String currentToken() {
        if (config.tokenSupplier() == null) {
            return "";
        }
        String token = config.tokenSupplier().get();
        return token == null ? "" : token.strip();
    }

    /**
     * The redirect target once, unless that node just went silent (a backup that has not noticed yet still
     * names it), else the next address of the round.
     */
    private InetSocketAddress nextAddress() {
        long now = System.nanoTime();
        if (redirect != null) {
            InetSocketAddress target = redirect;
            redirect = null;
            Silence silence = silence(target);
            if (silence == null || dueAgain(silence, now)) {
                return target;
            }
            log.debug("Not following the redirect to {}: it went silent", ServerAddresses.format(target));
        }
        if (round.isEmpty()) {
            newRound(now);
        }
        return round.poll();
    }

    /**
     * The last known leader, the other seeds in their order, then the silent nodes that are no longer left out,
     * longest silent first; all silent nodes when there is nothing else to try.
     */
    private void newRound(long now) {
        if (lastLeader != null && silence(lastLeader) == null) {
            round.add(lastLeader);
        }
        for (InetSocketAddress seed : config.servers()) {
            if (!ServerAddresses.same(seed, lastLeader) && silence(seed) == null) {
                round.add(seed);
            }
        }
        boolean othersLeft = !round.isEmpty();
        for (Silence s : silent) {
            if (!othersLeft || dueAgain(s, now)) {
                round.add(s.address());
            }
        }
    }

    /** The node stopped answering while its connection stayed open, as a frozen process does. */
    private void wentSilent(InetSocketAddress address) {
        silent.removeIf(s -> ServerAddresses.same(s.address(), address));
        silent.add(new Silence(address, System.nanoTime()));
        round.removeIf(a -> ServerAddresses.same(a, address));
    }

    /**
     * Silent for a connect timeout already: long enough for the others to elect a new leader if it froze, so
     * it is worth a try again (last in a round) in case it was only slow.
     */
    private boolean dueAgain(Silence s, long now) {
        return now - s.sinceNanos() >= config.connectTimeout().toNanos();
    }

    private Silence silence(InetSocketAddress address) {
        for (Silence s : silent) {
            if (ServerAddresses.same(s.address(), address)) {
                return s;
            }
        }
        return null;
    }

    private void attemptFailed(Attempt a, String problem) {
        attemptFailed(a, problem, false);
    }

    /** @param nextNow try the next address at once (this one refused: nobody is waiting behind its port) */
    private void attemptFailed(Attempt a, String problem, boolean nextNow) {
        if (a.over) {
            return;
        }
        a.end();
        if (current == a) {
            current = null;
        }
        lastProblem = problem;
        failures++;
        log.debug("Attempt {} failed: {}", failures, problem);
        scheduleRetry(nextNow ? 0 : backoff.delayNanos(failures));
    }

    private void scheduleRetry(long delayNanos) {
        if (phase != Phase.JOINING && phase != Phase.RECONNECTING) {
            return;
        }
        Duration limit = phase == Phase.JOINING ? config.joinTimeout() : config.reconnectTimeout();
        if (limit != null) {
            long left = limit.toNanos() - (System.nanoTime() - streakStartNanos);
            if (left <= 0) {
                giveUp(limit);
                return;
            }
            delayNanos = Math.min(delayNanos, left);
        }
        retryTask = loop.schedule(this::attempt, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void giveUp(Duration limit) {
        String servers = String.join(", ", config.servers().stream().map(ServerAddresses::format).toList());
        String seconds = limit.toMillis() % 1000 == 0 ? limit.toSeconds() + " s" : limit.toMillis() + " ms";
        String sentence = phase == Phase.JOINING
                ? "Could not join room " + config.room() + ": no leader among " + servers + " answered within "
                        + seconds + " (last problem: " + lastProblem + ")."
                : "Lost the connection and could not reconnect to any of " + servers + " within " + seconds
                        + " (last problem: " + lastProblem + ").";
        fail(new MessengerException(sentence));
    }

    // ---- inbound (event loop) ----

    private void onEnvelope(Attempt a, ClientEnvelope envelope) {
        if (a == closing) {
            onEnvelopeWhileClosing(a, envelope);
            return;
        }
        if (a.over || a != current) {
            return;
        }
        a.lastHeardNanos = System.nanoTime();
        a.answered = true;
        switch (envelope.getBodyCase()) {
            case WELCOME -> onWelcome(a, envelope.getWelcome());
            case REJECTION -> onRejection(a, envelope.getRejection());
            case ACK -> {
                if (a.welcomed) {
                    onAck(envelope.getAck());
                }
            }
            case SEND_FAILED -> {
                if (a.welcomed) {
                    onSendFailed(a, envelope.getSendFailed());
                }
            }
            case DELIVER -> {
                if (a.welcomed) {
                    onLiveDeliver(a, envelope.getDeliver());
                }
            }
            case PRESENCE -> {
                if (a.welcomed) {
                    onPresence(envelope.getPresence());
                }
            }
            case WHO_REPLY -> {
                List<String> list = List.copyOf(envelope.getWhoReply().getMembersList());
                members = list;
                CompletableFuture<List<String>> waiting = whoRequests.poll();
                if (waiting != null) {
                    events.run(() -> waiting.complete(list));
                }
            }
            case HISTORY_REPLY -> onHistoryReply(envelope.getHistoryReply());
            case PONG -> {
                // Hearing from the server at all is what the pong timer checks; nothing else to do.
            }
            default -> log.debug("Ignoring unexpected {} from {}", envelope.getBodyCase(), ServerAddresses.format(a.address));
        }
    }

    /**
     * After Bye the server still acknowledges (or refuses) the sends it committed before it, then closes: those
     * messages reached everyone else, so their futures must complete. Everything else is of no use any more.
     */
    private void onEnvelopeWhileClosing(Attempt a, ClientEnvelope envelope) {
        switch (envelope.getBodyCase()) {
            case ACK -> onAck(envelope.getAck());
            case SEND_FAILED -> {
                SendFailed.Reason reason = envelope.getSendFailed().getReason();
                // Not applied, and no reconnect to resend it: it stays pending and fails when the close ends.
                if (reason != SendFailed.Reason.NOT_LEADER && reason != SendFailed.Reason.SESSION_CLOSED) {
                    onSendFailed(a, envelope.getSendFailed());
                }
            }
            default -> log.trace("Ignoring {} from {} while closing", envelope.getBodyCase(), a.node());
        }
    }

    private void onWelcome(Attempt a, Welcome w) {
        if (a.welcomed) {
            log.debug("Ignoring a second welcome from {}", a.node());
            return;
        }
        a.welcomed = true;
        cancel(a.handshakeTimer);
        boolean first = !welcomedOnce;
        welcomedOnce = true;
        failures = 0;
        redirects = 0;
        round.clear();
        silent.clear();
        lastLeader = a.address;
        a.nodeId = w.getNodeId();
        if (w.getMaxMessageBytes() > 0) {
            maxMessageBytes = w.getMaxMessageBytes();
        }
        members = List.copyOf(w.getMembersList());
        phase = Phase.ONLINE;
        changeState(ConnectionEvent.online(first ? ConnectionState.CONNECTED : ConnectionState.RECONNECTED,
                a.nodeId, a.address));
        firstAvailableSeq = w.getFirstAvailableSeq();
        if (w.getHistoryTruncated()) {
            log.warn("The server no longer holds every message after room sequence {}: messages 1..{} of this room"
                    + " are past retention; some were missed", lastSeenRoomSeq, w.getFirstAvailableSeq() - 1);
        }
        for (Deliver d : w.getHistoryList()) {
            deliver(d, first);
        }
        if (w.getRoomSeq() > lastSeenRoomSeq) {
            lastSeenRoomSeq = w.getRoomSeq();
        }
        if (first) {
            events.run(() -> joined.complete(w));
        }
        // Resend everything unacknowledged, in order: the server acks already-applied ones with their
        // original room sequence, so this is exactly-once whatever last_applied_send_seq says.
        int resent = 0;
        for (OutgoingBuffer.PendingSend p : outgoing.inOrder()) {
            if (p.seq() <= highestWrittenSeq) {
                resent++;
            }
            write(a, p);
        }
        a.channel.flush();
        metrics.resent(resent);
        long interval = config.pingInterval().toNanos();
        a.pingTask = loop.scheduleAtFixedRate(() -> ping(a), interval, interval, TimeUnit.NANOSECONDS);
        log.info("Joined room {} on {} (room seq {}, {} unacknowledged sends resent)", config.room(), a.node(),
                w.getRoomSeq(), outgoing.inOrder().size());
    }

    private void onRejection(Attempt a, Rejection r) {
        Rejection.Reason reason = r.getReason();
        String sentence = r.getMessage().isBlank() ? "the server refused: " + reason : r.getMessage();
        if (isTerminal(reason)) {
            a.end();
            current = null;
            fail(new RejectedException(reason, r.getMessage()));
            return;
        }
        // It answered, so it is not frozen: back to its usual place in the order.
        silent.removeIf(s -> ServerAddresses.same(s.address(), a.address));
        InetSocketAddress leader = reason == Rejection.Reason.NOT_LEADER ? leaderAddress(a, r) : null;
        if (a.welcomed) {
            // The node stepped down under us: reconnect, starting with the leader it named.
            lose(a, sentence);
            if (leader != null && phase == Phase.RECONNECTING) {
                redirect = leader;
                lastLeader = leader;
                // It named its successor: go there now rather than after the first backoff step.
                cancel(retryTask);
                scheduleRetry(0);
            }
            return;
        }
        a.end();
        current = null;
        lastProblem = sentence;
        if (leader != null) {
            redirect = leader;
            lastLeader = leader;
            redirects++;
            log.debug("{} is not the leader; following to {}", ServerAddresses.format(a.address),
                    ServerAddresses.format(leader));
            scheduleRetry(redirects <= IMMEDIATE_REDIRECTS ? 0 : backoff.delayNanos(redirects));
            return;
        }
        // Election under way, busy or shutting down: another node may serve, or this one shortly.
        failures++;
        if (reason == Rejection.Reason.ELECTION_IN_PROGRESS) {
            // A live node says a leader is about to exist: a new one is usually elected within a
            // few heartbeats, and backing off further would only add to the pause.
            scheduleRetry(backoff.delayWhileElectingNanos(failures));
            return;
        }
        scheduleRetry(backoff.delayNanos(failures));
    }

    private static InetSocketAddress leaderAddress(Attempt a, Rejection r) {
        if (r.getLeaderAddress().isBlank()) {
            return null;
        }
        try {
            return ServerAddresses.parseOne(r.getLeaderAddress());
        } catch (IllegalArgumentException e) {
            log.warn("Ignoring unusable leader address '{}' from {}: {}", r.getLeaderAddress(),
                    ServerAddresses.format(a.address), e.getMessage());
            return null;
        }
    }

    private static boolean isTerminal(Rejection.Reason reason) {
        return switch (reason) {
            // Another node would answer a bad token the same way: retrying only repeats the refusal.
            case TOO_MANY_DEVICES, INVALID_USERNAME, INVALID_ROOM, INVALID_CLIENT_ID, UNSUPPORTED_VERSION,
                    PROTOCOL_ERROR, UNAUTHENTICATED, ROOM_NOT_ALLOWED, TOO_MANY_ROOMS, TLS_REQUIRED -> true;
            default -> false;
        };
    }

    private void onAck(Ack ack) {
        OutgoingBuffer.PendingSend p = outgoing.remove(ack.getSeq());
        if (p != null) {
            metrics.acknowledged(p.sentNanos());
            long roomSeq = ack.getRoomSeq();
            events.run(() -> p.future().complete(roomSeq));
        }
    }

    private void onSendFailed(Attempt a, SendFailed failed) {
        if (failed.getReason() == SendFailed.Reason.NOT_LEADER) {
            // The node lost leadership: keep the send and resend it to the new leader.
            lose(a, a.node() + " is no longer the leader");
            return;
        }
        if (failed.getReason() == SendFailed.Reason.SESSION_CLOSED) {
            // Expired or replaced session: the send was not applied; resume and resend it.
            lose(a, "the session on " + a.node() + " was closed by the server");
            return;
        }
        OutgoingBuffer.PendingSend p = outgoing.remove(failed.getSeq());
        if (p != null) {
            String sentence = failed.getMessage().isBlank()
                    ? "The server refused the message (" + failed.getReason() + ")." : failed.getMessage();
            SendRejectedException error = new SendRejectedException(failed.getReason(), sentence);
            events.run(() -> p.future().completeExceptionally(error));
        }
    }

    /**
     * Room sequences are contiguous, so a live delivery beyond the next one means some never arrived: resume
     * from the last one seen to fetch them, rather than skip them. Rate-limited so a server that keeps
     * skipping cannot make the client reconnect forever; then the gap is accepted and logged.
     */
    private void onLiveDeliver(Attempt a, Deliver d) {
        long expected = lastSeenRoomSeq + 1;
        if (d.getRoomSeq() > expected) {
            long now = System.nanoTime();
            if (lastGapResumeNanos == 0 || now - lastGapResumeNanos > GAP_RESUME_INTERVAL_NANOS) {
                lastGapResumeNanos = now;
                String missing = expected == d.getRoomSeq() - 1 ? "message " + expected
                        : "messages " + expected + " to " + (d.getRoomSeq() - 1);
                log.warn("Room {} {} did not arrive; resuming to fetch them", config.room(), missing);
                lose(a, missing + " of room " + config.room() + " did not arrive");
                return;
            }
            log.warn("Room {} skipped from {} to {} again; accepting the gap", config.room(), lastSeenRoomSeq,
                    d.getRoomSeq());
        }
        deliver(d, false);
    }

    private void deliver(Deliver d, boolean fromHistory) {
        if (d.getRoomSeq() <= lastSeenRoomSeq) {
            return; // already delivered before a reconnect
        }
        lastSeenRoomSeq = d.getRoomSeq();
        ChatMessage m = new ChatMessage(d.getRoom(), d.getRoomSeq(), d.getSender(), d.getText(),
                Instant.ofEpochMilli(d.getServerTimeMs()), fromHistory);
        events.run(() -> listener.onMessage(m));
    }

    private void onPresence(Presence p) {
        PresenceEvent.Kind kind;
        List<String> list = new ArrayList<>(members);
        if (p.getKind() == Presence.Kind.JOINED) {
            kind = PresenceEvent.Kind.JOINED;
            if (!list.contains(p.getUsername())) {
                list.add(p.getUsername());
            }
        } else if (p.getKind() == Presence.Kind.LEFT) {
            kind = PresenceEvent.Kind.LEFT;
            list.remove(p.getUsername());
        } else {
            return;
        }
        members = List.copyOf(list);
        PresenceEvent event = new PresenceEvent(p.getRoom(), p.getUsername(), kind,
                Instant.ofEpochMilli(p.getServerTimeMs()));
        events.run(() -> listener.onPresence(event));
    }

    private void onClosed(Attempt a, String why) {
        if (a.over || a != current) {
            return;
        }
        if (!a.welcomed) {
            attemptFailed(a, ServerAddresses.format(a.address) + (why != null ? ": " + why
                    : " closed the connection before answering"));
        } else {
            lose(a, "the connection to " + a.node() + " was lost" + (why != null ? " (" + why + ")" : ""));
        }
    }

    private void ping(Attempt a) {
        if (a.over || a != current) {
            cancel(a.pingTask);
            return;
        }
        long silentNanos = System.nanoTime() - a.lastHeardNanos;
        if (silentNanos > config.pongTimeout().toNanos()) {
            wentSilent(a.address);
            lose(a, "no answer from " + a.node() + " within " + config.pongTimeout().toMillis() + " ms");
            return;
        }
        a.channel.writeAndFlush(envelope().setPing(Ping.newBuilder().setNonce(++pingNonce)).build());
    }

    /** The session is gone: look for the leader again, keeping every unacknowledged send. */
    private void lose(Attempt a, String reason) {
        if (a.over) {
            return;
        }
        a.end();
        if (current == a) {
            current = null;
        }
        if (phase != Phase.ONLINE) {
            return;
        }
        log.info("Reconnecting: {}", reason);
        List<String> known = members;
        for (CompletableFuture<List<String>> waiting : whoRequests) {
            events.run(() -> waiting.complete(known));
        }
        whoRequests.clear();
        failHistoryRequests();
        phase = Phase.RECONNECTING;
        metrics.reconnecting();
        streakStartNanos = System.nanoTime();
        failures = 0;
        round.clear();
        redirect = null;
        lastProblem = reason;
        changeState(ConnectionEvent.reconnecting(reason));
        scheduleRetry(backoff.delayNanos(1));
    }

    // ---- outbound and shutdown (event loop) ----

    private void enqueue(String text, CompletableFuture<Long> future, long sentNanos) {
        if (phase == Phase.CLOSED || phase == Phase.FAILED) {
            outgoing.unreserve();
            String what = phase == Phase.CLOSED ? "closed" : "failed"; // state lags while close() waits for the server
            events.run(() -> future.completeExceptionally(
                    new MessengerException("The client is " + what + "; the message was not sent.")));
            return;
        }
        OutgoingBuffer.PendingSend p = outgoing.add(text, future, sentNanos);
        if (phase == Phase.ONLINE && current != null && current.welcomed) {
            write(current, p);
            current.channel.flush();
        }
    }

    private void write(Attempt a, OutgoingBuffer.PendingSend p) {
        a.channel.write(sendEnvelope(p));
        highestWrittenSeq = Math.max(highestWrittenSeq, p.seq());
    }

    private void fail(MessengerException cause) {
        if (phase == Phase.CLOSED || phase == Phase.FAILED) {
            return;
        }
        log.info("Client failed: {}", cause.getMessage());
        phase = Phase.FAILED;
        endEverything(ConnectionEvent.failed(cause), cause,
                new MessengerException("The message was not sent: " + cause.getMessage(), cause));
    }

    private void closeOnLoop() {
        if (phase == Phase.CLOSED || phase == Phase.FAILED) {
            return;
        }
        phase = Phase.CLOSED;
        cancel(retryTask);
        Attempt a = current;
        current = null;
        MessengerException closed = new MessengerException("The client was closed before the server answered.");
        Runnable finish = () -> endEverything(ConnectionEvent.of(ConnectionState.CLOSED), closed,
                new MessengerException("The client was closed before the message was acknowledged."));
        if (a != null && a.welcomed && a.channel.isActive()) {
            a.over = true;
            cancel(a.handshakeTimer);
            cancel(a.pingTask);
            closing = a;
            // The server closes the connection once the Bye is committed, after acknowledging every send it
            // committed before it; closing on our side right after writing Bye would lose those acks.
            ScheduledFuture<?> grace = loop.schedule(() -> a.channel.close(), BYE_GRACE_MILLIS, TimeUnit.MILLISECONDS);
            a.channel.writeAndFlush(envelope().setBye(Bye.getDefaultInstance()).build())
                    .addListener(f -> {
                        if (!f.isSuccess()) {
                            a.channel.close();
                        }
                    });
            a.channel.closeFuture().addListener(f -> {
                grace.cancel(false);
                closing = null;
                finish.run();
            });
        } else {
            if (a != null) {
                a.end();
            }
            finish.run();
        }
    }

    private void endEverything(ConnectionEvent event, MessengerException joinError, MessengerException sendError) {
        cancel(retryTask);
        if (current != null) {
            current.end();
            current = null;
        }
        List<OutgoingBuffer.PendingSend> unsent = outgoing.drain();
        List<CompletableFuture<List<String>>> who = new ArrayList<>(whoRequests);
        whoRequests.clear();
        failHistoryRequests();
        List<String> known = members;
        changeState(event);
        events.run(() -> {
            joined.completeExceptionally(joinError);
            for (OutgoingBuffer.PendingSend p : unsent) {
                p.future().completeExceptionally(sendError);
            }
            who.forEach(f -> f.complete(known));
            terminated.complete(null);
        });
        events.shutdown();
        metrics.close();
        releaseResources.run();
    }

    private void changeState(ConnectionEvent event) {
        state = event.state();
        events.run(() -> listener.onConnectionState(event));
    }

    // ---- small things ----

    private void onLoop(Runnable task) {
        if (loop.inEventLoop()) {
            task.run();
            return;
        }
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            log.debug("Event loop already shut down: {}", e.toString());
            terminated.complete(null);
        }
    }

    private static ClientEnvelope.Builder envelope() {
        return ClientEnvelope.newBuilder().setProtocolVersion(VERSION);
    }

    private static ClientEnvelope sendEnvelope(OutgoingBuffer.PendingSend p) {
        return envelope().setSend(Send.newBuilder().setSeq(p.seq()).setText(p.text())).build();
    }

    private static void cancel(ScheduledFuture<?> task) {
        if (task != null) {
            task.cancel(false);
        }
    }

    private static String describe(Throwable t) {
        if (t == null) {
            return "unknown error";
        }
        String message = t.getMessage();
        return message == null ? t.getClass().getSimpleName() : message;
    }

    static int utf8Length(String s) {
        int bytes = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }
}
