package io.messenger.cluster.storage;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The sequencing rules behind durableIndex, replayed step by step without a writer thread. */
class DurabilityTrackerTest {

    @Test
    void anFsyncMakesDurableWhatWasQueuedBeforeIt() {
        DurabilityTracker tracker = new DurabilityTracker(0);
        tracker.appended(1, 1, 5);
        tracker.appended(2, 6, 9);
        assertThat(tracker.fsyncedThrough(1)).isTrue();
        assertThat(tracker.durableIndex()).isEqualTo(5);
        assertThat(tracker.fsyncedThrough(1)).isFalse();
        assertThat(tracker.fsyncedThrough(2)).isTrue();
        assertThat(tracker.durableIndex()).isEqualTo(9);
    }

    @Test
    void aLateFsyncOfTruncatedContentCannotVouchForItsReplacement() {
        DurabilityTracker tracker = new DurabilityTracker(0);
        tracker.appended(1, 1, 10);     // the writer drains this and starts its fsync...
        tracker.truncatedFrom(5);       // ...while the log replaces 5..10
        tracker.appended(3, 5, 8);
        assertThat(tracker.durableIndex()).isZero();

        assertThat(tracker.fsyncedThrough(1)).isTrue(); // the old fsync lands: it covers 1..4 only
        assertThat(tracker.durableIndex()).isEqualTo(4);
        assertThat(tracker.fsyncedThrough(3)).isTrue();
        assertThat(tracker.durableIndex()).isEqualTo(8);
    }

    @Test
    void truncationDropsTheDurableIndexAtOnce() {
        DurabilityTracker tracker = new DurabilityTracker(20); // recovered from disk
        tracker.truncatedFrom(15);
        assertThat(tracker.durableIndex()).isEqualTo(14);
        tracker.appended(7, 15, 15);
        tracker.truncatedFrom(15);      // the pending append vanishes entirely
        assertThat(tracker.fsyncedThrough(7)).isFalse();
        assertThat(tracker.durableIndex()).isEqualTo(14);
        tracker.truncatedFrom(1);
        assertThat(tracker.durableIndex()).isZero();
    }

    @Test
    void aTruncationInsideAPendingAppendKeepsItsHead() {
        DurabilityTracker tracker = new DurabilityTracker(0);
        tracker.appended(1, 1, 10);
        tracker.truncatedFrom(7);
        tracker.appended(3, 7, 12);
        assertThat(tracker.fsyncedThrough(2)).isTrue();
        assertThat(tracker.durableIndex()).isEqualTo(6);
        assertThat(tracker.fsyncedThrough(3)).isTrue();
        assertThat(tracker.durableIndex()).isEqualTo(12);
    }
}
