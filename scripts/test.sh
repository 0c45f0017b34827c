#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test: unit tests, the privileged integration
# tests when run as root, and the cgroup v2 leg in the project's VM (test/vm/). Ends with the
# count of tests run, skipped and failed in each leg.
set -euo pipefail
cd "$(dirname "$0")/.."
phase() { printf '\n== %s (%ds since start)\n' "$1" "$SECONDS"; }
phase "install dependencies"
scripts/install-deps.sh
phase "build"
BUILD_TYPE=${BUILD_TYPE:-Release} scripts/build.sh
phase "tests"
# As root every test can run here: a test that skips (for want of root, a tool, a host) fails
# instead, and so does the VM leg when it cannot boot.
if [ "$(id -u)" = 0 ]; then export HANOK_REQUIRE_ALL_TESTS=1; fi
results=$PWD/build/test-results
rm -rf "$results"
mkdir -p "$results"
rc=0
(cd build && ctest --output-on-failure -j2 --timeout 300 --output-junit "$results/ctest.xml") || rc=$?
phase "summary"
summary=0
python3 scripts/test-summary.py --ctest "$results/ctest.xml" --vm "$results/vm" | tee "$results/summary.txt" ||
  summary=$?
if [ "${HANOK_REQUIRE_ALL_TESTS:-0}" != 0 ] && [ "$summary" != 0 ]; then rc=1; fi
exit "$rc"
