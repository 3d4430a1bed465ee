/**
 * Embeddable client of the messenger cluster: {@link io.messenger.client.MessengerClient} joins a room,
 * follows the leader across failovers and delivers every message exactly once, in room order.
 */
package io.messenger.client;
