#!/usr/bin/env bash
# Issue #13: low-rank variants (svd, activation, whitened, lord, fisher = FWSVD) on the Fashion-MNIST sample MLP.
#   bench/sample-fwsvd.sh    calibration: last fifth of its 1,000 images; top-1 on the first four fifths (~1 min)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$ROOT/bench/engine-main.sh" dev.squeeze.engine.bench.SampleFwsvdTable "$ROOT"
