#!/usr/bin/env bash
# Issue #13: low-rank variants (svd, activation, whitened, lord, fisher = FWSVD) on the Fashion-MNIST sample MLP.
#   bench/sample-fwsvd.sh    calibration: last fifth of its 1,000 images; top-1 on the first four fifths (~1 min)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
CP_FILE="$ROOT/engine/target/bench-classpath.txt"
./mvnw -B -q -o test-compile dependency:build-classpath -pl engine -am \
  -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test >/dev/null
# Run from a private copy of the classes, so that rebuilding the project meanwhile cannot pull them away.
SNAP="$(mktemp -d "${TMPDIR:-/tmp}/squeeze-fwsvd-XXXXXX")"
trap 'rm -rf "$SNAP"' EXIT
cp -r "$ROOT/engine/target/classes" "$SNAP/classes"
cp -r "$ROOT/engine/target/test-classes" "$SNAP/test-classes"
CP="$SNAP/test-classes:$SNAP/classes:$(cat "$CP_FILE")"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp "$CP" \
  dev.squeeze.engine.bench.SampleFwsvdTable "$ROOT"
