package io.messenger.cluster.core;

import io.messenger.cluster.Role;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The role of one core and the only ways it may change, checked at run time (after Ratis'
 * {@code LifeCycle}): an illegal change is a bug in the core and fails loudly.
 *
 * <pre>
 *              election timeout,              Elected(self)
 *              token of a newer epoch
 *   +--------+ ------------------> +----------+ ------------> +--------+
 *   | BACKUP |                     | ELECTING |               | LEADER |
 *   +--------+ <------------------ +----------+               +--------+
 *     ^   |     Elected(other),      |  ^  retry with a         |   |
 *     |   |     Append/Heartbeat     |  |  higher epoch         |   | token of a newer
 *     |   |     of the epoch         +--+                       |   | epoch while it has
 *     |   |                                                     |   | lost its majority
 *     |   |                                                     |   v
 *     |   |   newer epoch learned, majority lost                |  ELECTING
 *     +---|-----------------------------------------------------+
 *         |
 *         +-- BACKUP -> BACKUP: a new leader is adopted
 *
 *   any role --stop()--> STOPPED (final)
 * </pre>
 */
final class RoleLifecycle {

    private static final Map<Role, Set<Role>> ALLOWED = new EnumMap<>(Role.class);

    static {
        ALLOWED.put(Role.BACKUP, EnumSet.of(Role.BACKUP, Role.ELECTING, Role.STOPPED));
        ALLOWED.put(Role.ELECTING, EnumSet.of(Role.ELECTING, Role.BACKUP, Role.LEADER, Role.STOPPED));
        ALLOWED.put(Role.LEADER, EnumSet.of(Role.BACKUP, Role.ELECTING, Role.STOPPED));
        ALLOWED.put(Role.STOPPED, EnumSet.noneOf(Role.class));
    }

    private Role current;

    RoleLifecycle(Role initial) {
        this.current = initial;
    }

    Role current() {
        return current;
    }

    boolean is(Role role) {
        return current == role;
    }

    /** Whether the table allows {@code from -> to}. */
    static boolean allowed(Role from, Role to) {
        return ALLOWED.get(from).contains(to);
    }

    /**
     * Moves to {@code next}.
     *
     * @throws IllegalStateException if the table does not allow it
     */
    void transition(Role next) {
        if (!allowed(current, next)) {
            throw new IllegalStateException("illegal role change " + current + " -> " + next);
        }
        current = next;
    }
}
