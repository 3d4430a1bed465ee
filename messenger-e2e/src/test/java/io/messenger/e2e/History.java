package io.messenger.e2e;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What every client of a test did and saw, recorded as it happens from any thread: sends (each with a
 * text unique in the history), their acknowledgements or failures, every delivery in arrival order, and
 * joins and leaves, presence announcements (each with the last room seq its receiver had seen when it
 * arrived, since presence carries no room seq of its own) and lost connections. {@link HistoryChecker}
 * judges it afterwards.
 */
public final class History {

    /** Room sequence of a join whose position the client did not report. */
    public static final long UNKNOWN_JOIN = -1;

    /** One send and what became of it. */
    public static final class Send {
        private final String client;
        private final String user;
        private final String room;
        private final String text;
        private final long sentNanos;
        private Long roomSeq;
        private long ackNanos;
        private final List<Long> laterAcks = new ArrayList<>();
        private String failure;

        Send(String client, String user, String room, String text, long sentNanos) {
            this.client = client;
            this.user = user;
            this.room = room;
            this.text = text;
            this.sentNanos = sentNanos;
        }

        public String client() {
            return client;
        }

        public String user() {
            return user;
        }

        public String room() {
            return room;
        }

        public String text() {
            return text;
        }

        public long sentNanos() {
            return sentNanos;
        }

        /** The room sequence the server acknowledged, if it did. */
        public synchronized Optional<Long> roomSeq() {
            return Optional.ofNullable(roomSeq);
        }

        public synchronized long ackNanos() {
            return ackNanos;
        }

        /** Why the client gave up on this send, if it did. */
        public synchronized Optional<String> failure() {
            return Optional.ofNullable(failure);
        }

        /** Room sequences of acknowledgements after the first (a correct system sends none). */
        public synchronized List<Long> laterAcks() {
            return List.copyOf(laterAcks);
        }

        synchronized void ack(long seq, long nanos) {
            if (roomSeq != null) {
                laterAcks.add(seq);
                return;
            }
            roomSeq = seq;
            ackNanos = nanos;
        }

        synchronized void fail(String reason) {
            failure = reason;
        }
    }

    /** One message as a receiver saw it. */
    public record Delivery(String room, long roomSeq, String sender, String text, boolean fromHistory,
            long atNanos) {
    }

    /**
     * One presence announcement as a receiver saw it.
     *
     * @param user who joined or left
     * @param joined true for a join, false for a leave
     * @param afterSeq the highest room seq the receiver had been delivered when it arrived (0 if none)
     */
    public record Presence(String user, boolean joined, long afterSeq, long atNanos) {
    }

    /** One client instance's session in one room and everything it received, in arrival order. */
    public static final class Receiver {
        private final String name;
        private final String user;
        private final String room;
        private long joinSeq = UNKNOWN_JOIN;
        private boolean left;
        private long connectingNanos;
        private long joinedNanos;
        private long leftNanos;
        private int connectionLosses;
        private final List<Delivery> deliveries = new ArrayList<>();
        private final List<Presence> presence = new ArrayList<>();

        Receiver(String name, String user, String room) {
            this.name = name;
            this.user = user;
            this.room = room;
        }

        public String name() {
            return name;
        }

        public String user() {
            return user;
        }

        public String room() {
            return room;
        }

        /** The room sequence at the moment the session opened, or {@link #UNKNOWN_JOIN}. */
        public synchronized long joinSeq() {
            return joinSeq;
        }

        /** Whether the client left before the end of the test (its view may stop early). */
        public synchronized boolean left() {
            return left;
        }

        public synchronized List<Delivery> deliveries() {
            return List.copyOf(deliveries);
        }

        /** Presence announcements received, in arrival order. */
        public synchronized List<Presence> presence() {
            return List.copyOf(presence);
        }

        /** When the client started connecting, 0 if not recorded. */
        public synchronized long connectingNanos() {
            return connectingNanos;
        }

        /** When its session opened (the Welcome arrived), 0 if it never did. */
        public synchronized long joinedNanos() {
            return joinedNanos;
        }

        /** When the client closed its session, 0 if it did not. */
        public synchronized long leftNanos() {
            return leftNanos;
        }

        /** How often the client lost its connection after opening its session (and so may have missed presence). */
        public synchronized int connectionLosses() {
            return connectionLosses;
        }

        /** The highest room sequence received so far, 0 if none. */
        public synchronized long lastSeq() {
            return deliveries.isEmpty() ? 0 : deliveries.get(deliveries.size() - 1).roomSeq();
        }

        synchronized void connecting() {
            connectingNanos = System.nanoTime();
        }

        synchronized void joined(long seq) {
            joinSeq = seq;
            joinedNanos = System.nanoTime();
        }

        synchronized void leave() {
            left = true;
            leftNanos = System.nanoTime();
        }

        synchronized void connectionLost() {
            connectionLosses++;
        }

        synchronized void addPresence(String user, boolean joined) {
            presence.add(new Presence(user, joined, lastSeq(), System.nanoTime()));
        }

        synchronized void add(Delivery delivery) {
            deliveries.add(delivery);
        }
    }

    /** A fault the test injected, for lining it up with what clients observed. */
    public record Fault(String description, long atNanos) {
    }

    private final Map<String, Send> sends = new LinkedHashMap<>();
    private final Map<String, Receiver> receivers = new LinkedHashMap<>();
    private final List<Fault> faults = new ArrayList<>();

    /** Declares a client instance before it connects (history can arrive before connect() completes). */
    public synchronized Receiver register(String client, String user, String room) {
        Receiver existing = receivers.get(client);
        if (existing != null) {
            throw new IllegalArgumentException("client name " + client + " is already registered");
        }
        Receiver receiver = new Receiver(client, user, room);
        receivers.put(client, receiver);
        return receiver;
    }

    /** The client is about to connect (a session it opens is announced after this moment). */
    public void connecting(String client) {
        receiver(client).connecting();
    }

    /** The client lost its connection and is reconnecting. */
    public void connectionLost(String client) {
        receiver(client).connectionLost();
    }

    /** The client's listener received a presence announcement about {@code user}. */
    public void presence(String client, String user, boolean joined) {
        receiver(client).addPresence(user, joined);
    }

    /** The session opened at this room sequence (the Welcome's room seq). */
    public void joined(String client, long roomSeq) {
        receiver(client).joined(roomSeq);
    }

    /** The client closed its session; its view may end before the room's. */
    public void left(String client) {
        receiver(client).leave();
    }

    /** Records a send about to be handed to the client; the text must be unique in the whole history. */
    public Send sent(String client, String text) {
        Receiver sender = receiver(client);
        Send send = new Send(client, sender.user(), sender.room(), text, System.nanoTime());
        synchronized (this) {
            if (sends.putIfAbsent(text, send) != null) {
                throw new IllegalArgumentException("send texts must be unique; repeated: " + text);
            }
        }
        return send;
    }

    /** The server acknowledged this send at this room sequence. */
    public void acked(String text, long roomSeq) {
        send(text).ack(roomSeq, System.nanoTime());
    }

    /** The client reported this send failed (it may still have landed). */
    public void failed(String text, String reason) {
        send(text).fail(reason);
    }

    /** The client's listener received a message. */
    public void delivered(String client, String room, long roomSeq, String sender, String text, boolean fromHistory) {
        receiver(client).add(new Delivery(room, roomSeq, sender, text, fromHistory, System.nanoTime()));
    }

    /** Notes a fault the test injected now. */
    public synchronized void fault(String description) {
        faults.add(new Fault(description, System.nanoTime()));
    }

    public synchronized List<Send> sends() {
        return List.copyOf(sends.values());
    }

    public synchronized List<Receiver> receivers() {
        return List.copyOf(receivers.values());
    }

    public synchronized List<Fault> faults() {
        return List.copyOf(faults);
    }

    public synchronized Receiver receiver(String client) {
        Receiver receiver = receivers.get(client);
        if (receiver == null) {
            throw new IllegalArgumentException("unregistered client " + client);
        }
        return receiver;
    }

    private synchronized Send send(String text) {
        Send send = sends.get(text);
        if (send == null) {
            throw new IllegalArgumentException("no send recorded with text " + text);
        }
        return send;
    }
}
