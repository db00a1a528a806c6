#!/usr/bin/env bash
# System packages the local cluster needs, installed only when missing (used by .ci/run and `npm run demo`).
# prometheus: local-cluster runs its own instance on a free port; it must never run as a system service.
# The real profile's node: docker.io (builds the image; its dockerd is started by scripts/dockerd.sh),
# containerd and runc (the node's runtime, run by the harness on its own socket), the CNI plugins,
# iptables and iproute2 (pod network, kube-proxy), debootstrap (the image's base, made locally).
# lua5.1: runs the chart's Argo CD health scripts in tests (Argo CD's gopher-lua implements Lua 5.1).
# policy-rc.d (exit 101) forbids the package scripts to start any of them as a service.
set -euo pipefail

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO=sudo

apt_packages=(prometheus openssl ca-certificates docker.io containerd runc containernetworking-plugins iptables iproute2 debootstrap lua5.1)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  added_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
  if ((added_policy)); then $SUDO rm -f /usr/sbin/policy-rc.d; fi
fi
# Should a service manager have started them anyway, stop and disable them.
for service in prometheus containerd docker; do
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$service" 2>/dev/null; then
    $SUDO systemctl disable --now "$service"
  fi
done
