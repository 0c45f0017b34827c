#!/bin/bash
# Pushes the image layouts that build-images.sh made into the registries that
# registry.sh runs, with skopeo, keeping the digests (--preserve-digests):
#
#   every image           -> http  127.0.0.1:$HANOK_REGISTRY_HTTP_PORT/hanok/<name>:latest
#   busybox, busybox-index -> https 127.0.0.1:$HANOK_REGISTRY_HTTPS_PORT/hanok/<name>:latest
#   busybox               -> auth  127.0.0.1:$HANOK_REGISTRY_AUTH_PORT/hanok/busybox:latest
#
# Usage: push-images.sh IMAGES_DIR STATE_DIR
set -euo pipefail

usage() {
    echo "usage: $0 IMAGES_DIR STATE_DIR" >&2
    exit 2
}

[[ $# -eq 2 && -n $1 && -n $2 ]] || usage
images=${1%/}
state=${2%/}

HTTP_PORT=${HANOK_REGISTRY_HTTP_PORT:-5051}
HTTPS_PORT=${HANOK_REGISTRY_HTTPS_PORT:-5052}
AUTH_PORT=${HANOK_REGISTRY_AUTH_PORT:-5053}

[[ -f $images/.complete ]] || { echo "error: $images is not a finished build-images.sh output" >&2; exit 1; }
[[ -f $state/certs/ca.crt ]] || { echo "error: no $state/certs/ca.crt; run registry.sh start $state" >&2; exit 1; }
command -v skopeo >/dev/null || { echo "error: skopeo not found; apt-get install skopeo" >&2; exit 1; }

# A private policy, so the host's /etc/containers/policy.json does not matter.
policy=$state/skopeo-policy.json
echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$policy"

push() { # NAME DEST_HOSTPORT [skopeo copy options...]
    local name=$1 dest=$2
    shift 2
    skopeo --policy "$policy" copy --quiet --all --preserve-digests "$@" \
        "oci:$images/$name:latest" "docker://$dest/hanok/$name:latest"
    echo "pushed $name to $dest/hanok/$name:latest"
}

for dir in "$images"/*/; do
    name=$(basename -- "$dir")
    [[ -f $dir/index.json ]] || continue
    push "$name" "127.0.0.1:$HTTP_PORT" --dest-tls-verify=false --dest-no-creds
done
for name in busybox busybox-index; do
    push "$name" "127.0.0.1:$HTTPS_PORT" --dest-tls-verify=true --dest-cert-dir "$state/certs" \
        --dest-no-creds
done
push busybox "127.0.0.1:$AUTH_PORT" --dest-tls-verify=false --dest-creds hanok:hanok-pass
