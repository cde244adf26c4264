# The README's two commands are `make run` and `make test`.
.PHONY: run test build lint bench fmt image web

# The version `reach version` / `reach --version` prints: the git tag or
# commit of this checkout ("-dirty" with uncommitted changes).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDVERSION = -X main.version=$(VERSION)

# Run the server with embedded defaults: SQLite, blobs and keys in ./data,
# in-process cache. No PostgreSQL, Redis or S3 needed.
#
# The binary is built, then run (not `go run`, which exits 1 when
# interrupted even though the server shut down cleanly), so Ctrl-C ends
# with exit status 0 after a graceful shutdown.
run: web
	go build -ldflags="$(LDVERSION)" -o bin/reach ./cmd/reach
	bin/reach serve

# Run every test against real PostgreSQL, Redis and MinIO (MinIO is built
# once and started by the script).
test: web
	scripts/test.sh

# Build the SCORM player bundle (web/src/player with scorm-again) into
# server/playerdist, which the binary embeds.
web:
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build

build: web
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w $(LDVERSION)" -o bin/reach ./cmd/reach

fmt:
	gofmt -w $$(git ls-files '*.go')

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	go vet ./...
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

# Build the production image (needs a Docker engine; CI checks the
# Dockerfile statically instead).
image:
	docker build --build-arg VERSION=$(VERSION) -t reach:dev .

# Check the Dockerfile, the Helm chart and the operator docs: BuildKit's
# parser on the Dockerfile, the binary built with the image's flags, helm
# lint, helm template for default and production-like values decoded
# strictly into the Kubernetes API types. Builds helm once into
# ~/.cache/reach-tools.
.PHONY: chart-check
chart-check:
	REACH_HELM=$$(. scripts/tools.sh && ensure_helm) go test -count=1 ./internal/deploytest/

# Content benchmark on MinIO: 20 KB file with 32 clients (requests/s),
# Range requests on a 500 MB file (server RSS), 100 MB and 500 MB package
# imports (time, peak memory). Starts its own MinIO; prints the figures.
.PHONY: bench-content
bench-content:
	cmd/reach-content-bench/run.sh

# Load test: three `reach serve` processes over a throw-away database on the
# loopback PostgreSQL, the loopback Redis and a MinIO built once into
# ~/.cache/reach-tools; simulated learners plus LMS readers and writers for
# LOAD_DURATION (default 60s). Prints throughput, latency percentiles,
# errors and the servers' memory and CPU. Loopback only.
.PHONY: load
load: web
	REACH_MINIO=$$(. scripts/tools.sh && ensure_minio) go run ./cmd/reach-load -duration $${LOAD_DURATION:-60s} $(LOAD_FLAGS)

# Reports with a million statements: bulk-load, projection rate and the
# time of a full report (REACH_BENCH_STATEMENTS to change the size).
.PHONY: bench-reports
bench-reports:
	go test -run '^$$' -bench BenchmarkReport -benchtime 20x -timeout 60m ./reports/

# Hostile bodies (issue 13): `reach serve` as its own process on SQLite and
# on PostgreSQL gets 8 concurrent maximum-size bodies of each kind; prints
# peak RSS per kind and the worst wait of single-statement writers while
# others send maximum batches.
.PHONY: bench-hostile
bench-hostile:
	go test -run '^$$' -bench BenchmarkHostileBodies -benchtime 1x -timeout 30m ./internal/clustertest/
