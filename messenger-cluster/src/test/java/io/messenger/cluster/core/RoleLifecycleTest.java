package io.messenger.cluster.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.messenger.cluster.Role;
import java.util.List;
import org.junit.jupiter.api.Test;

class RoleLifecycleTest {

    @Test
    void onlyAnElectingNodeBecomesLeader() {
        assertThat(RoleLifecycle.allowed(Role.ELECTING, Role.LEADER)).isTrue();
        assertThat(RoleLifecycle.allowed(Role.BACKUP, Role.LEADER)).isFalse();
        assertThat(RoleLifecycle.allowed(Role.LEADER, Role.LEADER)).isFalse();
    }

    @Test
    void stoppedIsFinal() {
        RoleLifecycle role = new RoleLifecycle(Role.BACKUP);
        role.transition(Role.STOPPED);
        for (Role next : Role.values()) {
            assertThatThrownBy(() -> role.transition(next)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("STOPPED -> " + next);
        }
    }

    @Test
    void aLeaderStepsDownOrJoinsANewerElection() {
        RoleLifecycle role = new RoleLifecycle(Role.ELECTING);
        role.transition(Role.LEADER);
        role.transition(Role.ELECTING);
        role.transition(Role.LEADER);
        role.transition(Role.BACKUP);
        assertThat(role.current()).isEqualTo(Role.BACKUP);
    }

    @Test
    void configurationIsChecked() {
        List<Integer> members = List.of(1, 2, 3);
        assertThatThrownBy(() -> new CoreConfig(4, members, 1, 2, 1, 1, 1, "a"))
                .hasMessageContaining("not among the members");
        assertThatThrownBy(() -> new CoreConfig(1, List.of(1, 1), 1, 2, 1, 1, 1, "a"))
                .hasMessageContaining("unique");
        assertThatThrownBy(() -> new CoreConfig(1, members, 3, 5, 1, 1, 1, "a"))
                .hasMessageContaining("at least twice the heartbeat");
        assertThatThrownBy(() -> new CoreConfig(1, members, 1, 2, 0, 1, 1, "a"))
                .hasMessageContaining("max append entries");
        assertThatThrownBy(() -> new CoreConfig(1, members, 1, 2, 1, 1, 0, "a"))
                .hasMessageContaining("max inflight appends");
        assertThat(new CoreConfig(2, members, 1, 2, 1, 1, "a").maxInflightAppends())
                .isEqualTo(CoreConfig.DEFAULT_MAX_INFLIGHT_APPENDS);
        assertThat(new CoreConfig(2, List.of(1, 2, 3, 4, 5), 1, 2, 1, 1, 1, "a").majority()).isEqualTo(3);
    }
}
