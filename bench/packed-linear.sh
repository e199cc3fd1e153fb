#!/usr/bin/env bash
# PackedLinear (the packed low-bit kernels behind compressed layers) against the dequantized float32 layer
# (FastDenseLinear): 4096 x 4096 RTN g128 at 2/3/4/8 bits, batch 1/8/16, medians of interleaved rounds; then
# stories260K perplexity time both ways (RTN 4- and 3-bit g32). Prints the CPU model with the figures.
#
#   bench/packed-linear.sh [rounds=7] [stories=501-1000] [shared=../shared]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
CP_FILE="$ROOT/engine/target/bench-classpath.txt"
# native-kernels is built in the same reactor (its CMake build makes the JNI library under target/classes).
./mvnw -B -q -o test-compile dependency:build-classpath -pl native-kernels,engine -am \
  -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test >/dev/null
CP="$ROOT/engine/target/test-classes:$ROOT/engine/target/classes:$(cat "$CP_FILE")"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; $(date -u +%FT%TZ)"
"$JAVA_HOME/bin/java" -Xmx3g --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp "$CP" \
  dev.squeeze.engine.bench.PackedLinearBench "${1:-7}" "${2:-501-1000}" "${3:-$ROOT/../shared}"
