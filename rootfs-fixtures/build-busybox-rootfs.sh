#!/bin/bash
# Builds the busybox test root filesystem used by hanok's integration tests and
# benchmarks, from Debian's busybox-static package.
#
# Usage: build-busybox-rootfs.sh OUTDIR
#
# The tree is assembled in OUTDIR.tmp and renamed to OUTDIR once complete; the
# stamp file OUTDIR/.complete is written last (the CMake rule depends on it).
# Every applet is a hard link to bin/busybox. Ownership (root:root, except
# home/user which is 1000:1000) and mtimes (the epoch) are fixed, so two builds
# give the same tree.
set -euo pipefail

usage() {
    echo "usage: $0 OUTDIR" >&2
    exit 2
}

[[ $# -eq 1 && -n $1 ]] || usage

BUSYBOX=/bin/busybox
if [[ ! -x $BUSYBOX ]]; then
    echo "error: $BUSYBOX not found; install it with: apt-get install busybox-static" >&2
    exit 1
fi

# The root filesystem must not depend on shared libraries of the host.
if ! "$BUSYBOX" --list-full >/dev/null 2>&1; then
    echo "error: $BUSYBOX does not list its applets; install Debian's static build with: apt-get install busybox-static" >&2
    exit 1
fi

umask 022
here=$(cd "$(dirname "$0")" && pwd)

out=${1%/}
case $out in
    /*) ;;
    *) out=$PWD/$out ;;
esac
tmp=$out.tmp

mkdir -p "$(dirname "$out")"
rm -rf -- "$tmp"
mkdir -- "$tmp"
# Leave no half-built tree behind on failure.
trap 'rm -rf -- "$tmp"' EXIT

cd -- "$tmp"

mkdir -p bin sbin usr/bin usr/sbin \
    proc sys dev tmp root home/user etc/fixture-data var run mnt
chmod 1777 tmp
chmod 0700 root

cp -- "$BUSYBOX" bin/busybox
chmod 0755 bin/busybox

# One hard link per applet, at the path busybox itself lists.
mapfile -t applets < <("$BUSYBOX" --list-full)
for applet in "${applets[@]}"; do
    [[ -n $applet && $applet != bin/busybox ]] || continue
    case $applet in
        /* | *..*)
            echo "error: unexpected applet path '$applet'" >&2
            exit 1
            ;;
    esac
    dir=${applet%/*}
    [[ $dir == "$applet" || -d $dir ]] || mkdir -p -- "$dir"
    ln -- bin/busybox "$applet"
done

cat >etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
PASSWD

cat >etc/group <<'GROUP'
root:x:0:
nobody:x:65534:
user:x:1000:
extra:x:2000:user
GROUP

# A static probe for what a shell cannot do (a raw system call, for the seccomp tests).
cc -static -O2 -o usr/bin/hanok-probe "$here/probe.c"

echo fixture >etc/hostname
echo "hello from the fixture" >etc/fixture-data/hello.txt

# Fixed ownership: root:root everywhere but the unprivileged user's home.
if [[ $EUID -eq 0 ]]; then
    chown -R -h 0:0 .
    chown -h 1000:1000 home/user
else
    echo "warning: not root; files keep the owner $(id -u):$(id -g), home/user is not 1000:1000" >&2
fi

# Fixed mtimes.
find . -exec touch -h -d @0 -- {} +

cd /
rm -rf -- "$out"
mv -T -- "$tmp" "$out"
trap - EXIT

# The stamp is the only file with a current mtime: the build system compares it
# with this script. Reset the top directory's mtime that creating it changed.
touch -- "$out/.complete"
touch -h -d @0 -- "$out"
