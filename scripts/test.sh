#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine, builds with warnings as errors, and runs the
# whole test suite (unit, integration and fault tests, with real redis-server, Kafka mock
# cluster, provider simulator and SMTP sink). Usage: scripts/test.sh [preset] [ctest args...]
# Presets: dev (default), asan (address + undefined behaviour sanitizers), release.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-dev}"
shift || true
scripts/setup.sh
scripts/build.sh "$preset"
ctest --preset "$preset" -j 2 "$@"
