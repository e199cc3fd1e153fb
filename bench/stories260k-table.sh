#!/usr/bin/env bash
# Issue #4's table: stories260K compressed by each method (calibration: stories 1-500; evaluation: 501-1000).
#   bench/stories260k-table.sh                      every configuration (many minutes on one core)
#   bench/stories260k-table.sh ../shared rtn-w4-g32 one or more configurations by name
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
CP_FILE="$ROOT/engine/target/bench-classpath.txt"
./mvnw -B -q -o test-compile dependency:build-classpath -pl engine -am \
  -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test >/dev/null
# Run from a private copy of the classes, so that rebuilding the project meanwhile cannot pull them away.
SNAP="$(mktemp -d "${TMPDIR:-/tmp}/squeeze-table-XXXXXX")"
trap 'rm -rf "$SNAP"' EXIT
cp -r "$ROOT/engine/target/classes" "$SNAP/classes"
cp -r "$ROOT/engine/target/test-classes" "$SNAP/test-classes"
CP="$SNAP/test-classes:$SNAP/classes:$(cat "$CP_FILE")"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp "$CP" \
  dev.squeeze.engine.bench.Stories260KCompressionTable "${1:-../shared}" "${@:2}"
