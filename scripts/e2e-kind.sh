#!/usr/bin/env bash
# The real-node scenarios (test/real/) on kind, for machines whose Docker can pull images. It runs the
# same test files CI runs on its local real node, with the kind provider (local-cluster/kind.ts): a kind
# cluster with the project image loaded, Prometheus in the cluster discovering pods by their
# prometheus.io/* annotations, and the operator installed by the Helm chart under its own ServiceAccount.
# Not run in CI: the CI machines reach no container registry, so kind's node image cannot be pulled.
#
#   npm run e2e:kind                              # every scenario
#   npm run e2e:kind -- test/real/rollout.test.ts # some of them (arguments go to vitest)
#   KEEP=1 npm run e2e:kind                       # keep the cluster afterwards (reused by the next run)
#   (also: KIND_CLUSTER = cluster name, default nerops-e2e; PROM_IMAGE = Prometheus image, for mirrors;
#    NEROPS_TEST_IMAGE = the project image to load, default nerops:dev, built here when missing)
# Needs: docker, kind, kubectl, helm, node and npm on PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

for bin in docker kind kubectl helm node npm; do
  command -v "$bin" >/dev/null || { echo "e2e-kind: $bin is not on PATH" >&2; exit 1; }
done

image=${NEROPS_TEST_IMAGE:-nerops:dev}
if ! docker image inspect "$image" >/dev/null 2>&1; then
  echo "e2e-kind: building $image (npm run image:build)"
  npm run image:build
fi
[[ -d node_modules ]] || npm ci
npm run build
NEROPS_CLUSTER_PROVIDER=kind npx vitest run --project real "$@"
