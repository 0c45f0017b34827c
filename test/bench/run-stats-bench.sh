#!/usr/bin/env bash
# Stats benchmark: ListContainerStats against a private hanokd, with two running containers whose
# writable layers are empty, then with N empty files in the first one's writable layer (its
# overlay upper dir). hanokd keeps writable-layer usage from a background collector
# (stats_collect_period_ms, 2000 here), so the call must take the same time either way; the
# collector's figure for the layer is printed once it has walked the files.
# See test/bench/README.md ("Stats benchmark").
#
# usage: test/bench/run-stats-bench.sh [--files N] [--calls M] [--build DIR]
#   --files N   files to create in the writable layer (default 1000000)
#   --calls M   timed ListContainerStats calls per phase (default 200)
#   --build DIR the build directory (default build): DIR/cmd/hanokd, DIR/test/bench/hanok_stats_bench
# As root. Needs docker-registry, skopeo, containernetworking-plugins (/usr/lib/cni/loopback), python3.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
FIXTURES="$REPO/rootfs-fixtures"
FILES=1000000
CALLS=200
BUILD="$REPO/build"
PERIOD_MS=2000

die_usage() {
  echo "run-stats-bench.sh: $*" >&2
  echo "usage: $0 [--files N] [--calls M] [--build DIR]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --files) [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || die_usage "--files needs a number"; FILES=$2; shift 2 ;;
    --calls) [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || die_usage "--calls needs a number"; CALLS=$2; shift 2 ;;
    --build) [[ $# -ge 2 ]] || die_usage "--build needs a directory"; BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die_usage "unknown argument $1" ;;
  esac
done
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || die_usage "no build directory $BUILD"
[[ $(id -u) -eq 0 ]] || { echo "run-stats-bench.sh: needs root" >&2; exit 2; }
for tool in docker-registry skopeo python3 curl; do
  command -v "$tool" >/dev/null || { echo "run-stats-bench.sh: $tool is not installed" >&2; exit 2; }
done
CNI_BIN=/usr/lib/cni
[[ -x $CNI_BIN/loopback ]] || { echo "run-stats-bench.sh: no $CNI_BIN/loopback (containernetworking-plugins)" >&2; exit 2; }
BENCH="$BUILD/test/bench/hanok_stats_bench"
HANOKD="$BUILD/cmd/hanokd"
HANOKCTL="$BUILD/cmd/hanokctl"
for f in "$BENCH" "$HANOKD" "$HANOKCTL" "$BUILD/cmd/hanok" "$BUILD/cmd/hanok-monitor"; do
  [[ -x $f ]] || { echo "run-stats-bench.sh: no $f (cmake --build $BUILD --target hanok_stats_bench hanokd hanok hanok-monitor hanokctl)" >&2; exit 2; }
done

export HANOK_REGISTRY_HTTP_PORT=${HANOK_REGISTRY_HTTP_PORT:-5361}
export HANOK_REGISTRY_HTTPS_PORT=${HANOK_REGISTRY_HTTPS_PORT:-5362}
export HANOK_REGISTRY_AUTH_PORT=${HANOK_REGISTRY_AUTH_PORT:-5363}
REGISTRY="127.0.0.1:$HANOK_REGISTRY_HTTP_PORT"
IMAGE="$REGISTRY/hanok/busybox:latest"

exec 9>/run/hanok-stats-bench.lock
flock -n 9 || { echo "run-stats-bench.sh: another stats benchmark is running" >&2; exit 2; }

TMP=$(mktemp -d /var/tmp/hanok-stats-bench.XXXXXX)   # hanokd's root (the writable layers): disk
RUNSTATE=$(mktemp -d /run/hanok-stats-bench.XXXXXX)  # socket and runtime state
SOCK="$RUNSTATE/hanok.sock"
HANOKD_PID=""

source "$HERE/bench-lib.sh"

# hanokd in a session of its own (setsid): a Ctrl-C on the terminal reaches the driver and this
# script, not hanokd, which then stays up to remove the pods in cleanup. Started again on the same
# root and state, it recovers the pods there.
start_hanokd() {
  setsid "$HANOKD" --config "$TMP/hanok.toml" --socket "$SOCK" --root "$TMP/root" \
    --state "$RUNSTATE/state" --cni-conf-dir "$TMP/cni" --cni-bin-dir "$CNI_BIN" --log-level warning \
    >>"$TMP/hanokd.log" 2>&1 </dev/null &
  HANOKD_PID=$!
  for _ in $(seq 200); do
    [[ -S $SOCK ]] && return 0
    kill -0 "$HANOKD_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "hanokd did not start:" >&2
  tail -20 "$TMP/hanokd.log" >&2
  return 1
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n $HANOKD_PID ]]; then
    # Pods the driver left behind (interrupted, or failed) are stopped and removed, so that no
    # container outlives the benchmark; if hanokd died meanwhile, it is started again for that.
    if ! kill -0 "$HANOKD_PID" 2>/dev/null && [[ -n $(ls -A "$RUNSTATE/state/containers" 2>/dev/null) ]]; then
      rm -f "$SOCK"
      start_hanokd || true
    fi
    local pod
    for pod in $("$HANOKCTL" -r "unix://$SOCK" -t 600 pods 2>/dev/null | awk 'NR > 1 && $1 ~ /^[0-9a-f]+$/ {print $1}'); do
      echo "run-stats-bench.sh: removing pod $pod left behind" >&2
      "$HANOKCTL" -r "unix://$SOCK" -t 600 stopp "$pod" >/dev/null 2>&1 || true
      "$HANOKCTL" -r "unix://$SOCK" -t 600 rmp "$pod" >/dev/null 2>&1 || true
    done
    stop_pid "$HANOKD_PID" "--state $RUNSTATE/state" 30
  fi
  stop_fixture_registry
  unmount_under "$TMP" "$RUNSTATE"
  rm -rf "$TMP" "$RUNSTATE" 2>/dev/null || true
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the busybox test image in a local registry ----------------------------------------------
start_fixture_registry || exit 1

# --- hanokd: loopback-only CNI (a pod needs a network config), collector every 2 s --------------
mkdir -p "$TMP/cni"
echo '{"cniVersion": "0.4.0", "name": "bench-loopback", "plugins": [{"type": "loopback"}]}' \
  >"$TMP/cni/10-loopback.conflist"
# (stats_collect_period_ms is a top-level key: before the first table)
printf 'stats_collect_period_ms = %d\n\n[[registries]]\nprefix = "%s"\ninsecure = true\n' \
  "$PERIOD_MS" "$REGISTRY" >"$TMP/hanok.toml"
start_hanokd || exit 1

rss_kb() { awk "/^$2:/ {print \$2}" "/proc/$1/status" 2>/dev/null || echo 0; }
echo "ListContainerStats, 2 running containers, $CALLS calls per phase, collector period ${PERIOD_MS} ms"
echo "hanokd $HANOKD_PID, root $TMP/root ($(df --output=fstype "$TMP" | tail -1))"
status=0
"$BENCH" --socket "$SOCK" --image "$IMAGE" --root "$TMP/root" --files "$FILES" --calls "$CALLS" \
  --dir "$TMP" --daemon-pid "$HANOKD_PID" || status=$?
echo "hanokd at the end: RSS $(rss_kb "$HANOKD_PID" VmRSS) kB, peak $(rss_kb "$HANOKD_PID" VmHWM) kB"
if [[ $status -ne 0 ]]; then
  echo "run-stats-bench.sh: the driver failed (status $status); hanokd's log:" >&2
  tail -20 "$TMP/hanokd.log" >&2
  exit 1
fi
