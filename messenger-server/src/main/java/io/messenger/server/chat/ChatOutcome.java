package io.messenger.server.chat;

import io.messenger.proto.client.Rejection;
import io.messenger.proto.client.SendFailed;

/**
 * What applying one chat command decided, handed back to the proposer's future. The
 * frames a client must see are written by the state machine itself; these only tell the
 * proposing connection how its request ended.
 */
public sealed interface ChatOutcome {

    /**
     * The session is open; its Welcome has been written if the connection is local.
     * {@code lastAppliedSendSeq} is the client id's highest applied send, as the Welcome said.
     */
    record SessionOpened(String sessionId, long roomSeq, long lastAppliedSendSeq) implements ChatOutcome {}

    /** The session was refused; the Rejection has been written and the connection closed. */
    record SessionRefused(Rejection.Reason reason, String sentence) implements ChatOutcome {}

    /** The send is in the room at {@code roomSeq}; {@code duplicate} if it was applied before. */
    record MessagePosted(long clientSeq, long roomSeq, boolean duplicate) implements ChatOutcome {}

    /** The send was not applied and never will be. */
    record PostRefused(long clientSeq, SendFailed.Reason reason, String sentence) implements ChatOutcome {}

    /** Session bookkeeping (close, detach, expiry, leader change) that answers nobody. */
    record Done() implements ChatOutcome {}
}
