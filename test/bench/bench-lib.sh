# Shared by the benchmark scripts (sourced): stopping our own processes, unmounting what is left
# below our dirs, and the fixture registry with the busybox test image. Callers set BUILD,
# FIXTURES and TMP first.

# Stops a process of ours: PID, only if its command line still has PATTERN; SIGTERM, then waits up
# to WAIT_S seconds (default 10) before SIGKILL.
stop_pid() {
  local pid=$1 pattern=$2 wait_s=${3:-10}
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' </proc/"$pid"/cmdline | grep -qF -- "$pattern" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq $((wait_s * 20))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Lazily unmounts every mount point below the given dirs, deepest first.
unmount_under() {
  python3 - "$@" <<'PY' | while IFS= read -r mp; do umount -l "$mp" 2>/dev/null || true; done
import sys
roots = [r.rstrip("/") + "/" for r in sys.argv[1:]]
points = []
with open("/proc/self/mountinfo") as f:
    for line in f:
        mp = line.split()[4].encode().decode("unicode_escape")
        if any(mp.startswith(r) for r in roots):
            points.append(mp)
for mp in sorted(points, key=len, reverse=True):
    print(mp)
PY
}

# The fixture images (built if missing) served by a local registry in $TMP/registry
# (HANOK_REGISTRY_*_PORT choose its ports); stop_fixture_registry stops it if it was started.
REGISTRY_STARTED=0
start_fixture_registry() {
  local images="$BUILD/fixtures/images"
  [[ -f "$images/.complete" ]] || cmake --build "$BUILD" --target test_images >/dev/null
  mkdir -p "$TMP/registry"
  REGISTRY_STARTED=1
  "$FIXTURES/registry.sh" start "$TMP/registry" >"$TMP/registry.log" 2>&1 || { cat "$TMP/registry.log" >&2; return 1; }
  "$FIXTURES/push-images.sh" "$images" "$TMP/registry" >"$TMP/push.log" 2>&1 || { cat "$TMP/push.log" >&2; return 1; }
}
stop_fixture_registry() {
  [[ $REGISTRY_STARTED -eq 1 ]] || return 0
  "$FIXTURES/registry.sh" stop "$TMP/registry" >/dev/null 2>&1 || true
}
