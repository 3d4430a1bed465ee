package io.messenger.client;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** Remembers every callback, and the threads they ran on, for assertions. */
final class RecordingListener implements MessengerListener {

    final List<ChatMessage> messages = new CopyOnWriteArrayList<>();
    final List<PresenceEvent> presence = new CopyOnWriteArrayList<>();
    final List<ConnectionEvent> events = new CopyOnWriteArrayList<>();
    final Set<String> threads = ConcurrentHashMap.newKeySet();

    @Override
    public void onMessage(ChatMessage message) {
        threads.add(Thread.currentThread().getName());
        messages.add(message);
    }

    @Override
    public void onPresence(PresenceEvent event) {
        threads.add(Thread.currentThread().getName());
        presence.add(event);
    }

    @Override
    public void onConnectionState(ConnectionEvent event) {
        threads.add(Thread.currentThread().getName());
        events.add(event);
    }

    List<Long> seqs() {
        return messages.stream().map(ChatMessage::roomSeq).toList();
    }

    List<ConnectionState> states() {
        return events.stream().map(ConnectionEvent::state).toList();
    }

    boolean saw(ConnectionState state) {
        return states().contains(state);
    }
}
