#!/usr/bin/env bash
# Chooses the Java runtime base image for deploy/Dockerfile, makes sure it exists locally and
# prints its name on stdout (progress goes to stderr). Order of preference:
#   1. $JRE_IMAGE, if set (used as given; pulled by `docker build` if missing);
#   2. the normal base, eclipse-temurin:17-jre, if it is already present;
#   3. the local jlink base, messenger/jre-base:17, if present and built by the current recipe
#      (its label holds the digest of deploy/build-local-jre-image.sh);
#   4. the normal base, if it can be pulled (skipped when MESSENGER_NO_PULL=1);
#   5. the local jlink base, built now with deploy/build-local-jre-image.sh.
set -euo pipefail

NORMAL=eclipse-temurin:17-jre
LOCAL=messenger/jre-base:17
HERE=$(cd "$(dirname "$0")" && pwd)

if [ -n "${JRE_IMAGE:-}" ]; then
  echo "$JRE_IMAGE"
  exit 0
fi
present() { docker image inspect "$1" >/dev/null 2>&1; }
# The local base is reused only when it was built by the current deploy/build-local-jre-image.sh.
recipe() { sha256sum "$HERE/build-local-jre-image.sh" | cut -c1-16; }
local_current() {
  [ "$(docker image inspect -f '{{ index .Config.Labels "io.messenger.jre-base.recipe" }}' "$LOCAL" 2>/dev/null)" = "$(recipe)" ]
}

if present "$NORMAL"; then
  echo "$NORMAL"
elif local_current; then
  echo "$LOCAL"
elif [ "${MESSENGER_NO_PULL:-0}" != 1 ] && timeout "${MESSENGER_PULL_TIMEOUT:-60}" docker pull -q "$NORMAL" >&2 2>/dev/null; then
  echo "$NORMAL"
else
  if present "$LOCAL"; then
    echo "jre-base: $LOCAL was built by an older deploy/build-local-jre-image.sh; building it again" >&2
  else
    echo "jre-base: $NORMAL cannot be pulled here; building $LOCAL from the local JDK" >&2
  fi
  "$HERE/build-local-jre-image.sh" "$LOCAL" >&2
  echo "$LOCAL"
fi
