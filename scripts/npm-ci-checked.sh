#!/bin/sh
# `npm ci` for the Dockerfile's npm stages (build, deps), with what a plain `npm ci` lacks there:
# - EXTRA_CA_PEM (a build arg of those stages only): PEM of a CA to trust for the npm registry, such
#   as a TLS-inspecting proxy's. It goes to a temporary file for NODE_EXTRA_CA_CERTS and is removed
#   before the layer is committed, so no layer holds it as a file.
# - proof that the install is complete: npm 10 can print "Exit handler never called!", exit 0 and
#   leave half a node_modules (seen with the proxy's CA missing, without a word about TLS). `npm ls`
#   must find every locked package; on failure the cause npm logged (e.g. SELF_SIGNED_CERT_IN_CHAIN)
#   is printed with the fix.
# Usage: sh scripts/npm-ci-checked.sh [--omit=dev]   (the options go to both npm ci and npm ls)
set -eu
ca=/tmp/extra-ca.pem
if [ -n "${EXTRA_CA_PEM:-}" ]; then
  printf '%s\n' "$EXTRA_CA_PEM" >"$ca"
  export NODE_EXTRA_CA_CERTS="$ca"
fi
rc=0
npm ci --no-audit --no-fund "$@" || rc=$?
rm -f "$ca"
if [ "$rc" -eq 0 ] && npm ls --all "$@" >/dev/null 2>/tmp/npm-ls.err; then
  rm -f /tmp/npm-ls.err
  exit 0
fi
{
  echo "npm ci did not install everything (npm ci exit code $rc)."
  if [ -s /tmp/npm-ls.err ]; then echo "npm ls says:"; head -n 5 /tmp/npm-ls.err; fi
  echo "Network and TLS errors in npm's log:"
  grep -h -o -E '[A-Z_]*CERT[A-Z_]*|ECONN[A-Z]+|ETIMEDOUT|ENOTFOUND|EAI_AGAIN' "${HOME:-/root}"/.npm/_logs/*-debug-0.log 2>/dev/null | sort | uniq -c || true
  # shellcheck disable=SC2016 # the $(cat ...) is for the reader to type
  echo 'Behind a TLS-inspecting proxy, pass its CA: docker build --build-arg "EXTRA_CA_PEM=$(cat ca.pem)" (scripts/build-image.sh: NEROPS_EXTRA_CA=ca.pem).'
} >&2
exit 1
