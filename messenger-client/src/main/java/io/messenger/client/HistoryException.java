package io.messenger.client;

import io.messenger.proto.client.HistoryReply;

/** The server refused a {@link MessengerClient#history} request; {@link #reason()} says why. */
public final class HistoryException extends MessengerException {

    private final HistoryReply.Error reason;

    public HistoryException(HistoryReply.Error reason, String sentence) {
        super(sentence);
        this.reason = reason;
    }

    public HistoryReply.Error reason() {
        return reason;
    }
}
