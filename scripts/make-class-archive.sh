#!/usr/bin/env bash
# Makes a class-data archive (AppCDS, JDK 13+) for the server launcher: starts one throw-away
# single-node cluster from it with -XX:ArchiveClassesAtExit, waits until it serves, stops it by
# its PID, and leaves <launcher>.jsa beside the launcher, which then maps the classes of a node's
# start from it instead of loading and verifying them (measured: a node's start to /health 1.8-2.6 s
# without, 1.4-1.55 s with). Best effort: if the training run fails, there is no archive and the
# launcher starts as before.
#
#   scripts/make-class-archive.sh build/server.app
set -uo pipefail
launcher=${1:?usage: make-class-archive.sh LAUNCHER}
archive=$launcher.jsa
work=$(mktemp -d)
pid=
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT
rm -f "$archive"
# Ports from a high range, away from the local cluster's (7001-9003 plus offsets).
base=$((40000 + RANDOM % 20000))
peer=$base client=$((base + 1)) admin=$((base + 2))
java -XX:ArchiveClassesAtExit="$archive" -jar "$launcher" \
    --node-id 1 --peers "1=127.0.0.1:$peer" --peer-host 127.0.0.1 --peer-port "$peer" \
    --client-host 127.0.0.1 --client-port "$client" --admin-host 127.0.0.1 --admin-port "$admin" \
    --data-dir "$work/data" >"$work/node.log" 2>&1 </dev/null &
pid=$!
for _ in $(seq 1 600); do
    if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$admin/health" 2>/dev/null; then
        kill -TERM "$pid"
        wait "$pid" 2>/dev/null
        pid=
        if [[ -s $archive ]]; then
            echo "built $archive"
            exit 0
        fi
        break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
echo "make-class-archive: no class-data archive for $launcher (the training node did not serve; see below);" \
    "it starts without one" >&2
grep -v '\[cds' "$work/node.log" | tail -5 >&2
rm -f "$archive"
exit 0
