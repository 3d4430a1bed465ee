package io.messenger.e2e;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Judges a {@link History} against the messenger's delivery contract, room by room: one order per room
 * (a room seq names one message, a message has one room seq), every acknowledged message in it exactly
 * once, every receiver's view a gap-free, increasing stretch of that order covering its whole stay, and
 * no message nobody sent. Unacknowledged sends may have landed, but never twice; the verdict names them,
 * for tests in which every send must be acknowledged.
 *
 * <p>Presence, as the server gives it: an announcement is applied from the log like a message but carries
 * no room seq, goes to every session in the room except the one that caused it, is written in log order
 * with the deliveries on each connection, and is never replayed on resume (a client that was disconnected
 * may miss some). A join is announced when a user's first session opens, a leave when its last one closes
 * (Bye, or expiry after the session grace period); a returning device (same client id) replaces its session
 * silently. Hence, for every receiver:
 * <ul>
 * <li>it never hears about its own user, nor about a user no client of the history was in the room as;</li>
 * <li>every leave it hears follows a close of a client of that user: sessions survive failover, so a leave
 *     without a close means a session expired, which tests with outages shorter than the grace period
 *     (15 s by default) must never cause;</li>
 * <li>every join it hears arrives exactly after the room seq that one of that user's clients was welcomed
 *     at (the receiver's last delivered room seq then equals the joiner's Welcome room seq): a resumed
 *     session announced again, or presence out of step with the messages, matches no welcome;</li>
 * <li>if it never lost its connection (so missed nothing): announcements about one user alternate between
 *     join and leave, it heard exactly one join of every single-device user that started connecting after it
 *     was welcomed, and exactly one leave of every such user that then closed while it stayed.</li>
 * </ul>
 * Breaches count in {@code presence}.
 */
public final class HistoryChecker {

    /** Descriptions kept per anomaly kind; the counts are always complete. */
    private static final int EXAMPLES = 20;

    /**
     * The outcome of one check.
     *
     * @param lost acknowledged messages missing from the order or from a receiver that should have them
     * @param missedDeliveries (receiver, room seq) pairs a receiver should have seen and did not
     * @param duplicated messages that occupy two room seqs, were acknowledged twice differently, or reached
     *     one receiver twice
     * @param outOfOrder deliveries that went backwards or came before room seq 1, and sends of one client
     *     acknowledged out of send order
     * @param phantoms distinct delivered messages that no client sent (or not as that sender, or not there)
     * @param conflicts room seqs that name two different messages (diverging orders)
     * @param presence presence announcements that break the rules in the class comment, or owed ones missing
     * @param unackedLanded unacknowledged sends that are in the order exactly once
     * @param unackedSends some unacknowledged sends, each with the client's reason or "never acknowledged"
     *     (not a breach of the contract by itself; {@code unacked} is the complete count)
     */
    public record Verdict(long sent, long acked, long unacked, long unackedLanded, long delivered, long lost,
            long missedDeliveries, long duplicated, long outOfOrder, long phantoms, long conflicts,
            long presence, List<String> anomalies, List<String> unackedSends) {

        /** True when nothing the contract forbids happened. */
        public boolean ok() {
            return lost == 0 && missedDeliveries == 0 && duplicated == 0 && outOfOrder == 0 && phantoms == 0
                    && conflicts == 0 && presence == 0;
        }

        /** One line of counts, for test output. */
        public String summary() {
            return "sent=" + sent + " acked=" + acked + " unacked=" + unacked + " (landed " + unackedLanded + ")"
                    + " delivered=" + delivered + " lost=" + lost + " missed-deliveries=" + missedDeliveries
                    + " duplicated=" + duplicated + " out-of-order=" + outOfOrder + " phantoms=" + phantoms
                    + " conflicts=" + conflicts + " presence=" + presence;
        }

        @Override
        public String toString() {
            StringBuilder text = new StringBuilder(summary());
            anomalies.forEach(a -> text.append(System.lineSeparator()).append("  ").append(a));
            unackedSends.forEach(u -> text.append(System.lineSeparator()).append("  unacknowledged: ").append(u));
            return text.toString();
        }
    }

    private final Map<String, List<String>> examples = new HashMap<>();
    private long lost;
    private long missed;
    private long duplicated;
    private long outOfOrder;
    private long phantoms;
    private long conflicts;
    private long presence;
    private long unackedLanded;

    private HistoryChecker() {
    }

    /** Checks every room of the history. */
    public static Verdict check(History history) {
        return new HistoryChecker().run(history);
    }

    private Verdict run(History history) {
        List<History.Send> sends = history.sends();
        List<History.Receiver> receivers = history.receivers();
        Set<String> rooms = new TreeSet<>();
        sends.forEach(s -> rooms.add(s.room()));
        receivers.forEach(r -> rooms.add(r.room()));
        Map<String, History.Send> byText = new HashMap<>();
        sends.forEach(s -> byText.put(s.text(), s));

        long delivered = 0;
        for (History.Receiver receiver : receivers) {
            delivered += receiver.deliveries().size();
        }
        for (String room : rooms) {
            checkRoom(room,
                    sends.stream().filter(s -> s.room().equals(room)).toList(),
                    receivers.stream().filter(r -> r.room().equals(room)).toList(),
                    byText);
        }
        checkSenderOrder(sends);

        long acked = sends.stream().filter(s -> s.roomSeq().isPresent()).count();
        List<String> anomalies = new ArrayList<>();
        examples.forEach((kind, list) -> list.forEach(e -> anomalies.add(kind + ": " + e)));
        Collections.sort(anomalies);
        List<String> unackedSends = sends.stream()
                .filter(s -> s.roomSeq().isEmpty())
                .limit(EXAMPLES)
                .map(s -> s.room() + ": " + quote(s.text()) + " by " + s.client() + " "
                        + s.failure().map(reason -> "failed: " + reason).orElse("was never acknowledged"))
                .toList();
        return new Verdict(sends.size(), acked, sends.size() - acked, unackedLanded, delivered, lost, missed,
                duplicated, outOfOrder, phantoms, conflicts, presence, List.copyOf(anomalies), unackedSends);
    }

    private void checkRoom(String room, List<History.Send> sends, List<History.Receiver> receivers,
            Map<String, History.Send> byText) {
        // The room's one order, assembled from every ack and every delivery; a claim that disagrees is a conflict.
        TreeMap<Long, String> order = new TreeMap<>();
        Set<Long> conflicting = new HashSet<>();
        Map<String, Set<Long>> placesOf = new HashMap<>();
        for (History.Send send : sends) {
            Optional<Long> seq = send.roomSeq();
            if (seq.isPresent()) {
                claim(room, order, conflicting, placesOf, seq.get(), send.text(), "ack to " + send.client());
            }
            for (long later : send.laterAcks()) {
                duplicated++;
                note("duplicated", room + ": " + quote(send.text()) + " acknowledged again at seq " + later
                        + " after seq " + seq.orElse(0L));
            }
        }
        Set<String> phantomTexts = new HashSet<>();
        for (History.Receiver receiver : receivers) {
            for (History.Delivery d : receiver.deliveries()) {
                History.Send send = byText.get(d.text());
                if (send == null || !send.user().equals(d.sender()) || !send.room().equals(room)) {
                    if (phantomTexts.add(d.roomSeq() + "/" + d.sender() + "/" + d.text())) {
                        phantoms++;
                        note("phantom", room + " seq " + d.roomSeq() + ": " + d.sender() + " " + quote(d.text())
                                + " seen by " + receiver.name() + " was never sent"
                                + (send == null ? "" : " by that user in that room"));
                    }
                    continue;
                }
                claim(room, order, conflicting, placesOf, d.roomSeq(), d.text(), "delivery to " + receiver.name());
            }
        }
        conflicts += conflicting.size();
        placesOf.forEach((text, places) -> {
            if (places.size() > 1) {
                duplicated++;
                note("duplicated", room + ": " + quote(text) + " occupies room seqs " + places);
            }
        });

        long roomEnd = order.isEmpty() ? 0 : order.lastKey();
        Set<String> lostTexts = new LinkedHashSet<>();
        for (History.Receiver receiver : receivers) {
            checkReceiver(room, receiver, order, roomEnd, byText, lostTexts);
        }
        // An acknowledged message no receiver saw is lost even when no receiver was bound to see it.
        Set<String> seenByAnyone = receivers.stream()
                .flatMap(r -> r.deliveries().stream())
                .map(History.Delivery::text)
                .collect(Collectors.toSet());
        if (!receivers.isEmpty()) {
            for (History.Send send : sends) {
                if (send.roomSeq().isPresent() && !seenByAnyone.contains(send.text()) && lostTexts.add(send.text())) {
                    note("lost", room + " seq " + send.roomSeq().get() + ": " + quote(send.text())
                            + " acknowledged to " + send.client() + " but delivered to nobody");
                }
            }
        }
        lost += lostTexts.size();
        checkPresence(room, receivers);

        for (History.Send send : sends) {
            if (send.roomSeq().isEmpty()) {
                int places = placesOf.getOrDefault(send.text(), Set.of()).size();
                if (places == 1) {
                    unackedLanded++;
                }
            }
        }
    }

    private void checkPresence(String room, List<History.Receiver> receivers) {
        Map<String, List<History.Receiver>> clientsOf = new HashMap<>();
        receivers.forEach(r -> clientsOf.computeIfAbsent(r.user(), u -> new ArrayList<>()).add(r));
        for (History.Receiver receiver : receivers) {
            boolean steady = receiver.connectionLosses() == 0 && receiver.joinedNanos() != 0;
            Map<String, Boolean> lastKind = new HashMap<>();
            for (History.Presence p : receiver.presence()) {
                String what = receiver.name() + " in " + room + " heard " + p.user() + (p.joined() ? " join" : " leave")
                        + " after seq " + p.afterSeq();
                List<History.Receiver> clients = clientsOf.getOrDefault(p.user(), List.of());
                if (p.user().equals(receiver.user())) {
                    presenceBreach(what + ": about its own user");
                } else if (clients.isEmpty()) {
                    presenceBreach(what + ": no client was ever in the room as that user");
                } else if (!p.joined() && clients.stream()
                        .noneMatch(c -> c.leftNanos() != 0 && c.leftNanos() <= p.atNanos())) {
                    presenceBreach(what + ": none of its clients had closed (an expired session after a failover?)");
                } else if (p.joined() && clients.stream().noneMatch(c -> c.joinSeq() == p.afterSeq()
                        && c.connectingNanos() <= p.atNanos())) {
                    presenceBreach(what + ": no client of that user was welcomed at that seq (welcomed at "
                            + clients.stream().map(History.Receiver::joinSeq).toList()
                            + "; announced again on resume, or out of step with the messages)");
                }
                Boolean before = lastKind.put(p.user(), p.joined());
                if (steady && before != null && before == p.joined()) {
                    presenceBreach(what + ": again, without the opposite announcement in between");
                }
            }
            if (steady && !receiver.left()) {
                checkOwedPresence(room, receiver, clientsOf);
            }
        }
    }

    /** A receiver that never lost its connection owes one announcement per later join and close. */
    private void checkOwedPresence(String room, History.Receiver receiver,
            Map<String, List<History.Receiver>> clientsOf) {
        clientsOf.forEach((user, clients) -> {
            if (user.equals(receiver.user()) || clients.size() != 1) {
                return; // several devices of one user share announcements; too loose to owe exact ones
            }
            History.Receiver other = clients.get(0);
            if (other.joinSeq() == History.UNKNOWN_JOIN || other.connectingNanos() <= receiver.joinedNanos()) {
                return;
            }
            List<History.Presence> heard = receiver.presence().stream().filter(p -> p.user().equals(user)).toList();
            long joins = heard.stream().filter(History.Presence::joined).count();
            if (joins != 1) {
                presenceBreach(receiver.name() + " in " + room + " stayed connected but heard " + user + " join "
                        + joins + " times, not once");
            }
            if (other.left()) {
                long leaves = heard.stream().filter(p -> !p.joined()).count();
                if (leaves != 1) {
                    presenceBreach(receiver.name() + " in " + room + " stayed connected but heard " + user
                            + " leave " + leaves + " times, not once");
                }
            }
        });
    }

    private void presenceBreach(String description) {
        presence++;
        note("presence", description);
    }

    private void claim(String room, TreeMap<Long, String> order, Set<Long> conflicting,
            Map<String, Set<Long>> placesOf, long seq, String text, String source) {
        String existing = order.putIfAbsent(seq, text);
        if (existing != null && !existing.equals(text)) {
            if (conflicting.add(seq)) {
                note("conflict", room + " seq " + seq + " is " + quote(existing) + " and also " + quote(text)
                        + " (" + source + ")");
            }
            return;
        }
        placesOf.computeIfAbsent(text, t -> new TreeSet<>()).add(seq);
    }

    private void checkReceiver(String room, History.Receiver receiver, TreeMap<Long, String> order, long roomEnd,
            Map<String, History.Send> byText, Set<String> lostTexts) {
        List<History.Delivery> deliveries = receiver.deliveries();
        Set<Long> seen = new HashSet<>();
        Set<String> seenTexts = new HashSet<>();
        long previous = -1;
        for (History.Delivery d : deliveries) {
            if (!seen.add(d.roomSeq()) || !seenTexts.add(d.text())) {
                duplicated++;
                note("duplicated", receiver.name() + " in " + room + " received seq " + d.roomSeq() + " "
                        + quote(d.text()) + " again");
                continue;
            }
            if (d.roomSeq() < 1) {
                outOfOrder++;
                note("out-of-order", receiver.name() + " in " + room + " received seq " + d.roomSeq()
                        + ", before the room's first seq 1");
                continue;
            }
            if (previous >= 0 && d.roomSeq() < previous) {
                outOfOrder++;
                note("out-of-order", receiver.name() + " in " + room + " received seq " + d.roomSeq()
                        + " after seq " + previous);
                continue;
            }
            previous = d.roomSeq();
        }
        // The stretch this receiver must have seen completely: from its join (or first delivery) to the room's
        // end if it stayed, else to the last message it saw.
        long joinSeq = receiver.joinSeq();
        long first = deliveries.stream().mapToLong(History.Delivery::roomSeq).min().orElse(Long.MAX_VALUE);
        long from = joinSeq != History.UNKNOWN_JOIN ? Math.min(joinSeq + 1, first) : first;
        long until = receiver.left() ? deliveries.stream().mapToLong(History.Delivery::roomSeq).max().orElse(0)
                : roomEnd;
        List<Long> holes = new ArrayList<>();
        for (long seq = Math.max(from, 1); seq <= until; seq++) {
            if (!seen.contains(seq)) {
                holes.add(seq);
                missed++;
                String text = order.get(seq);
                History.Send send = text == null ? null : byText.get(text);
                if (send != null && send.roomSeq().isPresent() && lostTexts.add(text)) {
                    note("lost", room + " seq " + seq + ": " + quote(text) + " acknowledged to " + send.client()
                            + " never reached " + receiver.name());
                }
            }
        }
        if (!holes.isEmpty()) {
            note("gap", receiver.name() + " in " + room + " (seqs " + from + ".." + until + ") is missing "
                    + abbreviate(holes));
        }
    }

    /** Each client's sends are acknowledged in the order it sent them (sends are numbered and resent in order). */
    private void checkSenderOrder(List<History.Send> sends) {
        Map<String, Long> lastAck = new HashMap<>();
        for (History.Send send : sends) {
            Optional<Long> seq = send.roomSeq();
            if (seq.isEmpty()) {
                continue;
            }
            Long before = lastAck.put(send.client(), seq.get());
            if (before != null && seq.get() <= before) {
                outOfOrder++;
                note("out-of-order", send.client() + "'s " + quote(send.text()) + " acknowledged at seq " + seq.get()
                        + ", not after its previous send's seq " + before);
            }
        }
    }

    private void note(String kind, String description) {
        List<String> list = examples.computeIfAbsent(kind, k -> new ArrayList<>());
        if (list.size() < EXAMPLES) {
            list.add(description);
        }
    }

    private static String quote(String text) {
        return "\"" + (text.length() > 40 ? text.substring(0, 40) + "…" : text) + "\"";
    }

    private static String abbreviate(List<Long> seqs) {
        if (seqs.size() <= 10) {
            return seqs.toString();
        }
        return seqs.subList(0, 10) + " and " + (seqs.size() - 10) + " more";
    }
}
