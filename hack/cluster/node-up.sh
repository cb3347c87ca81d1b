#!/usr/bin/env bash
# Makes the local cluster a real single-node Kubernetes: the control plane of up.sh, plus containerd
# and runc (Debian's packages), the CNI bridge and host-local plugins, kube-scheduler, the kubelet and
# kube-proxy (built with the control plane, hack/tools/build.sh). Pods run for real, from images
# imported into containerd (there is no registry: pods use imagePullPolicy: Never).
#
# What this machine kind needs, and why (../shared/reference/real-node.md has the trial behind it):
# - containerd's `restrict_oom_score_adj`: root lacks CAP_SYS_RESOURCE here, so no process may lower
#   its oom_score_adj; without it every pod sandbox fails to start.
# - The kubelet writes kernel sysctls at start (panic_on_oops=1 would make any oops panic the
#   machine). It runs in a mount namespace of its own where those /proc/sys files are bind-mounted
#   files that already hold what it wants, so the host's stay untouched. Its root dir is a shared
#   mount, so the volumes it mounts there for pods reach containerd in the host's namespace.
# - Addresses: the node's IP is the bridge's own 10.244.0.1, where the API server listens too (up.sh
#   with POSTERN_APISERVER_ADDRESS), so pods reach it through the `kubernetes` Service; everything
#   else listens on 127.0.0.1. Nothing is reachable on, or sent out of, the machine's own interfaces.
# - cgroup v1: Kubernetes 1.37's kubelet refuses it unless told (failCgroupV1: false).
#
# Idempotent: a healthy node is left as it is. Settings: see lib.sh. Stop with node-down.sh (or
# `make cluster-down`), which leaves no process, mount, link, nftables table or cgroup behind.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

node_name="$(hostname | tr '[:upper:]' '[:lower:]')"
kubeconfig="$cluster_dir/kubeconfig"
containerd_dir="$cluster_dir/containerd"
containerd_sock="$containerd_dir/containerd.sock"
kubelet_root="$cluster_dir/kubelet"
cni_dir="$cluster_dir/cni"
cleanup_after_failure() { bash "$cluster_here/node-down.sh" --keep-state; }

kubectl() { "$tools_bin/kubectl" --kubeconfig="$kubeconfig" "$@"; }

# --- preflight ---------------------------------------------------------------------------------------
[[ $(id -u) == 0 ]] || die "the node needs root (containerd, mounts, the bridge)"
for program in kubelet kube-scheduler kube-proxy kubectl; do
  [[ -x $tools_bin/$program ]] || die "$tools_bin/$program is missing; run 'make tools' first"
done
node="$cluster_repo/node_modules/.bin/node"
[[ -x $node ]] || die "$node is missing; run 'make deps' first (it builds the pause image)"
if ! command -v containerd >/dev/null || ! command -v nft >/dev/null || [[ ! -x /usr/lib/cni/bridge ]]; then
  bash "$cluster_repo/hack/install-test-deps.sh"
fi

# One node per machine. A node of another state dir that is gone (its processes dead) left things
# behind: clean them up first.
if [[ -f $node_state/owner ]]; then
  owner="$(cat "$node_state/owner")"
  if [[ $owner != "$cluster_dir" ]]; then
    if POSTERN_CLUSTER_DIR="$owner" bash -c 'source "$1"; [[ -n $(component_pid kubelet)$(component_pid containerd) ]]' \
      _ "$cluster_here/lib.sh"; then
      die "a node is already up for $owner; stop it first: POSTERN_CLUSTER_DIR=$owner make cluster-down"
    fi
    log "cleaning up after the node of $owner, which is gone"
    POSTERN_CLUSTER_DIR="$owner" bash "$cluster_here/node-down.sh" --keep-state
  fi
fi

node_ready() {
  [[ "$(kubectl get node "$node_name" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}
node_healthy() {
  local name
  for name in "${node_components[@]}"; do [[ -n "$(component_pid "$name")" ]] || return 1; done
  node_ready
}

if [[ ! -d $node_state ]]; then
  mkdir -p "$node_state"
  nft list tables >"$node_state/nft-tables" 2>/dev/null || true
  for path in /var/lib/kubelet /run/containerd /var/lib/cni /var/lib/cni/results /run/netns; do
    if [[ -e $path ]]; then echo "$path"; fi
  done >"$node_state/preexisting"
fi

# --- network: the bridge pods live on -------------------------------------------------------------
# Made here rather than by the CNI plugin (which would make it with the first pod), because the API
# server must listen on its address before anything else starts.
ip link show "$node_bridge" >/dev/null 2>&1 || ip link add "$node_bridge" type bridge
ip address replace "$node_ip/${pod_cidr#*/}" dev "$node_bridge"
ip link set "$node_bridge" up
# Pods reach Services backed by other pods through the host (kube-proxy's DNAT): forwarding on this
# one interface, not the host-wide net.ipv4.ip_forward, which stays as it is. A ClusterIP nobody
# serves goes into the bridge, not to the default route.
echo 1 >"/proc/sys/net/ipv4/conf/$node_bridge/forwarding"
ip route replace "$service_cidr" dev "$node_bridge"
# And what is forwarded stays on the bridge.
nft -f - <<EOF
table inet postern-node
delete table inet postern-node
table inet postern-node {
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "$node_bridge" oifname != "$node_bridge" drop
  }
}
EOF
echo "$cluster_dir" >"$node_state/owner"

# --- control plane ---------------------------------------------------------------------------------
POSTERN_APISERVER_ADDRESS="$node_ip" bash "$cluster_here/up.sh" || fail "" "the control plane did not start"
# up.sh made the state dir, the CA and the ports file; keep the node's settings beside them.
api_address="$node_ip"
api_port="$(sed -n 's/^POSTERN_APISERVER_PORT=//p' "$cluster_dir/ports.env")"

if node_healthy; then
  log "node $node_name already up ($cluster_dir); KUBECONFIG=$kubeconfig"
  exit 0
fi
# Leftovers of a node that is no longer healthy: stop them, keeping the state.
stop_components "${node_components[@]}"

cat >"$cluster_dir/node.env" <<EOF
POSTERN_SCHEDULER_PORT=$scheduler_port
POSTERN_KUBELET_PORT=$kubelet_port
POSTERN_KUBELET_HEALTHZ_PORT=$kubelet_healthz_port
POSTERN_PROXY_HEALTHZ_PORT=$proxy_healthz_port
POSTERN_PROXY_METRICS_PORT=$proxy_metrics_port
EOF
for port in "$scheduler_port" "$kubelet_healthz_port" "$proxy_healthz_port" "$proxy_metrics_port"; do
  port_free 127.0.0.1 "$port" || fail "" "127.0.0.1:$port is already in use (see the node's ports in hack/cluster/lib.sh)"
done
port_free "$node_ip" "$kubelet_port" || fail "" "$node_ip:$kubelet_port is already in use (POSTERN_KUBELET_PORT)"

# --- certificates ------------------------------------------------------------------------------------
if [[ ! -s $pki/kube-proxy.crt ]]; then
  umask 077
  # The Node authorizer and NodeRestriction know a kubelet by this identity: no bootstrap needed.
  sign kubelet-client "/O=system:nodes/CN=system:node:$node_name" "$client_ext"
  sign kubelet-serving "/CN=$node_name" "$(server_ext "IP:$node_ip,DNS:$node_name")"
  # The default RBAC binds these two names.
  sign kube-scheduler "/CN=system:kube-scheduler" "$client_ext"
  sign kube-proxy "/CN=system:kube-proxy" "$client_ext"
  umask 022
fi
for user in kubelet-client kube-scheduler kube-proxy; do
  write_kubeconfig "$cluster_dir/$user.kubeconfig" "$user"
done

# --- containerd --------------------------------------------------------------------------------------
pause_image="$("$node" "$cluster_repo/hack/images/build.ts" pause)" || fail "" "could not build the pause image"
read -r pause_tag pause_archive _ <<<"$pause_image"
mkdir -p "$containerd_dir" "$cni_dir/net.d" "$cni_dir/ipam"
# All of containerd's state in the state dir; the machine's /etc/containerd and /var/lib/containerd are
# not used. `opt` would create /opt/containerd.
cat >"$containerd_dir/config.toml" <<EOF
version = 2
root = "$containerd_dir/root"
state = "$containerd_dir/state"
disabled_plugins = ["io.containerd.internal.v1.opt"]
[grpc]
  address = "$containerd_sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_tag"
  restrict_oom_score_adj = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$containerd_dir/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$cni_dir/net.d"
    max_conf_num = 1
EOF
# Pods get an address on the bridge and one route, to the service range; no default route, so they
# reach nothing beyond this machine. isGateway is off because the bridge already has its address
# (with it, the plugin would also turn on the host-wide net.ipv4.ip_forward).
cat >"$cni_dir/net.d/10-postern.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$cni_network",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$node_bridge",
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$cni_dir/ipam",
        "ranges": [[{ "subnet": "$pod_cidr", "gateway": "$node_ip" }]],
        "routes": [{ "dst": "$service_cidr" }]
      }
    }
  ]
}
EOF
log "starting containerd"
start containerd containerd --config="$containerd_dir/config.toml"
containerd_ready() { ctr --address="$containerd_sock" version >/dev/null 2>&1; }
wait_for containerd "containerd's socket" containerd_ready
bash "$cluster_here/load-image.sh" "$pause_archive" || fail containerd "could not import the pause image"

# --- kube-scheduler ----------------------------------------------------------------------------------
log "starting kube-scheduler"
start kube-scheduler "$tools_bin/kube-scheduler" \
  --kubeconfig="$cluster_dir/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig="$cluster_dir/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig="$cluster_dir/kube-scheduler.kubeconfig" \
  --bind-address=127.0.0.1 \
  --secure-port="$scheduler_port" \
  --cert-dir="$cluster_dir/kube-scheduler-certs" \
  --leader-elect=false \
  --profiling=false \
  --v="${POSTERN_CLUSTER_VERBOSITY:-0}"

# --- kubelet -----------------------------------------------------------------------------------------
mkdir -p "$kubelet_root"
# The kubelet mounts pods' volumes under its root dir in its own mount namespace; as a shared mount,
# they appear in the host's too, where containerd bind-mounts them into containers.
if ! mountpoint -q "$kubelet_root"; then
  mount --bind "$kubelet_root" "$kubelet_root"
  mount --make-rshared "$kubelet_root"
fi
cat >"$cluster_dir/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $node_ip
port: $kubelet_port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $kubelet_healthz_port
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $pki/ca.crt }
authorization: { mode: Webhook }
containerRuntimeEndpoint: unix://$containerd_sock
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
# Without CAP_SYS_RESOURCE it could not lower its own (default -999) anyway.
oomScoreAdj: 0
# Its own chains in the host's iptables (KUBE-FIREWALL and canaries): not wanted, kube-proxy uses
# nftables.
makeIPTablesUtilChains: false
podLogsDir: $cluster_dir/pod-logs
# A shared developer machine's disk may be fuller than a server's: evict only when it is really full,
# and never garbage-collect the imported images (there is no registry to pull them again from).
evictionHard: { memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1% }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# syncFrequency and configMapAndSecretChangeDetectionStrategy stay at their defaults (1m, Watch): the
# operator's volume refresh is measured against a stock kubelet.
EOF
# The sysctls the kubelet sets at start (pkg/kubelet/cm/container_manager_linux.go,
# setupKernelTunables), with the values it wants; each that differs on the host is shown to it as a
# file holding that value.
declare -A kubelet_sysctls=(
  [vm/overcommit_memory]=1 [vm/panic_on_oom]=0 [kernel/panic]=10 [kernel/panic_on_oops]=1
  [kernel/keys/root_maxkeys]=1000000 [kernel/keys/root_maxbytes]=25000000
)
fakes="$cluster_dir/kubelet-sysctls"
rm -rf "$fakes"
mkdir -p "$fakes"
binds=""
for key in "${!kubelet_sysctls[@]}"; do
  [[ "$(cat "/proc/sys/$key")" == "${kubelet_sysctls[$key]}" ]] && continue
  echo "${kubelet_sysctls[$key]}" >"$fakes/${key//\//.}"
  binds+="mount --bind $fakes/${key//\//.} /proc/sys/$key; "
done
log "starting the kubelet (node $node_name, $node_ip)"
# /proc is made private in the kubelet's namespace first, so the binds never propagate to the host,
# even where /proc is a shared mount.
start kubelet unshare --mount --propagation unchanged -- bash -c "mount --make-rprivate /proc; $binds"'exec "$@"' \
  kubelet "$tools_bin/kubelet" \
  --config="$cluster_dir/kubelet-config.yaml" \
  --kubeconfig="$cluster_dir/kubelet-client.kubeconfig" \
  --root-dir="$kubelet_root" \
  --hostname-override="$node_name" \
  --node-ip="$node_ip" \
  --v="${POSTERN_CLUSTER_VERBOSITY:-0}"

# --- kube-proxy --------------------------------------------------------------------------------------
cat >"$cluster_dir/kube-proxy-config.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
# Its rules in nftables tables of its own (ip and ip6 kube-proxy), nothing in iptables.
mode: nftables
clientConnection: { kubeconfig: $cluster_dir/kube-proxy.kubeconfig }
hostnameOverride: $node_name
clusterCIDR: $pod_cidr
nodePortAddresses: ["$node_ip/32"]
healthzBindAddress: 127.0.0.1:$proxy_healthz_port
metricsBindAddress: 127.0.0.1:$proxy_metrics_port
oomScoreAdj: 0
# No conntrack sysctl changes.
conntrack: { maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
EOF
log "starting kube-proxy"
start kube-proxy "$tools_bin/kube-proxy" --config="$cluster_dir/kube-proxy-config.yaml" \
  --v="${POSTERN_CLUSTER_VERBOSITY:-0}"

scheduler_healthy() { [[ "$(curl -ksfS --max-time 2 "https://127.0.0.1:$scheduler_port/healthz" 2>/dev/null)" == ok ]]; }
proxy_healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$proxy_healthz_port/healthz" >/dev/null 2>&1; }
wait_for kube-scheduler "kube-scheduler /healthz" scheduler_healthy
wait_for kubelet "node $node_name Ready" node_ready
log "node $node_name Ready after $(elapsed)"
wait_for kube-proxy "kube-proxy /healthz" proxy_healthy

log "up in $(elapsed): node $node_name, API server https://$api_address:$api_port, state in $cluster_dir"
log "export KUBECONFIG=$kubeconfig"
