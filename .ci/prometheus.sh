#!/usr/bin/env bash
# Makes Prometheus (and promtool) available for the monitoring tests.
#
#   .ci/prometheus.sh install   # prometheus already on the PATH: nothing to do; else, as root on
#                               # Debian, install the distribution's `prometheus` package with apt
#                               # without starting its system service.
#
# Never fails the build: when Prometheus cannot be had it prints a loud WARNING and exits 0; the
# tests that need it (MonitoringFilesTest's promtool checks, PrometheusScrapeProcessTest) then skip
# with a reason. apt's output goes to $MESSENGER_PROMETHEUS_STATE/apt.log (default /tmp/messenger-prometheus).
set -u

STATE=${MESSENGER_PROMETHEUS_STATE:-/tmp/messenger-prometheus}

say() { echo "prometheus: $*"; }

warn() {
  echo "********************************************************************************" >&2
  echo "WARNING: prometheus: $*" >&2
  echo "WARNING: no Prometheus: the promtool checks and the Prometheus process test will be SKIPPED." >&2
  echo "********************************************************************************" >&2
}

present() { command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; }

prometheus_pids() { pgrep -x prometheus 2>/dev/null | sort; }

apt_install() {
  # Try from the cached package lists first; refresh them only when that fails.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >>"$STATE/apt.log" 2>&1 && return 0
  apt-get update -q >>"$STATE/apt.log" 2>&1 || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >>"$STATE/apt.log" 2>&1
}

install() {
  if present; then
    say "$(prometheus --version 2>&1 | head -n 1)"
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    warn "prometheus is not installed and this is not root, so it cannot be installed (apt-get install prometheus)"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    warn "prometheus is not installed and there is no apt-get to install it with"
    return 0
  fi
  mkdir -p "$STATE"
  # The tests start their own Prometheus; the package's service must not run. policy-rc.d tells
  # invoke-rc.d not to start services (Debian's documented switch); we only add one where none exists.
  local policy=/usr/sbin/policy-rc.d added_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=yes
  fi
  local before
  before=$(prometheus_pids)
  say "installing Debian's prometheus package"
  apt_install prometheus
  local rc=$?
  [ -n "$added_policy" ] && rm -f "$policy"
  # Should the package have started a daemon anyway, stop that one (by PID) and no other.
  local pid
  for pid in $(comm -13 <(echo "$before") <(prometheus_pids)); do
    say "stopping the prometheus service the package started (pid $pid)"
    kill "$pid" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ] || ! present; then
    warn "installing the prometheus package failed (see $STATE/apt.log)"
    return 0
  fi
  say "installed: $(prometheus --version 2>&1 | head -n 1)"
}

case "${1:-}" in
  install) install ;;
  *) echo "usage: $0 install" >&2; exit 2 ;;
esac
exit 0
