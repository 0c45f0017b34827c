#!/bin/bash
# Runs three local OCI distribution registries (Debian's docker-registry) for hanok's
# tests, on 127.0.0.1 only, with everything they keep under STATE_DIR:
#
#   http   plain HTTP, no auth                  port $HANOK_REGISTRY_HTTP_PORT  (5051)
#   https  TLS, certificate of a private CA     port $HANOK_REGISTRY_HTTPS_PORT (5052)
#   auth   plain HTTP, htpasswd basic auth      port $HANOK_REGISTRY_AUTH_PORT  (5053)
#          (user "hanok", password "hanok-pass")
#
# Usage: registry.sh start|stop|status STATE_DIR
#
# STATE_DIR/certs holds the CA (ca.pem, also as ca.crt for `skopeo --cert-dir`) and the
# server certificate (server-cert.pem, server-key.pem; SANs 127.0.0.1 and localhost),
# made once with openssl. Each registry's config is STATE_DIR/<name>.yml, its storage
# STATE_DIR/data-<name>, its log STATE_DIR/<name>.log and its pid STATE_DIR/<name>.pid.
# stop signals only the pids recorded there, after checking each one's command line.
set -euo pipefail

usage() {
    echo "usage: $0 start|stop|status STATE_DIR" >&2
    exit 2
}

[[ $# -eq 2 && -n $2 ]] || usage
action=$1
state=${2%/}
case $state in
    /*) ;;
    *) state=$PWD/$state ;;
esac

REGISTRY_BIN=/usr/bin/docker-registry
HTTP_PORT=${HANOK_REGISTRY_HTTP_PORT:-5051}
HTTPS_PORT=${HANOK_REGISTRY_HTTPS_PORT:-5052}
AUTH_PORT=${HANOK_REGISTRY_AUTH_PORT:-5053}
AUTH_USER=hanok
AUTH_PASSWORD=hanok-pass
NAMES=(http https auth)

die() {
    echo "error: $*" >&2
    exit 1
}

port_of() {
    case $1 in
        http) echo "$HTTP_PORT" ;;
        https) echo "$HTTPS_PORT" ;;
        auth) echo "$AUTH_PORT" ;;
    esac
}

url_of() {
    local scheme=http
    [[ $1 == https ]] && scheme=https
    echo "$scheme://127.0.0.1:$(port_of "$1")/v2/"
}

# HTTP status of GET /v2/ on registry $1 ("000" when nothing answers).
probe() {
    local args=(-s -o /dev/null -w '%{http_code}' --max-time 2)
    [[ $1 == https ]] && args+=(--cacert "$state/certs/ca.pem")
    curl "${args[@]}" "$(url_of "$1")" 2>/dev/null || true
}

answers() {
    local code
    code=$(probe "$1")
    [[ $code == 200 || ($1 == auth && $code == 401) ]]
}

# Prints the recorded pid of registry $1 if that process is still our registry.
live_pid() {
    local pidf=$state/$1.pid pid cmdline
    [[ -f $pidf ]] || return 1
    pid=$(<"$pidf")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
    [[ $cmdline == "$REGISTRY_BIN serve $state/$1.yml "* ]] || return 1
    echo "$pid"
}

make_certs() {
    local d=$state/certs
    [[ -f $d/server-cert.pem && -f $d/ca.pem ]] && return 0
    mkdir -p "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
        -subj "/CN=hanok test CA" -keyout "$d/ca-key.pem" -out "$d/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=127.0.0.1" \
        -keyout "$d/server-key.pem" -out "$d/server.csr" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" >"$d/server.ext"
    openssl x509 -req -sha256 -days 3650 -in "$d/server.csr" -CA "$d/ca.pem" \
        -CAkey "$d/ca-key.pem" -CAcreateserial -extfile "$d/server.ext" \
        -out "$d/server-cert.pem" 2>/dev/null
    # skopeo's --cert-dir takes CA certificates named *.crt.
    cp "$d/ca.pem" "$d/ca.crt"
    rm -f "$d/server.csr" "$d/server.ext" "$d/ca.srl"
}

make_htpasswd() {
    [[ -f $state/htpasswd ]] && return 0
    htpasswd -Bbn "$AUTH_USER" "$AUTH_PASSWORD" >"$state/htpasswd"
}

write_config() {
    local name=$1
    {
        printf '%s\n' "version: 0.1" "log:" "  level: info" "  accesslog:" "    disabled: true" \
            "storage:" "  filesystem:" "    rootdirectory: $state/data-$name" \
            "  delete:" "    enabled: true" "http:" "  addr: 127.0.0.1:$(port_of "$name")" \
            "  secret: hanok-test-registry-$name"
        if [[ $name == https ]]; then
            printf '%s\n' "  tls:" "    certificate: $state/certs/server-cert.pem" \
                "    key: $state/certs/server-key.pem"
        fi
        if [[ $name == auth ]]; then
            printf '%s\n' "auth:" "  htpasswd:" "    realm: hanok-test" "    path: $state/htpasswd"
        fi
    } >"$state/$name.yml"
    mkdir -p "$state/data-$name"
}

start_one() {
    local name=$1 pid
    if pid=$(live_pid "$name"); then
        echo "registry $name already running (pid $pid) on $(url_of "$name")"
        return 0
    fi
    if [[ $(probe "$name") != 000 ]]; then
        die "something not started by $0 already answers on $(url_of "$name")"
    fi
    write_config "$name"
    nohup "$REGISTRY_BIN" serve "$state/$name.yml" >"$state/$name.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$state/$name.pid"
}

wait_one() {
    local name=$1 pid i
    pid=$(<"$state/$name.pid")
    for ((i = 0; i < 75; i++)); do
        answers "$name" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if ! answers "$name"; then
        tail -n 20 "$state/$name.log" >&2 || true
        stop_one "$name"
        return 1
    fi
    echo "registry $name up (pid $pid) on $(url_of "$name")"
}

stop_one() {
    local name=$1 pid i
    if pid=$(live_pid "$name"); then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            [[ -d /proc/$pid ]] || break
            sleep 0.1
        done
        # Still ours after 5 s? Then force it.
        if live_pid "$name" >/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
        echo "registry $name stopped (pid $pid)"
    fi
    rm -f "$state/$name.pid"
}

case $action in
    start)
        [[ -x $REGISTRY_BIN ]] || die "$REGISTRY_BIN not found; apt-get install docker-registry"
        mkdir -p "$state"
        make_certs
        make_htpasswd
        for n in "${NAMES[@]}"; do start_one "$n"; done
        failed=0
        for n in "${NAMES[@]}"; do wait_one "$n" || failed=1; done
        if ((failed)); then
            for n in "${NAMES[@]}"; do stop_one "$n"; done
            die "a registry did not come up within 15 s (logs in $state/*.log)"
        fi
        ;;
    stop)
        for n in "${NAMES[@]}"; do stop_one "$n"; done
        ;;
    status)
        rc=0
        for n in "${NAMES[@]}"; do
            if pid=$(live_pid "$n"); then
                echo "registry $n running (pid $pid) on $(url_of "$n") (GET /v2/: $(probe "$n"))"
            else
                echo "registry $n stopped"
                rc=3
            fi
        done
        exit "$rc"
        ;;
    *) usage ;;
esac
