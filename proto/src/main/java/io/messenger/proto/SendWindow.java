package io.messenger.proto;

/**
 * The bound that keeps resends exactly-once, shared by the client library and the server: a
 * client keeps at most {@link #MAX_UNACKNOWLEDGED} sends unacknowledged, and a server remembers
 * at least that many send numbers per client id. Acks come back in send order and resends go out
 * in send order, so the sends a client still waits for are always its newest ones, and every
 * resend is one the server still recognises and acknowledges with its original room sequence.
 */
public final class SendWindow {

    /** Most sends a client keeps unacknowledged; the least a server's dedup window may hold. */
    public static final int MAX_UNACKNOWLEDGED = 1024;

    private SendWindow() {
    }
}
