/**
 * The pure consensus core: ring election and Raft-style log replication as a deterministic
 * state machine ({@link io.messenger.cluster.core.ReplicationCore}) with no threads, sockets,
 * clock or I/O; the runtime ({@code ClusterNode}) drives it and performs its {@link
 * io.messenger.cluster.core.Ready} output.
 */
package io.messenger.cluster.core;
