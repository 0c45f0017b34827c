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
cd build
ctest --output-on-failure -j1 --timeout 300
