#!/usr/bin/env bash
# Issue #13's measurements on stories260K: a front with the proxy allocator, or one budget with EvoPress.
#   bench/search-front.sh ../shared front rtn,gptq 2:6:0.25 [LEVELS_DIR]
#   bench/search-front.sh ../shared budget rtn,gptq 4.125 40 32 0 [LEVELS_DIR]   (generations, offspring, seed)
# Without LEVELS_DIR the level database is built from nothing in a temporary folder (its time is included).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
CP_FILE="$ROOT/engine/target/bench-classpath.txt"
./mvnw -B -q -o test-compile dependency:build-classpath -pl engine -am \
  -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test -Dsqueeze.sanitize.skip=true >/dev/null
SNAP="$(mktemp -d "${TMPDIR:-/tmp}/squeeze-search-XXXXXX")"
trap 'rm -rf "$SNAP"' EXIT
cp -r "$ROOT/engine/target/classes" "$SNAP/classes"
cp -r "$ROOT/engine/target/test-classes" "$SNAP/test-classes"
CP="$SNAP/test-classes:$SNAP/classes:$(cat "$CP_FILE")"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp "$CP" \
  dev.squeeze.engine.bench.SearchFrontBench "${1:-../shared}" "${@:2}"
