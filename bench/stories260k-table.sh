#!/usr/bin/env bash
# Issue #4's table: stories260K compressed by each method (calibration: stories 1-500; evaluation: 501-1000).
#   bench/stories260k-table.sh                      every configuration (many minutes on one core)
#   bench/stories260k-table.sh ../shared rtn-w4-g32 one or more configurations by name
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
exec "$ROOT/bench/engine-main.sh" dev.squeeze.engine.bench.Stories260KCompressionTable "${1:-../shared}" "${@:2}"
