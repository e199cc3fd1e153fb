#!/usr/bin/env bash
# GPTQ benchmark (issue #4, fast linear algebra): quantizes one synthetic 4096 × 4096 layer with GPTQ 4-bit g128,
# H from 2,048 synthetic tokens, and reports, measured in the same run, the time of the matrix products GPTQ
# cannot avoid (the Hessian XᵀX and the lazy block updates) and the ratio total / floor. Medians of several runs.
#
#   bench/gptq-4096.sh                          defaults (5 runs)
#   bench/gptq-4096.sh --runs 3 --group 0       any GptqBench option (--rows --cols --tokens --seq --bits --group
#                                               --runs --seed) is passed through
#   SQUEEZE_BENCH_JAVA_OPTS="-Dsqueeze.blas.threads=1" bench/gptq-4096.sh
#                                               extra JVM flags (threads, -Dsqueeze.blas=portable, heap)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
JAVA="$JAVA_HOME/bin/java"

CP_FILE="$ROOT/engine/target/bench-classpath.txt"
./mvnw -B -q -o test-compile dependency:build-classpath -pl engine -am \
  -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test >/dev/null
CP="$ROOT/engine/target/test-classes:$ROOT/engine/target/classes:$(cat "$CP_FILE")"

# shellcheck disable=SC2086
"$JAVA" -Xmx6g --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED ${SQUEEZE_BENCH_JAVA_OPTS:-} \
  -cp "$CP" dev.squeeze.engine.bench.GptqBench "$@" 2>&1 | grep -v 'WARNING: Using incubator modules'
