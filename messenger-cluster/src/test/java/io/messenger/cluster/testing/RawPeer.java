package io.messenger.cluster.testing;

import io.messenger.proto.peer.PeerEnvelope;
import io.messenger.proto.peer.PeerProtocolVersion;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;

/**
 * A hand-driven peer connection over a plain socket, for tests that play a stranger or a
 * misbehaving member against a real node: it writes and reads length-prefixed envelopes.
 */
public final class RawPeer implements AutoCloseable {

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;

    public RawPeer(int port) throws IOException {
        this(new Socket(InetAddress.getLoopbackAddress(), port));
    }

    /** Over an already connected socket, for example a TLS one. */
    public RawPeer(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(20_000);
        in = new DataInputStream(socket.getInputStream());
        out = new DataOutputStream(socket.getOutputStream());
    }

    /** An envelope of the current protocol version from {@code from} at {@code epoch}. */
    public static PeerEnvelope.Builder envelope(int from, long epoch) {
        return PeerEnvelope.newBuilder()
                .setProtocolVersion(PeerProtocolVersion.PEER_PROTOCOL_V1_VALUE)
                .setFrom(from)
                .setEpoch(epoch);
    }

    public void send(PeerEnvelope envelope) throws IOException {
        byte[] bytes = envelope.toByteArray();
        out.writeInt(bytes.length);
        out.write(bytes);
        out.flush();
    }

    /** The next envelope, or {@code null} once the node closed the connection. */
    public PeerEnvelope read() throws IOException {
        try {
            int length = in.readInt();
            byte[] bytes = new byte[length];
            in.readFully(bytes);
            return PeerEnvelope.parseFrom(bytes);
        } catch (EOFException e) {
            return null;
        }
    }

    /** Reads until the node closes the connection; fails if it is still open after the socket timeout. */
    public void awaitClosedByNode() throws IOException {
        try {
            while (read() != null) {
                // draining whatever the node still sends before closing
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the node kept the connection open", e);
        } catch (java.net.SocketException e) {
            // reset by the node: closed as well
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
