# Sourced by the test and CI scripts: where tools built outside the repository live.
REACH_TOOLS_DIR="${REACH_TOOLS_DIR:-$HOME/.cache/reach-tools}"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c"

# ensure_minio builds the MinIO server from the Go module proxy once and
# reuses it; prints the binary's path.
ensure_minio() {
  local bin="$REACH_TOOLS_DIR/minio"
  if [ ! -x "$bin" ] || [ "$(cat "$REACH_TOOLS_DIR/minio.version" 2>/dev/null)" != "$MINIO_VERSION" ]; then
    mkdir -p "$REACH_TOOLS_DIR"
    echo "building MinIO $MINIO_VERSION into $REACH_TOOLS_DIR (first time only, a few minutes)" >&2
    (cd "$(mktemp -d)" && GOBIN="$REACH_TOOLS_DIR" GOFLAGS=-mod=mod go install "github.com/minio/minio@$MINIO_VERSION") >&2 || return 1
    echo "$MINIO_VERSION" > "$REACH_TOOLS_DIR/minio.version"
  fi
  echo "$bin"
}

# free_port asks the kernel for an unused loopback TCP port.
free_port() {
  python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

HELM_VERSION="v3.22.0"

# ensure_helm builds helm from the Go module proxy once (a few minutes the
# first time) and reuses it; prints the binary's path. The chart tests
# (internal/deploytest) find it through REACH_HELM.
ensure_helm() {
  local bin="$REACH_TOOLS_DIR/helm"
  if [ ! -x "$bin" ] || [ "$(cat "$REACH_TOOLS_DIR/helm.version" 2>/dev/null)" != "$HELM_VERSION" ]; then
    mkdir -p "$REACH_TOOLS_DIR"
    echo "building helm $HELM_VERSION into $REACH_TOOLS_DIR (first time only, a few minutes)" >&2
    (cd "$(mktemp -d)" && GOBIN="$REACH_TOOLS_DIR" GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") >&2 || return 1
    echo "$HELM_VERSION" > "$REACH_TOOLS_DIR/helm.version"
  fi
  echo "$bin"
}
