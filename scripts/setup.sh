#!/usr/bin/env bash
# Installs everything rappel needs to build, test and run its demo on Debian 12.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libboost-test-dev libboost-program-options-dev
  librdkafka-dev libhiredis-dev libcurl4-openssl-dev libssl-dev libjemalloc-dev
  libfmt-dev libsimdjson-dev nlohmann-json3-dev libyaml-cpp-dev
  libicu-dev libhowardhinnant-date-dev tzdata
  redis-server redis-tools python3 python3-aiosmtpd nginx-light
  libsystemd-dev prometheus
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Debian prometheus package (its server and promtool scrape and check rappeld in the
# tests) starts a system service on port 9090 where systemd runs; the tests start their own.
# The Debian redis-server package starts a system service on port 6379; rappel's tests and
# demo start their own servers on free ports and do not need it.
echo "setup: all dependencies present"
