#!/usr/bin/env bash
# Installs the real programs the test suite talks to, from Debian's packages: independent SMTP
# clients (swaks, msmtp, gsasl, curl), Postfix for smtp-sink and as a real upstream, Dovecot for
# doveadm-made hash fixtures and the benchmark anchor, openssl for certificates, promtool to lint
# the metrics exposition.
# Idempotent: does nothing when everything is present.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin" # postfix, smtp-sink and ss live in sbin

need=()
for cmd in swaks:swaks msmtp:msmtp gsasl:gsasl curl:curl smtp-sink:postfix postfix:postfix \
           doveadm:dovecot-core openssl:openssl python3:python3 promtool:prometheus ss:iproute2; do
  command -v "${cmd%%:*}" >/dev/null 2>&1 || need+=("${cmd##*:}")
done
# swaks needs these Perl modules for TLS, AUTH and CRAM-MD5.
for pkg in libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl libdigest-hmac-perl; do
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
