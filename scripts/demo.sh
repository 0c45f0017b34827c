#!/usr/bin/env bash
# Installs what is needed, builds, and runs a busybox container with `hanok run` that prints
# from inside. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
bundle=$(mktemp -d /var/tmp/hanok-demo.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
build/cmd/hanok spec --bundle "$bundle"
python3 - "$bundle/config.json" "$PWD/build/fixtures/busybox-rootfs" <<'PY'
import json, sys
path, rootfs = sys.argv[1], sys.argv[2]
config = json.load(open(path))
config["root"]["path"] = rootfs
config["process"]["terminal"] = False
config["process"]["args"] = ["sh", "-c",
    "echo \"hello from inside hanok: pid $$ on $(hostname), $(id)\"; cat /etc/fixture-data/hello.txt"]
json.dump(config, open(path, "w"), indent=2)
PY
build/cmd/hanok --root /run/hanok-demo run --bundle "$bundle" "demo-$$"
