#!/usr/bin/env bash
# Issue #13's measurements on stories260K: a front with the proxy allocator, or one budget with EvoPress.
#   bench/search-front.sh ../shared front rtn,gptq 2:6:0.25 [LEVELS_DIR]
#   bench/search-front.sh ../shared budget rtn,gptq 4.125 40 32 0 [LEVELS_DIR]   (generations, offspring, seed)
# Without LEVELS_DIR the level database is built from nothing in a temporary folder (its time is included).
# -Dsqueeze.bench.db=PATH (in JAVA_TOOL_OPTIONS) also stores the runs; -Dsqueeze.bench.baselines=false skips the
# uniform baselines of a front.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$ROOT/bench/engine-main.sh" dev.squeeze.engine.bench.SearchFrontBench "${1:-../shared}" "${@:2}"
