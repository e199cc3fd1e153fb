#!/usr/bin/env bash
# Issue #14's measurements: jobs on the sample model through the local queue and through a Slurm cluster, side by
# side in one run. Starts a loopback cluster (.ci/slurm-loopback.sh; needs root and Debian's slurmctld, slurmd,
# slurm-client and munge) with one one-CPU node per worker, and stops it at the end.
#   bench/slurm.sh overhead 10      # 10 single jobs each way, alternating: submit → first phase line, whole job
#   bench/slurm.sh sweep 2          # the same 64 plans with 2 workers locally, then on 2 one-CPU Slurm nodes
# With SLURM_CONF already set, that cluster is used instead (nothing is started or stopped).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode="${1:?overhead N | sweep W}"; n="${2:?a number}"
work="$(mktemp -d /tmp/squeeze-bench-slurm.XXXXXX)"
chmod 755 "$work"
started=""
cleanup() {
  if [ -n "$started" ]; then "$ROOT/.ci/slurm-loopback.sh" stop "$work/cluster" >/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
if [ -z "${SLURM_CONF:-}" ]; then
  nodes=2; [ "$mode" = sweep ] && nodes="$n"
  "$ROOT/.ci/slurm-loopback.sh" start "$work/cluster" --nodes "$nodes" --cpus-per-node 1 >/dev/null
  started=1
  export SLURM_CONF="$work/cluster/slurm.conf"
fi
mkdir -p "$work/shared"
"$ROOT/bench/engine-main.sh" dev.squeeze.engine.bench.SlurmBench "$mode" "$n" "$work/shared"
