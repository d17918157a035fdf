#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit, integration).
# Usage: scripts/test.sh [preset] [extra ctest args]   presets: asan (default: AddressSanitizer +
# UndefinedBehaviorSanitizer), dev (plain debug), tsan, release
# Tests run in parallel (-j nproc; the heavy fault tests take two slots each, tests/CMakeLists.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-asan}"
shift || true
start=$SECONDS
scripts/setup.sh "$preset"
echo "test.sh: $preset set-up and build took $((SECONDS - start)) s"
start=$SECONDS
ctest --preset "$preset" --timeout 600 -j "$(nproc)" "$@"
echo "test.sh: $preset tests took $((SECONDS - start)) s"
