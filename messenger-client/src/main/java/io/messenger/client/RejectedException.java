package io.messenger.client;

import io.messenger.proto.client.Rejection;

/** The cluster refused the session for good (too many devices, invalid name or token, unsupported version, ...). */
public class RejectedException extends MessengerException {

    private final Rejection.Reason reason;

    public RejectedException(Rejection.Reason reason, String sentence) {
        super(sentence == null || sentence.isBlank() ? "The server refused the connection: " + reason + "." : sentence);
        this.reason = reason;
    }

    /** Why the cluster refused. */
    public Rejection.Reason reason() {
        return reason;
    }

    /** Whether the server speaks only TLS on that port and this client connected in plaintext. */
    public boolean isTlsRequired() {
        return reason == Rejection.Reason.TLS_REQUIRED;
    }

    /** Whether the token was refused: missing, invalid, expired, for another user, or not for this room. */
    public boolean isAuthenticationFailure() {
        return reason == Rejection.Reason.UNAUTHENTICATED || reason == Rejection.Reason.ROOM_NOT_ALLOWED;
    }
}
