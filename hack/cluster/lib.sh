# Shared by up.sh and down.sh (sourced, not run). Settings, all optional:
#   POSTERN_CLUSTER_DIR        state dir: certificates, etcd data, logs, pid files, kubeconfig
#                              (default /tmp/postern-cluster)
#   POSTERN_APISERVER_PORT     kube-apiserver secure port on 127.0.0.1 (default 26443)
#   POSTERN_ETCD_PORT          etcd client port on 127.0.0.1 (default 22379)
#   POSTERN_ETCD_PEER_PORT     etcd peer port on 127.0.0.1 (default 22380)
#   POSTERN_KCM_PORT           kube-controller-manager secure (health) port on 127.0.0.1 (default 20257)
#   POSTERN_TOOLS_BIN          where the binaries are (default hack/tools/bin, filled by `make tools`)
#   POSTERN_CLUSTER_TIMEOUT    seconds up.sh waits for the control plane to become ready (default 60)
#   POSTERN_CLUSTER_OWNER_PID  if set, a watchdog runs down.sh when that process exits (test runs)
#   POSTERN_CLUSTER_VERBOSITY  --v of kube-apiserver and kube-controller-manager (default 0)
#   POSTERN_KCM_CONTROLLERS    --controllers of kube-controller-manager (default "*": its defaults)
# The default ports are below Linux's ephemeral range (32768-60999) so outgoing connections never
# take them.

cluster_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cluster_here="$cluster_repo/hack/cluster"
cluster_dir="$(realpath -m "${POSTERN_CLUSTER_DIR:-/tmp/postern-cluster}")"
tools_bin="${POSTERN_TOOLS_BIN:-$cluster_repo/hack/tools/bin}"
api_port="${POSTERN_APISERVER_PORT:-26443}"
etcd_port="${POSTERN_ETCD_PORT:-22379}"
etcd_peer_port="${POSTERN_ETCD_PEER_PORT:-22380}"
kcm_port="${POSTERN_KCM_PORT:-20257}"
# Marks a directory up.sh created, so down.sh only ever deletes a directory of ours.
cluster_marker="$cluster_dir/.postern-cluster"
# Stop order: watchdog first (so it does not run down.sh while we do), etcd last.
cluster_components=(watchdog kube-controller-manager kube-apiserver etcd)

log() { printf 'cluster: %s\n' "$*" >&2; }

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
  *) [[ ${argv0##*/} == "$name" ]] || return 0 ;;
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
