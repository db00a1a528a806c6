#!/usr/bin/env bash
# `npm run demo` on a fresh clone: what the demo's real cluster needs, then the demo (scripts/demo.ts).
#   1. system packages, when missing (scripts/install-system-deps.sh: containerd, Docker, CNI plugins, Prometheus…);
#   2. a Docker daemon, when none answers (scripts/dockerd.sh start; it keeps running afterwards);
#   3. the image nerops:dev, when missing (scripts/build-image.sh: on node:20-bookworm-slim, or on a
#      locally made base where no registry is reachable; NEROPS_EXTRA_CA=auto passes this host's added CAs
#      to the build stages, for a TLS-inspecting proxy);
#   4. npm run build, and the demo.
# Only one real cluster runs per machine; where others run them too: flock /tmp/nerops-real.lock npm run demo
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
image=nerops:dev

bash scripts/install-system-deps.sh
bash scripts/dockerd.sh start
if ! /usr/bin/docker image inspect "$image" >/dev/null 2>&1; then
  echo "demo: building the image $image (minutes, once; scripts/build-image.sh)" >&2
  NEROPS_EXTRA_CA="${NEROPS_EXTRA_CA:-auto}" bash scripts/build-image.sh
fi
npm run build
exec node dist/scripts/demo.js "$@"
