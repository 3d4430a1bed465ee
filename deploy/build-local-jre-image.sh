#!/usr/bin/env bash
# Builds a small Java 17 runtime image from local parts only, for machines that cannot pull the
# normal base image (eclipse-temurin:17-jre): a jlink'ed JRE from the local JDK 17, the shared
# libraries it needs (found with ldd), bash and a few coreutils (the Dockerfile's RUN step and the
# HEALTHCHECK use them), /etc/passwd and /etc/group. The tree is imported into an empty image.
#
#   deploy/build-local-jre-image.sh [image-tag]     # default tag: messenger/jre-base:17
#
# Environment: JDK_HOME (default: the JDK that `javac` on PATH belongs to; must be 17),
# JRE_MODULES (comma-separated; default below). The Dockerfile then builds unchanged with
# `--build-arg JRE_IMAGE=messenger/jre-base:17` (deploy/jre-base.sh chooses this automatically).
set -euo pipefail

TAG=${1:-messenger/jre-base:17}
# The image carries the digest of this script, so that deploy/jre-base.sh can tell an image built by an
# older recipe (one that lacked a library, say) and build it again instead of reusing it.
RECIPE=$(sha256sum "$0" | cut -c1-16)
# What the server and its libraries use (Netty: jdk.unsupported, java.logging, java.naming for DNS;
# logback: java.xml, java.naming, java.management), plus jcmd/JFR for diagnosing a live node.
JRE_MODULES=${JRE_MODULES:-java.base,java.logging,java.management,java.naming,java.sql,java.xml,jdk.unsupported,jdk.crypto.ec,jdk.naming.dns,jdk.management,jdk.management.jfr,jdk.jfr,jdk.jcmd,jdk.zipfs}
# Small tools the image carries besides java: a shell for RUN/HEALTHCHECK, and enough to look around.
TOOLS=(bash mkdir chown chmod cat ls rm sleep id env)

if [ -z "${JDK_HOME:-}" ]; then
  JDK_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
fi
if ! "$JDK_HOME/bin/java" -version 2>&1 | grep -q 'version "17'; then
  echo "build-local-jre-image: $JDK_HOME is not a JDK 17 (set JDK_HOME)" >&2
  exit 1
fi
command -v docker >/dev/null || { echo "build-local-jre-image: docker CLI not found" >&2; exit 1; }

WORK=$(mktemp -d /tmp/messenger-jre-base.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOTFS=$WORK/rootfs
JRE=$ROOTFS/opt/java/openjdk

echo "build-local-jre-image: jlink ($JRE_MODULES) from $JDK_HOME"
"$JDK_HOME/bin/jlink" --module-path "$JDK_HOME/jmods" --add-modules "$JRE_MODULES" \
  --strip-debug --strip-native-debug-symbols=exclude-debuginfo-files --no-header-files \
  --no-man-pages --compress=2 --generate-cds-archive --output "$JRE"
# The distribution's JDK links its trust store into /etc; no TLS is used, so drop a dangling link.
if [ -L "$JRE/lib/security/cacerts" ] && [ ! -e "$JRE/lib/security/cacerts" ]; then
  rm -f "$JRE/lib/security/cacerts"
fi

# Merged-/usr layout, as on current Debian and Ubuntu.
mkdir -p "$ROOTFS"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,etc,tmp,data}
ln -s usr/bin "$ROOTFS/bin"
ln -s usr/sbin "$ROOTFS/sbin"
ln -s usr/lib "$ROOTFS/lib"
ln -s usr/lib64 "$ROOTFS/lib64"
chmod 1777 "$ROOTFS/tmp"

for tool in "${TOOLS[@]}"; do
  cp -L "$(command -v "$tool")" "$ROOTFS/usr/bin/$tool"
done
ln -s bash "$ROOTFS/usr/bin/sh"

NATIVE_LIBS=(libstdc++.so.6 libgcc_s.so.1 libpthread.so.0 librt.so.1 libdl.so.2 libm.so.6)

# Every shared library the JRE and the tools load, copied to the same place in the image.
{
  find "$JRE" -type f \( -name '*.so' -o -perm -u+x \) -print
  for tool in "${TOOLS[@]}"; do echo "$ROOTFS/usr/bin/$tool"; done
} | while read -r elf; do
  file -L "$elf" 2>/dev/null | grep -q 'ELF' || continue
  ldd "$elf" 2>/dev/null | awk '/=> \// { print $3 } /^[ \t]*\/[^ ]+ \(/ { print $1 }'
done | {
  cat
  # The native libraries the server's jar unpacks at run time need more than the JRE does:
  # RocksDB's JNI library (the history store) links libstdc++, libgcc_s, libpthread, librt, libdl and libm.
  for name in "${NATIVE_LIBS[@]}"; do
    path=$(ldconfig -p | awk -v n="$name" '$1 == n && /x86-64/ { print $NF; exit }')
    [[ -n $path ]] || { echo "build-local-jre-image: $name is not installed here" >&2; exit 1; }
    echo "$path"
  done
} | sort -u | while read -r lib; do
  case "$lib" in
    "$ROOTFS"/*) continue ;;  # the JRE's own libraries (found through RPATH) are already there
  esac
  real=$(readlink -f "$lib")
  case "$lib" in
    */ld-linux-x86-64.so.2) dest=$ROOTFS/usr/lib64/ld-linux-x86-64.so.2 ;;
    *) dest=$ROOTFS/usr/lib/x86_64-linux-gnu/$(basename "$lib") ;;
  esac
  cp "$real" "$dest"
done
# The dynamic loader is also looked up under its multiarch name.
ln -sf ../../lib64/ld-linux-x86-64.so.2 "$ROOTFS/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"

cat >"$ROOTFS/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$ROOTFS/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo 'hosts: files dns' >"$ROOTFS/etc/nsswitch.conf"
rmdir "$ROOTFS/data"

echo "build-local-jre-image: importing $(du -sh "$ROOTFS" | cut -f1) as $TAG"
tar -C "$ROOTFS" --numeric-owner --owner=0 --group=0 -c . | docker import \
  --change 'ENV JAVA_HOME=/opt/java/openjdk' \
  --change 'ENV PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["java", "-version"]' \
  --change "LABEL io.messenger.jre-base.recipe=$RECIPE" \
  --message "Java 17 runtime (jlink: $JRE_MODULES) built from local parts" \
  - "$TAG" >/dev/null
# Check the image: java and the shell tools must run inside it with nothing from the host.
# The native libraries the server's jar loads must be there too (ls fails on a missing one).
libs=$(printf ' /usr/lib/x86_64-linux-gnu/%s' "${NATIVE_LIBS[@]}")
if ! docker run --rm "$TAG" java -version >"$WORK/check.log" 2>&1 \
   || ! docker run --rm "$TAG" sh -c "mkdir -p /tmp/x && ls /tmp/x && id -u && ls$libs" >>"$WORK/check.log" 2>&1; then
  echo "build-local-jre-image: the image does not work; removing $TAG:" >&2
  cat "$WORK/check.log" >&2
  docker image rm "$TAG" >/dev/null 2>&1 || true
  exit 1
fi
echo "build-local-jre-image: built $TAG ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
