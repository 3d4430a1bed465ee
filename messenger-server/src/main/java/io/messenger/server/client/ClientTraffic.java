package io.messenger.server.client;

import io.messenger.proto.client.SendFailed;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * What this node's client connections did, counted for the metrics endpoint: sends accepted,
 * deduplicated and refused (by the protocol's bounded {@link SendFailed.Reason}), messages
 * delivered and clients disconnected for reading too slowly. Thread-safe and cheap to bump.
 */
public final class ClientTraffic {

    private final LongAdder sendsAccepted = new LongAdder();
    private final LongAdder sendsDeduplicated = new LongAdder();
    private final Map<SendFailed.Reason, LongAdder> sendsRejected = new EnumMap<>(SendFailed.Reason.class);
    private final LongAdder deliveries = new LongAdder();
    private final LongAdder slowConsumerDisconnects = new LongAdder();

    public ClientTraffic() {
        for (SendFailed.Reason reason : rejectionReasons()) {
            sendsRejected.put(reason, new LongAdder());
        }
    }

    /** The reasons a send can be refused with (the protocol's enum without its sentinels). */
    public static SendFailed.Reason[] rejectionReasons() {
        return java.util.Arrays.stream(SendFailed.Reason.values())
                .filter(r -> r != SendFailed.Reason.UNRECOGNIZED && r != SendFailed.Reason.REASON_UNSPECIFIED)
                .toArray(SendFailed.Reason[]::new);
    }

    void sendAccepted() {
        sendsAccepted.increment();
    }

    void sendDeduplicated() {
        sendsDeduplicated.increment();
    }

    void sendRejected(SendFailed.Reason reason) {
        LongAdder counter = sendsRejected.get(reason);
        if (counter != null) {
            counter.increment();
        }
    }

    void delivered() {
        deliveries.increment();
    }

    void slowConsumerDisconnected() {
        slowConsumerDisconnects.increment();
    }

    public long sendsAccepted() {
        return sendsAccepted.sum();
    }

    public long sendsDeduplicated() {
        return sendsDeduplicated.sum();
    }

    /** Sends refused for {@code reason}; 0 for a reason not in {@link #rejectionReasons()}. */
    public long sendsRejected(SendFailed.Reason reason) {
        LongAdder counter = sendsRejected.get(reason);
        return counter == null ? 0 : counter.sum();
    }

    /** Chat messages written to this node's clients, live or as history and resume backlog. */
    public long deliveries() {
        return deliveries.sum();
    }

    public long slowConsumerDisconnects() {
        return slowConsumerDisconnects.sum();
    }
}
