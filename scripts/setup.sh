#!/usr/bin/env bash
# Everything a fresh Debian 12 machine with Node 20 needs before the project runs:
# the system packages (only those missing), the npm dependencies (with the native addons), the build.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(libpcap-dev nftables iproute2 ethtool tcpdump tshark openssl python3 iperf3 socat gnutls-bin)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --strict-allow-scripts --no-audit --no-fund >/dev/null
fi
echo "setup: build" >&2
npm run -s build
