package io.messenger.client;

import io.messenger.proto.client.SendFailed;

/** One message was refused (empty, too long, ...), by the client before sending or by the server; it will never be delivered. */
public class SendRejectedException extends MessengerException {

    private final SendFailed.Reason reason;

    public SendRejectedException(SendFailed.Reason reason, String sentence) {
        super(sentence);
        this.reason = reason;
    }

    /** Why the message was refused. */
    public SendFailed.Reason reason() {
        return reason;
    }
}
