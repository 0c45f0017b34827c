#!/bin/bash
# Executor benchmark: time `<runtime> run` of a /bin/true container for hanok,
# crun and runc on the same bundle, and compare.
#
# Usage: test/bench/run-bench.sh [--runs N] [--pause MS] [--hanok PATH] [--rootfs DIR] [--limits]
#   --limits      set memory (256 MiB), cpu (shares 512, quota 50 ms per 100 ms) and pids (64)
#                 limits in linux.resources, so every runtime also writes its cgroup limits
#
#   --runs N      timed runs per runtime (default 50)
#   --pause MS    idle time before each timed run, in milliseconds (default 50)
#   --hanok PATH  the hanok binary (default: build/cmd/hanok in the repository)
#   --rootfs DIR  the busybox fixture rootfs (default: build/fixtures/busybox-rootfs)
#
# Needs root, python3, a C compiler (cc), unshare, crun and runc. See README.md.
set -euo pipefail

prog=${0##*/}
self=$(readlink -f -- "$0")
repo=$(cd -- "$(dirname -- "$self")/../.." && pwd)

die() {
    echo "$prog: $*" >&2
    exit 2
}

usage() {
    cat >&2 <<USAGE
usage: $prog [--runs N] [--pause MS] [--hanok PATH] [--rootfs DIR] [--limits]
  --runs N      timed runs per runtime (default 50)
  --pause MS    idle time before each timed run, in milliseconds (default 50)
  --hanok PATH  the hanok binary (default: build/cmd/hanok in the repository)
  --rootfs DIR  the busybox fixture rootfs (default: build/fixtures/busybox-rootfs)
USAGE
    exit 2
}

runs=50
pause=50
limits=${HANOK_BENCH_LIMITS:-0}
hanok=$repo/build/cmd/hanok
rootfs=$repo/build/fixtures/busybox-rootfs

while [[ $# -gt 0 ]]; do
    case $1 in
        --runs) [[ $# -ge 2 ]] || usage; runs=$2; shift 2 ;;
        --runs=*) runs=${1#*=}; shift ;;
        --pause) [[ $# -ge 2 ]] || usage; pause=$2; shift 2 ;;
        --pause=*) pause=${1#*=}; shift ;;
        --hanok) [[ $# -ge 2 ]] || usage; hanok=$2; shift 2 ;;
        --hanok=*) hanok=${1#*=}; shift ;;
        --rootfs) [[ $# -ge 2 ]] || usage; rootfs=$2; shift 2 ;;
        --rootfs=*) rootfs=${1#*=}; shift ;;
        --limits) limits=1; shift ;;
        -h | --help) usage ;;
        *) echo "$prog: unknown argument: $1" >&2; usage ;;
    esac
done

[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive integer, not '$runs'"
[[ $pause =~ ^[0-9]+$ ]] || die "--pause wants a number of milliseconds, not '$pause'"
[[ $EUID -eq 0 ]] || die "must run as root (it creates containers)"
for tool in python3 cc unshare mountpoint umount flock crun runc; do
    command -v "$tool" >/dev/null || die "'$tool' not found in PATH"
done

# Absolute paths: the bundle's config.json needs one, and they must survive the re-exec.
hanok=$(readlink -m -- "$hanok")
rootfs=$(readlink -m -- "$rootfs")
[[ -x $rootfs/bin/true ]] ||
    die "no busybox rootfs at $rootfs; build it with: cmake --build build --target busybox_rootfs (or rootfs-fixtures/build-busybox-rootfs.sh DIR)"

# crun refuses a hybrid cgroup layout (v1 controllers plus cgroup2 mounted at
# /sys/fs/cgroup/unified). Run the whole measurement in a private mount
# namespace where the unified mount is gone; the host's mounts stay untouched.
if [[ ${HANOK_BENCH_PRIVATE_NS:-} != 1 ]]; then
    exec unshare -m --propagation private \
        env HANOK_BENCH_PRIVATE_NS=1 HANOK_BENCH_LIMITS="$limits" "$self" --runs "$runs" --pause "$pause" --hanok "$hanok" --rootfs "$rootfs"
fi
unset HANOK_BENCH_PRIVATE_NS
if mountpoint -q /sys/fs/cgroup/unified; then
    umount /sys/fs/cgroup/unified
fi

state_base=/run/hanok-bench
runtimes=(hanok crun runc)
declare -A runtime_path=([hanok]=$hanok [crun]=$(command -v crun) [runc]=$(command -v runc))

# One benchmark at a time: the state dirs are fixed paths. (The lock file stays.)
exec 9>"$state_base.lock"
flock -n 9 || die "another benchmark holds $state_base.lock"

# State left by an interrupted earlier run: delete stopped containers, but never
# force (that would kill processes this run did not start).
for rt in "${runtimes[@]}"; do
    dir=$state_base/$rt
    [[ -d $dir ]] || continue
    if [[ -x ${runtime_path[$rt]} ]]; then
        for id_dir in "$dir"/*/; do
            [[ -d $id_dir ]] || continue
            "${runtime_path[$rt]}" --root "$dir" delete "$(basename -- "$id_dir")" >/dev/null 2>&1 || true
        done
    fi
    rmdir -- "$dir"/*/ 2>/dev/null || true
    if [[ -n $(ls -A -- "$dir") ]]; then
        die "leftover containers in $dir from an earlier run; delete them first"
    fi
done

work=$(mktemp -d /var/tmp/hanok-bench.XXXXXX)
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    # Containers of this run that are still registered (only if a run was cut short).
    for rt in "${runtimes[@]}"; do
        dir=$state_base/$rt
        [[ -d $dir && -x ${runtime_path[$rt]} ]] || continue
        for id_dir in "$dir"/bench-"$rt"-*/; do
            [[ -d $id_dir ]] || continue
            "${runtime_path[$rt]}" --root "$dir" delete -f "$(basename -- "$id_dir")" >/dev/null 2>&1 || true
        done
    done
    rm -rf -- "$work" "$state_base"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bundle=$work/bundle
mkdir -p "$bundle"
for rt in "${runtimes[@]}"; do
    mkdir -p "$state_base/$rt"
done

# The default spec of runc, with the process and root changed; namespaces pid,
# ipc, uts, mount and network.
runc spec --bundle "$bundle"
python3 - "$bundle/config.json" "$rootfs" "$limits" <<'PY'
import json, sys

path, rootfs, limits = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
with open(path) as f:
    spec = json.load(f)
spec["process"]["args"] = ["/bin/true"]
spec["process"]["terminal"] = False
spec["root"]["path"] = rootfs
linux = spec.setdefault("linux", {})
linux["namespaces"] = [ns for ns in linux.get("namespaces", []) if ns.get("type") != "cgroup"]
if limits:
    resources = linux.setdefault("resources", {})
    resources["memory"] = {"limit": 256 << 20}
    resources["cpu"] = {"shares": 512, "quota": 50000, "period": 100000}
    resources["pids"] = {"limit": 64}
with open(path, "w") as f:
    json.dump(spec, f, indent="\t")
    f.write("\n")
PY

# A tiny helper times one run and reads the peak RSS of the runtime (and of
# the descendants it reaped) with wait4. The driver cannot spawn the runtime
# itself: exec records the spawning process's memory as the child's peak RSS,
# so a python parent would add its own ~14 MB to every number.
cat >"$work/run-once.c" <<'C'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* run-once RESULT_FILE PROGRAM ARGS...: runs PROGRAM once and writes
 * "<wait status> <elapsed ns> <ru_maxrss KB>" to RESULT_FILE. */
int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: run-once RESULT_FILE PROGRAM [ARGS...]\n", stderr);
        return 2;
    }
    FILE *out = fopen(argv[1], "we");
    if (!out) {
        perror(argv[1]);
        return 2;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 2;
    }
    if (pid == 0) {
        execv(argv[2], argv + 2);
        fprintf(stderr, "run-once: cannot execute %s: %m\n", argv[2]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("wait4");
            return 2;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    long long ns = (long long)(end.tv_sec - start.tv_sec) * 1000000000LL + (end.tv_nsec - start.tv_nsec);
    fprintf(out, "%d %lld %ld\n", status, ns, ru.ru_maxrss);
    return fclose(out) == 0 ? 0 : 2;
}
C
cc -O2 -o "$work/run-once" "$work/run-once.c"

cat >"$work/driver.py" <<'PY'
import math
import os
import statistics
import subprocess
import sys
import time

runs, pause_ms = int(sys.argv[1]), int(sys.argv[2])
bundle, state_base, helper, work = sys.argv[3:7]
runtimes = [arg.split("=", 1) for arg in sys.argv[7:]]
names = [name for name, _ in runtimes]
paths = dict(runtimes)

result_file = os.path.join(work, "result")
stderr_file = os.path.join(work, "stderr")


def run_once(name, run_id):
    """Returns (ok, elapsed_ns, maxrss_kb, stderr_text)."""
    root = os.path.join(state_base, name)
    cmd = [helper, result_file, paths[name], "--root", root, "run", "--bundle", bundle, run_id]
    with open(stderr_file, "wb") as err:
        helper_rc = subprocess.call(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err, cwd=bundle)
    with open(stderr_file, "rb") as err:
        err_text = err.read().decode(errors="replace")
    ok, ns, rss = False, 0, 0
    if helper_rc == 0:
        with open(result_file) as f:
            status, ns, rss = (int(x) for x in f.read().split())
        ok = os.waitstatus_to_exitcode(status) == 0
        if not ok:
            code = os.waitstatus_to_exitcode(status)
            how = f"exit status {code}" if code >= 0 else f"signal {-code}"
            err_text += f"({name} ended with {how})\n"
    # A run that leaves its container registered: remove it (it is ours).
    if os.path.exists(os.path.join(root, run_id)):
        subprocess.call([paths[name], "--root", root, "delete", "-f", run_id],
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
    return ok, ns, rss, err_text


available = {}
for name in names:
    path = paths[name]
    available[name] = os.path.isfile(path) and os.access(path, os.X_OK)
    if not available[name]:
        print(f"{name}: not found or not executable: {path}", file=sys.stderr)

# One untimed warm-up run each (page cache, dynamic loader).
for name in names:
    if available[name]:
        run_once(name, f"bench-{name}-warmup")

times = {name: [] for name in names}
peak = {name: 0 for name in names}
failures = {name: 0 for name in names}
reported = set()

for i in range(1, runs + 1):
    # A run slows the one right after it (the kernel tears namespaces down in
    # the background, caches change), so each runtime must follow each other
    # runtime equally often: with three runtimes, alternating the orders
    # (a, b, c) and (a, c, b) runs the circuit a b c a c b, in which each of
    # the six ordered pairs occurs once.
    order = names if i % 2 else names[:1] + names[:0:-1]
    for name in order:
        if not available[name]:
            failures[name] += 1
            continue
        if pause_ms:
            time.sleep(pause_ms / 1000)
        ok, ns, rss, err_text = run_once(name, f"bench-{name}-{i}")
        if ok:
            times[name].append(ns)
            peak[name] = max(peak[name], rss)
        else:
            failures[name] += 1
            if name not in reported:
                reported.add(name)
                print(f"--- {name} failed (run {i}); its stderr:", file=sys.stderr)
                sys.stderr.write(err_text if err_text.strip() else "(empty)\n")
                print("---", file=sys.stderr)


def percentile(sorted_values, p):
    """Nearest-rank percentile."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


print(f"executor benchmark: {runs} runs each of `<runtime> run` (/bin/true), "
      f"order alternated, pause {pause_ms} ms"
      + (", with memory/cpu/pids limits" if os.environ.get("HANOK_BENCH_LIMITS") == "1" else ""))
medians = {}
for name in names:
    ok_runs = len(times[name])
    line = f"{name}: ok {ok_runs}/{runs}"
    if ok_runs:
        values = sorted(times[name])
        medians[name] = statistics.median(values) / 1e6
        line += (f", median {medians[name]:.2f} ms, p90 {percentile(values, 90) / 1e6:.2f} ms, "
                 f"peak RSS {peak[name]} KB")
    if failures[name]:
        line += f" -- FAILED {failures[name]} run(s)"
    print(line)

base = names[0]
for other in names[1:]:
    if base in medians and other in medians:
        print(f"ratio {base}/{other}: {medians[base] / medians[other]:.2f}")
    else:
        missing = base if base not in medians else other
        print(f"ratio {base}/{other}: n/a ({missing} failed)")

if failures[base]:
    print(f"{base} failed", file=sys.stderr)
sys.exit(1 if any(failures.values()) else 0)
PY

rc=0
HANOK_BENCH_LIMITS=$limits python3 -u "$work/driver.py" "$runs" "$pause" "$bundle" "$state_base" "$work/run-once" "$work" \
    "hanok=$hanok" "crun=${runtime_path[crun]}" "runc=${runtime_path[runc]}" || rc=$?
exit "$rc"
