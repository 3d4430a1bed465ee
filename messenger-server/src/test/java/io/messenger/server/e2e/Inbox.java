package io.messenger.server.e2e;

import io.messenger.client.ChatMessage;
import io.messenger.client.MessengerListener;
import io.messenger.client.PresenceEvent;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records what one client saw, for the end-to-end tests to assert on. */
final class Inbox implements MessengerListener {
    final List<ChatMessage> messages = new CopyOnWriteArrayList<>();
    final List<PresenceEvent> presence = new CopyOnWriteArrayList<>();

    @Override
    public void onMessage(ChatMessage m) {
        messages.add(m);
    }

    @Override
    public void onPresence(PresenceEvent e) {
        presence.add(e);
    }

    List<String> texts() {
        return messages.stream().map(ChatMessage::text).toList();
    }
}
