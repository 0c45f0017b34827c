#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test (unit tests, and the privileged
# integration tests when run as root). Ends with CTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
phase() { printf '\n== %s (%ds since start)\n' "$1" "$SECONDS"; }
phase "install dependencies"
scripts/install-deps.sh
phase "build"
BUILD_TYPE=${BUILD_TYPE:-Release} scripts/build.sh
phase "tests"
# As root every test can run here: one that would skip for want of root or a tool fails instead.
if [ "$(id -u)" = 0 ]; then export HANOK_REQUIRE_ALL_TESTS=1; fi
cd build
ctest --output-on-failure -j1 --timeout 300
