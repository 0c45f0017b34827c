#!/usr/bin/env bash
# Pod start benchmark: the kubelet's path to a running container (RunPodSandbox, CreateContainer,
# StartContainer, ContainerStatus until RUNNING; then StopPodSandbox + RemovePodSandbox) over the
# CRI, for a private hanokd and a private containerd 1.6 (CRI plugin, runc, its pause image), both
# driven by the same client (hanok_pod_bench) in alternating rounds; then memory: hanokd idle,
# and per running container what each runtime adds (hanok: its monitor; containerd: its shim and
# the pod's pause), as RSS and PSS. See test/bench/README.md ("Pod benchmark").
#
# Then exec latency: N execs of `true` in a running container of each (the Exec call, the SPDY
# upgrade on its URL, the exit status on the error stream), alternating.
#
# usage: test/bench/run-pod-bench.sh [--rounds N] [--execs N] [--hold N] [--build DIR]
# As root. Needs containerd, runc, docker-registry, skopeo, containernetworking-plugins,
# python3 and cc; builds nothing of its own but the pause binary of containerd's sandbox image.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
FIXTURES="$REPO/rootfs-fixtures"
ROUNDS=20
HOLD=10
EXECS=100
BUILD="$REPO/build"

die_usage() {
  echo "run-pod-bench.sh: $*" >&2
  echo "usage: $0 [--rounds N] [--execs N] [--hold N] [--build DIR]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || die_usage "--rounds needs a number"; ROUNDS=$2; shift 2 ;;
    --execs) [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || die_usage "--execs needs a number"; EXECS=$2; shift 2 ;;
    --hold) [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || die_usage "--hold needs a number"; HOLD=$2; shift 2 ;;
    --build) [[ $# -ge 2 ]] || die_usage "--build needs a directory"; BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) die_usage "unknown argument $1" ;;
  esac
done
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || die_usage "no build directory $BUILD"
[[ $(id -u) -eq 0 ]] || { echo "run-pod-bench.sh: needs root" >&2; exit 2; }
for tool in containerd containerd-shim-runc-v2 runc docker-registry skopeo python3 cc; do
  command -v "$tool" >/dev/null || { echo "run-pod-bench.sh: $tool is not installed" >&2; exit 2; }
done
CNI_BIN=/usr/lib/cni
[[ -x $CNI_BIN/loopback ]] || { echo "run-pod-bench.sh: no $CNI_BIN/loopback (containernetworking-plugins)" >&2; exit 2; }
BENCH="$BUILD/test/bench/hanok_pod_bench"
HANOKD="$BUILD/cmd/hanokd"
for f in "$BENCH" "$HANOKD" "$BUILD/cmd/hanok" "$BUILD/cmd/hanok-monitor"; do
  [[ -x $f ]] || { echo "run-pod-bench.sh: no $f (cmake --build $BUILD)" >&2; exit 2; }
done

export HANOK_REGISTRY_HTTP_PORT=${HANOK_REGISTRY_HTTP_PORT:-5351}
export HANOK_REGISTRY_HTTPS_PORT=${HANOK_REGISTRY_HTTPS_PORT:-5352}
export HANOK_REGISTRY_AUTH_PORT=${HANOK_REGISTRY_AUTH_PORT:-5353}
REGISTRY="127.0.0.1:$HANOK_REGISTRY_HTTP_PORT"
IMAGE="$REGISTRY/hanok/busybox:latest"
PAUSE="$REGISTRY/hanok/pause:latest"

exec 9>/run/hanok-pod-bench.lock
flock -n 9 || { echo "run-pod-bench.sh: another pod benchmark is running" >&2; exit 2; }

TMP=$(mktemp -d /var/tmp/hanok-pod-bench.XXXXXX)
RUNSTATE=$(mktemp -d /run/hanok-pod-bench.XXXXXX)  # sockets and runtime state on tmpfs
PIDS=()

source "$HERE/bench-lib.sh"

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [[ -n "${HANOKD_PID:-}" ]] && stop_pid "$HANOKD_PID" "--state $RUNSTATE/hanok"
  [[ -n "${CONTAINERD_PID:-}" ]] && stop_pid "$CONTAINERD_PID" "--config $TMP/containerd/config.toml"
  stop_fixture_registry
  [[ -n "${BRIDGE:-}" ]] && { ip link del "$BRIDGE" 2>/dev/null || true; }
  unmount_under "$TMP" "$RUNSTATE"
  rm -rf "$TMP" "$RUNSTATE" 2>/dev/null || true
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- images: busybox from the fixtures, and a pause image for containerd's sandboxes ----------
mkdir -p "$TMP/pause-rootfs"
cc -O2 -static -o "$TMP/pause-rootfs/pause" "$HERE/pause.c"
python3 "$REPO/test/tools/make_layout.py" "$TMP/pause-layout" --from "$TMP/pause-rootfs" --cmd /pause
start_fixture_registry || exit 1
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$TMP/policy.json"
skopeo --policy "$TMP/policy.json" copy --quiet --dest-tls-verify=false \
  "oci:$TMP/pause-layout:latest" "docker://$PAUSE"

# --- the same network for both: a bridge of the benchmark's own, host-local addresses ----------
# (containerd's CNI library wants an eth0 in the result: loopback alone does not do for it)
BRIDGE=hnkbench$$
BRIDGE=${BRIDGE:0:15}
mkdir -p "$TMP/cni"
cat >"$TMP/cni/10-bench.conflist" <<EOF2
{"cniVersion": "0.4.0", "name": "hanok-bench", "plugins": [
  {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.232.0.0/16"}]], "dataDir": "$TMP/ipam"}},
  {"type": "loopback"}]}
EOF2

# --- hanokd --------------------------------------------------------------------------------------
mkdir -p "$TMP/hanok"
printf '[[registries]]\nprefix = "%s"\ninsecure = true\n' "$REGISTRY" >"$TMP/hanok/hanok.toml"
"$HANOKD" --config "$TMP/hanok/hanok.toml" --socket "$RUNSTATE/hanok.sock" --root "$TMP/hanok/root" \
  --state "$RUNSTATE/hanok" --cni-conf-dir "$TMP/cni" --cni-bin-dir "$CNI_BIN" --log-level warning \
  >"$TMP/hanokd.log" 2>&1 &
HANOKD_PID=$!

# --- containerd with its CRI plugin --------------------------------------------------------------
C="$TMP/containerd"
mkdir -p "$C/certs.d/$REGISTRY"
cat >"$C/certs.d/$REGISTRY/hosts.toml" <<EOF2
server = "http://$REGISTRY"
[host."http://$REGISTRY"]
  capabilities = ["pull", "resolve"]
EOF2
cat >"$C/config.toml" <<EOF2
version = 2
root = "$C/root"
state = "$RUNSTATE/containerd"
[grpc]
  address = "$RUNSTATE/containerd.sock"
[ttrpc]
  address = "$RUNSTATE/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$C/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE"
  disable_apparmor = true
  # as hanok does (root may lack CAP_SYS_RESOURCE: no oom_score_adj below the runtime's own)
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN"
    conf_dir = "$TMP/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$C/certs.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$RUNSTATE/runc"
        SystemdCgroup = false
EOF2
containerd --config "$C/config.toml" >"$TMP/containerd.log" 2>&1 &
CONTAINERD_PID=$!

for _ in $(seq 200); do
  [[ -S "$RUNSTATE/hanok.sock" && -S "$RUNSTATE/containerd.sock" ]] && break
  sleep 0.05
done
[[ -S "$RUNSTATE/hanok.sock" ]] || { echo "hanokd did not start:" >&2; tail "$TMP/hanokd.log" >&2; exit 1; }
[[ -S "$RUNSTATE/containerd.sock" ]] || { echo "containerd did not start:" >&2; tail "$TMP/containerd.log" >&2; exit 1; }
sleep 1  # containerd's CRI plugin comes up after its socket
HANOK_EP="unix://$RUNSTATE/hanok.sock"
CONTAINERD_EP="unix://$RUNSTATE/containerd.sock"

# --- memory of what is idle -------------------------------------------------------------------
rss_kb() { awk '/^VmRSS:/ {print $2}' /proc/"$1"/status 2>/dev/null || echo 0; }
pss_kb() { awk '/^Pss:/ {print $2}' /proc/"$1"/smaps_rollup 2>/dev/null || echo 0; }
HANOKD_IDLE_RSS=$(rss_kb "$HANOKD_PID")
CONTAINERD_IDLE_RSS=$(rss_kb "$CONTAINERD_PID")

# --- start latency ------------------------------------------------------------------------------
echo "pod + container start, $ROUNDS rounds each, alternating (busybox sleep, CNI bridge + host-local):"
"$BENCH" --image "$IMAGE" --rounds "$ROUNDS" --exec-rounds "$EXECS" --dir "$TMP" hanok="$HANOK_EP" containerd="$CONTAINERD_EP" |
  tee "$TMP/latency.txt"

# --- memory per running container ---------------------------------------------------------------
# Sums RSS and PSS of the processes whose command line has PATTERN (and their children that are
# named NAME, for containerd's pause).
sum_processes() {  # PATTERN [CHILD_EXE]
  local pattern=$1 child=${2:-} rss=0 pss=0 n=0 pid kid
  for pid in $(pgrep -f -- "$pattern" || true); do
    rss=$((rss + $(rss_kb "$pid"))); pss=$((pss + $(pss_kb "$pid"))); n=$((n + 1))
    if [[ -n $child ]]; then
      for kid in $(pgrep -P "$pid" || true); do
        if [[ $(readlink /proc/"$kid"/exe 2>/dev/null) == *"$child" ]]; then
          rss=$((rss + $(rss_kb "$kid"))); pss=$((pss + $(pss_kb "$kid")))
        fi
      done
    fi
  done
  echo "$n $rss $pss"
}
measure() {  # NAME ENDPOINT PATTERN [CHILD]
  local name=$1 ep=$2 pattern=$3 child=${4:-}
  coproc HOLDER { "$BENCH" --image "$IMAGE" --hold "$HOLD" --dir "$TMP" "$name=$ep"; }
  local line
  read -r line <&"${HOLDER[0]}"
  [[ $line == held* ]] || { echo "run-pod-bench.sh: $name: $line" >&2; exit 1; }
  sleep 1
  read -r n rss pss <<<"$(sum_processes "$pattern" "$child")"
  echo "$name $n $rss $pss" >>"$TMP/memory.txt"
  echo >&"${HOLDER[1]}"
  wait "$HOLDER_PID"
}
: >"$TMP/memory.txt"
measure hanok "$HANOK_EP" "hanok-monitor container --id .* --bundle $RUNSTATE/hanok/"
measure containerd "$CONTAINERD_EP" "containerd-shim-runc-v2 -namespace k8s.io .* -address $RUNSTATE/containerd.sock" /pause
HANOKD_BUSY_RSS=$(rss_kb "$HANOKD_PID")
read -r _ HN HR HP <<<"$(grep '^hanok ' "$TMP/memory.txt")"
read -r _ CN CR CP <<<"$(grep '^containerd ' "$TMP/memory.txt")"
echo
echo "memory with $HOLD running pods of one container each (per container: what the runtime adds):"
awk -v hn="$HN" -v hr="$HR" -v hp="$HP" -v cn="$CN" -v cr="$CR" -v cp="$CP" -v h="$HOLD" 'BEGIN {
  printf "hanok monitor:            %d processes, RSS %.0f kB, PSS %.0f kB per container\n", hn, hr / h, hp / h
  printf "containerd shim + pause:  %d shims,     RSS %.0f kB, PSS %.0f kB per container\n", cn, cr / h, cp / h
  printf "ratio hanok/containerd per container: RSS %.3f, PSS %.3f (goal <= 0.10)\n", hr / cr, hp / cp
}'
echo "hanokd RSS: idle $HANOKD_IDLE_RSS kB, after the runs $HANOKD_BUSY_RSS kB; containerd idle $CONTAINERD_IDLE_RSS kB"
