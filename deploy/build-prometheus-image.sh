#!/usr/bin/env bash
# Builds a Prometheus image from local parts only: the host's prometheus binary (Debian's package,
# `apt-get install prometheus`; .ci/prometheus.sh install does it), the shared libraries it loads
# (found with ldd; Debian's build needs only libc), its web assets, /etc/passwd with `nobody`, and a
# world-writable /prometheus for the data. The tree is imported into an empty image, then checked
# with `prometheus --version` inside it. No registry is involved.
#
#   deploy/build-prometheus-image.sh [image-tag]     # default: messenger/prometheus:local
#
# Exit status 0: the image exists (built now, or already built from the same binary); non-zero with
# one line on stderr saying why it cannot be built. deploy/cluster.sh uses it to decide whether
# `make deploy` also starts the `prometheus` service.
set -euo pipefail

TAG=${1:-messenger/prometheus:local}
BIN=${PROMETHEUS_BIN:-$(command -v prometheus || true)}

fail() { echo "build-prometheus-image: $*" >&2; exit 1; }

[ -n "$BIN" ] && [ -x "$BIN" ] || fail "no prometheus binary on the PATH (as root on Debian: apt-get install prometheus, or .ci/prometheus.sh install)"
command -v docker >/dev/null || fail "docker CLI not found"
docker info >/dev/null 2>&1 || fail "no Docker engine answers"

BIN=$(readlink -f "$BIN")
version=$("$BIN" --version 2>&1 | head -n 1)
digest=$(sha256sum "$BIN" | cut -c1-16)
if [ "$(docker image inspect -f '{{index .Config.Labels "messenger.prometheus.binary"}}' "$TAG" 2>/dev/null || true)" = "$digest" ]; then
  echo "build-prometheus-image: $TAG is up to date ($version)"
  exit 0
fi

WORK=$(mktemp -d /tmp/messenger-prometheus-image.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOTFS=$WORK/rootfs
mkdir -p "$ROOTFS"/{bin,etc/prometheus,usr/lib/x86_64-linux-gnu,usr/lib64,usr/share/prometheus,tmp,prometheus}
ln -s usr/lib "$ROOTFS/lib"
ln -s usr/lib64 "$ROOTFS/lib64"
chmod 1777 "$ROOTFS/tmp" "$ROOTFS/prometheus"
cp "$BIN" "$ROOTFS/bin/prometheus"

# The libraries the binary loads (none for a static Go build), and the dynamic loader.
ldd "$BIN" 2>/dev/null | awk '/=> \// { print $3 } /^[ \t]*\/[^ ]+ \(/ { print $1 }' | sort -u | while read -r lib; do
  real=$(readlink -f "$lib")
  case "$lib" in
    */ld-linux-x86-64.so.2) dest=$ROOTFS/usr/lib64/ld-linux-x86-64.so.2 ;;
    *) dest=$ROOTFS/usr/lib/x86_64-linux-gnu/$(basename "$lib") ;;
  esac
  cp "$real" "$dest"
done
if [ -e "$ROOTFS/usr/lib64/ld-linux-x86-64.so.2" ]; then
  ln -sf ../../lib64/ld-linux-x86-64.so.2 "$ROOTFS/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
fi
# Debian's build serves its web UI from here (the API works without it).
if [ -d /usr/share/prometheus/web ]; then
  cp -r /usr/share/prometheus/web "$ROOTFS/usr/share/prometheus/"
fi
for d in consoles console_libraries; do
  [ -d "/etc/prometheus/$d" ] && cp -r "/etc/prometheus/$d" "$ROOTFS/etc/prometheus/"
done

cat >"$ROOTFS/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/prometheus
nobody:x:65534:65534:nobody:/prometheus:/bin/prometheus
PASSWD
cat >"$ROOTFS/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
echo 'hosts: files dns' >"$ROOTFS/etc/nsswitch.conf"

echo "build-prometheus-image: importing $(du -sh "$ROOTFS" | cut -f1) ($version) as $TAG"
tar -C "$ROOTFS" --numeric-owner --owner=0 --group=0 -c . | docker import \
  --change 'USER 65534:65534' \
  --change 'WORKDIR /prometheus' \
  --change 'EXPOSE 9090' \
  --change 'VOLUME ["/prometheus"]' \
  --change "LABEL messenger.prometheus.binary=$digest" \
  --change 'ENTRYPOINT ["/bin/prometheus"]' \
  --change 'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", "--web.listen-address=0.0.0.0:9090"]' \
  --message "Prometheus from the host's binary ($version)" \
  - "$TAG" >/dev/null
if ! docker run --rm "$TAG" --version >"$WORK/check.log" 2>&1; then
  echo "build-prometheus-image: the image does not run; removing $TAG:" >&2
  cat "$WORK/check.log" >&2
  docker image rm "$TAG" >/dev/null 2>&1 || true
  exit 1
fi
echo "build-prometheus-image: built $TAG ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
