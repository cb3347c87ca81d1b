#!/usr/bin/env bash
# Imports docker-archives (what hack/images/build.ts writes) into the node's containerd, where pods
# find them with imagePullPolicy: Never; `kind load image-archive`, for this cluster. node-down.sh
# removes containerd's state, so images are imported again after every node-up.sh.
#   load-image.sh <archive>...      Settings: see lib.sh.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# > 0)) || die "usage: load-image.sh <archive>..."
[[ -n "$(component_pid containerd)" ]] || die "no node is up in $cluster_dir (make cluster-up)"
for archive in "$@"; do
  ctr --address="$cluster_dir/containerd/containerd.sock" --namespace=k8s.io images import "$archive" >/dev/null ||
    die "could not import $archive"
  log "imported $archive after $(elapsed)"
done
