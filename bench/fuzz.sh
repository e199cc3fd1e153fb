#!/usr/bin/env bash
# The long fuzz campaign: every target of engine's dev.squeeze.engine.fuzz.FuzzTargets under Jazzer, one after
# the other, each for a number of executions (default 1,000,000) or seconds. The corpus of each target grows in
# engine/target/fuzz/<target>/corpus across campaigns; a finding is saved as engine/target/fuzz/<target>/findings/
# crash-* with a Java reproducer, and the run fails.
#
#   bench/fuzz.sh                       # 1,000,000 executions per target
#   RUNS=200000 bench/fuzz.sh idx,plan  # fewer, some targets only
#   SECONDS_PER_TARGET=600 bench/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${JAVA_HOME:=/usr/lib/jvm/temurin-25-jdk-amd64}"
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH"
targets="${1:-}"
budget=(-Dsqueeze.fuzz.runs="${RUNS:-1000000}")
if [ -n "${SECONDS_PER_TARGET:-}" ]; then budget=(-Dsqueeze.fuzz.seconds="$SECONDS_PER_TARGET"); fi
rm -f engine/target/fuzz/summary.txt
./mvnw -B -o -q -DskipTests install -pl engine -am
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; $(date -u +%FT%TZ)"
./mvnw -B -o surefire:test -pl engine -Dtest='FuzzSmokeTest#fuzzingFindsNothing' -Dsurefire.failIfNoSpecifiedTests=false \
  -Dsqueeze.fuzz.targets="$targets" "${budget[@]}" | grep -E 'Tests run:|FAIL|found a problem' || true
printf '%-22s %12s %9s %10s  %s\n' target executions seconds exec/s outcome
cat engine/target/fuzz/summary.txt
! grep -q FINDING engine/target/fuzz/summary.txt
