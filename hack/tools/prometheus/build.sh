#!/usr/bin/env bash
# Builds the Prometheus server the monitoring test runs, from the module pinned in this directory's
# go.mod, with Kubernetes service discovery as its only discovery (build tags remove_all_sd and
# enable_kubernetes_sd; Debian's package has no Kubernetes discovery at all) and without the web
# UI's assets (the test uses the HTTP API). Built from the Go module proxy once per machine
# (../cache.sh); a second run only prints the path:
#   ${POSTERN_TOOLS_CACHE:-$HOME/.cache/postern-tools}/prometheus-<hash>/prometheus
# Prints that path.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../cache.sh"

build() {
  cd "$here"
  export GOFLAGS=-mod=readonly CGO_ENABLED=0
  local module=github.com/prometheus/prometheus version
  # The release's own version file, what its release builds (promu) stamp, so --version and
  # /api/v1/status/buildinfo say which Prometheus this is.
  go mod download "$module"
  version="$(cat "$(go list -m -f '{{.Dir}}' "$module")/VERSION")"
  go build -trimpath -tags remove_all_sd,enable_kubernetes_sd \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$version" \
    -o "$1/prometheus" "$module/cmd/prometheus"
}

dir="$(cached prometheus build "$here"/{go.mod,go.sum,tools.go,build.sh})"
echo "$dir/prometheus"
