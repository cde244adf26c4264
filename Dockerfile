# syntax=docker/dockerfile:1.7
# Reach's production image: a static binary on a distroless, non-root base
# with no shell. Build: make image (needs a Docker engine). CI has no engine,
# so internal/deploytest checks this file statically and builds the binary
# with the flags of the RUN line below.
#
# Base images are pinned to exact versions. Distroless publishes no version
# tags, only digests; release builds should add one
# (gcr.io/distroless/static-debian12:nonroot@sha256:…, from
# `docker buildx imagetools inspect gcr.io/distroless/static-debian12:nonroot`).

ARG GO_VERSION=1.26.8
ARG NODE_VERSION=24.21.0

# Front-end stage: installs web/ exactly as locked and runs its build script
# (when package.json defines one), which bundles the SCORM player into
# server/playerdist; the Go stage embeds it. Browser code comes from npm at
# build time and never lives in the repository. The stage keeps the
# repository's layout (/src/web) so the script's relative --outdir holds.
FROM node:${NODE_VERSION}-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN mkdir -p ../server/playerdist && npm run build --if-present

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/server/playerdist ./server/playerdist
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/reach ./cmd/reach
# The data directory must exist in the image and belong to the runtime user:
# a volume mounted there copies its owner, and the final image has no shell
# to fix it later.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="Reach" \
      org.opencontainers.image.description="Learning-content server with a SCORM/xAPI tracker and a built-in LRS" \
      org.opencontainers.image.source="https://github.com/reach-london/reach" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="proprietary"
COPY --from=build /out/reach /usr/local/bin/reach
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV REACH_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080 8081
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 CMD ["/usr/local/bin/reach", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/reach"]
CMD ["serve"]
