#!/usr/bin/env bash
# Builds the node image from deploy/Dockerfile and the server's self-contained jar.
#
#   deploy/build-image.sh [image-tag]      # default: messenger/server:dev
#
# The jar must exist (make deploy-image builds it). The JRE base is chosen by deploy/jre-base.sh:
# the normal one when present or pullable, else one built from the local JDK.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TAG=${1:-messenger/server:dev}
JAR=${SERVER_JAR:-$ROOT/messenger-server/target/messenger-server-0.1.0-SNAPSHOT-app.jar}
CONTEXT=$ROOT/messenger-server/target/docker-context

[ -f "$JAR" ] || { echo "build-image: $JAR is missing; run: make build-server" >&2; exit 1; }
base=$("$ROOT/deploy/jre-base.sh")

# A context with only the jar keeps the upload to the engine small.
rm -rf "$CONTEXT"
mkdir -p "$CONTEXT"
cp "$JAR" "$CONTEXT/messenger-server.jar"
revision=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "build-image: $TAG on $base (revision $revision)"
previous=$(docker image inspect -f '{{.Id}}' "$TAG" 2>/dev/null || true)
docker build -q --build-arg "JRE_IMAGE=$base" \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.title=messenger-server" \
  -t "$TAG" -f "$ROOT/deploy/Dockerfile" "$CONTEXT" >/dev/null
# The previous build of this tag is now untagged; drop it unless a container still uses it.
current=$(docker image inspect -f '{{.Id}}' "$TAG")
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
echo "build-image: built $TAG ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
