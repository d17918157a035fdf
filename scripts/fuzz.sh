#!/usr/bin/env bash
# Builds the libFuzzer harnesses (preset fuzz: clang-14, -fsanitize=fuzzer,address,undefined) and
# runs each for a fixed time on a scratch copy of its seed corpus (fuzz/corpus/<harness>), so the
# committed corpus only changes when someone copies new inputs in on purpose.
# Usage: scripts/fuzz.sh [seconds per harness, default 20] [harness ...]
# Exits non-zero on the first finding; the crashing input is left in build/fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
shift || true
harnesses=("$@")
((${#harnesses[@]})) || harnesses=(collar_decoder collar_topic config_loader registry_loader modbus_registers)

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"
mkdir -p build/fuzz/findings
for h in "${harnesses[@]}"; do
  work="build/fuzz/corpus-$h"
  rm -rf "$work" && mkdir -p "$work"
  dict=()
  [[ $h == collar_decoder ]] && dict=(-dict=fuzz/collar.dict)
  echo "fuzz: $h for ${seconds} s"
  # -rss_limit_mb: the gateway's own budget is far below this; a harness that needs more leaks.
  # -max_len 8192: payloads are refused above 4 KiB, configs and registries are parsed in full.
  if ! "build/fuzz/fuzz/fuzz_$h" "${dict[@]}" -max_total_time="$seconds" -max_len=8192 \
        -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 -artifact_prefix="build/fuzz/findings/$h-" \
        "$work" "fuzz/corpus/$h" >"build/fuzz/$h.log" 2>&1; then
    tail -50 "build/fuzz/$h.log"
    echo "fuzz: $h found a problem; input in build/fuzz/findings/"
    exit 1
  fi
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "build/fuzz/$h.log" | tr '\n' ' '
  grep -E '^#[0-9]+ +DONE' "build/fuzz/$h.log" | tail -1 || true
done
