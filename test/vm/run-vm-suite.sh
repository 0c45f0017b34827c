#!/usr/bin/env bash
# The cgroup v2 leg of the tests: on a host that is not pure cgroup v2, runs the cgroup and
# lifecycle integration tests (with the escape, runc-parity and seccomp ones, which build on
# cgroups and mounts, and hanokd's main CRI tests) and the live cgroup v2 unit tests in a throw-away QEMU VM with a
# pure cgroup v2 hierarchy (../shared/tools/vm/run-in-vm.sh). On a cgroup v2 host the regular
# test run already covers v2, so this skips (exit 77), as it does without the VM tool or QEMU.
# Usage: test/vm/run-vm-suite.sh BUILD_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
vm=${HANOK_RUN_IN_VM:-$repo/../shared/tools/vm/run-in-vm.sh}

if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
  echo "host is cgroup v2: covered by the regular run"; exit 77
fi
[ -x "$vm" ] || { echo "no VM tool at $vm"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86 not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }

cd "$build"
# The VM shares $PWD read-write; its /run is a tmpfs (state dirs), /var/tmp its own overlay.
exec "$vm" bash -c '
  set -e
  [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] || { echo "VM is not cgroup v2"; exit 1; }
  timeout -k 10 600 ./test/hanok_unit_tests --gtest_filter="CgroupV2Live*:*Live*"
  timeout -k 10 900 ./test/hanok_integration_tests \
    --gtest_filter="Cgroups.*:Lifecycle.*:Escape.*:Parity.*:SeccompProfile.*:InsideView.Sysctl*"
  # hanokd on cgroup v2: cgroup namespaces, OOM kills, live updates, exec into containers (the
  # working-directory escapes: exec is born into its cgroup v2 there), hugepage limits, and
  # checkpoint/restore (the CRIU of Debian 12 runs on the Debian kernel of the VM, not on this host)
  timeout -k 10 900 ./test/hanok_integration_tests --gtest_filter="CriRuntime.Lifecycle:CriRuntime.ExitCodes:CriRuntime.ExecSync:CriRuntime.SecurityContext:CriRuntime.PodNamespaces:CriRuntime.UpdateContainerResources:CriRuntime.RestartRecovery:CriRuntime.ContainerStatsFromTheCgroup:CriStreaming.ExecStdioAndExitCodes:CriStreaming.AttachToARunningContainer:CriCheckpoint.*:CriEscape.*:CriFailClosed.*"
'
