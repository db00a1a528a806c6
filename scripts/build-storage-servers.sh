#!/usr/bin/env bash
# Builds the storage servers the model-storage integration tests run against, from the Go module proxy,
# into a cache outside the repo:
#   ${NEROPS_CACHE:-~/.cache/nerops}/build/<name>-<version>/<name>
# - registry: the CNCF OCI distribution registry (github.com/distribution/distribution/v3, Apache-2.0),
#   the reference implementation of the OCI distribution API that `oci://` model URIs use.
# - versitygw: an S3 gateway (github.com/versity/versitygw, Apache-2.0) with a plain-directory (posix)
#   backend and SigV4 authentication, so tests can require credentials. Chosen over MinIO (AGPL-3.0, a poor
#   default for a hospital's install) and gofakes3 (MIT, small, but it accepts any request unsigned, so
#   "credentials required" could not be tested against it).
# Only missing binaries are built; a flock serialises concurrent callers and each binary is renamed into
# place, so a reader never sees a half-written file. Called by scripts/build-cluster-binaries.sh.
set -euo pipefail

REGISTRY_VERSION=v3.1.2
VERSITYGW_VERSION=v1.8.0

cache_root="${NEROPS_CACHE:-$HOME/.cache/nerops}"
work_root="$cache_root/build"
mkdir -p "$work_root"
export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0

log() { printf '[build-storage-servers %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# build <name> <module> <version> <package>
build() {
  local name=$1 mod=$2 ver=$3 pkg=$4
  local dir="$work_root/$name-$ver"
  [[ -x "$dir/$name" ]] && { log "$name $ver: cached ($dir/$name)"; return 0; }
  log "$name $ver: building (a cold build takes a few minutes)"
  local start=$SECONDS
  mkdir -p "$dir"
  # A throwaway main module that requires the server's module, so its go.sum pins are used.
  (cd "$dir" && rm -f go.mod go.sum && go mod init "nerops.local/build/$name" >/dev/null 2>&1 &&
    go get "$mod@$ver" >/dev/null 2>&1)
  local tmp
  tmp=$(mktemp -d "$dir/.tmp-XXXXXX")
  if ! (cd "$dir" && nice -n 10 go build -trimpath -ldflags="-s -w" -o "$tmp/$name" "$pkg"); then
    rm -rf "$tmp"
    log "$name: go build failed"
    exit 1
  fi
  mv -f "$tmp/$name" "$dir/$name"
  rmdir "$tmp"
  log "$name: done in $((SECONDS - start)) s"
}

exec 8>"$work_root/storage-servers.lock"
flock 8
rm -rf "$work_root"/registry-*/.tmp-* "$work_root"/versitygw-*/.tmp-*
build registry github.com/distribution/distribution/v3 "$REGISTRY_VERSION" \
  github.com/distribution/distribution/v3/cmd/registry
build versitygw github.com/versity/versitygw "$VERSITYGW_VERSION" github.com/versity/versitygw/cmd/versitygw
