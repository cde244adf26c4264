# syntax=docker/dockerfile:1.7
# Reach's production image: a static binary on a distroless, non-root base.
# Build: make image (needs a Docker engine).

ARG GO_VERSION=1.26.8
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/reach ./cmd/reach

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="Reach" \
      org.opencontainers.image.description="Learning-content server with a SCORM/xAPI tracker and a built-in LRS" \
      org.opencontainers.image.source="https://github.com/reach-london/reach" \
      org.opencontainers.image.licenses="proprietary"
COPY --from=build /out/reach /usr/local/bin/reach
USER 65532:65532
ENV REACH_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080 8081
HEALTHCHECK --interval=30s --timeout=3s CMD ["/usr/local/bin/reach", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/reach"]
CMD ["serve"]
