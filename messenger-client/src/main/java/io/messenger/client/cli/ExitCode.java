package io.messenger.client.cli;

import io.messenger.client.RejectedException;
import io.messenger.client.TlsFailureException;

/** The CLI's process exit codes, and which failure maps to which. */
final class ExitCode {

    /** Everything sent was acknowledged, or the user quit. */
    static final int OK = 0;
    /** Could not join or lost the connection for good, or another error. */
    static final int ERROR = 1;
    /** Bad command line or a name the client or server refuses. */
    static final int USAGE = 2;
    /** The username is already online on the maximum number of devices. */
    static final int TOO_MANY_DEVICES = 3;
    /** Scripted mode: some input lines were refused or not acknowledged before --ack-timeout. */
    static final int UNACKNOWLEDGED = 4;
    /** The cluster refused the token: missing, invalid, expired, for another user, or not for this room. */
    static final int AUTH_FAILED = 5;
    /**
     * TLS could not be set up: the server's certificate is not signed by the {@code --tls-ca} CA or does not name
     * the host as given, the server does not speak TLS on that port, or it speaks only TLS and no {@code --tls-ca}
     * was given.
     */
    static final int TLS_FAILED = 6;

    private ExitCode() {
    }

    static int of(Throwable failure) {
        if (failure instanceof RejectedException r) {
            return switch (r.reason()) {
                case TOO_MANY_DEVICES -> TOO_MANY_DEVICES;
                case UNAUTHENTICATED, ROOM_NOT_ALLOWED -> AUTH_FAILED;
                case INVALID_USERNAME, INVALID_ROOM, INVALID_CLIENT_ID -> USAGE;
                case TLS_REQUIRED -> TLS_FAILED;
                default -> ERROR;
            };
        }
        if (failure instanceof TlsFailureException) {
            return TLS_FAILED;
        }
        return ERROR;
    }

    /** A timeout as a person writes it: {@code 300 ms}, {@code 30 s}. */
    static String describe(java.time.Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    /** One sentence for stderr, never a stack trace. */
    static String sentence(Throwable failure) {
        String message = failure.getMessage();
        if (message == null || message.isBlank()) {
            message = "Unexpected error: " + failure.getClass().getSimpleName() + ".";
        }
        return message;
    }
}
