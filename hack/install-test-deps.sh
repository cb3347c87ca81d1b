#!/usr/bin/env bash
# Installs the real programs the test suite talks to, from Debian's packages: independent SMTP
# clients (swaks, msmtp, gsasl, curl), Postfix for smtp-sink and as a real upstream, Dovecot for
# doveadm-made hash fixtures and the benchmark anchor, openssl for certificates, promtool to lint
# the metrics exposition, fail2ban-regex to run the documented log filter over real gateway logs
# (only the tool: the fail2ban service is not started here), HAProxy as a real PROXY protocol sender
# (the tests run their own instances); and the local cluster's node runtime
# (hack/cluster/node-up.sh): containerd, runc and the CNI plugins, nftables (kube-proxy's rules, and
# the node's), gcc and libc6-dev (the static pause binary).
# node-up.sh runs a containerd of its own, with its own configuration, sockets and state; one that
# the package starts as a service (not here: Debian's policy-rc.d keeps it down) is left alone.
# Idempotent: does nothing when everything is present.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin" # postfix, smtp-sink and ss live in sbin

need=()
for cmd in swaks:swaks msmtp:msmtp gsasl:gsasl curl:curl smtp-sink:postfix postfix:postfix \
           doveadm:dovecot-core openssl:openssl python3:python3 promtool:prometheus ss:iproute2 \
           containerd:containerd runc:runc nft:nftables gcc:gcc unshare:util-linux \
           fail2ban-regex:fail2ban haproxy:haproxy; do
  command -v "${cmd%%:*}" >/dev/null 2>&1 || need+=("${cmd##*:}")
done
# Packages with no program on PATH: the Perl modules swaks needs for TLS, AUTH and CRAM-MD5, the CNI
# plugins (in /usr/lib/cni), libc6-dev (the static libc).
for pkg in libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl libdigest-hmac-perl \
  containernetworking-plugins libc6-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
done
[ "${#need[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
echo "installing test dependencies: ${need[*]}"
# Postfix asks how to configure itself; the tests run their own instances, so: no configuration.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
  $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
