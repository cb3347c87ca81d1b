#!/usr/bin/env bash
# make run: the whole system on this machine. A cluster with a node (hack/cluster/node-up.sh), the
# image built and imported, the CRDs and the operator installed by the Helm chart (release postern in
# postern-system, the local image, pullPolicy Never), an upstream smtp-sink on the node's address, an
# example gateway `corp` and user alice in namespace postern-demo, and the gateway's ports forwarded
# to 127.0.0.1. Then it sends one message through it, says how long all that took, and prints what to
# try. Ctrl-C takes everything down again, the cluster included.
# Settings: POSTERN_CLUSTER_DIR and the ports of hack/cluster/lib.sh; SINK_DIR
# (/tmp/postern-run-sink); local ports SUBMISSION_PORT (2587), SUBMISSIONS_PORT (2465), METRICS_PORT
# (2580), the same as `make run-standalone`'s.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=cluster/lib.sh
source hack/cluster/lib.sh
export PATH="$PWD/node_modules/.bin:$PATH:/usr/sbin:/sbin" # smtp-sink lives in sbin
started=$SECONDS
namespace=postern-demo
sink_dir="${SINK_DIR:-/tmp/postern-run-sink}"
submission_port="${SUBMISSION_PORT:-2587}"
submissions_port="${SUBMISSIONS_PORT:-2465}"
metrics_port="${METRICS_PORT:-2580}"
export KUBECONFIG="$cluster_dir/kubeconfig"
kubectl() { "$tools_bin/kubectl" "$@"; }
step() { log "[$((SECONDS - started))s] $*"; }

for port in "$submission_port" "$submissions_port" "$metrics_port"; do
  port_free 127.0.0.1 "$port" || die "127.0.0.1:$port is in use (set SUBMISSION_PORT, SUBMISSIONS_PORT, METRICS_PORT)"
done

children=()
stop_everything() {
  # A second Ctrl-C must not cut the teardown short (what it starts inherits the ignoring).
  trap '' INT TERM
  trap - EXIT
  echo
  step "stopping: port-forwards, the sink, the cluster"
  ((${#children[@]} == 0)) || kill "${children[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  bash hack/cluster/down.sh
  rm -rf "$sink_dir"
}
trap 'stop_everything; exit 130' INT TERM
trap stop_everything EXIT

step "cluster with a node"
bash hack/cluster/node-up.sh
node_ip="$(sed -n 's/^POSTERN_APISERVER_ADDRESS=//p' "$cluster_dir/ports.env")"

step "image"
built="$(node hack/images/build.ts postern)" || die "the image did not build"
read -r image archive _ <<<"$built"
bash hack/cluster/load-image.sh "$archive"

step "upstream: smtp-sink on $node_ip:2525, messages in $sink_dir"
mkdir -p "$sink_dir"
chmod 0777 "$sink_dir" # as root, smtp-sink drops privileges to -u USER before writing
user_args=()
[[ $(id -u) == 0 ]] && user_args=(-u nobody)
smtp-sink "${user_args[@]}" -d "$sink_dir/%M." "$node_ip:2525" 64 &
children+=($!)

step "CRDs and the operator ($image): helm upgrade --install postern charts/postern"
kubectl create namespace postern-system --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl label namespace postern-system pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null
# Imported into the node's containerd above; there is no registry to pull from. --wait: until the CRDs
# are Established and the operator's replicas ready.
"$tools_bin/helm" upgrade --install postern charts/postern --namespace postern-system --wait --timeout 2m \
  --set image.repository="${image%:*}" --set image.tag="${image##*:}" --set image.pullPolicy=Never >/dev/null

step "example gateway corp and user alice in namespace $namespace"
tls="$cluster_dir/example-tls"
mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$tls/tls.key" -out "$tls/tls.crt" 2>/dev/null
kubectl create namespace "$namespace" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl label namespace "$namespace" pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null
kubectl -n "$namespace" create secret tls corp-tls --cert="$tls/tls.crt" --key="$tls/tls.key" \
  --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl -n "$namespace" apply -f - >/dev/null <<EOF
apiVersion: postern.io/v1alpha1
kind: SubmissionGateway
metadata:
  name: corp
spec:
  replicas: 1
  tls:
    secretRef: { name: corp-tls }
  relay:
    host: $node_ip
    port: 2525
    tls: { mode: none } # smtp-sink, on this machine
---
apiVersion: v1
kind: Secret
metadata:
  name: alice-password
type: kubernetes.io/basic-auth
stringData:
  password: alice-secret
---
apiVersion: postern.io/v1alpha1
kind: SmtpUser
metadata:
  name: alice
spec:
  gatewayRef: { name: corp }
  username: alice@example.test
  passwordSecretRef: { name: alice-password }
  allowedSenders: [alice@example.test]
EOF
kubectl -n "$namespace" wait --for=condition=Ready --timeout=120s smtpuser/alice >/dev/null
until kubectl -n "$namespace" get deployment/corp >/dev/null 2>&1; do sleep 0.2; done
kubectl -n "$namespace" rollout status deployment/corp --timeout=120s

step "forwarding 127.0.0.1:$submission_port, :$submissions_port and :$metrics_port to service/corp"
kubectl -n "$namespace" port-forward --address 127.0.0.1 service/corp \
  "$submission_port:587" "$submissions_port:465" "$metrics_port:9090" >/dev/null &
children+=($!)
until curl -fsS "http://127.0.0.1:$metrics_port/readyz" >/dev/null 2>&1; do sleep 0.2; done

swaks_command="swaks --server 127.0.0.1:$submission_port --tls --auth PLAIN --auth-user alice@example.test \\
       --auth-password alice-secret --from alice@example.test --to bob@example.net"
eval "$swaks_command --silent 2" >/dev/null || die "the first message was not accepted: $swaks_command"
step "first message accepted by the gateway pod and relayed to the sink ($(ls "$sink_dir" | wc -l) in $sink_dir)"

cat <<EOF

Postern is running: cluster with a node, the operator, gateway corp in namespace $namespace.
  export KUBECONFIG=$KUBECONFIG
  $tools_bin/kubectl get submissiongateways,smtpusers -A
  $tools_bin/kubectl -n $namespace get pods,services -o wide
  $tools_bin/kubectl -n postern-system logs deployment/postern-operator -f
  $tools_bin/helm -n postern-system status postern
Send a message (it lands in $sink_dir):
  $swaks_command
Metrics and health of the gateway: http://127.0.0.1:$metrics_port/metrics, /livez, /readyz
Ctrl-C stops everything.
EOF
wait
