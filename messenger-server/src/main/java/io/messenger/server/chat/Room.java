package io.messenger.server.chat;

import io.messenger.proto.chat.RoomSnapshot;
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
    private long lastTimeMs;
    private final int retainedLimit;
    private final ArrayDeque<Deliver> retained = new ArrayDeque<>();
    /** Session ids in the room, in the order they joined (delivery order across sessions). */
    final Set<String> sessionIds = new LinkedHashSet<>();
    /** Sessions per username: a user is "in" the room while this count is positive. */
    private final TreeMap<String, Integer> userSessions = new TreeMap<>();
    /** The oldest room sequence retention still keeps (older ones are deleted); lastSeq + 1 when none. */
    private long firstSeq = 1;
    /** Messages up to here are deleted from the durable store too (deletes lag firstSeq, in steps). */
    private long deletedThrough;
    /**
     * Age marks, oldest first: {seq, leader time} of the first message at least one mark spacing
     * after the previous mark. Age retention deletes whole spans between marks, so its grain is
     * the spacing; built only from applied commands, so every node deletes the same.
     */
    private final ArrayDeque<long[]> marks = new ArrayDeque<>();

    Room(String name, int retainedLimit) {
        this.name = name;
        this.retainedLimit = retainedLimit;
    }

    long lastSeq() {
        return lastSeq;
    }

    long firstSeq() {
        return firstSeq;
    }

    long deletedThrough() {
        return deletedThrough;
    }

    /** Sequence of the oldest message in the in-memory window, lastSeq + 1 when it is empty. */
    long firstInMemory() {
        return retained.isEmpty() ? lastSeq + 1 : retained.peekFirst().getRoomSeq();
    }

    /**
     * Moves the retention boundary: at most {@code maxMessages} (0 = unlimited) and nothing
     * older than {@code maxAgeMs} (0 = unlimited) before leader time {@code now}.
     *
     * @return the new first retained sequence (unchanged if nothing is past retention)
     */
    long retain(long maxMessages, long maxAgeMs, long now) {
        long first = firstSeq;
        if (maxMessages > 0 && lastSeq - first + 1 > maxMessages) {
            first = lastSeq - maxMessages + 1;
        }
        if (maxAgeMs > 0) {
            long cutoff = now - maxAgeMs;
            // A span [mark i, mark i+1) is wholly older than mark i+1's time; the last span ends
            // with the room's last message.
            while (!marks.isEmpty()) {
                long[] head = marks.pollFirst();
                long[] next = marks.peekFirst();
                boolean past = next == null ? lastTimeMs < cutoff : next[1] <= cutoff;
                if (!past) {
                    marks.addFirst(head);
                    break;
                }
                first = Math.max(first, next == null ? lastSeq + 1 : next[0]);
            }
        }
        if (first == firstSeq) {
            return firstSeq;
        }
        firstSeq = first;
        if (first > lastSeq) {
            marks.clear();
        }
        while (marks.size() > 1) {
            long[] head = marks.pollFirst();
            if (marks.peekFirst()[0] > first) {
                marks.addFirst(head);
                break;
            }
        }
        long[] head = marks.peekFirst();
        if (head != null && head[0] < first) {
            marks.pollFirst();
            marks.addFirst(new long[] {first, head[1]});
        }
        while (!retained.isEmpty() && retained.peekFirst().getRoomSeq() < first) {
            retained.removeFirst();
        }
        return firstSeq;
    }

    /** Records that the durable store deleted everything up to {@code seq}. */
    void deleted(long seq) {
        deletedThrough = Math.max(deletedThrough, seq);
    }

    Deliver append(String sender, String text, long timeMs, long markSpacingMs) {
        Deliver d = append(sender, text, timeMs);
        long[] last = marks.peekLast();
        if (last == null || timeMs >= last[1] + markSpacingMs) {
            marks.addLast(new long[] {d.getRoomSeq(), timeMs});
        }
        lastTimeMs = timeMs;
        return d;
    }

    private Deliver append(String sender, String text, long timeMs) {
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

    /** True when messages after {@code roomSeq} exist that are gone from {@code firstAvailable} on. */
    boolean lostAfter(long roomSeq, long firstAvailable) {
        return roomSeq + 1 < firstAvailable && roomSeq < lastSeq;
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

    /**
     * The room as a snapshot records it (apply thread). With {@code withWindow} the in-memory
     * window goes in too (its messages are immutable, so shared, not copied); without it, the
     * window is left to the durable store that holds the same messages, and a restored room
     * starts with an empty window that fills again from new messages.
     */
    RoomSnapshot snapshot(boolean withWindow) {
        RoomSnapshot.Builder b = RoomSnapshot.newBuilder().setName(name).setLastSeq(lastSeq).setLastTimeMs(lastTimeMs)
                .setFirstSeq(firstSeq).setDeletedThrough(deletedThrough).addAllSessionIds(sessionIds);
        if (withWindow) {
            b.addAllWindow(retained);
        }
        for (long[] m : marks) {
            b.addMarkSeqs(m[0]).addMarkTimesMs(m[1]);
        }
        userSessions.forEach((user, n) -> b.addUsers(user).addUserSessions(n));
        return b.build();
    }

    /** A room as {@link #snapshot(boolean)} recorded it. */
    static Room restore(RoomSnapshot r, int retainedLimit) {
        Room room = new Room(r.getName(), retainedLimit);
        room.lastSeq = r.getLastSeq();
        room.lastTimeMs = r.getLastTimeMs();
        room.firstSeq = r.getFirstSeq();
        room.deletedThrough = r.getDeletedThrough();
        for (int i = 0; i < r.getMarkSeqsCount(); i++) {
            room.marks.addLast(new long[] {r.getMarkSeqs(i), r.getMarkTimesMs(i)});
        }
        room.retained.addAll(r.getWindowList());
        while (room.retained.size() > retainedLimit) {
            room.retained.removeFirst();
        }
        room.sessionIds.addAll(r.getSessionIdsList());
        for (int i = 0; i < r.getUsersCount(); i++) {
            room.userSessions.put(r.getUsers(i), r.getUserSessions(i));
        }
        return room;
    }

    /** The room's state, without its messages (the caller lists those from wherever they are kept). */
    void describe(StringBuilder out) {
        out.append("room ").append(name).append(" seq=").append(lastSeq).append(" first=").append(firstSeq)
                .append(" deleted=").append(deletedThrough).append(" lastTime=").append(lastTimeMs)
                .append(" marks=").append(marks.stream().map(m -> m[0] + "@" + m[1]).toList())
                .append(" users=").append(userSessions).append(" sessions=").append(sessionIds).append('\n');
    }
}
