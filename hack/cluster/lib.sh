# Shared by up.sh, down.sh, node-up.sh and node-down.sh (sourced, not run). Settings, all optional:
#   POSTERN_CLUSTER_DIR        state dir: certificates, etcd data, logs, pid files, kubeconfig, and the
#                              node's containerd, kubelet and CNI state (default /tmp/postern-cluster)
#   POSTERN_APISERVER_ADDRESS  the one address kube-apiserver listens on and advertises (default
#                              127.0.0.1; node-up.sh sets the node bridge's own address, see below)
#   POSTERN_APISERVER_PORT     kube-apiserver secure port (default 26443)
#   POSTERN_ETCD_PORT          etcd client port on 127.0.0.1 (default 22379)
#   POSTERN_ETCD_PEER_PORT     etcd peer port on 127.0.0.1 (default 22380)
#   POSTERN_KCM_PORT           kube-controller-manager secure (health) port on 127.0.0.1 (default 20257)
#   POSTERN_TOOLS_BIN          where the binaries are (default hack/tools/bin, filled by `make tools`)
#   POSTERN_CLUSTER_TIMEOUT    seconds up.sh waits for the control plane to become ready (default 60)
#   POSTERN_CLUSTER_OWNER_PID  if set, a watchdog runs down.sh when that process exits (test runs)
#   POSTERN_CLUSTER_VERBOSITY  --v of kube-apiserver and kube-controller-manager (default 0)
#   POSTERN_KCM_CONTROLLERS    --controllers of kube-controller-manager (default "*": its defaults)
#   POSTERN_SCHEDULER_PORT     kube-scheduler secure (health) port on 127.0.0.1 (default 20259)
#   POSTERN_KUBELET_PORT       kubelet API port on the node address (default 20250)
#   POSTERN_KUBELET_HEALTHZ_PORT  kubelet /healthz on 127.0.0.1 (default 20248)
#   POSTERN_PROXY_HEALTHZ_PORT, POSTERN_PROXY_METRICS_PORT  kube-proxy's, on 127.0.0.1 (20256, 20249)
# The default ports are below Linux's ephemeral range (32768-60999) so outgoing connections never
# take them.

cluster_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cluster_here="$cluster_repo/hack/cluster"
cluster_dir="$(realpath -m "${POSTERN_CLUSTER_DIR:-/tmp/postern-cluster}")"
tools_bin="${POSTERN_TOOLS_BIN:-$cluster_repo/hack/tools/bin}"
api_address="${POSTERN_APISERVER_ADDRESS:-127.0.0.1}"
api_port="${POSTERN_APISERVER_PORT:-26443}"
etcd_port="${POSTERN_ETCD_PORT:-22379}"
etcd_peer_port="${POSTERN_ETCD_PEER_PORT:-22380}"
kcm_port="${POSTERN_KCM_PORT:-20257}"
scheduler_port="${POSTERN_SCHEDULER_PORT:-20259}"
kubelet_port="${POSTERN_KUBELET_PORT:-20250}"
kubelet_healthz_port="${POSTERN_KUBELET_HEALTHZ_PORT:-20248}"
proxy_healthz_port="${POSTERN_PROXY_HEALTHZ_PORT:-20256}"
proxy_metrics_port="${POSTERN_PROXY_METRICS_PORT:-20249}"
pki="$cluster_dir/pki"

# The node's network. There is one node per machine (containerd's shims, the kubelet's cgroups and
# device-plugin socket are machine-wide), so these are fixed. Every address is this machine's own:
# pods live on the bridge, whose own address is the node's IP and the API server's (pods reach it
# through the `kubernetes` Service); the service range is routed into the bridge, so a ClusterIP
# kube-proxy does not know goes nowhere rather than out of eth0.
node_bridge=postern0
# The pods' CNI network; libcni caches each sandbox's result under /var/lib/cni by this name.
cni_network=postern
node_ip=10.244.0.1
pod_cidr=10.244.0.0/24
service_cidr=10.0.0.0/24
# While a node is up: `owner` (its state dir), and what the machine had before it, so node-down.sh
# removes only what the node added: `nft-tables` (nft list tables) and `preexisting` (paths).
node_state=/run/postern-node
# Marks a directory up.sh created, so down.sh only ever deletes a directory of ours.
cluster_marker="$cluster_dir/.postern-cluster"
# Stop order: watchdog first (so it does not run down.sh while we do), etcd last.
cluster_components=(watchdog kube-controller-manager kube-apiserver etcd)
# The node's, stopped by node-down.sh before the control plane.
node_components=(kube-proxy kubelet kube-scheduler containerd)

log() { printf 'cluster: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

timeout="${POSTERN_CLUSTER_TIMEOUT:-60}"
deadline=$((SECONDS + timeout))
started_us="${EPOCHREALTIME//[.,]/}"
elapsed() {
  local us=$((${EPOCHREALTIME//[.,]/} - started_us))
  printf '%d.%ds' $((us / 1000000)) $((us % 1000000 / 100000))
}

# fail <component> <message>: says why (with the end of the component's log), then lets the script
# undo what it started (its cleanup_after_failure), keeping the logs.
fail() {
  local component="${1:-}" msg="$2"
  log "error: $msg"
  if [[ -n $component && -f $cluster_dir/$component.log ]]; then
    log "last lines of $cluster_dir/$component.log:"
    tail -n 40 "$cluster_dir/$component.log" >&2
  fi
  cleanup_after_failure
  log "stopped what was started; logs stay in $cluster_dir (down.sh removes them)"
  exit 1
}

# Creates the state dir, or checks that an existing one is ours (or empty).
make_cluster_dir() {
  if [[ -d $cluster_dir && ! -f $cluster_marker && -n "$(ls -A "$cluster_dir")" ]]; then
    die "$cluster_dir exists, is not empty and was not made by up.sh; choose another POSTERN_CLUSTER_DIR"
  fi
  mkdir -p "$cluster_dir"
  touch "$cluster_marker"
  chmod 700 "$cluster_dir"
}

# Whether nothing listens on <address>:<port> (a connection is refused).
port_free() { ! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

api_curl() {
  curl -fsS --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://$api_address:$api_port$1" 2>/dev/null
}

# start <name> <program> <args...>: runs it in its own session (so it outlives this script and the
# terminal), its output in <name>.log and its pid in <name>.pid.
start() {
  local name="$1"
  shift
  : >>"$cluster_dir/$name.log"
  # A previous run's pid file (a restart) names a process that is gone: until the new one writes its
  # own, wait_for would take the component for exited.
  rm -f "$cluster_dir/$name.pid"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$cluster_dir/$name.pid" "$@" \
    </dev/null >>"$cluster_dir/$name.log" 2>&1 &
}

# wait_for <component> <what> <command...>: polls until the command succeeds.
wait_for() {
  local component="$1" what="$2" pid
  shift 2
  until "$@"; do
    # The pid start() just recorded (it removed any older file), so whether that process runs is the
    # whole question; component_pid's look at the command line is for pid files of unknown age, and
    # reads a process in the middle of its exec (or a file not yet written) as gone.
    pid="$(cat "$cluster_dir/$component.pid" 2>/dev/null || true)"
    if [[ $pid =~ ^[0-9]+$ ]] && ! running "$pid"; then
      fail "$component" "$component exited while waiting for $what"
    fi
    ((SECONDS < deadline)) || fail "$component" "timed out after ${timeout}s waiting for $what"
    sleep 0.1
  done
}

# Whether a process runs. A zombie does not: our processes outlive up.sh, so after they exit they
# wait as zombies until init reaps them, and `kill -0` still succeeds on them.
running() {
  local stat
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  stat="${stat##*) }"
  [[ ${stat%% *} != Z ]]
}

# The pid of a running component of this cluster, or nothing. Guards against pid reuse: the process
# must still be the program we started, with this state dir on its command line.
component_pid() {
  local name="$1" pid argv0 cmdline
  [[ -f $cluster_dir/$name.pid ]] || return 0
  pid="$(cat "$cluster_dir/$name.pid" 2>/dev/null || true)"
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  running "$pid" || return 0
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  argv0="${cmdline%% *}"
  case "$name" in
  watchdog) [[ $cmdline == *"postern-cluster-watchdog"* ]] || return 0 ;;
  # The kubelet starts as `unshare ... bash -c '...; exec kubelet ...'`, all in one pid: until the
  # last exec its argv0 is unshare or bash, with the kubelet's path among the arguments.
  kubelet) [[ $cmdline == *"$tools_bin/kubelet "* ]] || return 0 ;;
  # Until start()'s wrapper execs the program, the pid is still `bash -c ... <name>.pid <program>`:
  # the component starting, not a stale pid.
  *) [[ ${argv0##*/} == "$name" || $cmdline == *" $cluster_dir/$name.pid "* ]] || return 0 ;;
  esac
  [[ $cmdline == *"$cluster_dir"* ]] || return 0
  echo "$pid"
}

# Sends SIGTERM to the given components, waits up to 15 s, then SIGKILLs what is left.
stop_components() {
  local name pid pids=() i
  for name in "$@"; do
    pid="$(component_pid "$name")"
    # Never signal ourselves (the watchdog execs down.sh).
    if [[ -n $pid && $pid != "$$" ]]; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  ((${#pids[@]} > 0)) || return 0
  for ((i = 0; i < 150; i++)); do
    local alive=0
    for pid in "${pids[@]}"; do running "$pid" && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

stop_all_components() {
  stop_components watchdog
  stop_components kube-controller-manager kube-apiserver
  stop_components etcd
  local name
  for name in "${cluster_components[@]}"; do rm -f "$cluster_dir/$name.pid"; done
}

# --- certificates (the CA up.sh made in $pki; callers set umask 077 around these) ---------------------
client_ext=$'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth'
# server_ext <subjectAltName>
server_ext() {
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n'
  printf 'extendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$1"
}

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

# write_kubeconfig <file> <user>: a kubeconfig for the API server, as the client certificate <user>.
write_kubeconfig() {
  local file="$1" user="$2"
  (
    umask 077
    cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: postern-local
    cluster:
      server: https://$api_address:$api_port
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
  )
}
