#!/usr/bin/env bash
# Builds the release benchmark and runs it: one table of the engine's figures beside this
# machine's own limits (see docs/performance.md).
#   scripts/bench.sh --quick     ~100k events, under 2 minutes
#   scripts/bench.sh             the full size (1 M events)
# Other options are passed to rappel-bench-province (--help lists them).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${RAPPEL_BENCH_BUILD:-$root/build/release}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake --preset release -S "$root" -B "$build" >/dev/null
fi
cmake --build "$build" -j"${RAPPEL_JOBS:-2}" --target rappeld rappel-bench-province
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
RAPPEL_SOURCE_DIR="$root" RAPPEL_BINARY_DIR="$build" "$build/bench/rappel-bench-province" "$@"
