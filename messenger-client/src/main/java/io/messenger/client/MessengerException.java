package io.messenger.client;

/** Base of the errors the client library reports; the message is one sentence a person can act on. */
public class MessengerException extends RuntimeException {

    public MessengerException(String message) {
        super(message);
    }

    public MessengerException(String message, Throwable cause) {
        super(message, cause);
    }
}
