#!/usr/bin/env bash
# make run: the standalone gateway from examples/standalone, relaying to Postfix's smtp-sink on
# 127.0.0.1:2525, which writes each message it receives to $SINK_DIR. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin" # smtp-sink lives in sbin, which a non-root PATH lacks
command -v smtp-sink >/dev/null || bash hack/install-test-deps.sh
SINK_DIR=${SINK_DIR:-/tmp/postern-standalone-sink}
mkdir -p "$SINK_DIR"
chmod 0777 "$SINK_DIR" # as root, smtp-sink drops privileges to -u USER before writing
user_args=()
[ "$(id -u)" -eq 0 ] && user_args=(-u "${SINK_USER:-nobody}")
smtp-sink "${user_args[@]}" -d "$SINK_DIR/%M." 127.0.0.1:2525 256 &
sink=$!
trap 'kill "$sink" 2>/dev/null || true' EXIT
echo "upstream sink: 127.0.0.1:2525 (messages in $SINK_DIR)"
echo "try: swaks --server 127.0.0.1:2587 --tls --auth PLAIN --auth-user alice@example.test \\"
echo "       --auth-password alice-secret --from alice@example.test --to bob@example.net"
PATH="$PWD/node_modules/.bin:$PATH" npx --no-install postern-gateway --config examples/standalone
