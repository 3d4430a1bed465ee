package io.messenger.server.chat;

import io.messenger.proto.client.ClientEnvelope;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A connection double that remembers what the state machine wrote to it. */
final class RecordingConnection implements ClientConnection {

    final List<ClientEnvelope> frames = new CopyOnWriteArrayList<>();
    volatile String closedBecause;

    @Override
    public void send(ClientEnvelope envelope) {
        frames.add(envelope);
    }

    @Override
    public void sendAndClose(ClientEnvelope envelope, String reason) {
        frames.add(envelope);
        closedBecause = reason;
    }

    @Override
    public void close(String reason) {
        closedBecause = reason;
    }

    List<ClientEnvelope.BodyCase> kinds() {
        return frames.stream().map(ClientEnvelope::getBodyCase).toList();
    }

    List<ClientEnvelope> of(ClientEnvelope.BodyCase kind) {
        return frames.stream().filter(f -> f.getBodyCase() == kind).toList();
    }

    boolean closed() {
        return closedBecause != null;
    }
}
