#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine and runs the demo: a Kafka mock cluster,
# redis-server, the provider simulator and an SMTP sink on free loopback ports; the example
# events; rappeld on a simulated clock through three months; a report; then it stops all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release rappeld rappel-demo
exec build/release/engine/demo/rappel-demo --source-dir "$PWD" "$@"
