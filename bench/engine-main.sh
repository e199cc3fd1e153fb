#!/usr/bin/env bash
# Runs a main class of the engine's test scope (a benchmark or table in dev.squeeze.engine.bench) from a private
# copy of the compiled classes, so that rebuilding the project meanwhile cannot pull them away.
#   bench/engine-main.sh CLASS [ARGS…]       e.g. bench/engine-main.sh dev.squeeze.engine.bench.SearchFrontBench …
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
CP_FILE="$ROOT/engine/target/bench-classpath.txt"
./mvnw -B -q -o test-compile dependency:build-classpath -pl engine -am \
  -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test -Dsqueeze.sanitize.skip=true >/dev/null
SNAP="$(mktemp -d "${TMPDIR:-/tmp}/squeeze-bench-XXXXXX")"
trap 'rm -rf "$SNAP"' EXIT
cp -r "$ROOT/engine/target/classes" "$SNAP/classes"
cp -r "$ROOT/engine/target/test-classes" "$SNAP/test-classes"
# The built-in sample model (a resource of the sample-models module) for benchmarks that run it.
CP="$SNAP/test-classes:$SNAP/classes:$ROOT/sample-models/src/main/resources:$(cat "$CP_FILE")"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp "$CP" "$@"
