#!/usr/bin/env bash
# Starts a local Kubernetes control plane: etcd, kube-apiserver (TLS with certificates made here by
# openssl, RBAC and Node authorization, service-account tokens) and kube-controller-manager (garbage
# collector, deployments, replica sets, namespaces, service accounts, ...). Everything listens on
# 127.0.0.1, except that kube-apiserver listens on POSTERN_APISERVER_ADDRESS: node-up.sh, which runs
# this first, sets it to the node bridge's address so pods reach the API server too. Without a node
# (this script alone) there is no kubelet and no scheduler: pods are created and stay Pending.
#
# Writes an admin kubeconfig to $POSTERN_CLUSTER_DIR/kubeconfig. Idempotent: when this state dir
# already holds a healthy control plane it does nothing. Settings: see lib.sh. Stop with down.sh.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

owner_pid="${POSTERN_CLUSTER_OWNER_PID:-}"
kubeconfig="$cluster_dir/kubeconfig"
cleanup_after_failure() { stop_all_components; }

# --- already up? -------------------------------------------------------------------------------------
healthy() {
  [[ -f $cluster_dir/ports.env ]] || return 1
  local name
  for name in etcd kube-apiserver kube-controller-manager; do
    [[ -n "$(component_pid "$name")" ]] || return 1
  done
  local running_api_port running_api_address
  running_api_port="$(sed -n 's/^POSTERN_APISERVER_PORT=//p' "$cluster_dir/ports.env")"
  running_api_address="$(sed -n 's/^POSTERN_APISERVER_ADDRESS=//p' "$cluster_dir/ports.env")"
  # Without an explicit port, whatever is running in this state dir is the one meant.
  [[ -z ${POSTERN_APISERVER_PORT:-} ]] && api_port="$running_api_port"
  if [[ $running_api_port != "$api_port" || $running_api_address != "$api_address" ]]; then
    log "error: a control plane is already running in $cluster_dir with other addresses:"
    sed 's/^/  /' "$cluster_dir/ports.env" >&2
    log "run down.sh first, or use another POSTERN_CLUSTER_DIR"
    exit 1
  fi
  [[ "$(api_curl /readyz)" == ok ]]
}

if healthy; then
  log "already up ($cluster_dir, https://$api_address:$api_port); KUBECONFIG=$kubeconfig"
  exit 0
fi

# --- preflight ---------------------------------------------------------------------------------------
for program in etcd kube-apiserver kube-controller-manager kubectl; do
  [[ -x $tools_bin/$program ]] || {
    log "error: $tools_bin/$program is missing; run 'make tools' (bash hack/tools/build.sh) first"
    exit 1
  }
done
for tool in openssl curl setsid base64; do
  command -v "$tool" >/dev/null || {
    log "error: $tool is not installed"
    exit 1
  }
done

make_cluster_dir
mkdir -p "$pki"

# Leftovers of a control plane that is no longer healthy (killed, or a half-finished start): stop
# them and start again, keeping the certificates and the etcd data.
stop_all_components

for port in "$etcd_port" "$etcd_peer_port" "$kcm_port"; do
  port_free 127.0.0.1 "$port" ||
    die "127.0.0.1:$port is already in use; set POSTERN_ETCD_PORT, POSTERN_ETCD_PEER_PORT or POSTERN_KCM_PORT (see hack/cluster/lib.sh)"
done
port_free "$api_address" "$api_port" ||
  die "$api_address:$api_port is already in use; set POSTERN_APISERVER_PORT (see hack/cluster/lib.sh)"

cat >"$cluster_dir/ports.env" <<EOF
POSTERN_APISERVER_ADDRESS=$api_address
POSTERN_APISERVER_PORT=$api_port
POSTERN_ETCD_PORT=$etcd_port
POSTERN_ETCD_PEER_PORT=$etcd_peer_port
POSTERN_KCM_PORT=$kcm_port
EOF

# --- certificates ------------------------------------------------------------------------------------
pki_files=(ca.crt apiserver.crt admin.crt kube-controller-manager.crt front-proxy-ca.crt front-proxy-client.crt
  apiserver-kubelet-client.crt sa.key sa.pub)
pki_complete() {
  local f
  for f in "${pki_files[@]}"; do [[ -s $pki/$f ]] || return 1; done
  # Made for this address (a state dir reused with another POSTERN_APISERVER_ADDRESS is not).
  openssl x509 -in "$pki/apiserver.crt" -noout -ext subjectAltName 2>/dev/null | grep -q "IP Address:$api_address,"
}
if ! pki_complete; then
  rm -f "$pki"/*
  umask 077
  make_ca ca postern-local-ca
  # 10.0.0.1 is the `kubernetes` Service's ClusterIP (the first of --service-cluster-ip-range).
  sign apiserver "/CN=kube-apiserver" "$(server_ext "IP:$api_address,IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local")"
  sign admin "/O=system:masters/CN=postern-admin" "$client_ext"
  sign kube-controller-manager "/CN=system:kube-controller-manager" "$client_ext"
  # For logs, exec and port-forward: the kubelets' API authorizes this identity (system:masters).
  sign apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client_ext"
  # The aggregation layer's front proxy: without it kube-controller-manager's delegated
  # authentication keeps complaining about the missing requestheader CA.
  make_ca front-proxy-ca postern-local-front-proxy-ca
  sign front-proxy-client "/CN=front-proxy-client" "$client_ext" front-proxy-ca
  # Service-account token signing key pair (ES256 tokens).
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/sa.key" 2>/dev/null
  openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  umask 022
  pki_complete || fail "" "openssl did not produce all of ${pki_files[*]} in $pki"
fi

write_kubeconfig "$kubeconfig" admin
write_kubeconfig "$cluster_dir/kube-controller-manager.kubeconfig" kube-controller-manager

# --- processes ---------------------------------------------------------------------------------------
log "starting etcd on 127.0.0.1:$etcd_port"
start etcd "$tools_bin/etcd" \
  --name=postern \
  --data-dir="$cluster_dir/etcd" \
  --listen-client-urls="http://127.0.0.1:$etcd_port" \
  --advertise-client-urls="http://127.0.0.1:$etcd_port" \
  --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" \
  --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster="postern=http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster-state=new \
  --unsafe-no-fsync=true \
  --log-level=warn
etcd_healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$etcd_port/health" 2>/dev/null | grep -q '"health":"true"'; }
wait_for etcd "etcd /health" etcd_healthy
log "etcd ready after $(elapsed)"

# The `kubernetes` Service's endpoint is the advertised address; Endpoints may not hold a loopback
# address, so without a node (nobody to reach it from a pod) there is none.
endpoint_reconciler=lease
[[ $api_address == 127.* ]] && endpoint_reconciler=none
log "starting kube-apiserver on https://$api_address:$api_port"
start kube-apiserver "$tools_bin/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --bind-address="$api_address" \
  --advertise-address="$api_address" \
  --endpoint-reconciler-type="$endpoint_reconciler" \
  --secure-port="$api_port" \
  --cert-dir="$cluster_dir/apiserver-certs" \
  --tls-cert-file="$pki/apiserver.crt" \
  --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --requestheader-client-ca-file="$pki/front-proxy-ca.crt" \
  --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User \
  --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$pki/front-proxy-client.crt" \
  --proxy-client-key-file="$pki/front-proxy-client.key" \
  --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$pki/ca.crt" \
  --kubelet-preferred-address-types=InternalIP \
  --authorization-mode=Node,RBAC \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" \
  --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range=10.0.0.0/24 \
  --allow-privileged=true \
  --profiling=false \
  --v="${POSTERN_CLUSTER_VERBOSITY:-0}"
apiserver_ready() { [[ "$(api_curl /readyz)" == ok ]]; }
wait_for kube-apiserver "kube-apiserver /readyz" apiserver_ready
log "kube-apiserver ready after $(elapsed)"

log "starting kube-controller-manager"
start kube-controller-manager "$tools_bin/kube-controller-manager" \
  --kubeconfig="$cluster_dir/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig="$cluster_dir/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig="$cluster_dir/kube-controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 \
  --secure-port="$kcm_port" \
  --cert-dir="$cluster_dir/kube-controller-manager-certs" \
  --leader-elect=false \
  --kube-api-qps=100 \
  --kube-api-burst=200 \
  --controllers="${POSTERN_KCM_CONTROLLERS:-*}" \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$pki/sa.key" \
  --root-ca-file="$pki/ca.crt" \
  --cluster-signing-cert-file="$pki/ca.crt" \
  --cluster-signing-key-file="$pki/ca.key" \
  --cluster-name=postern \
  --profiling=false \
  --v="${POSTERN_CLUSTER_VERBOSITY:-0}"
kcm_healthy() { [[ "$(curl -ksfS --max-time 2 "https://127.0.0.1:$kcm_port/healthz" 2>/dev/null)" == ok ]]; }
wait_for kube-controller-manager "kube-controller-manager /healthz" kcm_healthy
log "kube-controller-manager healthy after $(elapsed)"
# The serviceaccount controller fills in each namespace's "default" ServiceAccount; pods cannot be
# created before it exists.
default_sa() { api_curl /api/v1/namespaces/default/serviceaccounts/default >/dev/null; }
wait_for kube-controller-manager "the default ServiceAccount" default_sa

if [[ -n $owner_pid ]]; then
  # Tears the control plane down when the process that asked for it (a test run) goes away, even if
  # it could not clean up itself.
  setsid bash -c 'echo $$ >"$1/watchdog.pid"
    source "$4"
    while running "$2"; do sleep 1; done
    POSTERN_CLUSTER_DIR="$1" exec bash "$3"' postern-cluster-watchdog "$cluster_dir" "$owner_pid" \
    "$cluster_here/down.sh" "$cluster_here/lib.sh" </dev/null >/dev/null 2>&1 &
fi

log "up in $(elapsed): https://$api_address:$api_port, state in $cluster_dir"
log "export KUBECONFIG=$kubeconfig"
