#!/usr/bin/env bash
# Runs every test of Reach against real backends: PostgreSQL and Redis on
# loopback (already running, or started by .ci/run) and a MinIO server this
# script builds once and starts in a temporary directory.
#
#   scripts/test.sh              all tests
#   scripts/test.sh ./lrs/...    only some packages (go test arguments)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh

minio_bin=$(ensure_minio)
# The chart tests (internal/deploytest) run helm lint and helm template.
REACH_HELM=$(ensure_helm)
export REACH_HELM
minio_dir=$(mktemp -d)
minio_port=$(free_port)
export MINIO_ROOT_USER=reachtest MINIO_ROOT_PASSWORD="reachtest-$(date +%s)-secret"
"$minio_bin" server --quiet --address "127.0.0.1:$minio_port" --console-address "127.0.0.1:$(free_port)" "$minio_dir" >"$minio_dir.log" 2>&1 &
minio_pid=$!
cleanup() { kill "$minio_pid" 2>/dev/null || true; wait "$minio_pid" 2>/dev/null || true; rm -rf "$minio_dir" "$minio_dir.log"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$minio_port/minio/health/live" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$minio_port/minio/health/live" >/dev/null || { echo "MinIO did not start:"; cat "$minio_dir.log"; exit 1; }

export REACH_TEST_S3_ENDPOINT="127.0.0.1:$minio_port"
export REACH_TEST_S3_ACCESS_KEY="$MINIO_ROOT_USER"
export REACH_TEST_S3_SECRET_KEY="$MINIO_ROOT_PASSWORD"
export REACH_TEST_POSTGRES_URL="${REACH_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
export REACH_TEST_REDIS_URL="${REACH_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}"

# The SCORM player bundle is embedded in the binary; build it first.
if command -v npm >/dev/null; then
  (cd web && { [ -d node_modules/scorm-again ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build --silent)
else
  echo "npm not found: the SCORM player bundle is not built (its tests fail in CI)"
fi

full=0
if [ "$#" -eq 0 ]; then set -- ./...; full=1; fi
go vet ./...
go test -count=1 -timeout 20m "$@"

# A full run also fuzzes each parser briefly (REACH_FUZZ_TIME each); a
# crash fails the run and leaves its input under testdata/fuzz.
if [ "$full" = 1 ]; then
  fuzztime="${REACH_FUZZ_TIME:-5s}"
  for target in ./lrs:FuzzParseStatements ./lrs:FuzzParseMultipart ./lrs:FuzzDocumentRequest \
                ./content/manifest:FuzzParse ./content:FuzzOpenZip ./internal/secretbox:FuzzOpen ./lrs/forward:FuzzGuardControl \
                ./server:FuzzBindJSON; do
    pkg=${target%%:*} fn=${target##*:}
    echo "fuzz $fn ($pkg, $fuzztime)"
    go test -run '^$' -fuzz "^$fn\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tail -n 5
  done
fi
