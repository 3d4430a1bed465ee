package io.messenger.server.client;

import io.messenger.cluster.ClusterStatus;
import io.messenger.cluster.NotLeaderException;
import io.messenger.proto.NameRules;
import io.messenger.proto.SendWindow;
import io.messenger.proto.chat.ChatCommand;
import io.messenger.proto.chat.CloseSession;
import io.messenger.proto.chat.DetachSession;
import io.messenger.proto.chat.OpenSession;
import io.messenger.proto.chat.PostMessage;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.ClientProtocolVersion;
import io.messenger.proto.client.Hello;
import io.messenger.proto.client.HistoryReply;
import io.messenger.proto.client.HistoryRequest;
import io.messenger.proto.client.Pong;
import io.messenger.proto.client.Rejection;
import io.messenger.proto.client.Send;
import io.messenger.proto.client.SendFailed;
import io.messenger.proto.client.WhoReply;
import io.messenger.server.chat.ChatOutcome;
import io.messenger.server.chat.ChatStateMachine;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.timeout.IdleStateEvent;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection's protocol: Hello (names and token checked here) → OpenSession through the log, then Send →
 * PostMessage, Ping → Pong, WhoRequest → WhoReply and Bye → CloseSession. The frames that
 * follow from commits (Welcome, Ack, Deliver, Presence) are written by the state machine;
 * this handler answers what needs no log and bounds the sends one connection has in flight,
 * keeping a connection it stopped reading informed that the server is alive.
 * Runs on the channel's event loop and never blocks it.
 */
final class ClientSessionHandler extends SimpleChannelInboundHandler<ClientEnvelope> {

    private static final Logger log = LoggerFactory.getLogger(ClientSessionHandler.class);
    static final int VERSION = ClientProtocolVersion.CLIENT_PROTOCOL_V1_VALUE;

    /**
     * How often a connection whose reading is paused by backpressure hears an unsolicited Pong
     * (nonce 0, which answers no Ping): a quarter of the client library's default pong timeout
     * (1 s). Its Pings wait unread in TCP behind its Sends meanwhile, and without a frame from
     * us it would declare a live leader silent whenever commits take longer than that.
     */
    static final Duration PAUSED_KEEP_ALIVE_INTERVAL = Duration.ofMillis(250);

    /** Room a history page leaves in a client frame for the envelope and its other fields. */
    static final int HISTORY_REPLY_OVERHEAD = 8 * 1024;

    /**
     * Frames a client may send after its Hello before the Hello's token check ends; more is a protocol error. Reading
     * stops during the check, so at most one read's worth arrives; the client library sends its resends (up to
     * {@link SendWindow#MAX_UNACKNOWLEDGED}) and pings right after the Hello.
     */
    static final int MAX_FRAMES_WHILE_VERIFYING = 4 * SendWindow.MAX_UNACKNOWLEDGED;

    /**
     * AWAITING_HELLO → (VERIFYING →) [AWAITING_LEADER →] OPENING → OPEN, or CLOSED from any phase. AWAITING_LEADER
     * holds a valid Hello in the node's {@link HelloWaitingRoom} while no leader is known.
     */
    private enum Phase { AWAITING_HELLO, VERIFYING, AWAITING_LEADER, OPENING, OPEN, CLOSED }

    private final ClientServerContext context;
    private final HelloVerifications verifications;
    private final HelloWaitingRoom waitingRoom;
    /**
     * Frames read after the Hello while its token was being checked or it waited for a leader, handled in order
     * once it is answered.
     */
    private final ArrayDeque<ClientEnvelope> whileVerifying = new ArrayDeque<>();
    private Phase phase = Phase.AWAITING_HELLO;
    private ChannelHandlerContext ctx;
    private ChannelConnection connection;
    private String sessionId;
    private String room;
    private String clientId;
    private CompletableFuture<Object> opened;
    private boolean leaving;
    private int inFlight;
    /** Sends read while {@code maxInFlight} were uncommitted: at most one read's worth, since reading stops. */
    private final ArrayDeque<Send> held = new ArrayDeque<>();
    /** Writes the unsolicited Pongs while reading is paused; null while reading. */
    private ScheduledFuture<?> keepAlive;
    /** Closes the connection if no Hello arrives in time; null once one did. */
    private ScheduledFuture<?> helloDeadline;
    /** While AWAITING_LEADER: the Hello held, its place in the waiting room and the end of its wait. */
    private Hello heldHello;
    private HelloWaitingRoom.Ticket heldTicket;
    private ScheduledFuture<?> holdDeadline;
    /** This connection's send bucket; null when not limited. */
    private TokenBucket sendBucket;
    /** The user's bucket shared with its other connections here; null when not limited or before Hello. */
    private SendRateLimiter.UserBucket userBucket;
    /**
     * The client id's highest applied send when this session opened: a send at or below it is a
     * resend after a reconnect, which the log acknowledges with its original place. Refusing it
     * as rate-limited would tell the client that a delivered message failed, so the most recent
     * {@link SendWindow#MAX_UNACKNOWLEDGED} of them pass the buckets, each once.
     */
    private long resendsUpTo;
    private long lastResendPassed;

    ClientSessionHandler(ClientServerContext context) {
        this(context, HelloVerifications.INLINE);
    }

    /** Answers a Hello that finds no leader at once, holding none. */
    ClientSessionHandler(ClientServerContext context, HelloVerifications verifications) {
        this(context, verifications, new HelloWaitingRoom(0, HelloWaitingRoom.DEFAULT_PATIENCE));
    }

    /**
     * @param verifications where the Hello's token is checked (inline, or the node's verification pool)
     * @param waitingRoom where a Hello that finds no leader waits for one (the node's, told of leader changes)
     */
    ClientSessionHandler(ClientServerContext context, HelloVerifications verifications,
                         HelloWaitingRoom waitingRoom) {
        this.context = context;
        this.verifications = verifications;
        this.waitingRoom = java.util.Objects.requireNonNull(waitingRoom, "waitingRoom");
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.connection = new ChannelConnection(ctx.channel(), context.traffic());
        long deadline = context.limits().helloTimeout().toMillis();
        helloDeadline = ctx.executor().schedule(this::helloTimedOut, deadline, TimeUnit.MILLISECONDS);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        stopKeepAlive();
        cancelHelloDeadline();
        stopHolding();
        releaseUserBucket();
    }

    private void releaseUserBucket() {
        if (userBucket != null) {
            userBucket.release();
            userBucket = null;
        }
    }

    /**
     * A connection that never says Hello costs a socket, buffers and a channel for nothing; the
     * idle timeout alone would keep it for its full length, and a flood of them for as long.
     */
    private void helloTimedOut() {
        helloDeadline = null;
        if (phase != Phase.AWAITING_HELLO || !ctx.channel().isActive()) {
            return;
        }
        reject(Rejection.Reason.HELLO_TIMEOUT, "No Hello arrived within " + context.limits().helloTimeout().toMillis()
                + " ms of connecting; a client must introduce itself first.");
    }

    private void cancelHelloDeadline() {
        if (helloDeadline != null) {
            helloDeadline.cancel(false);
            helloDeadline = null;
        }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ClientEnvelope envelope) {
        if (phase == Phase.CLOSED) {
            return;
        }
        if (phase == Phase.VERIFYING || phase == Phase.AWAITING_LEADER) {
            // Nothing after the Hello is handled before it is answered: keep it, in order.
            if (whileVerifying.size() >= MAX_FRAMES_WHILE_VERIFYING) {
                whileVerifying.clear();
                reject(Rejection.Reason.PROTOCOL_ERROR, "The client sent more than " + MAX_FRAMES_WHILE_VERIFYING
                        + " frames before its Hello was answered.");
                return;
            }
            whileVerifying.addLast(envelope);
            return;
        }
        dispatch(envelope);
    }

    private void dispatch(ClientEnvelope envelope) {
        if (envelope.getProtocolVersion() != VERSION) {
            reject(Rejection.Reason.UNSUPPORTED_VERSION, "This server speaks client protocol version " + VERSION
                    + " but the client sent version " + envelope.getProtocolVersion() + "; use a matching client.");
            return;
        }
        if (phase == Phase.AWAITING_HELLO) {
            if (envelope.getBodyCase() != ClientEnvelope.BodyCase.HELLO) {
                reject(Rejection.Reason.PROTOCOL_ERROR,
                        "The first frame must be Hello, not " + envelope.getBodyCase() + ".");
                return;
            }
            cancelHelloDeadline();
            hello(envelope.getHello());
            return;
        }
        switch (envelope.getBodyCase()) {
            case SEND -> send(envelope.getSend());
            case PING -> ctx.writeAndFlush(envelope().setPong(Pong.newBuilder()
                    .setNonce(envelope.getPing().getNonce())).build());
            case WHO_REQUEST -> ctx.writeAndFlush(envelope().setWhoReply(WhoReply.newBuilder()
                    .setRoom(room).addAllMembers(firstMembers(context.chat().members(room)))).build());
            case HISTORY_REQUEST -> history(envelope.getHistoryRequest());
            case BYE -> bye();
            default -> reject(Rejection.Reason.PROTOCOL_ERROR,
                    "A client may not send " + envelope.getBodyCase() + " here.");
        }
    }

    /**
     * A page of the session's room, read on the history store's reader threads and written
     * back on this channel's event loop. Invalid requests get a HistoryReply with a typed
     * error; the session stays open.
     */
    private void history(HistoryRequest request) {
        HistoryReply.Builder reply = HistoryReply.newBuilder().setRequestId(request.getRequestId()).setRoom(room);
        int max = ChatStateMachine.MAX_HISTORY_PAGE;
        if (!request.getRoom().isEmpty() && !request.getRoom().equals(room)) {
            historyError(reply, HistoryReply.Error.INVALID_ROOM, "This session is in room " + room
                    + "; the history of another room (" + request.getRoom() + ") is not served here.");
            return;
        }
        if (request.getLimit() < 1 || request.getLimit() > max) {
            historyError(reply, HistoryReply.Error.INVALID_LIMIT, "Ask for 1 to " + max
                    + " messages per page, not " + Integer.toUnsignedString(request.getLimit()) + ".");
            return;
        }
        int maxBytes = Math.min(context.maxFrameBytes(), ClientServerContext.DEFAULT_MAX_FRAME_BYTES)
                - HISTORY_REPLY_OVERHEAD;
        context.chat().historyAsync(room, request.getBeforeRoomSeq(), request.getLimit(), maxBytes)
                .whenComplete((page, failure) -> ctx.executor().execute(() -> {
                    if (!ctx.channel().isActive()) {
                        return;
                    }
                    if (failure != null) {
                        log.debug("history page for {} failed: {}", ctx.channel().remoteAddress(), failure.toString());
                        historyError(reply, HistoryReply.Error.UNAVAILABLE,
                                "The server could not read the history right now; try again shortly.");
                    } else if (page == null) {
                        historyError(reply, HistoryReply.Error.UNAVAILABLE,
                                "This server keeps no history of room " + room + " yet.");
                    } else {
                        ctx.writeAndFlush(envelope().setHistoryReply(reply.addAllMessages(page.messages())
                                .setFirstAvailableSeq(page.firstAvailableSeq()).setMore(page.more())).build());
                    }
                }));
    }

    private void historyError(HistoryReply.Builder reply, HistoryReply.Error error, String sentence) {
        ctx.writeAndFlush(envelope().setHistoryReply(reply.setError(error).setErrorMessage(sentence)).build());
    }

    private static List<String> firstMembers(List<String> members) {
        int max = ChatStateMachine.WELCOME_MAX_MEMBERS;
        return members.size() > max ? members.subList(0, max) : members;
    }

    private void hello(Hello hello) {
        Optional<Rejection> invalid = NameRules.checkUsername(hello.getUsername())
                .map(s -> rejection(Rejection.Reason.INVALID_USERNAME, s))
                .or(() -> NameRules.checkRoom(hello.getRoom()).map(s -> rejection(Rejection.Reason.INVALID_ROOM, s)))
                .or(() -> NameRules.checkClientId(hello.getClientId())
                        .map(s -> rejection(Rejection.Reason.INVALID_CLIENT_ID, s)));
        if (invalid.isPresent()) {
            reject(invalid.get());
            return;
        }
        // Before the leader check: a stranger learns nothing, not even which node leads.
        CompletableFuture<Optional<Rejection>> verified = verifications.verify(context.authenticator(), hello);
        if (verified.isDone()) {
            verified(hello, verified.getNow(Optional.empty()));
            return;
        }
        // A costly check runs on the verification pool: stop reading meanwhile, so that what follows the Hello
        // waits in TCP (or, for the rest of the current read, in whileVerifying) until the check ends.
        phase = Phase.VERIFYING;
        ctx.channel().config().setAutoRead(false);
        verified.whenComplete((refusal, failure) -> {
            try {
                ctx.executor().execute(() -> onVerified(hello, refusal, failure));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                log.debug("token check for {} ended after its event loop stopped", hello.getUsername());
            }
        });
    }

    /** Back on the event loop after a pooled check: carry on with the Hello, then with what was read after it. */
    private void onVerified(Hello hello, Optional<Rejection> refusal, Throwable failure) {
        if (phase != Phase.VERIFYING || !ctx.channel().isActive()) {
            whileVerifying.clear();
            return; // closed while the check ran
        }
        phase = Phase.AWAITING_HELLO;
        if (failure != null) {
            log.warn("checking the token of client {} failed", ctx.channel().remoteAddress(), failure);
            reject(Rejection.Reason.SERVER_BUSY, "The server could not check the token; try again shortly.");
            return;
        }
        verified(hello, refusal);
        if (phase != Phase.AWAITING_LEADER) {
            resumeAfterHello();
        }
    }

    /** The Hello is answered: read again and handle, in order, what arrived after it meanwhile. */
    private void resumeAfterHello() {
        ctx.channel().config().setAutoRead(phase != Phase.CLOSED);
        while (!whileVerifying.isEmpty() && phase != Phase.CLOSED) {
            dispatch(whileVerifying.pollFirst());
        }
        whileVerifying.clear();
    }

    /** The Hello's names are valid and its token checked: refuse it, redirect it, or open its session. */
    private void verified(Hello hello, Optional<Rejection> refused) {
        if (refused.isPresent()) {
            log.info("client {} refused as user {}: {}", ctx.channel().remoteAddress(), hello.getUsername(),
                    refused.get().getMessage());
            reject(refused.get());
            return;
        }
        ClusterStatus status = context.replicator().status();
        if (!status.isLeader() && status.leaderId() == 0) {
            if (holdUntilLeaderKnown(hello)) {
                return;
            }
            status = context.replicator().status();
        }
        serve(hello, status);
    }

    /**
     * An election is under way: rather than tell the client to ask again (and have it retry every 100-200 ms
     * until some node names the leader), hold the Hello until this node learns who leads, then answer it as if
     * it had just arrived. Reading stops meanwhile; unsolicited Pongs tell the client the node is alive.
     *
     * @return false when it is not held after all: the room is full, or a leader became known meanwhile
     */
    private boolean holdUntilLeaderKnown(Hello hello) {
        HelloWaitingRoom.Ticket ticket = waitingRoom.enter(ctx.executor(), this::leaderKnown);
        if (ticket == null) {
            return false;
        }
        ClusterStatus now = context.replicator().status();
        if (now.isLeader() || now.leaderId() != 0) {
            // Named between the first look and entering: that change was announced before we were in the room.
            waitingRoom.leave(ticket);
            return false;
        }
        phase = Phase.AWAITING_LEADER;
        heldHello = hello;
        heldTicket = ticket;
        long patience = waitingRoom.patience().toMillis();
        holdDeadline = ctx.executor().schedule(this::heldTooLong, patience, TimeUnit.MILLISECONDS);
        pauseReading();
        return true;
    }

    /** Back on the event loop from the waiting room: the cluster named a leader. */
    private void leaderKnown() {
        if (phase != Phase.AWAITING_LEADER) {
            return; // answered or closed meanwhile
        }
        answerHeld();
    }

    /** Held for the waiting room's patience without a leader: answered as before the room existed. */
    private void heldTooLong() {
        holdDeadline = null;
        if (phase != Phase.AWAITING_LEADER) {
            return;
        }
        answerHeld();
    }

    /**
     * Answers the held Hello with the cluster's view now: this node leads (open the session), another does
     * (NOT_LEADER with its address) or still none ({@code ELECTION_IN_PROGRESS}, the client asks again).
     */
    private void answerHeld() {
        Hello hello = heldHello;
        stopHolding();
        if (!ctx.channel().isActive()) {
            return;
        }
        stopKeepAlive(); // before the frames read meanwhile, which may pause reading again
        phase = Phase.AWAITING_HELLO;
        serve(hello, context.replicator().status());
        resumeAfterHello();
    }

    private void stopHolding() {
        if (holdDeadline != null) {
            holdDeadline.cancel(false);
            holdDeadline = null;
        }
        waitingRoom.leave(heldTicket);
        heldTicket = null;
        heldHello = null;
    }

    /** Opens the session if this node leads, else redirects the client to the leader (or asks it to retry). */
    private void serve(Hello hello, ClusterStatus status) {
        if (!status.isLeader()) {
            reject(notLeader(status.leaderId(), status.leaderClientAddress()));
            return;
        }
        sessionId = UUID.randomUUID().toString();
        room = hello.getRoom();
        clientId = hello.getClientId();
        sendBucket = context.sendRates().forConnection();
        userBucket = context.sendRates().forUser(hello.getUsername());
        // Registered before proposing, so the apply thread finds this connection for the Welcome.
        context.connections().register(sessionId, connection);
        phase = Phase.OPENING;
        OpenSession.Builder open = OpenSession.newBuilder();
        if (hello.hasHistoryCount()) {
            open.setHistoryCount(Math.min(hello.getHistoryCount(), ChatStateMachine.MAX_JOIN_HISTORY));
        }
        opened = propose(command().setOpenSession(open
                .setSessionId(sessionId)
                .setUsername(hello.getUsername())
                .setRoom(room)
                .setClientId(clientId)
                .setNodeId(context.nodeId())
                .setResume(hello.getResume())
                .setResumeAfter(hello.getResumeAfter())
                .setLeaderEpoch(status.epoch())));
        opened.whenComplete((outcome, failure) -> ctx.executor().execute(() -> onOpened(outcome, failure)));
    }

    private void onOpened(Object outcome, Throwable failure) {
        if (failure != null) {
            failed("opening the session", failure);
        } else if (outcome instanceof ChatOutcome.SessionRefused) {
            phase = Phase.CLOSED; // the state machine wrote the Rejection and closes the connection
        } else if (phase == Phase.OPENING) {
            phase = Phase.OPEN;
            if (outcome instanceof ChatOutcome.SessionOpened open) {
                resendsUpTo = open.lastAppliedSendSeq();
            }
        }
    }

    private void send(Send send) {
        if (leaving) {
            return;
        }
        long seq = send.getSeq();
        if (seq == 0) {
            sendFailed(seq, SendFailed.Reason.BAD_SEQUENCE, "Send sequence numbers start at 1.");
            return;
        }
        int bytes = send.getTextBytes().size();
        if (bytes > context.maxMessageBytes()) {
            sendFailed(seq, SendFailed.Reason.TOO_LONG, "The message is " + bytes + " bytes long; the limit is "
                    + context.maxMessageBytes() + " bytes (UTF-8).");
            return;
        }
        if (send.getText().isBlank()) {
            sendFailed(seq, SendFailed.Reason.EMPTY, "The message is empty; type some text to send.");
            return;
        }
        if (!withinRate(seq)) {
            return;
        }
        if (inFlight >= context.maxInFlight() || !held.isEmpty()) {
            held.addLast(send);
            return;
        }
        post(send);
    }

    /**
     * Takes a token from this connection's bucket and the user's; refuses the send with
     * RATE_LIMITED (the session stays open) when either is empty. Nothing is proposed for a
     * refused send, so its sequence is never applied and later ones carry on as usual.
     */
    private boolean withinRate(long seq) {
        if (seq <= resendsUpTo && seq > lastResendPassed && resendsUpTo - seq < SendWindow.MAX_UNACKNOWLEDGED) {
            lastResendPassed = seq;
            return true; // an already-applied resend: acknowledged from the log, never refused here
        }
        if (sendBucket != null && !sendBucket.tryTake()) {
            sendFailed(seq, SendFailed.Reason.RATE_LIMITED, "You are sending faster than the "
                    + context.sendRates().connectionRate().inWords() + " this server allows per connection; message "
                    + seq + " was not sent. Wait a moment and send it again.");
            return false;
        }
        if (userBucket != null && !userBucket.tryTake()) {
            if (sendBucket != null) {
                sendBucket.giveBack();
            }
            sendFailed(seq, SendFailed.Reason.RATE_LIMITED, "Your devices together are sending faster than the "
                    + context.sendRates().userRate().inWords() + " this server allows per user; message "
                    + seq + " was not sent. Wait a moment and send it again.");
            return false;
        }
        return true;
    }

    private void post(Send send) {
        inFlight++;
        if (inFlight >= context.maxInFlight()) {
            pauseReading(); // TCP pushes back until commits catch up
        }
        propose(command().setPostMessage(PostMessage.newBuilder()
                .setSessionId(sessionId)
                .setClientId(clientId)
                .setClientSeq(send.getSeq())
                .setText(send.getText())))
                .whenComplete((outcome, failure) -> ctx.executor().execute(() -> onPosted(outcome, failure)));
    }

    private void onPosted(Object outcome, Throwable failure) {
        inFlight--;
        if (failure != null) {
            failed("posting a message", failure);
            return;
        }
        if (outcome instanceof ChatOutcome.MessagePosted posted) {
            if (posted.duplicate()) {
                context.traffic().sendDeduplicated();
            } else {
                context.traffic().sendAccepted();
            }
        }
        while (!held.isEmpty() && inFlight < context.maxInFlight()) {
            post(held.pollFirst());
        }
        if (held.isEmpty() && inFlight <= context.maxInFlight() / 2 && !ctx.channel().config().isAutoRead()
                && phase != Phase.CLOSED) {
            ctx.channel().config().setAutoRead(true);
            stopKeepAlive();
        }
    }

    private void pauseReading() {
        ctx.channel().config().setAutoRead(false);
        if (keepAlive == null) {
            long every = PAUSED_KEEP_ALIVE_INTERVAL.toMillis();
            keepAlive = ctx.executor().scheduleAtFixedRate(this::keepAlive, every, every, TimeUnit.MILLISECONDS);
        }
    }

    private void keepAlive() {
        if (phase == Phase.CLOSED || !ctx.channel().isActive()) {
            stopKeepAlive();
            return;
        }
        ctx.writeAndFlush(envelope().setPong(Pong.getDefaultInstance()).build(), ctx.voidPromise());
    }

    private void stopKeepAlive() {
        if (keepAlive != null) {
            keepAlive.cancel(false);
            keepAlive = null;
        }
    }

    private void bye() {
        leaving = true;
        held.clear();
        CompletableFuture<Object> afterOpen = opened;
        afterOpen.handle((outcome, failure) -> outcome instanceof ChatOutcome.SessionOpened)
                .thenCompose(open -> open
                        ? propose(command().setCloseSession(CloseSession.newBuilder()
                                .setSessionId(sessionId).setReason(CloseSession.Reason.LEFT)))
                        : CompletableFuture.completedFuture(null))
                .whenComplete((r, e) -> {
                    if (connection.markClosing()) {
                        log.debug("client {} said bye", ctx.channel().remoteAddress());
                        ctx.channel().close();
                    }
                });
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        phase = Phase.CLOSED;
        held.clear();
        whileVerifying.clear();
        stopKeepAlive();
        cancelHelloDeadline();
        stopHolding();
        releaseUserBucket();
        if (sessionId != null) {
            context.connections().unregister(sessionId, connection);
            if (!leaving) {
                // The connection dropped without Bye: keep the device slot for the grace period.
                String id = sessionId;
                opened.thenAccept(outcome -> {
                    if (outcome instanceof ChatOutcome.SessionOpened) {
                        propose(command().setDetachSession(DetachSession.newBuilder().setSessionId(id)))
                                .exceptionally(e -> {
                                    log.debug("session {} not detached here ({}); the next leader detaches it",
                                            id, e.getMessage());
                                    return null;
                                });
                    }
                });
            }
        }
        super.channelInactive(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent) {
            if (inFlight > 0 || !held.isEmpty()) {
                return; // the client waits for us (commits, or reading paused by backpressure)
            }
            log.debug("idle: phase {} inFlight {} held {} autoRead {}", phase, inFlight, held.size(),
                    ctx.channel().config().isAutoRead());
            connection.close("silent for " + context.idleTimeout().toMillis() + " ms");
            phase = Phase.CLOSED;
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable root = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (root instanceof TooLongFrameException) {
            reject(Rejection.Reason.PROTOCOL_ERROR, "A frame exceeded the limit of " + context.maxFrameBytes()
                    + " bytes.");
        } else if (root instanceof CorruptedFrameException || cause instanceof DecoderException) {
            reject(Rejection.Reason.PROTOCOL_ERROR, "A frame could not be decoded (" + root.getClass().getSimpleName()
                    + ": " + root.getMessage() + ").");
        } else if (root instanceof IOException) {
            if (connection.markClosing()) {
                log.debug("client connection {} failed: {}", ctx.channel().remoteAddress(), root.toString());
                ctx.close();
            }
        } else if (connection.markClosing()) {
            log.warn("closing client connection {} after an unexpected error", ctx.channel().remoteAddress(), cause);
            ctx.close();
        }
        phase = Phase.CLOSED;
    }

    private void failed(String what, Throwable failure) {
        if (phase == Phase.CLOSED) {
            return;
        }
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        if (cause instanceof NotLeaderException nle) {
            reject(notLeader(nle.leaderId(), nle.leaderClientAddress()));
        } else {
            log.warn("{} for client {} failed: {}", what, ctx.channel().remoteAddress(), cause.toString());
            reject(Rejection.Reason.SERVER_BUSY, "The server could not take the request (" + cause.getMessage()
                    + "); try again shortly.");
        }
    }

    private CompletableFuture<Object> propose(ChatCommand.Builder command) {
        try {
            return context.replicator().propose(command.build().toByteArray());
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private ChatCommand.Builder command() {
        return ChatCommand.newBuilder().setTimestampMs(context.clock().getAsLong()).setProposer(context.nodeId());
    }

    private void sendFailed(long seq, SendFailed.Reason reason, String sentence) {
        context.traffic().sendRejected(reason);
        ctx.writeAndFlush(envelope().setSendFailed(SendFailed.newBuilder()
                .setSeq(seq).setReason(reason).setMessage(sentence)).build());
    }

    private void reject(Rejection.Reason reason, String sentence) {
        reject(rejection(reason, sentence));
    }

    private void reject(Rejection rejection) {
        phase = Phase.CLOSED;
        ctx.channel().config().setAutoRead(false);
        stopKeepAlive();
        cancelHelloDeadline();
        stopHolding();
        connection.sendAndClose(envelope().setRejection(rejection).build(),
                rejection.getReason() + ": " + rejection.getMessage());
    }

    static Rejection notLeader(int leaderId, String leaderAddress) {
        if (leaderId == 0 || leaderAddress == null || leaderAddress.isEmpty()) {
            return rejection(Rejection.Reason.ELECTION_IN_PROGRESS,
                    "The cluster is electing a leader; try again in a moment.");
        }
        return Rejection.newBuilder()
                .setReason(Rejection.Reason.NOT_LEADER)
                .setMessage("This node does not lead; connect to node " + leaderId + " at " + leaderAddress + ".")
                .setLeaderId(leaderId)
                .setLeaderAddress(leaderAddress)
                .build();
    }

    private static Rejection rejection(Rejection.Reason reason, String sentence) {
        return Rejection.newBuilder().setReason(reason).setMessage(sentence).build();
    }

    static ClientEnvelope.Builder envelope() {
        return ClientEnvelope.newBuilder().setProtocolVersion(VERSION);
    }
}
