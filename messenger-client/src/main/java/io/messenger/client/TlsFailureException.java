package io.messenger.client;

/**
 * TLS could not be set up with a server, for a reason another attempt would not change: its certificate is not
 * signed by the trusted CA, does not name the host as dialled, or the server does not speak TLS on that port.
 * {@link MessengerClient#connect()} fails with it at once, without retrying through the join timeout. (A plaintext
 * client on a port that speaks only TLS is told so by the server instead: a {@link RejectedException} with
 * {@code TLS_REQUIRED}.) The message is one sentence saying which it is.
 */
public final class TlsFailureException extends MessengerException {

    public TlsFailureException(String sentence) {
        super(sentence);
    }
}
