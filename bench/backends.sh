#!/usr/bin/env bash
# Backend benchmark (issue #12): every dense op of the backend provider (engine.backend) both ways, the Java vector
# backend against ND4J's OpenBLAS, at n = 1024 and 4096 in one run; prints the CPU model, medians of interleaved
# rounds and the ratio java / nd4j (above 1: ND4J faster). The default routing in engine.backend.Ops cites it.
#
#   bench/backends.sh                                   defaults (3 rounds; 1 round of the Java eigen solver at 4096)
#   bench/backends.sh --sizes 1024 --rounds 5           any BackendBench option (--sizes --rounds --slow-rounds --ops)
#   SQUEEZE_BENCH_JAVA_OPTS="-Dsqueeze.blas.threads=1" bench/backends.sh
#                                                       extra JVM flags
# Needs the ND4J jars in the local Maven repository (a normal build fetches them); the first ND4J start unpacks its
# native libraries (~400 MB) into ~/.javacpp/cache.
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
"$JAVA" -Xmx8g --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  --sun-misc-unsafe-memory-access=allow -Dorg.slf4j.simpleLogger.defaultLogLevel=warn ${SQUEEZE_BENCH_JAVA_OPTS:-} \
  -cp "$CP" dev.squeeze.engine.bench.BackendBench "$@" 2>&1 | grep -v 'WARNING: Using incubator modules'
