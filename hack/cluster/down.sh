#!/usr/bin/env bash
# Stops the control plane up.sh started in $POSTERN_CLUSTER_DIR (default /tmp/postern-cluster), by
# its pid files, and removes the state dir (certificates, etcd data, logs, kubeconfig). Does nothing,
# successfully, when nothing is up. A cluster with a node goes down through node-down.sh, which
# comes back here at its end. Settings: see lib.sh.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ -f $cluster_dir/node.env || "$(cat "$node_state/owner" 2>/dev/null)" == "$cluster_dir" ]]; then
  exec bash "$cluster_here/node-down.sh"
fi
if [[ ! -d $cluster_dir ]]; then
  log "nothing to stop ($cluster_dir does not exist)"
  exit 0
fi
if [[ ! -f $cluster_marker ]]; then
  log "error: $cluster_dir was not made by up.sh; not touching it"
  exit 1
fi

stop_all_components
rm -rf "$cluster_dir"
log "down; removed $cluster_dir"
