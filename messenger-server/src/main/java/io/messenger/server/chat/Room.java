package io.messenger.server.chat;

import io.messenger.proto.client.Deliver;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/** One chat room: its sequence, its retained messages and who is in it. Apply thread only. */
final class Room {

    final String name;
    private long lastSeq;
    private final int retainedLimit;
    private final ArrayDeque<Deliver> retained = new ArrayDeque<>();
    /** Session ids in the room, in the order they joined (delivery order across sessions). */
    final Set<String> sessionIds = new LinkedHashSet<>();
    /** Sessions per username: a user is "in" the room while this count is positive. */
    private final TreeMap<String, Integer> userSessions = new TreeMap<>();

    Room(String name, int retainedLimit) {
        this.name = name;
        this.retainedLimit = retainedLimit;
    }

    long lastSeq() {
        return lastSeq;
    }

    Deliver append(String sender, String text, long timeMs) {
        Deliver d = Deliver.newBuilder()
                .setRoom(name)
                .setRoomSeq(++lastSeq)
                .setSender(sender)
                .setText(text)
                .setServerTimeMs(timeMs)
                .build();
        retained.addLast(d);
        if (retained.size() > retainedLimit) {
            retained.removeFirst();
        }
        return d;
    }

    /** The last {@code n} retained messages, oldest first. */
    List<Deliver> last(int n) {
        int skip = Math.max(0, retained.size() - n);
        List<Deliver> out = new ArrayList<>(Math.min(n, retained.size()));
        Iterator<Deliver> it = retained.iterator();
        for (int i = 0; it.hasNext(); i++) {
            Deliver d = it.next();
            if (i >= skip) {
                out.add(d);
            }
        }
        return out;
    }

    /** Every retained message after {@code roomSeq}, oldest first. */
    List<Deliver> after(long roomSeq) {
        List<Deliver> out = new ArrayList<>();
        Iterator<Deliver> it = retained.descendingIterator();
        while (it.hasNext()) {
            Deliver d = it.next();
            if (d.getRoomSeq() <= roomSeq) {
                break;
            }
            out.add(d);
        }
        java.util.Collections.reverse(out);
        return out;
    }

    /** True when messages after {@code roomSeq} exist that the room no longer retains. */
    boolean lostAfter(long roomSeq) {
        long firstRetained = retained.isEmpty() ? lastSeq + 1 : retained.peekFirst().getRoomSeq();
        return roomSeq + 1 < firstRetained && roomSeq < lastSeq;
    }

    /** Adds a session; true if its user was not in the room before. */
    boolean enter(String sessionId, String username) {
        sessionIds.add(sessionId);
        return userSessions.merge(username, 1, Integer::sum) == 1;
    }

    /** Removes a session; true if it was its user's last one in the room. */
    boolean leave(String sessionId, String username) {
        sessionIds.remove(sessionId);
        Integer left = userSessions.computeIfPresent(username, (u, n) -> n == 1 ? null : n - 1);
        return left == null;
    }

    List<String> members() {
        return List.copyOf(userSessions.keySet());
    }

    void describe(StringBuilder out) {
        out.append("room ").append(name).append(" seq=").append(lastSeq)
                .append(" users=").append(userSessions).append(" sessions=").append(sessionIds).append('\n');
        for (Deliver d : retained) {
            out.append("  ").append(d.getRoomSeq()).append(' ').append(d.getSender()).append(' ')
                    .append(d.getServerTimeMs()).append(' ').append(d.getText()).append('\n');
        }
    }
}
