package io.messenger.server.chat;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.messenger.cluster.StateMachine;
import io.messenger.proto.chat.ChatCommand;
import io.messenger.proto.chat.ChatSnapshot;
import io.messenger.proto.chat.ClientSendsSnapshot;
import io.messenger.proto.chat.RoomSnapshot;
import io.messenger.proto.chat.SessionSnapshot;
import io.messenger.proto.chat.UserDevices;
import io.messenger.proto.chat.UserRoomCreations;
import io.messenger.proto.chat.CloseSession;
import io.messenger.proto.chat.ExpireSessions;
import io.messenger.proto.chat.LeaderChanged;
import io.messenger.proto.chat.OpenSession;
import io.messenger.proto.chat.PostMessage;
import io.messenger.proto.client.Ack;
import io.messenger.proto.client.ClientEnvelope;
import io.messenger.proto.client.ClientProtocolVersion;
import io.messenger.proto.client.Deliver;
import io.messenger.proto.client.Presence;
import io.messenger.proto.client.Rejection;
import io.messenger.proto.client.SendFailed;
import io.messenger.proto.client.Welcome;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The chat state applied from the committed log: rooms with their sequences and retained
 * messages, sessions, the device limit and per-client send deduplication. Applying depends
 * only on the commands (time comes from {@link ChatCommand#getTimestampMs()}), so every node
 * builds the same state; the frames a command causes are written, from the apply thread, to
 * the connections attached to this node, which keeps Welcome, history and live deliveries
 * in one order.
 */
public final class ChatStateMachine implements StateMachine {

    private static final Logger log = LoggerFactory.getLogger(ChatStateMachine.class);
    private static final int VERSION = ClientProtocolVersion.CLIENT_PROTOCOL_V1_VALUE;
    private static final ChatOutcome DONE = new ChatOutcome.Done();
    /** A Welcome stays well inside the 64 KiB frame limit of clients. */
    static final int WELCOME_MAX_BYTES = 56 * 1024;
    /** Members named in a Welcome or WhoReply; a bigger room is listed in part. */
    public static final int WELCOME_MAX_MEMBERS = 1000;
    /** Most messages a join may ask to be shown (Hello.history_count is capped here). */
    public static final int MAX_JOIN_HISTORY = 10_000;
    /** Most messages one history page carries (HistoryRequest.limit is 1 to this). */
    public static final int MAX_HISTORY_PAGE = 500;

    private final int nodeId;
    private final ChatLimits limits;
    private final LocalConnections connections;
    /** The durable history; null keeps history in the in-memory window only (tests). */
    private final HistoryStore store;
    private final HistoryRetention retention;
    /** Leader time at or after which the next apply sweeps every room for age retention. */
    private long nextAgeSweepMs;

    private final Map<String, Room> rooms = new HashMap<>();
    private final Map<String, Session> sessions = new HashMap<>();
    private final Map<String, Session> sessionByClient = new HashMap<>();
    private final Map<String, Set<String>> devicesByUser = new HashMap<>();
    /**
     * Per username, the leader times of the rooms it created within the last
     * {@link ChatLimits#ROOM_CREATION_WINDOW_MS}, oldest first. Each time is a room that still
     * exists (rooms are never removed), so this holds at most {@code maxRooms} times in all.
     */
    private final Map<String, ArrayDeque<Long>> roomsCreatedByUser = new HashMap<>();
    /** Insertion order is recency of use (re-inserted on every post), so eviction is deterministic. */
    private final LinkedHashMap<String, ClientSends> sends = new LinkedHashMap<>();
    private final TreeSet<Session> detached = new TreeSet<>(
            Comparator.comparingLong((Session s) -> s.detachedSinceMs).thenComparing(s -> s.id));
    private long epoch;
    private long appliedIndex;
    /** The last apply that has finished: a store write in the middle of an apply records this one. */
    private long finishedIndex;
    /**
     * The store's own applied index when this machine started or was restored: every store
     * write of an entry up to it is in the store already (a write recording index i happens only
     * after entry i has finished, and batches are written in order), so replaying those entries
     * changes only the in-memory state and leaves the store alone. A failed write freezes the
     * store's index at its last good write ({@link HistoryStore#commit}), so nothing lost is skipped.
     */
    private long storedThrough;

    // Read by other threads (leader duties, WhoRequest, admin); written by the apply thread.
    private volatile long earliestDetachedMs = Long.MAX_VALUE;
    private volatile long appliedIndexView;
    private final Map<String, List<String>> membersView = new ConcurrentHashMap<>();
    /** Per room, the oldest retained sequence, published for history pages read off the apply thread. */
    private final Map<String, Long> firstSeqView = new ConcurrentHashMap<>();

    /** A state machine without a durable store: history is the in-memory window of each room. */
    public ChatStateMachine(int nodeId, ChatLimits limits, LocalConnections connections) {
        this(nodeId, limits, connections, null, HistoryRetention.UNLIMITED);
    }

    /**
     * A state machine that writes every applied message to {@code store} (which it does not
     * close) and deletes what falls past {@code retention}.
     */
    public ChatStateMachine(int nodeId, ChatLimits limits, LocalConnections connections, HistoryStore store,
                            HistoryRetention retention) {
        this.nodeId = nodeId;
        this.limits = limits;
        this.connections = connections;
        this.store = store;
        this.retention = retention;
        this.storedThrough = store == null ? 0 : store.appliedIndex();
    }

    /** Whether the entry being applied already wrote everything it writes to the store. */
    private boolean inStore() {
        return appliedIndex <= storedThrough;
    }

    @Override
    public Object apply(long index, ByteString command) {
        if (index <= appliedIndex) {
            // Already in the state: a replay after a restore that starts before the snapshot's index.
            return DONE;
        }
        ChatCommand cmd;
        try {
            cmd = ChatCommand.parseFrom(command);
        } catch (InvalidProtocolBufferException e) {
            // Every node skips the same entry, so the state stays identical.
            log.error("log entry {} is not a chat command ({}); skipped", index, e.getMessage());
            return DONE;
        }
        appliedIndex = index;
        appliedIndexView = index;
        long now = cmd.getTimestampMs();
        ChatOutcome outcome = switch (cmd.getKindCase()) {
            case OPEN_SESSION -> open(cmd.getOpenSession(), now);
            case CLOSE_SESSION -> close(cmd.getCloseSession(), now);
            case POST_MESSAGE -> post(cmd.getPostMessage(), now);
            case DETACH_SESSION -> detach(cmd.getDetachSession().getSessionId(), now);
            case EXPIRE_SESSIONS -> expire(cmd.getExpireSessions(), now);
            case LEADER_CHANGED -> leaderChanged(cmd.getLeaderChanged(), now);
            case KIND_NOT_SET -> {
                log.warn("log entry {} carries an empty chat command; skipped", index);
                yield DONE;
            }
        };
        if (retention.maxAgeMs() > 0 && now >= nextAgeSweepMs) {
            nextAgeSweepMs = now + retention.markSpacingMs();
            for (Room room : rooms.values()) {
                retain(room, now, true);
            }
        }
        earliestDetachedMs = detached.isEmpty() ? Long.MAX_VALUE : detached.first().detachedSinceMs;
        finishedIndex = index;
        return outcome;
    }

    /**
     * Writes what the applies since the last write put into the store's batch, as one RocksDB
     * write. One write per run of applies instead of one per apply: writing is most of what an
     * apply costs (measured 160-230 k applies/s with a write each, about 1 M/s without), so
     * replaying the log after a restart and keeping up under load both go faster. Readers on
     * other threads (history pages) see the store as of the last run, which only ever concerns
     * messages already delivered; reads on this thread write the batch first.
     */
    @Override
    public void endOfBatch(long lastIndex) {
        flushStore();
    }

    private void flushStore() {
        if (store != null) {
            store.commit(finishedIndex);
        }
    }

    /** The chat state's file in a snapshot directory. */
    public static final String SNAPSHOT_STATE_FILE = "chat-state.pb";
    /** The history checkpoint's directory in a snapshot directory. */
    public static final String SNAPSHOT_HISTORY_DIR = "history";

    /**
     * Captures the state as an immutable {@link ChatSnapshot}: rooms (sequences, retention,
     * members), sessions, device counts and the send deduplication table, all small records.
     * With a durable store the rooms' in-memory windows stay out of it: every message in them is
     * in the store, which the snapshot carries as a RocksDB checkpoint, so capture and restore
     * cost per room, not per message, and a restored room reads what is older than its (then
     * empty) window from the store, as it does for anything older than the window anyway.
     * {@link Snapshot#writeTo} writes the state and the checkpoint, which may reach a little past
     * this index: replaying those entries after a restore writes the same puts and range deletes
     * again, which changes nothing. Without a store the windows are the history and go in.
     */
    @Override
    public Snapshot snapshot() {
        flushStore(); // the checkpoint, taken later, must hold every message up to this index
        ChatSnapshot.Builder b = ChatSnapshot.newBuilder().setAppliedIndex(appliedIndex).setEpoch(epoch)
                .setNextAgeSweepMs(nextAgeSweepMs);
        boolean withWindows = store == null;
        for (Room r : new TreeMap<>(rooms).values()) {
            b.addRooms(r.snapshot(withWindows));
        }
        for (Session x : new TreeMap<>(sessions).values()) {
            b.addSessions(SessionSnapshot.newBuilder().setId(x.id).setUsername(x.username).setClientId(x.clientId)
                    .setRoom(x.room).setNodeId(x.nodeId).setOpenedEpoch(x.openedEpoch)
                    .setDetachedSinceMs(x.detachedSinceMs));
        }
        devicesByUser.forEach((user, ids) -> b.addDevices(UserDevices.newBuilder().setUsername(user)
                .addAllClientIds(ids)));
        roomsCreatedByUser.forEach((user, times) -> b.addRoomsCreated(UserRoomCreations.newBuilder()
                .setUsername(user).addAllTimesMs(times)));
        // The send windows are the bulk (up to dedup-window entries per client): copied as arrays
        // here, turned into protobuf on the writer's thread, which alone uses the builder from now on.
        List<ClientSends.Captured> capturedSends = new ArrayList<>(sends.size());
        sends.forEach((client, cs) -> capturedSends.add(cs.capture(client)));
        HistoryStore history = store;
        return new Snapshot() {
            private ChatSnapshot state;

            @Override
            public synchronized void writeTo(Path dir) throws IOException {
                if (state == null) {
                    for (ClientSends.Captured cs : capturedSends) {
                        b.addSends(cs.toProto());
                    }
                    state = b.build();
                }
                Files.write(dir.resolve(SNAPSHOT_STATE_FILE), state.toByteArray());
                if (history != null) {
                    history.checkpoint(dir.resolve(SNAPSHOT_HISTORY_DIR));
                }
            }
        };
    }

    /**
     * The history checkpoint's SST files: RocksDB checks their sizes when it opens them and the
     * checksum of every block it reads, and at 10 M messages they are 190 MB a snapshot, which
     * a start would otherwise read whole to check their CRC32C. The state file and RocksDB's
     * small metadata files are still checked at every start.
     */
    @Override
    public boolean snapshotFileChecksItself(String name) {
        return name.startsWith(SNAPSHOT_HISTORY_DIR + "/") && name.endsWith(".sst");
    }

    /**
     * Replaces the whole state by the snapshot in {@code dir}. The durable history follows this
     * rule: when the live store is behind the snapshot (its last written index is below the
     * snapshot's) or the snapshot carries a history the live store lacks, the live store is
     * replaced by the snapshot's checkpoint; otherwise (a node restarting from its own snapshot,
     * whose store already went further) the live store is kept, since replaying the log after the
     * snapshot rewrites the same messages and deletions in it.
     */
    @Override
    public void restore(Path dir) throws IOException {
        flushStore();
        ChatSnapshot snap;
        try {
            snap = ChatSnapshot.parseFrom(Files.readAllBytes(dir.resolve(SNAPSHOT_STATE_FILE)));
        } catch (InvalidProtocolBufferException e) {
            throw new IOException("the chat snapshot in " + dir + " is damaged: " + e.getMessage(), e);
        }
        // Checked before anything is replaced: a damaged snapshot leaves the state and the store as they are.
        LinkedHashMap<String, ClientSends> restoredSends = new LinkedHashMap<>();
        try {
            for (ClientSendsSnapshot cs : snap.getSendsList()) {
                restoredSends.put(cs.getClientId(), ClientSends.restore(cs, limits.dedupWindow()));
            }
        } catch (IllegalArgumentException e) {
            throw new IOException("the chat snapshot in " + dir + " is damaged: " + e.getMessage(), e);
        }
        if (store != null) {
            Path checkpoint = dir.resolve(SNAPSHOT_HISTORY_DIR);
            long live = store.appliedIndex();
            if (Files.isDirectory(checkpoint) && live < snap.getAppliedIndex()) {
                log.info("history store at index {} is behind the snapshot at {}: replaced by its checkpoint", live,
                        snap.getAppliedIndex());
                store.replaceWith(checkpoint);
            } else if (live < snap.getAppliedIndex()) {
                throw new IOException("the snapshot in " + dir + " carries no history, and the live history store"
                        + " (index " + live + ") is behind it (index " + snap.getAppliedIndex() + ")");
            }
        }
        rooms.clear();
        sessions.clear();
        sessionByClient.clear();
        devicesByUser.clear();
        roomsCreatedByUser.clear();
        sends.clear();
        detached.clear();
        membersView.clear();
        firstSeqView.clear();
        for (RoomSnapshot r : snap.getRoomsList()) {
            Room room = Room.restore(r, limits.retainedMessages());
            rooms.put(room.name, room);
            membersView.put(room.name, room.members());
            firstSeqView.put(room.name, room.firstSeq());
        }
        for (SessionSnapshot x : snap.getSessionsList()) {
            Session session = new Session(x.getId(), x.getUsername(), x.getClientId(), x.getRoom(), x.getNodeId(),
                    x.getOpenedEpoch());
            session.detachedSinceMs = x.getDetachedSinceMs();
            sessions.put(session.id, session);
            sessionByClient.put(session.clientId, session);
            if (!session.attached()) {
                detached.add(session);
            }
        }
        for (UserDevices d : snap.getDevicesList()) {
            devicesByUser.put(d.getUsername(), new LinkedHashSet<>(d.getClientIdsList()));
        }
        for (UserRoomCreations c : snap.getRoomsCreatedList()) {
            roomsCreatedByUser.put(c.getUsername(), new ArrayDeque<>(c.getTimesMsList()));
        }
        sends.putAll(restoredSends);
        epoch = snap.getEpoch();
        nextAgeSweepMs = snap.getNextAgeSweepMs();
        appliedIndex = snap.getAppliedIndex();
        finishedIndex = appliedIndex;
        appliedIndexView = appliedIndex;
        storedThrough = store == null ? 0 : store.appliedIndex();
        earliestDetachedMs = detached.isEmpty() ? Long.MAX_VALUE : detached.first().detachedSinceMs;
    }

    private ChatOutcome open(OpenSession cmd, long now) {
        String sid = cmd.getSessionId();
        if (sessions.containsKey(sid)) {
            return DONE; // proposed twice (a retry across a leader change): the first one counts
        }
        String user = cmd.getUsername();
        String clientId = cmd.getClientId();
        Session previous = sessionByClient.get(clientId);
        Set<String> devices = devicesByUser.getOrDefault(user, Set.of());
        int otherDevices = devices.size() - (devices.contains(clientId) ? 1 : 0);
        if (otherDevices >= limits.maxDevices()) {
            String sentence = user + " is already online on " + otherDevices + " device"
                    + (otherDevices == 1 ? "" : "s") + "; close the chat on one of them and try again.";
            ClientConnection c = connections.get(sid);
            if (c != null) {
                c.sendAndClose(envelope().setRejection(Rejection.newBuilder()
                        .setReason(Rejection.Reason.TOO_MANY_DEVICES).setMessage(sentence)).build(),
                        "too many devices for " + user);
            }
            return new ChatOutcome.SessionRefused(Rejection.Reason.TOO_MANY_DEVICES, sentence);
        }

        Room room = rooms.get(cmd.getRoom());
        if (room == null) {
            String refusal = roomRefusal(user, now);
            if (refusal != null) {
                ClientConnection c = connections.get(sid);
                if (c != null) {
                    c.sendAndClose(envelope().setRejection(Rejection.newBuilder()
                            .setReason(Rejection.Reason.TOO_MANY_ROOMS).setMessage(refusal)).build(),
                            "too many rooms (" + user + ")");
                }
                return new ChatOutcome.SessionRefused(Rejection.Reason.TOO_MANY_ROOMS, refusal);
            }
            room = new Room(cmd.getRoom(), limits.retainedMessages());
            rooms.put(room.name, room);
            firstSeqView.put(room.name, room.firstSeq());
            roomsCreatedByUser.computeIfAbsent(user, u -> new ArrayDeque<>()).addLast(now);
        }
        boolean wasMember = room.members().contains(user);
        if (previous != null) {
            // Same device again (a reconnect): it replaces its old session, silently if nothing
            // visible changes, and the old connection, if still open here, is dropped.
            boolean sameSeat = previous.username.equals(user) && previous.room.equals(room.name);
            removeSession(previous, !sameSeat, now);
            ClientConnection old = connections.get(previous.id);
            if (old != null) {
                old.close("replaced by a new connection of the same device");
            }
        }
        if (!cmd.getResume()) {
            sends.remove(clientId); // a fresh client instance numbers its sends from 1 again
        }
        Session s = new Session(sid, user, clientId, room.name, cmd.getNodeId(), cmd.getLeaderEpoch());
        if (cmd.getLeaderEpoch() < epoch) {
            s.detachedSinceMs = now; // opened by a leader that has since been replaced
            detached.add(s);
        }
        sessions.put(sid, s);
        sessionByClient.put(clientId, s);
        devicesByUser.computeIfAbsent(user, u -> new LinkedHashSet<>()).add(clientId);
        boolean joined = room.enter(sid, user) && !wasMember;
        membersView.put(room.name, room.members());

        ClientSends clientSends = sends.get(clientId);
        long lastApplied = clientSends == null ? 0 : clientSends.highest();
        ClientConnection c = connections.get(sid);
        if (c != null) {
            welcome(c, cmd, room, sid, lastApplied);
        }
        if (joined) {
            announce(room, user, Presence.Kind.JOINED, now, sid);
        }
        return new ChatOutcome.SessionOpened(sid, room.lastSeq(), lastApplied);
    }

    /**
     * Why {@code user} may not create a room at leader time {@code now}, or null if it may. Only
     * the command's own time is used, so every replica decides the same.
     */
    private String roomRefusal(String user, long now) {
        if (rooms.size() >= limits.maxRooms()) {
            return "This server already holds " + rooms.size() + " rooms, the most it allows; join an existing room.";
        }
        ArrayDeque<Long> created = roomsCreatedByUser.get(user);
        if (created != null) {
            while (!created.isEmpty() && now - created.peekFirst() >= ChatLimits.ROOM_CREATION_WINDOW_MS) {
                created.removeFirst();
            }
            if (created.isEmpty()) {
                roomsCreatedByUser.remove(user);
            } else if (created.size() >= limits.maxRoomsPerUserPerMinute()) {
                long waitS = Math.max(1, (ChatLimits.ROOM_CREATION_WINDOW_MS - (now - created.peekFirst()) + 999) / 1000);
                return user + " has created " + created.size() + " rooms in the last minute, the most allowed;"
                        + " join an existing room, or try again in " + waitS + " s.";
            }
        }
        return null;
    }

    /**
     * Writes the Welcome and, if the history does not fit in one frame a client accepts, the
     * rest of it as Deliver frames right behind it. Welcome.room_seq then names the last
     * message the Welcome carries, so the client takes the Delivers that follow as new. A
     * resume is served from wherever the messages are, the in-memory window or the durable
     * store, as far back as retention keeps them; the store is read as it is sent.
     */
    private void welcome(ClientConnection c, OpenSession cmd, Room room, String sid, long lastApplied) {
        List<String> members = room.members();
        if (members.size() > WELCOME_MAX_MEMBERS) {
            members = members.subList(0, WELCOME_MAX_MEMBERS);
        }
        long firstAvailable = firstAvailable(room);
        long from;
        if (cmd.getResume()) {
            from = Math.max(cmd.getResumeAfter() + 1, firstAvailable);
        } else {
            int n = cmd.hasHistoryCount() ? Math.min(cmd.getHistoryCount(), MAX_JOIN_HISTORY) : limits.historySize();
            from = Math.max(room.lastSeq() - n + 1, firstAvailable);
        }
        List<Deliver> head = new ArrayList<>();
        int[] budget = {WELCOME_MAX_BYTES - members.size() * 36};
        boolean[] more = {false};
        forEachMessage(room, from, room.lastSeq(), d -> {
            budget[0] -= d.getSerializedSize() + 8;
            if (budget[0] < 0 && !head.isEmpty()) {
                more[0] = true;
                return false;
            }
            head.add(d);
            return true;
        });
        long roomSeq = more[0] ? head.get(head.size() - 1).getRoomSeq() : room.lastSeq();
        Welcome.Builder w = Welcome.newBuilder()
                .setSessionId(sid)
                .setRoom(room.name)
                .setRoomSeq(roomSeq)
                .setLastAppliedSendSeq(lastApplied)
                .setNodeId(nodeId)
                .addAllMembers(members)
                .setMaxMessageBytes(limits.maxMessageBytes())
                .addAllHistory(head)
                .setFirstAvailableSeq(firstAvailable);
        if (cmd.getResume()) {
            w.setHistoryTruncated(room.lostAfter(cmd.getResumeAfter(), firstAvailable));
        }
        c.send(envelope().setWelcome(w).build());
        if (more[0]) {
            forEachMessage(room, roomSeq + 1, room.lastSeq(), d -> {
                c.send(envelope().setDeliver(d).build());
                return true;
            });
        }
    }

    /** The oldest message of a room a client can still get. */
    private long firstAvailable(Room room) {
        return store != null ? room.firstSeq() : Math.max(room.firstSeq(), room.firstInMemory());
    }

    /**
     * Hands the room's messages {@code from..through} to {@code consumer} in order until it
     * returns false: the older part from the durable store, the rest from the in-memory window.
     */
    private void forEachMessage(Room room, long from, long through, java.util.function.Predicate<Deliver> consumer) {
        long inMemory = room.firstInMemory();
        if (store != null && from < inMemory) {
            flushStore();
            boolean[] go = {true};
            store.scan(room.name, from, Math.min(through, inMemory - 1), d -> go[0] = consumer.test(d));
            if (!go[0]) {
                return;
            }
        }
        for (Deliver d : room.after(Math.max(from, inMemory) - 1)) {
            if (d.getRoomSeq() > through || !consumer.test(d)) {
                return;
            }
        }
    }

    /**
     * Moves the room's retention boundary for leader time {@code now} and, once enough is past
     * it (or on an age sweep, {@code flush}), deletes that range from the store.
     */
    private void retain(Room room, long now, boolean flush) {
        long before = room.firstSeq();
        long first = room.retain(retention.maxMessages(), retention.maxAgeMs(), now);
        if (first != before) {
            firstSeqView.put(room.name, first);
        }
        long gone = first - 1;
        long pending = gone - room.deletedThrough();
        if (store != null && pending > 0 && (flush || pending >= retention.deleteStep())) {
            if (!inStore()) {
                store.deleteThrough(room.name, gone);
            }
            room.deleted(gone);
        }
    }

    private ChatOutcome close(CloseSession cmd, long now) {
        Session s = sessions.get(cmd.getSessionId());
        if (s == null) {
            return DONE;
        }
        removeSession(s, true, now);
        if (cmd.getReason() == CloseSession.Reason.LEFT) {
            sends.remove(s.clientId); // a clean leave: the next instance of this device starts at 1
        } else {
            ClientConnection c = connections.get(s.id);
            if (c != null) {
                c.close("session closed (" + cmd.getReason() + ")");
            }
        }
        return DONE;
    }

    private ChatOutcome post(PostMessage cmd, long now) {
        Session s = sessions.get(cmd.getSessionId());
        String clientId = s != null ? s.clientId : cmd.getClientId();
        long seq = cmd.getClientSeq();
        ClientConnection c = connections.get(cmd.getSessionId());
        ClientSends clientSends = sends.remove(clientId);
        if (clientSends != null) {
            sends.put(clientId, clientSends); // most recently used last
        }
        if (clientSends != null && clientSends.applied(seq)) {
            long original = clientSends.roomSeqOf(seq);
            if (original == 0) {
                // Below the highest applied send but not remembered: applied too long ago, or never
                // applied because the server refused it (rate limit) while later ones went through.
                String sentence = "send " + seq + " is older than the sends this server remembers (applied too long"
                        + " ago, or refused earlier); it is not applied again.";
                if (c != null) {
                    c.send(envelope().setSendFailed(SendFailed.newBuilder().setSeq(seq)
                            .setReason(SendFailed.Reason.BAD_SEQUENCE).setMessage(sentence)).build());
                }
                return new ChatOutcome.PostRefused(seq, SendFailed.Reason.BAD_SEQUENCE, sentence);
            }
            if (c != null) {
                c.send(envelope().setAck(Ack.newBuilder().setSeq(seq).setRoomSeq(original).setServerTimeMs(now))
                        .build());
            }
            return new ChatOutcome.MessagePosted(seq, original, true);
        }
        if (s == null) {
            String sentence = "your session has ended; reconnect to keep chatting.";
            if (c != null) {
                c.sendAndClose(envelope().setSendFailed(SendFailed.newBuilder().setSeq(seq)
                        .setReason(SendFailed.Reason.SESSION_CLOSED).setMessage(sentence)).build(),
                        "send on a closed session");
            }
            return new ChatOutcome.PostRefused(seq, SendFailed.Reason.SESSION_CLOSED, sentence);
        }
        if (clientSends == null) {
            clientSends = new ClientSends(limits.dedupWindow());
            sends.put(clientId, clientSends);
            evictForgottenClients();
        }
        Room room = rooms.get(s.room);
        Deliver d = room.append(s.username, cmd.getText(), now, retention.markSpacingMs());
        if (store != null && !inStore()) {
            store.put(d);
        }
        retain(room, now, false);
        clientSends.record(seq, d.getRoomSeq());
        if (c != null) {
            c.send(envelope().setAck(Ack.newBuilder().setSeq(seq).setRoomSeq(d.getRoomSeq()).setServerTimeMs(now))
                    .build());
        }
        ClientEnvelope delivery = envelope().setDeliver(d).build();
        for (String member : room.sessionIds) {
            ClientConnection mc = connections.get(member);
            if (mc != null) {
                mc.send(delivery);
            }
        }
        return new ChatOutcome.MessagePosted(seq, d.getRoomSeq(), false);
    }

    private void evictForgottenClients() {
        var it = sends.keySet().iterator();
        while (sends.size() > ChatLimits.MAX_REMEMBERED_CLIENTS && it.hasNext()) {
            String oldest = it.next();
            if (!sessionByClient.containsKey(oldest)) {
                it.remove();
            }
        }
    }

    private ChatOutcome detach(String sessionId, long now) {
        Session s = sessions.get(sessionId);
        if (s != null && s.attached()) {
            s.detachedSinceMs = now;
            detached.add(s);
        }
        return DONE;
    }

    private ChatOutcome expire(ExpireSessions cmd, long now) {
        List<Session> due = new ArrayList<>();
        for (Session s : detached) {
            if (s.detachedSinceMs >= cmd.getDetachedBeforeMs()) {
                break;
            }
            due.add(s);
        }
        for (Session s : due) {
            log.debug("session {} expired", s);
            removeSession(s, true, now);
            ClientConnection c = connections.get(s.id);
            if (c != null) {
                c.close("session expired");
            }
        }
        return DONE;
    }

    private ChatOutcome leaderChanged(LeaderChanged cmd, long now) {
        if (cmd.getEpoch() <= epoch) {
            return DONE;
        }
        epoch = cmd.getEpoch();
        // Every session of an earlier epoch starts a full grace period now, detached ones included:
        // while no leader served, their clients could not resume, so that time must not count
        // against them (a full-cluster restart longer than the grace would otherwise expire
        // every session that dropped before it, and their users would be seen to leave and join).
        for (Session s : sessions.values()) {
            if (s.openedEpoch < epoch) {
                if (!s.attached()) {
                    detached.remove(s); // ordered by detachedSinceMs: out before it changes
                }
                s.detachedSinceMs = now;
                detached.add(s);
            }
        }
        return DONE;
    }

    private void removeSession(Session s, boolean announceLeave, long now) {
        sessions.remove(s.id);
        sessionByClient.remove(s.clientId, s);
        Set<String> devices = devicesByUser.get(s.username);
        if (devices != null) {
            devices.remove(s.clientId);
            if (devices.isEmpty()) {
                devicesByUser.remove(s.username);
            }
        }
        if (!s.attached()) {
            detached.remove(s);
        }
        Room room = rooms.get(s.room);
        boolean last = room.leave(s.id, s.username);
        membersView.put(room.name, room.members());
        if (last && announceLeave) {
            announce(room, s.username, Presence.Kind.LEFT, now, null);
        }
    }

    private void announce(Room room, String username, Presence.Kind kind, long now, String exceptSession) {
        ClientEnvelope presence = envelope().setPresence(Presence.newBuilder()
                .setRoom(room.name).setUsername(username).setKind(kind).setServerTimeMs(now)).build();
        for (String member : room.sessionIds) {
            if (member.equals(exceptSession)) {
                continue;
            }
            ClientConnection c = connections.get(member);
            if (c != null) {
                c.send(presence);
            }
        }
    }

    private static ClientEnvelope.Builder envelope() {
        return ClientEnvelope.newBuilder().setProtocolVersion(VERSION);
    }

    /** Usernames in a room, sorted; safe from any thread (a copy published by the apply thread). */
    public List<String> members(String room) {
        return membersView.getOrDefault(room, List.of());
    }

    /**
     * A page of {@code room}'s durable history: up to {@code limit} messages before
     * {@code beforeSeq} (0: the newest), oldest first, within {@code maxBytes}; any thread.
     *
     * @return the page, or null when the room does not exist or no durable store is kept
     */
    public HistoryPage history(String room, long beforeSeq, int limit, int maxBytes) {
        Long first = firstSeqView.get(room);
        if (first == null || store == null) {
            return null;
        }
        List<Deliver> messages = store.before(room, first, beforeSeq == 0 ? Long.MAX_VALUE : beforeSeq, limit,
                maxBytes);
        boolean more = !messages.isEmpty() && messages.get(0).getRoomSeq() > first;
        return new HistoryPage(messages, first, more);
    }

    /**
     * {@link #history} on the store's reader threads; completes with null when the room does
     * not exist or no durable store is kept, exceptionally when the read fails or too many wait.
     */
    public CompletableFuture<HistoryPage> historyAsync(String room, long beforeSeq, int limit, int maxBytes) {
        if (store == null) {
            return CompletableFuture.completedFuture(null);
        }
        return store.readAsync(() -> history(room, beforeSeq, limit, maxBytes));
    }

    /** What {@link #history} read: messages oldest first, the oldest retained sequence, whether older ones exist. */
    public record HistoryPage(List<Deliver> messages, long firstAvailableSeq, boolean more) {}

    /** Bytes the durable history takes (RocksDB's SST files and memtables), 0 without a store; any thread. */
    public long historyBytes() {
        return store == null ? 0 : store.sizeBytes();
    }

    /** Leader time of the oldest detachment still open, or {@link Long#MAX_VALUE}; any thread. */
    public long earliestDetachedMs() {
        return earliestDetachedMs;
    }

    /** Index of the last applied entry; any thread. */
    public long appliedIndex() {
        return appliedIndexView;
    }

    /**
     * A canonical text of the whole state, equal on two nodes exactly when their states are
     * equal. For tests and diagnostics; call it on the apply thread or when no apply runs.
     */
    public String describe() {
        return describe(true);
    }

    /**
     * {@link #describe()}, with or without each room's retained messages. Without them it is the
     * state a snapshot restores exactly; the messages come from the store, whose checkpoint may
     * be a few entries ahead of the snapshot (and so lack messages that retention deleted in
     * those entries) until the log after the snapshot is replayed.
     */
    public String describe(boolean withMessages) {
        StringBuilder out = new StringBuilder();
        out.append("applied=").append(appliedIndex).append(" epoch=").append(epoch)
                .append(" nextAgeSweep=").append(nextAgeSweepMs).append('\n');
        for (Room r : new TreeMap<>(rooms).values()) {
            r.describe(out);
            if (!withMessages) {
                continue;
            }
            forEachMessage(r, firstAvailable(r), r.lastSeq(), d -> {
                out.append("  ").append(d.getRoomSeq()).append(' ').append(d.getSender()).append(' ')
                        .append(d.getServerTimeMs()).append(' ').append(d.getText()).append('\n');
                return true;
            });
        }
        for (Session s : new TreeMap<>(sessions).values()) {
            out.append("session ").append(s).append('\n');
        }
        out.append("devices ").append(new TreeMap<>(devicesByUser)).append('\n');
        out.append("rooms created ").append(new TreeMap<>(roomsCreatedByUser)).append('\n');
        sends.forEach((client, cs) -> out.append("sends ").append(client).append(' ').append(cs).append('\n'));
        out.append("detached ").append(detached.stream().map(s -> s.id).toList()).append('\n');
        return out.toString();
    }
}
