#!/usr/bin/env bash
# Starts a local Kubernetes control plane on 127.0.0.1 only: etcd, kube-apiserver (TLS with
# certificates made here by openssl, RBAC and Node authorization, service-account tokens) and
# kube-controller-manager (garbage collector, deployments, replica sets, namespaces, service
# accounts, ...). No kubelet and no scheduler: pods are created and stay Pending.
#
# Writes an admin kubeconfig to $POSTERN_CLUSTER_DIR/kubeconfig. Idempotent: when this state dir
# already holds a healthy control plane it does nothing. Settings: see lib.sh. Stop with down.sh.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

timeout="${POSTERN_CLUSTER_TIMEOUT:-60}"
owner_pid="${POSTERN_CLUSTER_OWNER_PID:-}"
pki="$cluster_dir/pki"
kubeconfig="$cluster_dir/kubeconfig"
deadline=$((SECONDS + timeout))
started_us="${EPOCHREALTIME//[.,]/}"
elapsed() {
  local us=$((${EPOCHREALTIME//[.,]/} - started_us))
  printf '%d.%ds' $((us / 1000000)) $((us % 1000000 / 100000))
}

fail() {
  local component="${1:-}" msg="$2"
  log "error: $msg"
  if [[ -n $component && -f $cluster_dir/$component.log ]]; then
    log "last lines of $cluster_dir/$component.log:"
    tail -n 40 "$cluster_dir/$component.log" >&2
  fi
  stop_all_components
  log "stopped what was started; logs stay in $cluster_dir (down.sh removes them)"
  exit 1
}

api_curl() {
  curl -fsS --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$api_port$1" 2>/dev/null
}

# --- already up? -------------------------------------------------------------------------------------
healthy() {
  [[ -f $cluster_dir/ports.env ]] || return 1
  local name
  for name in etcd kube-apiserver kube-controller-manager; do
    [[ -n "$(component_pid "$name")" ]] || return 1
  done
  local running_api_port
  running_api_port="$(sed -n 's/^POSTERN_APISERVER_PORT=//p' "$cluster_dir/ports.env")"
  # Without an explicit port, whatever is running in this state dir is the one meant.
  [[ -z ${POSTERN_APISERVER_PORT:-} ]] && api_port="$running_api_port"
  if [[ $running_api_port != "$api_port" ]]; then
    log "error: a control plane is already running in $cluster_dir with other ports:"
    sed 's/^/  /' "$cluster_dir/ports.env" >&2
    log "run down.sh first, or use another POSTERN_CLUSTER_DIR"
    exit 1
  fi
  [[ "$(api_curl /readyz)" == ok ]]
}

if healthy; then
  log "already up ($cluster_dir, https://127.0.0.1:$api_port); KUBECONFIG=$kubeconfig"
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

if [[ -d $cluster_dir && ! -f $cluster_marker && -n "$(ls -A "$cluster_dir")" ]]; then
  log "error: $cluster_dir exists, is not empty and was not made by up.sh; choose another POSTERN_CLUSTER_DIR"
  exit 1
fi
mkdir -p "$cluster_dir" "$pki"
touch "$cluster_marker"
chmod 700 "$cluster_dir"

# Leftovers of a control plane that is no longer healthy (killed, or a half-finished start): stop
# them and start again, keeping the certificates and the etcd data.
stop_all_components

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$etcd_port" "$etcd_peer_port" "$api_port" "$kcm_port"; do
  if port_in_use "$port"; then
    log "error: 127.0.0.1:$port is already in use; set POSTERN_APISERVER_PORT, POSTERN_ETCD_PORT,"
    log "       POSTERN_ETCD_PEER_PORT or POSTERN_KCM_PORT (see hack/cluster/lib.sh)"
    exit 1
  fi
done

cat >"$cluster_dir/ports.env" <<EOF
POSTERN_APISERVER_PORT=$api_port
POSTERN_ETCD_PORT=$etcd_port
POSTERN_ETCD_PEER_PORT=$etcd_peer_port
POSTERN_KCM_PORT=$kcm_port
EOF

# --- certificates ------------------------------------------------------------------------------------
# sign <name> <subject> <extensions> [<ca>]: an EC P-256 key and a certificate signed by a local CA.
sign() {
  local name="$1" subject="$2" extensions="$3" ca="${4:-ca}"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/$name.key" 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subject" 2>/dev/null |
    openssl x509 -req -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" -set_serial "0x$(openssl rand -hex 16)" \
      -days 3650 -extfile <(printf '%s\n' "$extensions") -out "$pki/$name.crt" 2>/dev/null
}

# make_ca <name> <common name>
make_ca() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/$1.key" 2>/dev/null
  openssl req -x509 -new -key "$pki/$1.key" -subj "/CN=$2" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$pki/$1.crt" 2>/dev/null
}

pki_files=(ca.crt apiserver.crt admin.crt kube-controller-manager.crt front-proxy-ca.crt front-proxy-client.crt
  sa.key sa.pub)
pki_complete() {
  local f
  for f in "${pki_files[@]}"; do [[ -s $pki/$f ]] || return 1; done
}
if ! pki_complete; then
  rm -f "$pki"/*
  umask 077
  make_ca ca postern-local-ca
  client_ext=$'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth'
  sign apiserver "/CN=kube-apiserver" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  sign admin "/O=system:masters/CN=postern-admin" "$client_ext"
  sign kube-controller-manager "/CN=system:kube-controller-manager" "$client_ext"
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

write_kubeconfig() {
  local file="$1" user="$2"
  umask 077
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: postern-local
    cluster:
      server: https://127.0.0.1:$api_port
      certificate-authority-data: $(base64 -w0 <"$pki/ca.crt")
users:
  - name: $user
    user:
      client-certificate-data: $(base64 -w0 <"$pki/$user.crt")
      client-key-data: $(base64 -w0 <"$pki/$user.key")
contexts:
  - name: postern-local
    context:
      cluster: postern-local
      user: $user
current-context: postern-local
EOF
  umask 022
}
write_kubeconfig "$kubeconfig" admin
write_kubeconfig "$cluster_dir/kube-controller-manager.kubeconfig" kube-controller-manager

# --- processes ---------------------------------------------------------------------------------------
# start <name> <program> <args...>: runs it in its own session (so it outlives this script and the
# terminal), its output in <name>.log and its pid in <name>.pid.
start() {
  local name="$1"
  shift
  : >>"$cluster_dir/$name.log"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$cluster_dir/$name.pid" "$@" \
    </dev/null >>"$cluster_dir/$name.log" 2>&1 &
}

# wait_for <component> <what> <command...>: polls until the command succeeds.
wait_for() {
  local component="$1" what="$2"
  shift 2
  until "$@"; do
    if [[ -z "$(component_pid "$component")" ]] && [[ -f $cluster_dir/$component.pid ]]; then
      fail "$component" "$component exited while waiting for $what"
    fi
    ((SECONDS < deadline)) || fail "$component" "timed out after ${timeout}s waiting for $what"
    sleep 0.1
  done
}

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

log "starting kube-apiserver on https://127.0.0.1:$api_port"
start kube-apiserver "$tools_bin/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 \
  --endpoint-reconciler-type=none \
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

log "up in $(elapsed): https://127.0.0.1:$api_port, state in $cluster_dir"
log "export KUBECONFIG=$kubeconfig"
