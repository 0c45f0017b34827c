#!/usr/bin/env bash
# The cgroup v2 leg of the tests (CTest's vm.cgroup_v2_suite): runs, in the project's own VM
# (test/vm/vm-run: Debian's kernel, a pure cgroup v2 hierarchy), the tests whose behaviour
# depends on the cgroup version or on the kernel: the live cgroup v2 unit tests, the cgroup,
# lifecycle, escape, runc-parity and seccomp suites of `hanok`, hanokd's main CRI tests, and
# checkpoint/restore (CRIU runs on the VM's Debian kernel; it does not on every host).
#
# Usage: test/vm/run-vm-suite.sh BUILD_DIR
# Writes gtest's JSON report of each group to BUILD_DIR/test-results/vm/ (scripts/test-summary
# counts them) and prints the leg's totals. Where every test must run (HANOK_REQUIRE_ALL_TESTS
# =1, which it passes into the VM), a leg that cannot run fails; elsewhere it skips (exit 77).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run-vm-suite.sh BUILD_DIR}" && pwd)
required=${HANOK_REQUIRE_ALL_TESTS:-0}

cannot_run() {
  if [ "$required" != 0 ]; then
    echo "the cgroup v2 leg cannot run: $1 (HANOK_REQUIRE_ALL_TESTS is set)"
    exit 1
  fi
  echo "skipped: $1"
  exit 77
}
[ "$(id -u)" = 0 ] || cannot_run "needs root"
command -v qemu-system-x86_64 >/dev/null || cannot_run "qemu-system-x86 is not installed"
command -v busybox >/dev/null || cannot_run "busybox-static is not installed"

results=$build/test-results/vm
rm -rf "$results"
mkdir -p "$results"
export HANOK_TEST_LEG=vm HANOK_REQUIRE_ALL_TESTS="$required"
cd "$build"
rc=0
# The source tree too (the tests' tools and fixture scripts), where the guest's /tmp would hide it.
"$here/vm-run" --ro "$here/../.." --env HANOK_TEST_LEG --env HANOK_REQUIRE_ALL_TESTS -- bash -c '
  set -u
  [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || { echo "the VM is not cgroup v2"; exit 1; }
  results=test-results/vm
  status=0
  group() {  # NAME BINARY FILTER: one gtest run, its report in $results/NAME.json
    local name=$1 binary=$2 filter=$3 start=$SECONDS
    echo "== vm: $name"
    local pattern
    for pattern in ${filter//:/ }; do  # a pattern naming no test would drop tests unseen
      if ! "$binary" --gtest_list_tests --gtest_filter="$pattern" | grep -q "^  "; then
        echo "no test matches $pattern"
        status=1
      fi
    done
    timeout -k 10 1200 "$binary" --gtest_filter="$filter" --gtest_output="json:$results/$name.json" ||
      status=1
    echo "== vm: $name took $((SECONDS - start)) s"
  }
  group unit ./test/hanok_unit_tests "CgroupV2Live.*"
  group hanok ./test/hanok_integration_tests \
    "Cgroups.*:Lifecycle.*:Escape.*:Parity.*:SeccompProfile.*:InsideView.Sysctl*:CliCheckpoint.*"
  # hanokd on cgroup v2: cgroup namespaces, OOM kills, live updates, exec born into its cgroup
  # (the working-directory escapes), and checkpoint/restore.
  group hanokd ./test/hanok_integration_tests "CriRuntime.Lifecycle:CriRuntime.ExitCodes:CriRuntime.ExecSync:CriRuntime.SecurityContext:CriRuntime.PodNamespaces:CriRuntime.UpdateContainerResources:CriRuntime.RestartRecovery:CriRuntime.ContainerStatsFromTheCgroup:CriStreaming.ExecStdioAndExitCodes:CriStreaming.AttachToARunningContainer:CriCheckpoint.*:CriEscape.*:CriFailClosed.*:CriKubeletParity.PodResourcesInTheKubeletsCgroupAreOnlyRecorded"
  exit $status
' || rc=$?
python3 "$here/../../scripts/test-summary.py" --vm "$results" || true
exit $rc
