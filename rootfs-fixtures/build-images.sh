#!/bin/bash
# Builds hanok's test OCI images, reproducibly and without network, from the busybox
# root filesystem that build-busybox-rootfs.sh makes (Debian's busybox-static).
#
# Usage: build-images.sh OUTDIR
#
# Writes one OCI image layout per image to OUTDIR/<name>/ (oci-layout, index.json,
# blobs/sha256/...). Each index.json names its image with the annotation
# org.opencontainers.image.ref.name=latest. Layers are tars with fixed mtimes (0) and
# owners, compressed with `gzip -n` or `zstd`, and every JSON document is serialised
# canonically, so two builds give the same digests. The tree is assembled in
# OUTDIR.tmp and renamed; OUTDIR/.complete is written last.
#
# Images (see README.md): busybox, busybox-user, busybox-entrypoint, multilayer, big,
# busybox-zstd, multilayer-zstd, busybox-index.
set -euo pipefail

usage() {
    echo "usage: $0 OUTDIR" >&2
    exit 2
}

[[ $# -eq 1 && -n $1 ]] || usage

for tool in python3 gzip zstd; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: $tool not found (apt-get install python3 gzip zstd)" >&2
        exit 1
    fi
done

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
out=${1%/}
case $out in
    /*) ;;
    *) out=$PWD/$out ;;
esac
tmp=$out.tmp
work=$(mktemp -d "${TMPDIR:-/var/tmp}/hanok-build-images.XXXXXX")

mkdir -p -- "$(dirname -- "$out")"
rm -rf -- "$tmp"
mkdir -- "$tmp"
cleanup() { rm -rf -- "$tmp" "$work"; }
trap cleanup EXIT

"$here/build-busybox-rootfs.sh" "$work/rootfs" >&2

python3 - "$work/rootfs" "$tmp" <<'PY'
import hashlib
import io
import json
import os
import random
import stat
import subprocess
import sys
import tarfile

ROOTFS, OUT = sys.argv[1], sys.argv[2]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
REF_NAME = "org.opencontainers.image.ref.name"
CREATED = "1970-01-01T00:00:00Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
AMD64 = {"architecture": "amd64", "os": "linux"}


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Tar:
    """An in-memory layer tar with fixed metadata."""

    def __init__(self):
        self.buf = io.BytesIO()
        self.tf = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)

    def _info(self, name, kind, mode, uid=0, gid=0, size=0):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.uid, ti.gid, ti.size = kind, mode, uid, gid, size
        ti.mtime, ti.uname, ti.gname = 0, "", ""
        return ti

    def dir(self, name, mode=0o755, uid=0, gid=0):
        self.tf.addfile(self._info(name, tarfile.DIRTYPE, mode, uid, gid))

    def file(self, name, data, mode=0o644, uid=0, gid=0):
        self.tf.addfile(self._info(name, tarfile.REGTYPE, mode, uid, gid, len(data)),
                        io.BytesIO(data))

    def tree(self, root):
        """Adds a directory tree, parents first and names sorted. Hard links point to
        bin/busybox (or the first name of their inode), which is written before them."""
        by_inode = {}
        for dirpath, dirnames, filenames in os.walk(root):
            for n in filenames:
                p = os.path.join(dirpath, n)
                st = os.lstat(p)
                if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                    by_inode.setdefault((st.st_dev, st.st_ino), []).append(os.path.relpath(p, root))
        canon = {}
        for key, names in by_inode.items():
            canon[key] = "bin/busybox" if "bin/busybox" in names else sorted(names)[0]
        written = set()

        def emit(rel):
            p = os.path.join(root, rel)
            st = os.lstat(p)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISDIR(st.st_mode):
                self.dir(rel, mode, st.st_uid, st.st_gid)
                for n in sorted(os.listdir(p)):
                    emit(os.path.join(rel, n))
                return
            if stat.S_ISLNK(st.st_mode):
                ti = self._info(rel, tarfile.SYMTYPE, mode, st.st_uid, st.st_gid)
                ti.linkname = os.readlink(p)
                self.tf.addfile(ti)
                return
            if not stat.S_ISREG(st.st_mode):
                raise SystemExit("unsupported file type: " + p)
            key = (st.st_dev, st.st_ino)
            if key in canon:
                target = canon[key]
                if rel != target:
                    if target not in written:
                        emit_regular(target)
                    ti = self._info(rel, tarfile.LNKTYPE, mode, st.st_uid, st.st_gid)
                    ti.linkname = target
                    self.tf.addfile(ti)
                    return
                if rel in written:
                    return
            emit_regular(rel)

        def emit_regular(rel):
            p = os.path.join(root, rel)
            st = os.lstat(p)
            with open(p, "rb") as f:
                self.file(rel, f.read(), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
            written.add(rel)

        for n in sorted(os.listdir(root)):
            if n == ".complete":
                continue
            emit(n)

    def bytes(self):
        self.tf.close()
        return self.buf.getvalue()


def compress(data, kind):
    if kind == "gzip":
        cmd = ["gzip", "-n", "-6", "-c"]
    else:
        cmd = ["zstd", "-q", "-3", "-T1", "-c"]
    return subprocess.run(cmd, input=data, stdout=subprocess.PIPE, check=True).stdout


class Layout:
    """One OCI image layout directory."""

    def __init__(self, name):
        self.dir = os.path.join(OUT, name)
        os.makedirs(os.path.join(self.dir, "blobs", "sha256"))
        with open(os.path.join(self.dir, "oci-layout"), "wb") as f:
            f.write(canonical({"imageLayoutVersion": "1.0.0"}))

    def blob(self, data, media_type):
        d = sha256(data)
        path = os.path.join(self.dir, "blobs", "sha256", d[7:])
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
        return {"mediaType": media_type, "digest": d, "size": len(data)}

    def index(self, desc):
        desc = dict(desc)
        desc["annotations"] = {REF_NAME: "latest"}
        with open(os.path.join(self.dir, "index.json"), "wb") as f:
            f.write(canonical({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [desc]}))


_compressed = {}


def layer(tar_bytes, kind):
    """(diff_id, compressed blob, media type), compressed once per content."""
    key = (sha256(tar_bytes), kind)
    if key not in _compressed:
        _compressed[key] = compress(tar_bytes, kind)
    return key[0], _compressed[key], LAYER_GZIP if kind == "gzip" else LAYER_ZSTD


def image(layout, layers, config, platform=AMD64, comment=""):
    """Writes config, layers and manifest into the layout; returns the manifest descriptor."""
    cfg = {
        "created": CREATED,
        "architecture": platform["architecture"],
        "os": platform["os"],
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [l[0] for l in layers]},
        "history": [{"created": CREATED, "created_by": "hanok build-images.sh: " + comment}
                    for _ in layers],
    }
    if "variant" in platform:
        cfg["variant"] = platform["variant"]
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": layout.blob(canonical(cfg), OCI_CONFIG),
        "layers": [layout.blob(l[1], l[2]) for l in layers],
    }
    desc = layout.blob(canonical(manifest), OCI_MANIFEST)
    desc["platform"] = dict(platform)
    return desc


def single(name, layers, config, comment):
    lay = Layout(name)
    lay.index(image(lay, layers, config, comment=comment))


# --- layer contents -------------------------------------------------------------------
t = Tar()
t.tree(ROOTFS)
base_tar = t.bytes()

t = Tar()  # multilayer, layer 2
t.dir("data")
t.file("data/a", b"a\n")
t.file("data/b", b"b\n")
t.dir("data/dir")
t.file("data/dir/x", b"x\n")
ml2_tar = t.bytes()

t = Tar()  # multilayer, layer 3: whiteout data/a, make data/dir opaque, add data/dir/y
t.dir("data")
t.file("data/.wh.a", b"", mode=0o600)
t.dir("data/dir")
t.file("data/dir/.wh..wh..opq", b"", mode=0o600)
t.file("data/dir/y", b"y\n")
ml3_tar = t.bytes()

base_cfg = {"Env": [PATH_ENV], "Cmd": ["sh"]}

# --- images -----------------------------------------------------------------------------
for kind, suffix in (("gzip", ""), ("zstd", "-zstd")):
    base = layer(base_tar, kind)
    single("busybox" + suffix, [base], base_cfg, "busybox")
    single("multilayer" + suffix, [base, layer(ml2_tar, kind), layer(ml3_tar, kind)], base_cfg,
           "multilayer")

base = layer(base_tar, "gzip")
single("busybox-user", [base], dict(base_cfg, User="1000:1000"), "busybox-user")
single("busybox-entrypoint", [base], {
    "Entrypoint": ["/bin/sh", "-c"],
    "Cmd": ["echo hello from entrypoint"],
    "Env": ["GREETING=hi", "PATH=/bin:/usr/bin"],
    "WorkingDir": "/tmp",
}, "busybox-entrypoint")

# big: busybox + 4 layers of 25 files x 1 MiB of seeded random data (incompressible).
rnd = random.Random(20240611)
big_layers = [base]
for i in range(1, 5):
    t = Tar()
    t.dir("big")
    t.dir("big/layer%d" % i)
    for j in range(25):
        t.file("big/layer%d/file-%02d" % (i, j), rnd.randbytes(1 << 20))
    big_layers.append(layer(t.bytes(), "gzip"))
single("big", big_layers, base_cfg, "big")

# busybox-index: an image index with linux/amd64 (busybox) and linux/arm64 (a fake layer).
lay = Layout("busybox-index")
amd64 = image(lay, [base], base_cfg, comment="busybox")  # the busybox image itself
t = Tar()
t.file("arm64-fake", b"this is not an arm64 busybox\n")
arm64 = image(lay, [layer(t.bytes(), "gzip")], base_cfg,
              platform={"architecture": "arm64", "os": "linux"}, comment="busybox-index arm64")
idx = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [amd64, arm64]}
lay.index(lay.blob(canonical(idx), OCI_INDEX))
PY

rm -rf -- "$out"
mv -T -- "$tmp" "$out"
touch -- "$out/.complete"
for d in "$out"/*/; do
    name=$(basename -- "$d")
    digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$d/index.json")
    printf '%-20s %s\n' "$name" "$digest"
done
