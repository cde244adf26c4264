// Package deploytest holds the checks on how Reach is shipped: the
// Dockerfile's rules (read with BuildKit's parser, and the binary built with
// the image's own flags), the Helm chart (helm lint, helm template for
// default and production-like values, every rendered manifest decoded
// strictly into the Kubernetes API types), and the operator docs that must
// agree with internal/config.
//
// It has no code of its own; the tests are the point. They run with
// `make test`. The chart tests need a helm binary: scripts/test.sh builds
// one from the Go module proxy into ~/.cache/reach-tools and exports its
// path as REACH_HELM. Without it the chart tests skip, except with CI=true,
// where they fail.
package deploytest
