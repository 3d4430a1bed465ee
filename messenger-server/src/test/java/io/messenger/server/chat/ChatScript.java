package io.messenger.server.chat;

import io.messenger.proto.chat.ChatCommand;
import io.messenger.proto.chat.CloseSession;
import io.messenger.proto.chat.DetachSession;
import io.messenger.proto.chat.ExpireSessions;
import io.messenger.proto.chat.LeaderChanged;
import io.messenger.proto.chat.OpenSession;
import io.messenger.proto.chat.PostMessage;
import java.util.ArrayList;
import java.util.List;

/**
 * Drives a {@link ChatStateMachine} with commands as a leader would, keeping the log so the
 * same commands can be replayed on another instance.
 */
final class ChatScript {

    final ChatStateMachine machine;
    final LocalConnections connections = new LocalConnections();
    final List<ChatCommand> log = new ArrayList<>();
    long clock = 1_000;
    long epoch = 1;

    ChatScript(ChatLimits limits) {
        machine = new ChatStateMachine(1, limits, connections);
    }

    ChatScript() {
        this(ChatLimits.DEFAULTS);
    }

    /** With a durable history store (which the caller closes) and retention. */
    ChatScript(ChatLimits limits, HistoryStore store, HistoryRetention retention) {
        machine = new ChatStateMachine(1, limits, connections, store, retention);
    }

    Object apply(ChatCommand.Builder cmd) {
        ChatCommand c = cmd.setTimestampMs(clock).setProposer(1).build();
        log.add(c);
        Object outcome = machine.apply(log.size(), c.toByteString());
        machine.endOfBatch(log.size()); // as the applier does after each run of entries
        return outcome;
    }

    RecordingConnection connect(String sessionId) {
        RecordingConnection c = new RecordingConnection();
        connections.register(sessionId, c);
        return c;
    }

    Object open(String sessionId, String user, String room, String clientId) {
        return apply(ChatCommand.newBuilder().setOpenSession(OpenSession.newBuilder().setSessionId(sessionId)
                .setUsername(user).setRoom(room).setClientId(clientId).setNodeId(1).setLeaderEpoch(epoch)));
    }

    Object resume(String sessionId, String user, String room, String clientId, long after) {
        return apply(ChatCommand.newBuilder().setOpenSession(OpenSession.newBuilder().setSessionId(sessionId)
                .setUsername(user).setRoom(room).setClientId(clientId).setNodeId(1).setLeaderEpoch(epoch)
                .setResume(true).setResumeAfter(after)));
    }

    /** Connects and opens in one step, as the client handler does. */
    RecordingConnection join(String sessionId, String user, String room, String clientId) {
        RecordingConnection c = connect(sessionId);
        open(sessionId, user, room, clientId);
        return c;
    }

    Object post(String sessionId, String clientId, long seq, String text) {
        return apply(ChatCommand.newBuilder().setPostMessage(PostMessage.newBuilder().setSessionId(sessionId)
                .setClientId(clientId).setClientSeq(seq).setText(text)));
    }

    Object close(String sessionId, CloseSession.Reason reason) {
        return apply(ChatCommand.newBuilder().setCloseSession(
                CloseSession.newBuilder().setSessionId(sessionId).setReason(reason)));
    }

    Object detach(String sessionId) {
        return apply(ChatCommand.newBuilder().setDetachSession(DetachSession.newBuilder().setSessionId(sessionId)));
    }

    Object expire(long detachedBeforeMs) {
        return apply(ChatCommand.newBuilder().setExpireSessions(
                ExpireSessions.newBuilder().setDetachedBeforeMs(detachedBeforeMs)));
    }

    Object leaderChanged(int leader, long newEpoch) {
        epoch = newEpoch;
        return apply(ChatCommand.newBuilder().setLeaderChanged(
                LeaderChanged.newBuilder().setLeaderId(leader).setEpoch(newEpoch)));
    }
}
