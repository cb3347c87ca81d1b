#!/usr/bin/env bash
# The CrowdSec engine the log tests run docs/logging.md's CrowdSec configuration through: Debian's
# crowdsec package, unpacked without installing it. Installing it runs a postinst that registers
# with CrowdSec's online API (`cscli capi register`, fatal without that network) and enables a
# service listening on 127.0.0.1:8080; the tests need neither, only the binaries, the stock hub items
# the package ships (/usr/share/crowdsec/hub: the cri-logs, dateparse-enrich and whitelists parsers)
# and its default profiles.yaml. Fetched with `apt-get download` once per package version into
#   ${POSTERN_TOOLS_CACHE:-$HOME/.cache/postern-tools}/crowdsec-<version>-<hash of this script>/
# and prints that directory (the package's file tree: usr/bin/crowdsec, usr/bin/cscli, etc/crowdsec,
# usr/share/crowdsec/hub). A second run only prints it.
set -euo pipefail

cache_root="${POSTERN_TOOLS_CACHE:-${HOME:-/tmp}/.cache/postern-tools}"
candidate() { apt-cache policy crowdsec 2>/dev/null | sed -n 's/^ *Candidate: //p'; }
version="$(candidate)"
if [[ -z $version || $version == "(none)" ]] && [[ $(id -u) -eq 0 ]]; then
  apt-get update -qq # a fresh machine without apt's package lists
  version="$(candidate)"
fi
if [[ -z $version || $version == "(none)" ]]; then
  echo "crowdsec.sh: apt knows no crowdsec package; run apt-get update (as root) first" >&2
  exit 1
fi
hash="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"
out="$cache_root/crowdsec-${version//[^A-Za-z0-9.+-]/_}-$hash"

if [[ ! -x $out/usr/bin/crowdsec ]]; then
  mkdir -p "$cache_root"
  staging="$(mktemp -d "$cache_root/.crowdsec-XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  echo "crowdsec: downloading crowdsec $version into $out" >&2
  (cd "$staging" && apt-get download -q "crowdsec=$version" >&2)
  mkdir "$staging/root"
  # -x unpacks the files only: no maintainer scripts run.
  dpkg-deb -x "$staging"/crowdsec_*.deb "$staging/root"
  chmod 755 "$staging/root"
  # Renamed into place whole, so a concurrent or interrupted run never leaves half a directory.
  mv -T "$staging/root" "$out" 2>/dev/null || [[ -x $out/usr/bin/crowdsec ]]
fi
echo "$out"
