#!/usr/bin/env bash
# Runs the content benchmark against a MinIO server started for it (the
# same MinIO build the tests use). Extra arguments go to the benchmark,
# e.g. cmd/reach-content-bench/run.sh -duration 20s.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/tools.sh

minio_bin=$(ensure_minio)
minio_dir=$(mktemp -d)
minio_port=$(free_port)
export MINIO_ROOT_USER=reachbench MINIO_ROOT_PASSWORD="reachbench-$(date +%s)-secret"
"$minio_bin" server --quiet --address "127.0.0.1:$minio_port" --console-address "127.0.0.1:$(free_port)" "$minio_dir" >"$minio_dir.log" 2>&1 &
minio_pid=$!
cleanup() { kill "$minio_pid" 2>/dev/null || true; wait "$minio_pid" 2>/dev/null || true; rm -rf "$minio_dir" "$minio_dir.log"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$minio_port/minio/health/live" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
export REACH_TEST_S3_ENDPOINT="127.0.0.1:$minio_port"
export REACH_TEST_S3_ACCESS_KEY="$MINIO_ROOT_USER"
export REACH_TEST_S3_SECRET_KEY="$MINIO_ROOT_PASSWORD"
bin=$(mktemp -d)/reach-content-bench
go build -o "$bin" ./cmd/reach-content-bench
"$bin" "$@"
