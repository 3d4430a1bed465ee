package io.messenger.server.chat;

import io.messenger.proto.chat.ClientSendsSnapshot;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What one client id has sent: the highest applied send sequence and, for a window of
 * recent sequences, the room sequence each got, so a resend is acknowledged with its
 * original place instead of being applied twice.
 */
final class ClientSends {

    private final int window;
    private long highest;
    private final LinkedHashMap<Long, Long> roomSeqBySeq;

    ClientSends(int window) {
        this.window = window;
        this.roomSeqBySeq = new LinkedHashMap<>(16, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Long> eldest) {
                return size() > ClientSends.this.window;
            }
        };
    }

    long highest() {
        return highest;
    }

    boolean applied(long seq) {
        return seq <= highest;
    }

    /** The room sequence of an applied send, or 0 if it fell out of the window. */
    long roomSeqOf(long seq) {
        Long roomSeq = roomSeqBySeq.get(seq);
        return roomSeq == null ? 0 : roomSeq;
    }

    void record(long seq, long roomSeq) {
        highest = Math.max(highest, seq);
        roomSeqBySeq.put(seq, roomSeq);
    }

    ClientSendsSnapshot snapshot(String clientId) {
        ClientSendsSnapshot.Builder b = ClientSendsSnapshot.newBuilder().setClientId(clientId).setHighest(highest);
        roomSeqBySeq.forEach((seq, roomSeq) -> b.addSeqs(seq).addRoomSeqs(roomSeq));
        return b.build();
    }

    static ClientSends restore(ClientSendsSnapshot s, int window) {
        ClientSends sends = new ClientSends(window);
        sends.highest = s.getHighest();
        for (int i = 0; i < s.getSeqsCount(); i++) {
            sends.roomSeqBySeq.put(s.getSeqs(i), s.getRoomSeqs(i));
        }
        return sends;
    }

    @Override
    public String toString() {
        return "highest=" + highest + " window=" + roomSeqBySeq;
    }
}
