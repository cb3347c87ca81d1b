#!/usr/bin/env bash
# Builds the real programs behind Postern's local cluster (control plane and node) and its tests,
# from two Go modules here whose go.mod files pin every version:
#   k8s/   kube-apiserver, kube-controller-manager,  k8s.io/kubernetes (every k8s.io/* staging module
#          kube-scheduler, kubelet, kube-proxy       replaced by its matching v0.x.y release)
#          etcd                                      go.etcd.io/etcd/server/v3 (the version
#                                                    k8s.io/kubernetes itself pins)
#          kubectl                                   only if the machine has none within one minor
#                                                    version of the apiserver; else the machine's
#   helm/  helm                                      helm.sh/helm/v3 (its own module: its dependency
#                                                    graph and kube-controller-manager's do not mix)
#
# Binaries are built once per machine into a cache keyed by a hash of the go.mod, go.sum and
# tools.go files, this script and the Go toolchain:
#   ${POSTERN_TOOLS_CACHE:-$HOME/.cache/postern-tools}/<hash>/
# and hack/tools/bin/ holds symlinks into it. A second run, or a fresh clone on the same machine,
# only checks the links.
#
# Environment:
#   POSTERN_TOOLS_CACHE     machine-level cache root (default: $HOME/.cache/postern-tools)
#   POSTERN_BUILD_KUBECTL   1: build kubectl even if the machine has a usable one
#   POSTERN_GO_PARALLELISM  packages compiled in parallel (default: number of CPUs, at most 4)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="$here/bin"
cache_root="${POSTERN_TOOLS_CACHE:-${HOME:-/tmp}/.cache/postern-tools}"

log() { printf 'tools: %s\n' "$*" >&2; }
die() {
  printf 'tools: error: %s\n' "$*" >&2
  exit 1
}

# The oldest Go that builds the pinned Kubernetes is what its go.mod says (the `go` directive).
go_needed="$(awk '$1 == "go" { print $2; exit }' "$here/k8s/go.mod")"
command -v go >/dev/null || die "go is not on PATH (Go >= $go_needed is needed to build Kubernetes)"
go_have="$(go env GOVERSION | sed -E 's/^go//')"
[[ "$(printf '%s\n' "$go_needed" "$go_have" | sort -V | head -n1)" == "$go_needed" ]] ||
  die "Go >= $go_needed is needed to build the pinned Kubernetes; this is go$go_have"

# Versions come from the go.mod files, the single place they are pinned.
mod_version() {
  awk -v m="$2" '{ sub(/^require[ \t]+/, "") } $1 == m && $2 ~ /^v/ { print $2; exit }' "$here/$1/go.mod"
}
k8s_version="$(mod_version k8s k8s.io/kubernetes)"
etcd_version="$(mod_version k8s go.etcd.io/etcd/server/v3)"
helm_version="$(mod_version helm helm.sh/helm/v3)"
[[ -n $k8s_version && -n $etcd_version && -n $helm_version ]] ||
  die "could not read the k8s.io/kubernetes, etcd and helm versions from $here/{k8s,helm}/go.mod"
k8s_minor="$(echo "$k8s_version" | cut -d. -f2)"

# --- kubectl: the machine's, unless it is missing or too far from the apiserver --------------------
machine_kubectl=""
find_machine_kubectl() {
  local dir candidate resolved minor
  [[ ${POSTERN_BUILD_KUBECTL:-0} == 1 ]] && return 0
  IFS=: read -r -a path_dirs <<<"${PATH:-}"
  for dir in "${path_dirs[@]}"; do
    [[ -n $dir ]] || continue
    candidate="$dir/kubectl"
    [[ -x $candidate && ! -d $candidate ]] || continue
    # Never pick our own bin/kubectl (or something that resolves into the cache).
    resolved="$(readlink -f "$candidate")"
    [[ $dir -ef $bin || $resolved == "$cache_root"/* ]] && continue
    minor="$("$candidate" version --client -o json 2>/dev/null |
      sed -n 's/^ *"minor": *"\([0-9]*\).*/\1/p' | head -n1)"
    if [[ -n $minor ]] && ((minor >= k8s_minor - 1 && minor <= k8s_minor + 1)); then
      machine_kubectl="$candidate"
      return 0
    fi
    log "ignoring $candidate (client minor version '${minor:-?}', apiserver is 1.$k8s_minor)"
  done
}
find_machine_kubectl

# Everything these scripts link into bin/, whether built or the machine's (kubectl).
all_programs=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy etcd helm kubectl)
programs=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy etcd helm)
[[ -z $machine_kubectl ]] && programs+=(kubectl)

# --- cache key ---------------------------------------------------------------------------------------
go_env="$(go env GOVERSION GOOS GOARCH | tr '\n' ' ')"
key="$(
  {
    cat "$here"/{k8s,helm}/{go.mod,go.sum,tools.go} "$here/build.sh"
    echo "$go_env"
  } | sha256sum | cut -c1-16
)"
out="$cache_root/$key"

links_ok() {
  local p
  [[ -f $bin/.key && "$(cat "$bin/.key")" == "$key" ]] || return 1
  for p in "${programs[@]}"; do
    [[ -L $bin/$p && -x $bin/$p && "$(readlink "$bin/$p")" == "$out/$p" ]] || return 1
  done
  if [[ -n $machine_kubectl ]]; then
    [[ -L $bin/kubectl && "$(readlink "$bin/kubectl")" == "$machine_kubectl" ]] || return 1
  fi
}

if links_ok; then
  touch "$out" # last use, for pruning
  log "up to date: $bin -> $out (kubernetes $k8s_version, etcd $etcd_version, helm $helm_version)"
  exit 0
fi

# --- build (serialised per machine: two clones building at once share one result) ----------------
mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9

missing=()
for p in "${programs[@]}"; do
  [[ -x $out/$p ]] || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
  started=$SECONDS
  cpus="$(nproc 2>/dev/null || echo 2)"
  parallel="${POSTERN_GO_PARALLELISM:-$((cpus < 4 ? cpus : 4))}"
  log "building ${missing[*]} (kubernetes $k8s_version, etcd $etcd_version, helm $helm_version)"
  log "into $out with $go_env, -p=$parallel; the first build takes a while (10 to 17 minutes on 2 cores, downloads included)"

  # Version strings come from the go.mod pins alone. The commit a release was cut from is not
  # asked of the module proxy: `go mod download -json` reports an Origin only on a fresh download
  # (never for a module already in the module cache, and not at all from some proxies), so the
  # binaries would differ with what the machine's caches happened to hold. gitCommit stays empty.
  build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

  ldflags=(-s -w)
  # What kubernetes' hack/lib/version.sh sets, so `--version` and /version report the release.
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=(
      -X "$pkg.gitVersion=$k8s_version"
      -X "$pkg.gitMajor=$(echo "$k8s_version" | cut -d. -f1 | tr -d v)"
      -X "$pkg.gitMinor=$k8s_minor"
      -X "$pkg.gitTreeState=clean"
      -X "$pkg.buildDate=$build_date"
    )
  done
  # What helm's Makefile sets.
  ldflags+=(
    -X "helm.sh/helm/v3/internal/version.version=$helm_version"
    -X "helm.sh/helm/v3/internal/version.gitTreeState=clean"
    -X "helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1"
    -X "helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$k8s_minor"
    -X "helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1"
    -X "helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$k8s_minor"
  )

  # program -> "<module dir> <main package>"
  declare -A pkgs=(
    [kube-apiserver]="k8s k8s.io/kubernetes/cmd/kube-apiserver"
    [kube-controller-manager]="k8s k8s.io/kubernetes/cmd/kube-controller-manager"
    [kube-scheduler]="k8s k8s.io/kubernetes/cmd/kube-scheduler"
    [kubelet]="k8s k8s.io/kubernetes/cmd/kubelet"
    [kube-proxy]="k8s k8s.io/kubernetes/cmd/kube-proxy"
    [kubectl]="k8s k8s.io/kubernetes/cmd/kubectl"
    [etcd]="k8s go.etcd.io/etcd/server/v3"
    [helm]="helm helm.sh/helm/v3/cmd/helm"
  )
  tmp="$(mktemp -d "$cache_root/.build-$key.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT

  # Progress on a build of many minutes: `go build -v` names each package as it compiles it; every
  # 30 s, how many of the programs' packages that is. Other lines (errors) pass through.
  progress() {
    local total="$1" module="$2" line compiled=0 shown=$SECONDS
    while IFS= read -r line; do
      if [[ $line =~ ^[[:alnum:]._~/-]+$ ]]; then
        compiled=$((compiled + 1))
        if ((SECONDS - shown >= 30)); then
          shown=$SECONDS
          log "$module: compiled $compiled of at most $total packages, $(((SECONDS - started) / 60))m$(((SECONDS - started) % 60))s"
        fi
      else
        printf '%s\n' "$line" >&2
      fi
    done
  }

  # One `go build` per module for all its programs, so shared packages compile once. Static
  # binaries (no cgo), as the Kubernetes release builds its server binaries.
  for module in k8s helm; do
    build_pkgs=()
    for p in "${missing[@]}"; do
      read -r mod pkg <<<"${pkgs[$p]}"
      [[ $mod == "$module" ]] && build_pkgs+=("$pkg")
    done
    ((${#build_pkgs[@]} > 0)) || continue
    (
      cd "$here/$module"
      export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"
      total="$(go list -deps "${build_pkgs[@]}" | wc -l)"
      go build -v -p "$parallel" -trimpath -ldflags "${ldflags[*]}" -o "$tmp/" "${build_pkgs[@]}" 2>&1 |
        progress "$total" "$module"
    ) || die "go build in $here/$module failed (see above)"
  done
  # `go build -o dir/` names a main package after its last path element without the /vN suffix.
  [[ -f $tmp/server ]] && mv "$tmp/server" "$tmp/etcd"

  mkdir -p "$out"
  for p in "${missing[@]}"; do
    [[ -x $tmp/$p ]] || die "go build did not produce $p"
    mv -f "$tmp/$p" "$out/$p"
  done
  elapsed=$((SECONDS - started))
  log "built ${missing[*]} in $((elapsed / 60))m$((elapsed % 60))s"
  # Builds for other pins nobody has used for 30 days.
  find "$cache_root" -mindepth 1 -maxdepth 1 -type d -name '????????????????' -mtime +30 \
    -exec rm -rf {} + 2>/dev/null || true
fi
flock -u 9

# --- link into hack/tools/bin ----------------------------------------------------------------------
mkdir -p "$bin"
rm -f "$bin/.key"
for p in "${all_programs[@]}"; do
  rm -f "$bin/$p"
done
for p in "${programs[@]}"; do
  ln -s "$out/$p" "$bin/$p"
done
[[ -n $machine_kubectl ]] && ln -s "$machine_kubectl" "$bin/kubectl"
echo "$key" >"$bin/.key"
log "linked $bin -> $out${machine_kubectl:+ (kubectl: $machine_kubectl)}"
