#!/usr/bin/env bash
# Image benchmark: hanok's ImageStore::pull against containerd's `ctr images pull` (download +
# unpack into overlayfs snapshots) of the ~100 MB "big" fixture image from a local registry, and
# hanok's unpack_layer alone against `tar -xzf`. See test/bench/README.md ("Image benchmark").
#
# usage: test/bench/run-image-bench.sh [--runs N] [--build DIR] [--bench PATH] [--image NAME]
# As root. Needs containerd + ctr, docker-registry, skopeo, tar, gzip (and zstd for zstd images),
# python3, and the hanok_image_bench binary (cmake --build build --target hanok_image_bench).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
FIXTURES="$REPO/rootfs-fixtures"

RUNS=5
BUILD="$REPO/build"
BENCH=""
IMAGE=big

die_usage() {
  echo "run-image-bench.sh: $*" >&2
  echo "usage: $0 [--runs N] [--build DIR] [--bench PATH] [--image NAME]" >&2
  exit 2
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || die_usage "--runs needs a positive number"
      RUNS=$2; shift 2 ;;
    --build) [[ $# -ge 2 ]] || die_usage "--build needs a directory"; BUILD=$2; shift 2 ;;
    --bench) [[ $# -ge 2 ]] || die_usage "--bench needs a path"; BENCH=$2; shift 2 ;;
    --image) [[ $# -ge 2 ]] || die_usage "--image needs a name"; IMAGE=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) die_usage "unknown argument $1" ;;
  esac
done
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || die_usage "no build directory $BUILD"
[[ -n "$BENCH" ]] || BENCH="$BUILD/test/bench/hanok_image_bench"
IMAGES="$BUILD/fixtures/images"

[[ $(id -u) -eq 0 ]] || { echo "run-image-bench.sh: needs root" >&2; exit 2; }
for tool in containerd ctr docker-registry skopeo tar gzip python3; do
  command -v "$tool" >/dev/null || { echo "run-image-bench.sh: $tool is not installed" >&2; exit 2; }
done
[[ -x "$BENCH" ]] || {
  echo "run-image-bench.sh: no $BENCH (cmake --build $BUILD --target hanok_image_bench)" >&2
  exit 2
}

# Registry ports of their own, so that the integration tests (5051.., 5151..) can run alongside.
export HANOK_REGISTRY_HTTP_PORT=${HANOK_REGISTRY_HTTP_PORT:-5251}
export HANOK_REGISTRY_HTTPS_PORT=${HANOK_REGISTRY_HTTPS_PORT:-5252}
export HANOK_REGISTRY_AUTH_PORT=${HANOK_REGISTRY_AUTH_PORT:-5253}
REGISTRY="127.0.0.1:$HANOK_REGISTRY_HTTP_PORT"
REF="hanok/$IMAGE:latest"

# One image benchmark at a time (ports, the machine's CPUs).
exec 9>/run/hanok-image-bench.lock
flock -n 9 || { echo "run-image-bench.sh: another image benchmark is running" >&2; exit 2; }

TMP=$(mktemp -d /var/tmp/hanok-image-bench.XXXXXX)
REGSTATE="$TMP/registry"
CTRDIR="$TMP/containerd"
CONTAINERD_PID=""
REGISTRY_STARTED=0

stop_containerd() {
  [[ -n "$CONTAINERD_PID" ]] || return 0
  # Only our own containerd: the pid we started, checked against its command line.
  if [[ -r /proc/$CONTAINERD_PID/cmdline ]] &&
     tr '\0' ' ' </proc/$CONTAINERD_PID/cmdline | grep -qF -- "--config $CTRDIR/config.toml"; then
    kill -TERM "$CONTAINERD_PID" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$CONTAINERD_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill -KILL "$CONTAINERD_PID" 2>/dev/null || true
  fi
  wait "$CONTAINERD_PID" 2>/dev/null || true
  CONTAINERD_PID=""
}

# Unmounts whatever is still mounted under $TMP (deepest first).
unmount_leftovers() {
  local mp
  python3 - "$TMP" <<'EOF' | while IFS= read -r mp; do umount -l "$mp" 2>/dev/null || true; done
import sys
tmp = sys.argv[1].rstrip("/") + "/"
points = []
with open("/proc/self/mountinfo") as f:
    for line in f:
        mp = line.split()[4].encode().decode("unicode_escape")
        if mp.startswith(tmp):
            points.append(mp)
for mp in sorted(points, key=len, reverse=True):
    print(mp)
EOF
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_containerd
  if [[ $REGISTRY_STARTED -eq 1 ]]; then
    "$FIXTURES/registry.sh" stop "$REGSTATE" >/dev/null 2>&1 || true
  fi
  unmount_leftovers
  rm -rf "$TMP"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- fixtures: the OCI layouts, a registry serving them -------------------------------------
if [[ ! -f "$IMAGES/.complete" ]]; then
  echo "building the fixture images into $IMAGES"
  if [[ -f "$BUILD/CMakeCache.txt" ]]; then
    cmake --build "$BUILD" --target test_images >/dev/null
  else
    "$FIXTURES/build-images.sh" "$IMAGES" >/dev/null
  fi
fi
LAYOUT="$IMAGES/$IMAGE"
[[ -f "$LAYOUT/index.json" ]] || { echo "run-image-bench.sh: no image $LAYOUT" >&2; exit 2; }

mkdir -p "$REGSTATE"
REGISTRY_STARTED=1
"$FIXTURES/registry.sh" start "$REGSTATE" >"$TMP/registry-start.log" 2>&1 ||
  { cat "$TMP/registry-start.log" >&2; exit 1; }
"$FIXTURES/push-images.sh" "$IMAGES" "$REGSTATE" >"$TMP/push.log" 2>&1 ||
  { cat "$TMP/push.log" >&2; exit 1; }

# The layers of the image, bottom to top: "<media type> <blob path>" per line.
LAYERS=$(python3 - "$LAYOUT" <<'EOF'
import json, sys
layout = sys.argv[1]
def blob(digest):
    return f"{layout}/blobs/sha256/{digest.split(':', 1)[1]}"
desc = json.load(open(f"{layout}/index.json"))["manifests"][0]
doc = json.load(open(blob(desc["digest"])))
if "manifests" in doc:  # an image index: linux/amd64
    desc = next(m for m in doc["manifests"]
                if m.get("platform", {}).get("os") == "linux"
                and m.get("platform", {}).get("architecture") == "amd64")
    doc = json.load(open(blob(desc["digest"])))
for layer in doc["layers"]:
    print(layer["mediaType"], blob(layer["digest"]))
EOF
)
COMPRESSED=$(awk '{print $2}' <<<"$LAYERS" | xargs du -cb | tail -1 | cut -f1)
echo "image $REGISTRY/$REF: $(wc -l <<<"$LAYERS") layers, $((COMPRESSED / 1000000)) MB compressed; $RUNS runs each"

# --- containerd: private config, root, state and socket under $TMP ---------------------------
mkdir -p "$CTRDIR"
SOCK="$CTRDIR/containerd.sock"
cat >"$CTRDIR/config.toml" <<EOF
version = 2
root = "$CTRDIR/root"
state = "$CTRDIR/state"
plugin_dir = ""
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$SOCK.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$CTRDIR/opt"
EOF

start_containerd() {
  rm -rf "$CTRDIR/root" "$CTRDIR/state"
  containerd --config "$CTRDIR/config.toml" >>"$CTRDIR/containerd.log" 2>&1 &
  CONTAINERD_PID=$!
  for _ in $(seq 200); do
    if ctr -a "$SOCK" version >/dev/null 2>&1; then return 0; fi
    kill -0 "$CONTAINERD_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "run-image-bench.sh: containerd did not start:" >&2
  tail -20 "$CTRDIR/containerd.log" >&2
  exit 1
}

# --- the measurements --------------------------------------------------------------------------
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
# The wall time in ms of a command, appended to the file $1; its output goes to $TMP/last.log.
timed() {
  local out=$1; shift
  sync  # earlier runs' dirty pages are written back before the clock starts, not during
  local start end
  start=$(now_us)
  if ! "$@" >"$TMP/last.log" 2>&1; then
    echo "run-image-bench.sh: failed: $*" >&2
    cat "$TMP/last.log" >&2
    exit 1
  fi
  end=$(now_us)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", (b - a) / 1000 }' >>"$out"
}

fresh() { local d; d=$(mktemp -d "$TMP/$1.XXXXXX"); rmdir "$d"; echo "$d"; }

hanok_pull() {
  local root; root=$(fresh hanok-root)
  timed "$TMP/t-hanok-pull" "$BENCH" pull --root "$root" --registry "$REGISTRY" --image "$REF"
  awk '/^pull\+unpack:/ {print $2}' "$TMP/last.log" >>"$TMP/i-hanok-pull"
  rm -rf "$root"
}

hanok_download() {
  local root; root=$(fresh hanok-dl)
  timed "$TMP/t-hanok-download" "$BENCH" download --root "$root" --registry "$REGISTRY" --image "$REF"
  rm -rf "$root"
}

containerd_pull() {
  start_containerd  # a fresh root each time: nothing cached (outside the measurement)
  timed "$TMP/t-containerd-pull" ctr -a "$SOCK" -n bench images pull --plain-http \
    --snapshotter overlayfs --platform linux/amd64 "$REGISTRY/$REF"
  # It must have unpacked: the image's snapshots exist.
  local snaps
  snaps=$(ctr -a "$SOCK" -n bench snapshots --snapshotter overlayfs ls | tail -n +2 | wc -l)
  [[ "$snaps" -ge $(wc -l <<<"$LAYERS") ]] || {
    echo "run-image-bench.sh: containerd pulled without unpacking ($snaps snapshots)" >&2
    exit 1
  }
  stop_containerd
  unmount_leftovers
  rm -rf "$CTRDIR/root" "$CTRDIR/state"
}

hanok_unpack() {
  local root; root=$(fresh hanok-unpack)
  timed "$TMP/t-hanok-unpack" "$BENCH" unpack --layout "$LAYOUT" --root "$root"
  awk '/^unpack:/ {print $2}' "$TMP/last.log" >>"$TMP/i-hanok-unpack"
  rm -rf "$root"
}

tar_layers() {  # every layer into its own fresh dir, one after the other
  local root=$1 i=0 type path
  while read -r type path; do
    mkdir -p "$root/layer-$i"
    case "$type" in
      *zstd*) zstd -dc "$path" | tar -x -C "$root/layer-$i" ;;
      *gzip*) tar -xzf "$path" -C "$root/layer-$i" ;;
      *) tar -xf "$path" -C "$root/layer-$i" ;;
    esac
    i=$((i + 1))
  done <<<"$LAYERS"
}

tar_unpack() {
  local root; root=$(fresh tar-unpack)
  timed "$TMP/t-tar-unpack" tar_layers "$root"
  rm -rf "$root"
}

for ((run = 1; run <= RUNS; run++)); do
  # Alternate the order, so that each side follows the other equally often.
  if ((run % 2)); then
    hanok_pull; containerd_pull; hanok_unpack; tar_unpack
  else
    containerd_pull; hanok_pull; tar_unpack; hanok_unpack
  fi
  hanok_download
  printf 'run %d/%d: hanok pull %s ms, containerd pull %s ms, hanok unpack %s ms, tar %s ms, hanok download %s ms\n' \
    "$run" "$RUNS" "$(tail -1 "$TMP/t-hanok-pull")" "$(tail -1 "$TMP/t-containerd-pull")" \
    "$(tail -1 "$TMP/t-hanok-unpack")" "$(tail -1 "$TMP/t-tar-unpack")" \
    "$(tail -1 "$TMP/t-hanok-download")"
done

median() { sort -g "$1" | awk '{v[NR] = $1} END { if (NR % 2) printf "%.1f", v[(NR + 1) / 2];
  else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

HP=$(median "$TMP/t-hanok-pull"); CP=$(median "$TMP/t-containerd-pull")
HU=$(median "$TMP/t-hanok-unpack"); TU=$(median "$TMP/t-tar-unpack")
HD=$(median "$TMP/t-hanok-download")
echo
echo "median of $RUNS runs (wall time of each command):"
echo "hanok pull+unpack:      $HP ms (inside the driver: $(median "$TMP/i-hanok-pull") ms)"
echo "containerd pull+unpack: $CP ms (ctr images pull, overlayfs)"
echo "hanok download only:    $HD ms (manifest, config and layer blobs, no unpack)"
echo "hanok unpack:           $HU ms (inside the driver: $(median "$TMP/i-hanok-unpack") ms)"
echo "tar unpack:             $TU ms (tar -x per layer)"
echo "ratio pull+unpack hanok/containerd: $(ratio "$HP" "$CP") (goal <= 0.70)"
echo "ratio unpack hanok/tar: $(ratio "$HU" "$TU") (goal <= 1.20)"
