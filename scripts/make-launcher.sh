#!/usr/bin/env bash
# Turns a self-contained jar into one executable file: a short shell header followed by
# the jar itself. The JVM finds the jar's index from the end of the file, so the header
# does not disturb it, and the launcher runs from any directory.
set -euo pipefail
jar=$1
out=$2
if [[ ! -f $jar ]]; then
    echo "make-launcher: $jar does not exist; build it first" >&2
    exit 1
fi
mkdir -p "$(dirname "$out")"
# A class-data archive made for the previous file no longer matches this one.
rm -f "$out.jsa"
{
    printf '#!/bin/sh\n'
    printf '# Launcher: this file is a shell header followed by a self-contained jar.\n'
    printf '# A class-data archive beside it (scripts/make-class-archive.sh) makes the JVM start faster;\n'
    printf '# one that does not match this file is ignored.\n'
    printf 'if [ -f "$0.jsa" ]; then\n'
    printf '  exec java -XX:SharedArchiveFile="$0.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off ${JAVA_OPTS:-} -jar "$0" "$@"\n'
    printf 'fi\n'
    printf 'exec java ${JAVA_OPTS:-} -jar "$0" "$@"\n'
    cat "$jar"
} >"$out.tmp"
chmod +x "$out.tmp"
mv "$out.tmp" "$out"
echo "built $out"
