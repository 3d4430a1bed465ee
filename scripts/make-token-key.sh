#!/usr/bin/env bash
# Creates the key pair that signs and verifies user tokens (ES256: EC P-256), with the server's own
# tooling (`server.app token --generate-ec-key`), so the files are exactly what the nodes read.
#
#   scripts/make-token-key.sh DIR
#
# In DIR it makes, only if missing (an existing pair is kept, so tokens already minted stay valid):
#   token-private.pem   the PKCS#8 private key that mints tokens: `server.app token --auth-private-key-file`.
#                       Mode 600; keep it with whatever issues tokens, never give it to a node.
#   token-public.pem    the public key the nodes verify with: --auth-public-key-file (MESSENGER_AUTH_PUBLIC_KEY_FILE).
#                       Mode 644.
#
# Environment: SERVER_JAR, the server's self-contained jar (default: the one `make build-server` and
# `make deploy` build, messenger-server/target/messenger-server-0.1.0-SNAPSHOT-app.jar).
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
DIR=$1
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVER_JAR=${SERVER_JAR:-$ROOT/messenger-server/target/messenger-server-0.1.0-SNAPSHOT-app.jar}
JAVA=(${JAVA_HOME:+$JAVA_HOME/bin/}java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto)
PRIVATE=$DIR/token-private.pem
PUBLIC=$DIR/token-public.pem

if [[ -s $PRIVATE && -s $PUBLIC ]]; then
    exit 0
fi
if [[ -e $PRIVATE || -e $PUBLIC ]]; then
    # Half a pair is useless (tokens from the old private key would not verify against a new public
    # one); say so rather than silently replacing a key someone may still mint with.
    echo "make-token-key: only one of $PRIVATE and $PUBLIC exists; remove it to create a fresh pair" >&2
    exit 1
fi
if [[ ! -f $SERVER_JAR ]]; then
    echo "make-token-key: $SERVER_JAR is missing; run: make build-server" >&2
    exit 1
fi

mkdir -p "$DIR"
if ! said=$("${JAVA[@]}" -jar "$SERVER_JAR" token --generate-ec-key "$PRIVATE" --public-key-out "$PUBLIC" 2>&1); then
    echo "make-token-key: creating the key pair failed: $said" >&2
    exit 1
fi
chmod 600 "$PRIVATE"
chmod 644 "$PUBLIC"
echo "make-token-key: created the ES256 key pair $PRIVATE (signs tokens) and $PUBLIC (nodes verify with it)"
