#!/usr/bin/env bash
# Stops the node node-up.sh started and undoes what it did to the machine, then runs down.sh (the
# control plane, and the state dir). Afterwards no process, mount, network link, nftables table or
# cgroup of the node is left, and the machine's sysctls are as they were (hack/cluster/
# node.node-test.ts checks). Does nothing, successfully, when no node is up.
#
#   node-down.sh [--keep-state]   --keep-state: stop the control plane too, but keep the state dir and
#                                 its logs (what node-up.sh does when it fails)
# Settings: see lib.sh.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

keep_state=0
[[ ${1:-} == --keep-state ]] && keep_state=1
containerd_sock="$cluster_dir/containerd/containerd.sock"
kubeconfig="$cluster_dir/kubeconfig"

finish() {
  if ((keep_state)); then
    stop_all_components
  else
    rm -f "$cluster_dir/node.env"
    exec bash "$cluster_here/down.sh"
  fi
}

if [[ ! -f $cluster_dir/node.env && "$(cat "$node_state/owner" 2>/dev/null)" != "$cluster_dir" ]]; then
  finish # no node here: only the control plane, if anything
fi
[[ $(id -u) == 0 ]] || die "stopping the node needs root"
started_at=$SECONDS

# --- pods, the orderly way ---------------------------------------------------------------------------
# With nothing left to recreate or schedule them, pods deleted at once are torn down by the kubelet:
# containers stopped, volumes unmounted, the network released by the CNI plugin.
stop_components kube-controller-manager kube-scheduler
if [[ -n "$(component_pid kubelet)" && -n "$(component_pid kube-apiserver)" ]]; then
  "$tools_bin/kubectl" --kubeconfig="$kubeconfig" delete pods --all --all-namespaces --force \
    --grace-period=0 --wait=false >/dev/null 2>&1 || true
  running_sandboxes() {
    ctr --address="$containerd_sock" --namespace=k8s.io tasks list --quiet 2>/dev/null | grep -q .
  }
  # containerd stops a sandbox's pause container first and runs the CNI DEL after it, then releases
  # the sandbox's network namespace; stopping the kubelet before that cancels the DEL.
  pod_netns_left() { compgen -G '/run/netns/cni-*' >/dev/null; }
  for ((i = 0; i < 300; i++)); do
    running_sandboxes || pod_netns_left || break
    sleep 0.1
  done
fi
stop_components kube-proxy kubelet
stop_components containerd

# --- and what is left, by force ---------------------------------------------------------------------
# Containers whose shim outlived containerd (they are in the pods' cgroups), then any process that
# names the state dir: shims (`-address <state dir>/containerd/...`), port-forwards, the rest.
pod_cgroups() { find /sys/fs/cgroup -mindepth 1 -type d -path '*/kubepods*' 2>/dev/null; }
kill_leftovers() {
  local pid cmdline
  for pid in $(pod_cgroups | while read -r cg; do cat "$cg/cgroup.procs" 2>/dev/null; done | sort -u); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [[ $pid == "$$" || $pid == "$PPID" ]] && continue
    cmdline="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || true)" # it may be gone by now
    [[ $cmdline == *"$cluster_dir/"* ]] && kill -KILL "$pid" 2>/dev/null || true
  done
}
kill_leftovers

# Mounts: pods' volumes and the kubelet's shared root, containers' root filesystems and /dev/shm,
# and the network namespaces containerd pinned. Deepest first.
our_mounts() {
  awk '{ print $5 }' /proc/self/mountinfo |
    grep -E "^($cluster_dir/|/run/containerd/|/run/netns/cni-)" | sort -r || true
}
for ((i = 0; i < 5; i++)); do
  mounts="$(our_mounts)"
  [[ -n $mounts ]] || break
  while read -r mount; do umount --lazy "$mount" 2>/dev/null || true; done <<<"$mounts"
done
[[ -z "$(our_mounts)" ]] || log "warning: still mounted: $(our_mounts | tr '\n' ' ')"
rm -f /run/netns/cni-*

# Network: the veths of pods not torn down, the bridge (its routes go with it), the nftables tables
# of kube-proxy and of node-up.sh, and tables the machine had none of before that are empty now
# (kube-proxy's startup clean-up of iptables rules, through iptables-nft, makes them).
for link in $(ip -o link show master "$node_bridge" 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
  ip link delete "$link" 2>/dev/null || true
done
ip link delete "$node_bridge" 2>/dev/null || true
for table in "inet postern-node" "ip kube-proxy" "ip6 kube-proxy"; do
  nft list table $table >/dev/null 2>&1 && nft delete table $table
done
if [[ -f $node_state/nft-tables ]]; then
  nft list tables 2>/dev/null | while read -r _ family name; do
    grep -qx "table $family $name" "$node_state/nft-tables" && continue
    # Empty: nothing but the table, its chains' headers and closing braces.
    nft list table "$family" "$name" | grep -qvE '^\s*(table |chain |type |\}|$)' ||
      nft delete table "$family" "$name"
  done
fi

# cgroups the kubelet made (kubepods, in every hierarchy), deepest first; a cgroup whose last process
# just died may refuse for a moment.
for ((i = 0; i < 50; i++)); do
  pod_cgroups | sort -r | xargs -r rmdir 2>/dev/null || true
  [[ -z "$(pod_cgroups)" ]] && break
  kill_leftovers
  sleep 0.1
done
[[ -z "$(pod_cgroups)" ]] || log "warning: cgroups left: $(pod_cgroups | tr '\n' ' ')"

# Paths the kubelet and containerd use whatever they are told: the device-plugin socket dir, the
# shims' socket dir, libcni's cache of results (containerd has no setting for it), the pods' network
# namespaces' dir (empty by now). Removed only if they did not exist before the node; in a libcni
# cache that did, the results a DEL cut short left for the node's sandboxes (its network's, and the
# loopback ones of the same sandboxes).
for path in /var/lib/kubelet /run/containerd /var/lib/cni; do
  grep -qx "$path" "$node_state/preexisting" 2>/dev/null || rm -rf "$path"
done
for result in /var/lib/cni/results/"$cni_network"-*; do
  [[ -e $result ]] || continue
  sandbox="${result#/var/lib/cni/results/"$cni_network"-}"
  rm -f "$result" "/var/lib/cni/results/cni-loopback-${sandbox%-eth0}-lo"
done
grep -qx /var/lib/cni/results "$node_state/preexisting" 2>/dev/null || rmdir /var/lib/cni/results 2>/dev/null || true
grep -qx /run/netns "$node_state/preexisting" 2>/dev/null || rmdir /run/netns 2>/dev/null || true
rm -rf "$node_state"
log "node down in $((SECONDS - started_at))s"
finish
