#!/usr/bin/env bash
# Generates the prometheus-operator CRDs (monitoring.coreos.com/v1) with controller-gen from the API
# module pinned in this directory's go.mod, the way prometheus-operator generates its own, so the
# tests validate ServiceMonitors and PrometheusRules against the real schemas. Built from the Go
# module proxy once per machine into a cache keyed by a hash of this module's files and the Go
# toolchain; a second run only prints the directory.
#   ${POSTERN_TOOLS_CACHE:-$HOME/.cache/postern-tools}/monitoring-crds-<hash>/
# Prints that directory (one YAML file per CRD, e.g. monitoring.coreos.com_servicemonitors.yaml).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${POSTERN_TOOLS_CACHE:-${HOME:-/tmp}/.cache/postern-tools}"
hash="$(cat "$here/go.mod" "$here/go.sum" "$here/tools.go" "$here/crds.sh" <(go env GOVERSION) |
  sha256sum | cut -c1-16)"
out="$cache_root/monitoring-crds-$hash"

if [[ ! -d $out ]]; then
  mkdir -p "$cache_root"
  staging="$(mktemp -d "$cache_root/.monitoring-crds-XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  chmod 755 "$staging"
  echo "monitoring-crds: generating into $out" >&2
  (cd "$here" && GOFLAGS=-mod=readonly go run sigs.k8s.io/controller-tools/cmd/controller-gen \
    crd:crdVersions=v1 \
    paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1 \
    output:crd:dir="$staging")
  # Renamed into place whole, so a concurrent or interrupted run never leaves half a directory.
  mv -T "$staging" "$out" 2>/dev/null || [[ -d $out ]]
fi
echo "$out"
