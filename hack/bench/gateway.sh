#!/usr/bin/env bash
# make bench-gateway: Postern's gateway against the anchor MSA (Postfix 3.7 + Dovecot 2.3 SASL with
# ARGON2ID hashes and auth cache), both relaying to the same smtp-sink, in one run on this machine.
# Prints messages/s and latency for pooled and connection-per-message submission, the gateway's RSS
# with 10,000 authenticated idle sessions, the ratios and the targets. A benchmark, not a test: it
# exits 0 whether targets pass or miss, and non-zero only when it could not measure.
# Knobs (environment): POOLED_SESSIONS (20), PER_MESSAGE_SESSIONS (10), IDLE_SESSIONS (10000),
# WARMUP (2 s), DURATION (8 s), ROUNDS (3: each workload alternates between the servers this many
# times and the table shows medians), ANCHOR_SCRIPT (../shared/anchors/postfix-msa.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$PWD/node_modules/.bin:$PATH"
anchor=${ANCHOR_SCRIPT:-$PWD/../shared/anchors/postfix-msa.sh}
export ANCHOR_USER=alice@example.com ANCHOR_PASS=secret
export BENCH_PASS=$ANCHOR_PASS

command -v smtp-sink >/dev/null && command -v postfix >/dev/null && command -v doveadm >/dev/null ||
  bash hack/install-test-deps.sh
[ -r "$anchor" ] || { echo "bench-gateway: anchor script $anchor not found (set ANCHOR_SCRIPT)" >&2; exit 2; }
for port in 10587 10025; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "bench-gateway: 127.0.0.1:$port is already in use; the anchor needs it" >&2
    exit 2
  fi
done
# 10,000 idle sessions are 10,000 sockets in the load generator and as many in the gateway (each a
# process of its own, so the per-process limit applies to each).
ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((${IDLE_SESSIONS:-10000} + 1000)) ]; then
  echo "bench-gateway: open-file limit $(ulimit -n) is too low for ${IDLE_SESSIONS:-10000} idle sessions" >&2
  exit 2
fi

work=$(mktemp -d /tmp/postern-bench.XXXXXX)
chmod 755 "$work" # Postfix's daemons run as user postfix and must reach the anchor's queue inside
gateway_pid=
cleanup() {
  if [ -n "$gateway_pid" ]; then kill "$gateway_pid" 2>/dev/null && wait "$gateway_pid" 2>/dev/null || true; fi
  bash "$anchor" stop "$work/anchor" || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "starting the anchor (Postfix + Dovecot) ..."
bash "$anchor" start "$work/anchor"

free_port() {
  node --input-type=module -e 'import { createServer } from "node:net";
    const s = createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
smtp_port=$(free_port)
http_port=$(free_port)
config=$work/postern
mkdir -p "$config/credentials"
# The verifiers come from the gateway's own CLI, password on stdin: what rests on disk is argon2id.
printf '%s' "$BENCH_PASS" | node gateway/cli/postern-gateway.ts verifiers --username "$ANCHOR_USER" \
  > "$config/credentials/users.yaml"
cat > "$config/gateway.yaml" <<YAML
hostname: localhost
listeners:
  - name: submission
    address: 127.0.0.1
    port: $smtp_port
    mode: starttls
tls:
  generateSelfSigned: true
auth:
  mechanisms: [SCRAM-SHA-256, PLAIN, LOGIN]
upstream:
  host: 127.0.0.1
  port: 10025
  tls: none
http:
  address: 127.0.0.1
  port: $http_port
YAML

echo "starting Postern's gateway on 127.0.0.1:$smtp_port ..."
node gateway/cli/postern-gateway.ts --config "$config" > "$work/gateway.log" 2>&1 &
gateway_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$http_port/readyz" >/dev/null 2>&1 && break
  kill -0 "$gateway_pid" 2>/dev/null || { cat "$work/gateway.log" >&2; exit 1; }
  sleep 0.2
done

# A bound on the whole comparison: 4 runs per round, plus Postfix's queue drains, idle and the pauses.
# --foreground keeps it in this process group, so Ctrl-C reaches it and its load generators.
rounds=${ROUNDS:-3}
timeout --foreground $((150 + rounds * 4 * (${WARMUP:-2} + ${DURATION:-8} + 8))) node hack/bench/compare.ts \
  --postern "127.0.0.1:$smtp_port" --postfix 127.0.0.1:10587 \
  --gateway-pid "$gateway_pid" --postern-users "$config/credentials/users.yaml" --anchor-dir "$work/anchor" \
  --user "$ANCHOR_USER" \
  --pooled-sessions "${POOLED_SESSIONS:-20}" --per-message-sessions "${PER_MESSAGE_SESSIONS:-10}" \
  --idle-sessions "${IDLE_SESSIONS:-10000}" --warmup "${WARMUP:-2}" --duration "${DURATION:-8}" \
  --rounds "$rounds"
