#!/usr/bin/env bash
# Low-rank toolkit timings (issue #4): the pure-Java symmetric eigensolver (n = 256, 512, 1024), a truncated SVD
# of 1024 × 1024 through its Gram matrix, and the four low-rank variants on 768×288, 288×768 and 1024×1024
# layers. Best of N runs after a warm-up (default 3).
#
#   bench/lowrank.sh [N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
CP_FILE="$ROOT/engine/target/bench-classpath.txt"
./mvnw -B -q -o test-compile dependency:build-classpath -pl engine -am \
  -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test >/dev/null
CP="$ROOT/engine/target/test-classes:$ROOT/engine/target/classes:$(cat "$CP_FILE")"
"$JAVA_HOME/bin/java" -cp "$CP" dev.squeeze.engine.bench.LowRankBench "$@"
