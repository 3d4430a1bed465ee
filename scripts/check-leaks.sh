#!/usr/bin/env bash
# Netty's paranoid leak detector only logs what it finds; this turns a logged leak into a
# failed build. Test output is redirected to target/surefire-reports/*-output.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
leaks=$(grep -rl --include='*-output.txt' 'LEAK: ' -- */target/surefire-reports 2>/dev/null || true)
if [[ -n $leaks ]]; then
    echo "Netty reported buffer leaks in:" >&2
    echo "$leaks" >&2
    grep -h -A3 'LEAK: ' $leaks | head -40 >&2
    exit 1
fi
echo "leak check: no Netty buffer leak reported"
