package io.messenger.cluster.testing;

import com.google.protobuf.ByteString;
import io.messenger.cluster.StateMachine;
import java.util.ArrayList;
import java.util.List;

/**
 * A test state machine that records every applied command, in order, and answers each with
 * its log index. One instance per node incarnation, since a restarted node applies its log
 * again from index 1.
 */
public final class RecordingStateMachine implements StateMachine {

    private final List<String> applied = new ArrayList<>();
    private long lastIndex;

    @Override
    public synchronized Object apply(long index, ByteString command) {
        if (index <= lastIndex) {
            throw new AssertionError("index " + index + " applied after " + lastIndex);
        }
        lastIndex = index;
        applied.add(command.toStringUtf8());
        return index;
    }

    /** A copy of the commands applied so far, in order. */
    public synchronized List<String> applied() {
        return new ArrayList<>(applied);
    }

    public synchronized int count() {
        return applied.size();
    }
}
