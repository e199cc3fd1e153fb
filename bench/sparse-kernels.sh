#!/usr/bin/env bash
# Sparse / low-rank kernel benchmarks (issue 12), one command each:
#   bench/sparse-kernels.sh            the C harness: 2:4 fp16 vs dense fp16 vs dense fp32, and the CSR crossover
#   bench/sparse-kernels.sh nm|csr     one part of it
#   bench/sparse-kernels.sh lowrank    low-rank A(Bx): native dense kernel vs FastDenseLinear vs Blas.sgemm (JVM)
# Builds what it needs (CMake for the C harness, Maven offline for the JVM one). Prints the CPU model first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
part="${1:-all}"
if [ "$part" = lowrank ]; then
  CP_FILE="$ROOT/engine/target/bench-classpath.txt"
  ./mvnw -B -q -o test-compile dependency:build-classpath -pl native-kernels,engine \
    -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test >/dev/null
  CP="$ROOT/engine/target/test-classes:$ROOT/engine/target/classes:$ROOT/native-kernels/target/classes:$(cat "$CP_FILE")"
  "$JAVA_HOME/bin/java" -Xmx8g --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    -cp "$CP" dev.squeeze.engine.bench.LowRankKernelBench 2>&1 | grep -v 'WARNING: Using incubator modules'
  exit 0
fi
build="$ROOT/native-kernels/target/bench-sparse"
cmake -S "$ROOT/native-kernels" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target bench_sparse >/dev/null
if [ "$part" = all ]; then "$build/bench_sparse"; else "$build/bench_sparse" "$part"; fi
