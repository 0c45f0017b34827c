#!/usr/bin/env bash
# What hanok is for, end to end: installs what is needed, builds, serves the busybox test image
# from a local registry, starts hanokd on a private socket and state, and through the CRI (crictl
# where installed, else hanok's own small client, hanokctl) pulls the image, runs a pod and a
# container in it, prints the container's log and the pod's status, then cleans everything up.
# Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

export HANOK_REGISTRY_HTTP_PORT=${HANOK_REGISTRY_HTTP_PORT:-5451}
export HANOK_REGISTRY_HTTPS_PORT=${HANOK_REGISTRY_HTTPS_PORT:-5452}
export HANOK_REGISTRY_AUTH_PORT=${HANOK_REGISTRY_AUTH_PORT:-5453}
registry=127.0.0.1:$HANOK_REGISTRY_HTTP_PORT
work=$(mktemp -d /var/tmp/hanok-demo.XXXXXX)
state=$(mktemp -d /run/hanok-demo.XXXXXX)
hanokd_pid=""
cleanup() {
  trap - EXIT
  if [[ -n $hanokd_pid ]]; then
    [[ -n ${pod:-} ]] && { $cri rmp "$pod" >/dev/null 2>&1 || true; }
    kill -TERM "$hanokd_pid" 2>/dev/null || true
    wait "$hanokd_pid" 2>/dev/null || true
  fi
  rootfs-fixtures/registry.sh stop "$work/registry" >/dev/null 2>&1 || true
  grep -o " $work/[^ ]*\| $state/[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work" "$state"
}
trap cleanup EXIT

echo "== a local registry with the busybox test image"
rootfs-fixtures/registry.sh start "$work/registry" >/dev/null
rootfs-fixtures/push-images.sh build/fixtures/images "$work/registry" | grep busybox: || true

echo "== hanokd on $state/hanok.sock"
# A pod needs a network config (as with containerd): the loopback plugin of Debian's
# containernetworking-plugins alone, which gives the pod its own network namespace and no address.
mkdir -p "$work/cni"
echo '{"cniVersion": "0.4.0", "name": "demo-loopback", "plugins": [{"type": "loopback"}]}' \
  >"$work/cni/10-loopback.conflist"
printf '[[registries]]\nprefix = "%s"\ninsecure = true\n' "$registry" >"$work/hanok.toml"
build/cmd/hanokd --config "$work/hanok.toml" --socket "$state/hanok.sock" --root "$work/root" \
  --state "$state/state" --cni-conf-dir "$work/cni" >"$work/hanokd.log" 2>&1 &
hanokd_pid=$!
for _ in $(seq 100); do [[ -S $state/hanok.sock ]] && break; sleep 0.1; done
[[ -S $state/hanok.sock ]] || { cat "$work/hanokd.log"; exit 1; }

if command -v crictl >/dev/null; then
  cri="crictl --runtime-endpoint unix://$state/hanok.sock --image-endpoint unix://$state/hanok.sock"
else
  cri="build/cmd/hanokctl --runtime-endpoint unix://$state/hanok.sock"
fi
echo "== the CRI client: ${cri%% *}"
cat >"$work/pod.json" <<JSON
{"metadata": {"name": "demo", "namespace": "default", "uid": "demo-uid", "attempt": 0},
 "hostname": "demo-pod", "log_directory": "$work/logs",
 "linux": {"security_context": {"namespace_options": {"pid": 1}}}}
JSON
cat >"$work/container.json" <<JSON
{"metadata": {"name": "hello"}, "image": {"image": "$registry/hanok/busybox:latest"},
 "command": ["sh", "-c", "echo \"hello from a hanok pod: \$(hostname), \$(id -un), pid \$\$\""],
 "log_path": "hello.log"}
JSON
$cri pull "$registry/hanok/busybox:latest"
pod=$($cri runp "$work/pod.json")
echo "pod $pod"
container=$($cri create "$pod" "$work/container.json" "$work/pod.json")
$cri start "$container" >/dev/null
for _ in $(seq 50); do
  $cri ps -a | grep -q "${container:0:13}.*Exited\|${container:0:13}.*EXITED" && break
  sleep 0.1
done
echo "== the container's log"
$cri logs "$container"
echo "== the pod's status"
$cri inspectp "$pod" | grep -E '"(state|name|namespace|hostname|created_at|createdAt)"' | head -8
$cri stopp "$pod" >/dev/null
$cri rmp "$pod" >/dev/null
pod=""
echo "== cleaned up"
