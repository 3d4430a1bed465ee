package io.messenger.containers;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one room's clients sent and were delivered, checked against the exactly-once contract: nothing
 * acknowledged is lost, nothing is delivered twice, every client sees one and the same order.
 */
final class RoomHistory {

    /** One send and how it ended: acknowledged with a room seq, failed with a reason, or neither (yet). */
    record Sent(String sender, String text, Long roomSeq, String failure) {
    }

    /** One delivered line. */
    record Line(long roomSeq, String sender, String text) {
    }

    /**
     * What one client was delivered, in delivery order.
     *
     * @param complete the client was in the room before its first line and must see every line after it
     */
    record View(String client, boolean complete, List<Line> lines) {
    }

    private RoomHistory() {
    }

    /** Every breach in the history, one sentence each; empty when the contract held. */
    static List<String> violations(List<Sent> sends, List<View> views) {
        List<String> violations = new ArrayList<>();
        Map<Long, Line> order = new HashMap<>();
        for (View view : views) {
            checkView(view, order, violations);
        }
        Set<String> sentTexts = new HashSet<>();
        for (Sent sent : sends) {
            sentTexts.add(sent.text());
            if (sent.failure() != null) {
                violations.add("send '" + sent.text() + "' failed: " + sent.failure());
                continue;
            }
            if (sent.roomSeq() == null) {
                violations.add("send '" + sent.text() + "' was never acknowledged");
                continue;
            }
            Line at = order.get(sent.roomSeq());
            if (at == null) {
                violations.add("acknowledged '" + sent.text() + "' (room seq " + sent.roomSeq() + ") was delivered to nobody");
            } else if (!at.text().equals(sent.text()) || !at.sender().equals(sent.sender())) {
                violations.add("'" + sent.text() + "' was acknowledged as room seq " + sent.roomSeq() + ", which is '"
                        + at.text() + "' from " + at.sender());
            }
            for (View view : views) {
                if (view.complete() && view.lines().stream().noneMatch(line -> line.roomSeq() == sent.roomSeq())) {
                    violations.add("acknowledged '" + sent.text() + "' (room seq " + sent.roomSeq() + ") never reached "
                            + view.client());
                }
            }
        }
        order.values().stream()
                .filter(line -> !sentTexts.contains(line.text()))
                .forEach(line -> violations.add("room seq " + line.roomSeq() + " carries '" + line.text()
                        + "', which nobody sent"));
        return violations;
    }

    private static void checkView(View view, Map<Long, Line> order, List<String> violations) {
        Map<String, Long> seenTexts = new HashMap<>();
        long previous = 0;
        for (Line line : view.lines()) {
            if (line.roomSeq() <= previous) {
                violations.add(view.client() + " got room seq " + line.roomSeq() + " after " + previous
                        + " (duplicate or out of order)");
            } else if (view.complete() && line.roomSeq() != previous + 1) {
                violations.add(view.client() + " missed room seqs " + (previous + 1) + ".." + (line.roomSeq() - 1));
            }
            previous = Math.max(previous, line.roomSeq());
            Long earlier = seenTexts.put(line.text(), line.roomSeq());
            if (earlier != null) {
                violations.add(view.client() + " got '" + line.text() + "' twice (room seqs " + earlier + " and "
                        + line.roomSeq() + ")");
            }
            Line other = order.putIfAbsent(line.roomSeq(), line);
            if (other != null && !other.equals(line)) {
                violations.add("room seq " + line.roomSeq() + " is '" + other.text() + "' from " + other.sender()
                        + " for one client and '" + line.text() + "' from " + line.sender() + " for " + view.client());
            }
        }
    }
}
