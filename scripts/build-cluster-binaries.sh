#!/usr/bin/env bash
# Builds the binaries local-cluster needs (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok, helm; kubelet, kube-proxy, coredns and pause for the real
# profile) from the Go module proxy into a cache outside the repo:
#   ${NEROPS_CACHE:-~/.cache/nerops}/k8s-<KUBERNETES_VERSION>/
# Only missing binaries are built. Binaries found in $KUBEBUILDER_ASSETS count as present.
# A flock on the cache serialises concurrent callers, and each binary is built into a temp dir
# and renamed into place, so a reader never sees a half-written file.
#
# Why throwaway modules: k8s.io/kubernetes (and etcd's server module) replace their sibling
# modules with relative paths, which `go install mod@version` refuses. A throwaway main module
# that requires them and re-points every such replace at the sibling's published version builds.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../local-cluster/versions.env
source "$repo_root/local-cluster/versions.env"

cache_root="${NEROPS_CACHE:-$HOME/.cache/nerops}"
bin_dir="$cache_root/k8s-$KUBERNETES_VERSION"
work_root="$cache_root/build"
mkdir -p "$bin_dir" "$work_root"

# Another engineer trains models on these machines: builds run at lower priority.
nice_cmd=(nice -n 10)
export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0

# Heartbeat loops (see build) must not outlive the script, whichever way it ends.
trap 'jobs -p | xargs -r kill 2>/dev/null || true' EXIT

log() { printf '[build-cluster-binaries %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

have() { # have <binary>: present in KUBEBUILDER_ASSETS or the cache
  [[ -n "${KUBEBUILDER_ASSETS:-}" && -x "$KUBEBUILDER_ASSETS/$1" ]] || [[ -x "$bin_dir/$1" ]]
}

# write_throwaway_module <dir> <module> <version> <sibling-version>
# Requires <module>@<version> and turns each relative-path replace in its go.mod into a replace
# by the same module path at <sibling-version>; non-relative replaces are copied verbatim.
write_throwaway_module() {
  local dir=$1 mod=$2 ver=$3 sib_ver=$4 gomod
  mkdir -p "$dir"
  gomod=$(cd "$dir" && go mod download -json "$mod@$ver" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f "$gomod" ]] || { log "cannot fetch go.mod of $mod@$ver"; exit 1; }
  {
    echo "module nerops.local/build/$(basename "$dir")"
    echo
    # Keep the upstream language version and godebug defaults, so behaviour matches upstream builds.
    grep -E '^go [0-9]' "$gomod" | head -1
    grep -E '^godebug ' "$gomod" || true
    echo
    echo "require $mod $ver"
    echo
    echo "replace ("
    # Both the block form ("\tA => B") and the single-line form ("replace A => B").
    sed -nE 's/^(replace[[:space:]]+|[[:space:]]+)([^[:space:]]+)([[:space:]]+[^[:space:]=]+)?[[:space:]]+=>[[:space:]]+(.+)$/\2 \4/p' "$gomod" |
      while read -r from to rest; do
        if [[ $to == ./* || $to == ../* ]]; then
          [[ $to == *FORBIDDEN* ]] && continue
          echo "	$from => $from $sib_ver"
        else
          echo "	$from => $to${rest:+ $rest}"
        fi
      done
    echo ")"
  } >"$dir/go.mod"
}

# build <name> <module> <version> <sibling-version> <ldflags> <pkg-or-binary-name>...
# Packages are "binary=importpath"; all missing ones are built in one `go build` so shared
# packages compile once.
build() {
  local name=$1 mod=$2 ver=$3 sib_ver=$4 ldflags=$5; shift 5
  local missing=() pkgs=() spec
  for spec in "$@"; do
    if ! have "${spec%%=*}"; then missing+=("${spec%%=*}"); pkgs+=("${spec#*=}"); fi
  done
  ((${#missing[@]})) || { log "$name: cached (${*%%=*})"; return 0; }
  local dir="$work_root/$name-$ver" out start
  log "$name $ver: building ${missing[*]} (cold builds take minutes; log: stderr)"
  start=$SECONDS
  write_throwaway_module "$dir" "$mod" "$ver" "$sib_ver"
  out=$(mktemp -d "$bin_dir/.tmp-$name-XXXXXX")
  # go build is silent while compiling; a heartbeat shows the build is alive.
  (while sleep 30; do log "$name: still building ($((SECONDS - start)) s)"; done) &
  local ticker=$!
  if ! (cd "$dir" && "${nice_cmd[@]}" go build -trimpath -ldflags="-s -w $ldflags" -o "$out/" "${pkgs[@]}"); then
    kill "$ticker" 2>/dev/null || true
    rm -rf "$out"
    log "$name: go build failed"
    exit 1
  fi
  kill "$ticker" 2>/dev/null || true
  local i pkg base
  for i in "${!missing[@]}"; do
    # go build names a binary after its package path, skipping a major-version suffix (/v3).
    pkg=${pkgs[$i]}; base=${pkg##*/}
    [[ $base =~ ^v[0-9]+$ ]] && base=$(basename "$(dirname "$pkg")")
    mv -f "$out/$base" "$bin_dir/${missing[$i]}"
  done
  rmdir "$out"
  log "$name: done in $((SECONDS - start)) s"
}

exec 9>"$cache_root/k8s-$KUBERNETES_VERSION.lock"
if ! flock -n 9; then
  log "another build holds $cache_root/k8s-$KUBERNETES_VERSION.lock; waiting"
  flock 9
fi
total_start=$SECONDS
# Output dirs of builds that were killed half-way (we hold the lock, so none is in use).
rm -rf "$bin_dir"/.tmp-*

# k8s version stamps, as hack/lib/version.sh sets them, so /version reports the real version.
k8s_minor=${KUBERNETES_VERSION#v1.}; k8s_minor=${k8s_minor%%.*}
k8s_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

build etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" "$ETCD_VERSION" "" \
  etcd=go.etcd.io/etcd/server/v3
# Staging modules k8s.io/X are published as k8s.io/X v0.<minor>.<patch>.
build kubernetes k8s.io/kubernetes "$KUBERNETES_VERSION" "v0.${KUBERNETES_VERSION#v1.}" "$k8s_ldflags" \
  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
  kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler \
  kubectl=k8s.io/kubernetes/cmd/kubectl \
  kubelet=k8s.io/kubernetes/cmd/kubelet \
  kube-proxy=k8s.io/kubernetes/cmd/kube-proxy
# Cluster DNS of the real profile, run as a pod from an image made of this one static binary.
build coredns github.com/coredns/coredns "$COREDNS_VERSION" "$COREDNS_VERSION" \
  "-X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
  coredns=github.com/coredns/coredns
build kwok sigs.k8s.io/kwok "$KWOK_VERSION" "$KWOK_VERSION" \
  "-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" \
  kwok=sigs.k8s.io/kwok/cmd/kwok
build helm helm.sh/helm/v3 "$HELM_VERSION" "$HELM_VERSION" \
  "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
  helm=helm.sh/helm/v3/cmd/helm

# The pod sandbox ("pause") of the real profile's node: kubernetes ships its C source, not a binary.
if ! have pause; then
  mod_dir=$(cd "$work_root" && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [[ -f $mod_dir/build/pause/linux/pause.c ]] || { log "pause: no build/pause/linux/pause.c in k8s.io/kubernetes@$KUBERNETES_VERSION"; exit 1; }
  out=$(mktemp -d "$bin_dir/.tmp-pause-XXXXXX")
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION" -o "$out/pause" "$mod_dir/build/pause/linux/pause.c"
  mv -f "$out/pause" "$bin_dir/pause"; rmdir "$out"
  log "pause: built from $mod_dir/build/pause/linux/pause.c"
fi

# The S3 server and OCI registry the model-storage integration tests run against.
bash "$repo_root/scripts/build-storage-servers.sh"

log "all binaries present in $bin_dir (this run: $((SECONDS - total_start)) s)"
