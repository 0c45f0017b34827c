#!/usr/bin/env python3
"""Writes synthetic OCI image layouts for the image tests:

  make_layout.py DIR --layers N        N tiny gzip layers (one file each)
  make_layout.py DIR --cut-trailer     one uncompressed layer whose tar ends right after its last
                                       file's data (no padding, no end blocks), as umoci writes
  make_layout.py DIR --from ROOTFS     one gzip layer of a directory tree (a runnable image)
  --user USER                          the config's User
  --cmd ARG...                         the config's Cmd (default: sh; none with no ARG)
  --entrypoint ARG...                  the config's Entrypoint
  --env KEY=VALUE                      an entry of the config's Env (repeatable, in order)
  --workdir DIR                        the config's WorkingDir
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import tarfile


def put_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return "sha256:" + digest


def tar_of(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1600000000
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("layout")
    parser.add_argument("--layers", type=int, default=0)
    parser.add_argument("--cut-trailer", action="store_true")
    parser.add_argument("--from", dest="rootfs")
    parser.add_argument("--user", default="")
    parser.add_argument("--cmd", nargs="*", default=["sh"], help="the config's Cmd")
    parser.add_argument("--entrypoint", nargs="+", help="the config's Entrypoint")
    parser.add_argument("--env", action="append", default=[], help="an entry of the config's Env")
    parser.add_argument("--workdir", default="", help="the config's WorkingDir")
    options = parser.parse_args()
    layout = options.layout
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)

    layers = []  # (uncompressed tar, media type, blob)
    if options.cut_trailer:
        payload = b"complete data of the last file\n" * 23  # 713 bytes: padding is due
        raw = tar_of([("etc/first", b"first\n"), ("etc/last", payload)])
        end = raw.rindex(payload) + len(payload)
        raw = raw[:end]
        layers.append((raw, "application/vnd.oci.image.layer.v1.tar", raw))
    elif options.rootfs:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.add(options.rootfs, arcname=".")
        raw = buffer.getvalue()
        layers.append((raw, "application/vnd.oci.image.layer.v1.tar+gzip",
                       gzip.compress(raw, mtime=0)))
    for i in range(options.layers):
        raw = tar_of([("layer-%d" % i, b"%d\n" % i)])
        layers.append((raw, "application/vnd.oci.image.layer.v1.tar+gzip",
                       gzip.compress(raw, mtime=0)))

    descriptors = []
    diff_ids = []
    for raw, media_type, blob in layers:
        descriptors.append({"mediaType": media_type, "digest": put_blob(layout, blob),
                            "size": len(blob)})
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    image_config = {"Cmd": options.cmd} if options.cmd else {}
    if options.user:
        image_config["User"] = options.user
    if options.entrypoint:
        image_config["Entrypoint"] = options.entrypoint
    if options.env:
        image_config["Env"] = options.env
    if options.workdir:
        image_config["WorkingDir"] = options.workdir
    config = {"architecture": "amd64", "os": "linux", "config": image_config,
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    config_blob = json.dumps(config).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": put_blob(layout, config_blob), "size": len(config_blob)},
                "layers": descriptors}
    manifest_blob = json.dumps(manifest).encode()
    index = {"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json",
         "digest": put_blob(layout, manifest_blob), "size": len(manifest_blob),
         "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(index, f)


if __name__ == "__main__":
    main()
