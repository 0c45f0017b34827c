#!/usr/bin/env bash
# Installs the Debian 12 packages hanok builds, tests and benchmarks with. Idempotent: apt runs
# only when a package is missing.
set -euo pipefail
packages=(
  build-essential cmake pkg-config ca-certificates python3
  libseccomp-dev libcap-dev nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev
  libssl-dev libcurl4-openssl-dev libarchive-dev libsqlite3-dev zlib1g-dev libzstd-dev
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libtomlplusplus-dev
  libspdlog-dev
  busybox-static qemu-system-x86 containernetworking-plugins iptables iproute2
  docker-registry skopeo apache2-utils openssl curl gzip zstd python3-websocket criu tar
)
if [ "${1:-}" = "--bench" ]; then packages+=(crun runc containerd); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
