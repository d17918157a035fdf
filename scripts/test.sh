#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (unit, integration).
# Usage: scripts/test.sh [preset] [extra ctest args]   presets: dev (default), asan, release
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-dev}"
shift || true
scripts/setup.sh "$preset"
ctest --preset "$preset" --timeout 600 "$@"
