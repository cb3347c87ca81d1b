#!/usr/bin/env bash
# Generates the prometheus-operator CRDs (monitoring.coreos.com/v1) with controller-gen from the API
# module pinned in this directory's go.mod, the way prometheus-operator generates its own, so the
# tests validate ServiceMonitors and PrometheusRules against the real schemas. Built from the Go
# module proxy once per machine (../cache.sh); a second run only prints the directory.
#   ${POSTERN_TOOLS_CACHE:-$HOME/.cache/postern-tools}/monitoring-crds-<hash>/
# Prints that directory (one YAML file per CRD, e.g. monitoring.coreos.com_servicemonitors.yaml).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../cache.sh"

generate() {
  cd "$here"
  GOFLAGS=-mod=readonly go run sigs.k8s.io/controller-tools/cmd/controller-gen \
    crd:crdVersions=v1 \
    paths=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1 \
    output:crd:dir="$1"
}

cached monitoring-crds generate "$here"/{go.mod,go.sum,tools.go,crds.sh}
