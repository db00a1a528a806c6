#!/usr/bin/env bash
# `npm run image:build`: builds the nerops image from the Dockerfile with the classic builder
# (DOCKER_BUILDKIT=0: no buildx and no dockerfile frontend image needed) and tags it
# nerops:dev and nerops:<version in package.json>.
#
#   scripts/build-image.sh                 # base: node:20-bookworm-slim if it can be had, else the local base
#   scripts/build-image.sh --local-base    # base: nerops-base:bookworm-node20, made by scripts/build-base-image.sh
#   scripts/build-image.sh --pull-base     # base: node:20-bookworm-slim, pulled (a normal Docker host)
#   scripts/build-image.sh -- --no-cache   # everything after -- goes to `docker build`
#
# Env:
#   NEROPS_BASE_IMAGE  an explicit base (e.g. a mirror pinned by digest); wins over the flags
#   NEROPS_LOCAL_BASE  1: same as --local-base
#   NEROPS_EXTRA_CA    PEM file of a CA that signs the npm registry's certificate as the build sees
#                      it (a TLS-inspecting proxy); "auto": the CAs this host's administrator added
#                      (/usr/local/share/ca-certificates, Debian's place for them). Only the build
#                      stages get it (build arg EXTRA_CA_PEM); the runtime image does not.
#   NEROPS_IMAGE       repository to tag (default nerops); DOCKER: the docker CLI (default docker)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
docker="${DOCKER:-docker}"
repo="${NEROPS_IMAGE:-nerops}"
default_base=node:20-bookworm-slim
local_base=nerops-base:bookworm-node20
mode=auto
[[ ${NEROPS_LOCAL_BASE:-} == 1 ]] && mode=local
build_args=()
while (($#)); do
  case $1 in
    --local-base) mode=local ;;
    --pull-base) mode=pull ;;
    --) shift; build_args=("$@"); break ;;
    -h | --help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image: unknown argument $1 (docker build options go after --)" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '[build-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "$*"; exit 1; }

"$docker" version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "no Docker engine reachable through '$docker'"
version="$(node -p 'require(process.argv[1]).version' "$repo_root/package.json")"
start=$SECONDS

# The base: explicit > --local-base > pullable default > local base. A failed pull fails in well
# under a second where no registry resolves, so trying it costs nothing on such machines.
if [[ -n ${NEROPS_BASE_IMAGE:-} ]]; then
  base=$NEROPS_BASE_IMAGE
elif [[ $mode == pull ]]; then
  base=$default_base
  "$docker" pull "$base" >&2 || die "cannot pull $base (no registry? try --local-base)"
elif [[ $mode == auto ]] && { "$docker" image inspect "$default_base" >/dev/null 2>&1 || "$docker" pull "$default_base" >/dev/null 2>&1; }; then
  base=$default_base
else
  [[ $mode == auto ]] && log "$default_base cannot be pulled: building on the local base $local_base"
  NEROPS_BASE_IMAGE_NAME=$local_base DOCKER=$docker "$repo_root/scripts/build-base-image.sh"
  base=$local_base
fi

ca_args=()
ca_file=""
case ${NEROPS_EXTRA_CA:-} in
  "") ;;
  auto)
    ca_file="$(mktemp)"
    trap 'rm -f "$ca_file"' EXIT
    find /usr/local/share/ca-certificates -type f -name '*.crt' -exec awk 1 {} + >"$ca_file" 2>/dev/null || true
    ;;
  *)
    [[ -r $NEROPS_EXTRA_CA ]] || die "NEROPS_EXTRA_CA=$NEROPS_EXTRA_CA: not a readable file"
    ca_file=$NEROPS_EXTRA_CA
    ;;
esac
if [[ -n $ca_file ]]; then
  if grep -q -- '-----BEGIN CERTIFICATE-----' "$ca_file"; then
    ca_args=(--build-arg "EXTRA_CA_PEM=$(cat "$ca_file")")
    log "extra CA for npm in the build stages: $(grep -c -- '-----BEGIN CERTIFICATE-----' "$ca_file") certificate(s) from ${NEROPS_EXTRA_CA}"
  elif [[ $NEROPS_EXTRA_CA == auto ]]; then
    log "NEROPS_EXTRA_CA=auto: no CA added on this host; building without one"
  else
    die "NEROPS_EXTRA_CA=$NEROPS_EXTRA_CA holds no PEM certificate"
  fi
fi

log "building $repo:dev and $repo:$version on $base (classic builder; cold: minutes)"
# --force-rm: a failed step leaves no stopped container behind.
DOCKER_BUILDKIT=0 "$docker" build --force-rm \
  --build-arg "NODE_IMAGE=$base" \
  "${ca_args[@]}" \
  -t "$repo:dev" -t "$repo:$version" \
  "${build_args[@]}" \
  "$repo_root"

size="$("$docker" image inspect --format '{{.Size}}' "$repo:dev")"
log "$repo:dev ($repo:$version) built in $((SECONDS - start)) s; image size $((size / 1000000)) MB"
