# Sourced by the hack/tools/*/ scripts that make one tool from a Go module pinned beside them: the
# per-machine cache they share, so a tool is made once per pin and machine, whichever clone asks
# (CI's fresh clones included):
#   ${POSTERN_TOOLS_CACHE:-$HOME/.cache/postern-tools}/<name>-<hash>/
# <hash> covers the files the caller names (its module and script), this file and the Go toolchain.

# cached NAME MAKE FILE...: prints the entry's directory. When it is absent, first runs
# `MAKE <staging dir>` under a lock per NAME (a concurrent run waits, then finds the entry made) and
# renames the staging directory into place whole, so an interrupted run never leaves half an entry.
cached() {
  local name="$1" make="$2" root hash out
  shift 2
  root="${POSTERN_TOOLS_CACHE:-${HOME:-/tmp}/.cache/postern-tools}"
  hash="$(cat "$@" "${BASH_SOURCE[0]}" <(go env GOVERSION) | sha256sum | cut -c1-16)"
  out="$root/$name-$hash"
  if [[ ! -d $out ]]; then
    mkdir -p "$root"
    # Its own errexit and an explicit status check: in $(...), bash drops the caller's set -e, and
    # `( ... ) || return` would switch it off inside the subshell too. So call `cached` as a command
    # or a plain assignment, never under if, && or ||: there bash ignores errexit throughout.
    (
      set -euo pipefail
      exec 9>"$root/.$name.lock"
      flock 9
      [[ -d $out ]] && exit 0
      staging="$(mktemp -d "$root/.$name-XXXXXX")"
      trap 'rm -rf "$staging"' EXIT
      chmod 755 "$staging"
      echo "$name: making $out" >&2
      "$make" "$staging"
      mv -T "$staging" "$out"
    )
    local status=$?
    ((status == 0)) || return "$status"
  fi
  echo "$out"
}
