#!/usr/bin/env bash
# make bench-gateway: Postern's gateway against the anchor MSA (Postfix + Dovecot SASL, hack/bench/
# anchor.sh), both relaying to the same smtp-sink, in one run on this machine, like with like: the
# same users with the very same argon2id hashes on both sides, the same certificate (EC P-256) and
# the same SASL mechanisms (PLAIN, LOGIN). Prints throughput, latency and CPU seconds per 1,000
# messages for pooled, warm connection-per-message (one user) and cold connection-per-message (every
# login a new user), 50 concurrent 25 MiB messages (the gateway's peak RSS: they stream), the ratios
# against the targets, one gateway process against two workers and
# against two replicas, and a fresh gateway's memory with 10,000 and 50,000 authenticated idle
# sessions. A benchmark, not a test: it exits 0 whether targets pass or miss, and non-zero only
# when it could not measure. Runs from a clean clone: it needs nothing beside the repository.
# Knobs (environment): POOLED_SESSIONS (20), PER_MESSAGE_SESSIONS (10), COLD_USERS (1000 per round),
# IDLE_SESSIONS (10000,50000), WARMUP (2 s), DURATION (8 s), ROUNDS (3: each workload alternates
# between the servers this many times and the table shows medians).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH:/usr/sbin:/sbin"
export BENCH_PASS=secret
user=alice@example.com
rounds=${ROUNDS:-3}
idle_sessions=${IDLE_SESSIONS:-10000,50000}
anchor_port=10587 sink_port=10025

command -v smtp-sink >/dev/null && command -v postfix >/dev/null && command -v dovecot >/dev/null ||
  bash hack/install-test-deps.sh
for port in $anchor_port $sink_port; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "bench-gateway: 127.0.0.1:$port is already in use; the anchor needs it" >&2
    exit 2
  fi
done
# Every idle session is a socket in the load generator and one in the gateway (each a process of its
# own, so the per-process limit applies to each); as root the hard limit can be raised too.
most=$(tr , '\n' <<<"$idle_sessions" | sort -n | tail -1)
ulimit -Hn $((most + 10000)) 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ]; then
  fits=()
  for n in ${idle_sessions//,/ }; do
    if [ "$n" -le $(($(ulimit -n) - 1000)) ]; then fits+=("$n"); else
      echo "bench-gateway: not measuring $n idle sessions: this machine allows $(ulimit -n) open files per process" >&2
    fi
  done
  idle_sessions=$(IFS=,; echo "${fits[*]}")
fi

work=$(mktemp -d /tmp/postern-bench.XXXXXX)
chmod 755 "$work" # Postfix's and Dovecot's daemons drop to their own users and must reach the anchor
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash hack/bench/anchor.sh stop "$work/anchor" || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node --input-type=module -e 'import { createServer } from "node:net";
    const s = createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

echo "deriving argon2id hashes for 1 warm and $((rounds * ${COLD_USERS:-1000})) cold users ..."
mkdir -p "$work/users"
node hack/bench/bench-users.ts --out "$work/users" --warm "$user" --cold-users "${COLD_USERS:-1000}" --rounds "$rounds"
for round in $(seq "$rounds"); do grep -o "^cold-$round-[0-9]*@example.com" "$work/users/dovecot-users" > "$work/users/cold-$round.txt"; done
# One certificate for both sides, of the key type Postern's standalone gateway generates.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$work/tls.key" -out "$work/tls.crt" 2>/dev/null

echo "starting the anchor (Postfix + Dovecot) ..."
ANCHOR_PORT=$anchor_port SINK_PORT=$sink_port \
  bash hack/bench/anchor.sh start "$work/anchor" "$work/users/dovecot-users" "$work/tls.crt" "$work/tls.key"

# A gateway configuration directory relaying to the anchor's sink, with the users of USERS-FILE
# (default: all of them); prints "SMTP-PORT HTTP-PORT".
gateway_config() {
  local dir=$1 users=${2:-users.yaml} smtp http
  smtp=$(free_port) http=$(free_port)
  mkdir -p "$dir/credentials" "$dir/tls"
  cp "$work/users/$users" "$dir/credentials/users.yaml"
  cp "$work/tls.crt" "$dir/tls/tls.crt"
  cp "$work/tls.key" "$dir/tls/tls.key"
  cat > "$dir/gateway.yaml" <<YAML
hostname: localhost
listeners:
  - { name: submission, address: 127.0.0.1, port: $smtp, mode: starttls }
tls: { certFile: tls/tls.crt, keyFile: tls/tls.key }
auth: { mechanisms: [PLAIN, LOGIN] }
upstream: { host: 127.0.0.1, port: $sink_port, tls: none }
http: { address: 127.0.0.1, port: $http }
YAML
  echo "$smtp $http"
}

# Starts `command...` in the background, logging to $work/NAME.log; waits for /readyz on HTTP-PORT.
start() {
  local name=$1 http=$2
  shift 2
  "$@" > "$work/$name.log" 2>&1 &
  pids+=($!)
  started_pid=$!
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$http/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$started_pid" 2>/dev/null || { cat "$work/$name.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "bench-gateway: $name did not become ready" >&2
  exit 1
}

# The gateway's Node.js flags and malloc setting, as the operator's Deployment starts it
# (operator/render/deployment.ts).
node_flags=$(node -e 'import("./gateway/cli/node-flags.ts").then((m) => console.log(m.GATEWAY_NODE_FLAGS.join(" ")))')
export MALLOC_ARENA_MAX=2
echo "starting Postern's gateways: one process, one with 2 workers, 2 replicas, fresh ones for large messages and idle ..."
read -r main_smtp main_http < <(gateway_config "$work/main")
start main "$main_http" node $node_flags gateway/cli/postern-gateway.ts --config "$work/main"
main_pid=$started_pid
read -r workers_smtp workers_http < <(gateway_config "$work/workers")
start workers "$workers_http" node $node_flags hack/bench/cluster-gateway.ts --config "$work/workers" --workers 2
workers_pid=$started_pid
read -r a_smtp a_http < <(gateway_config "$work/replica-a")
start replica-a "$a_http" node $node_flags gateway/cli/postern-gateway.ts --config "$work/replica-a"
a_pid=$started_pid
read -r b_smtp b_http < <(gateway_config "$work/replica-b")
start replica-b "$b_http" node $node_flags gateway/cli/postern-gateway.ts --config "$work/replica-b"
b_pid=$started_pid
read -r large_smtp large_http < <(gateway_config "$work/large" users-round-1.yaml)
start large "$large_http" node $node_flags gateway/cli/postern-gateway.ts --config "$work/large"
large_pid=$started_pid
read -r idle_smtp idle_http < <(gateway_config "$work/idle" users-warm.yaml)
start idle "$idle_http" node $node_flags gateway/cli/postern-gateway.ts --config "$work/idle"
idle_pid=$started_pid

# A bound on the whole comparison: cold rounds take longest on the anchor (every login a full argon2id).
timeout --foreground $((1800 + rounds * 600)) node hack/bench/compare.ts \
  --postern "127.0.0.1:$main_smtp" --postern-pid "$main_pid" \
  --postfix "127.0.0.1:$anchor_port" --anchor-dir "$work/anchor" \
  --users "$work/users/users.yaml" --cold-users "$work/users" --user "$user" \
  --workers "127.0.0.1:$workers_smtp" --workers-pid "$workers_pid" \
  --replicas "127.0.0.1:$a_smtp,127.0.0.1:$b_smtp" --replicas-pids "$a_pid,$b_pid" \
  --large "127.0.0.1:$large_smtp" --large-pid "$large_pid" \
  ${idle_sessions:+--idle "127.0.0.1:$idle_smtp" --idle-pid "$idle_pid" --idle-sessions "$idle_sessions"} \
  --local-addresses 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5 \
  --pooled-sessions "${POOLED_SESSIONS:-20}" --per-message-sessions "${PER_MESSAGE_SESSIONS:-10}" \
  --warmup "${WARMUP:-2}" --duration "${DURATION:-8}" --rounds "$rounds"
