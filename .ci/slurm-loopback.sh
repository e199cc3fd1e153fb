#!/usr/bin/env bash
# A real Slurm cluster on loopback for CI and developers: munged, slurmctld and two slurmd compute nodes
# (node1 on 127.0.0.1, node2 on 127.0.0.2, same port) as background processes, started and stopped by PID
# (no systemd). Everything it writes lives under DIR.
#
#   .ci/slurm-loopback.sh start DIR [--nodes N] [--cpus-per-node C]   # prints `export SLURM_CONF=...`, writes DIR/env
#   .ci/slurm-loopback.sh status DIR                                   # sinfo + squeue
#   .ci/slurm-loopback.sh stop DIR                                     # stops every daemon it started; idempotent
#
# Needs root and Debian's packages: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge
set -euo pipefail

PATH="$PATH:/usr/sbin:/sbin"

die() {
  echo "slurm-loopback: $*" >&2
  exit 1
}

usage() {
  cat >&2 <<'EOF'
usage: slurm-loopback.sh start DIR [--nodes N] [--cpus-per-node C]
       slurm-loopback.sh status DIR
       slurm-loopback.sh stop DIR
EOF
  exit 2
}

# True when nothing listens on TCP ADDR:PORT.
port_free() {
  local addr=$1 port=$2
  ! (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null
}

# The first port from START on (step 2, at most 200 tries) that is free on every address given.
pick_port() {
  local port=$1
  shift
  local tries=0
  while [ "$tries" -lt 200 ]; do
    local ok=1 addr
    for addr in "$@"; do
      port_free "$addr" "$port" || { ok=0; break; }
    done
    if [ "$ok" -eq 1 ]; then
      echo "$port"
      return 0
    fi
    port=$((port + 2))
    tries=$((tries + 1))
  done
  die "no free port found from $1 on for $*"
}

alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null
}

# Stops the processes whose PIDs are in FILES together: TERM, then KILL after 3 s; waits until they have exited
# and removes the files.
stop_pidfiles() {
  local pids=() file pid i
  for file in "$@"; do
    [ -f "$file" ] || continue
    pid=$(cat "$file" 2>/dev/null || true)
    if alive "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  any_alive() {
    local p
    for p in "$@"; do alive "$p" && return 0; done
    return 1
  }
  if [ ${#pids[@]} -gt 0 ]; then
    for i in $(seq 1 30); do
      any_alive "${pids[@]}" || break
      sleep 0.1
    done
    if any_alive "${pids[@]}"; then
      for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
      for i in $(seq 1 50); do
        any_alive "${pids[@]}" || break
        sleep 0.1
      done
    fi
    for pid in "${pids[@]}"; do
      alive "$pid" && die "process $pid did not exit after KILL"
    done
  fi
  rm -f "$@"
}

tails() {
  local dir=$1 f
  for f in "$dir"/log/*.log "$dir"/munge/munged.log; do
    [ -f "$f" ] || continue
    echo "---- last lines of $f" >&2
    tail -n 25 "$f" >&2
  done
}

cmd_stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  local f pid
  # Cancel the cluster's jobs while slurmctld still runs, so no job step outlives its slurmd.
  if [ -f "$dir/slurm.conf" ] && [ -f "$dir/slurmctld.pid" ] && alive "$(cat "$dir/slurmctld.pid")"; then
    SLURM_CONF="$dir/slurm.conf" scancel --quiet --full --state=PENDING >/dev/null 2>&1 || true
    SLURM_CONF="$dir/slurm.conf" scancel --quiet --full --state=RUNNING >/dev/null 2>&1 || true
    local i
    for i in $(seq 1 50); do # 5 s
      [ -z "$(SLURM_CONF="$dir/slurm.conf" squeue -h -t PENDING,RUNNING,COMPLETING -o %i 2>/dev/null || true)" ] && break
      sleep 0.1
    done
  fi
  # slurmd first: it ignores TERM while slurmctld is down.
  stop_pidfiles "$dir"/slurmd-*.pid
  stop_pidfiles "$dir/slurmctld.pid"
  stop_pidfiles "$dir/munged.pid"
  # A slurmstepd of this cluster that outlived its slurmd (it logs into DIR/log): found by its open files, ended by PID.
  for pid in $(pgrep -x slurmstepd 2>/dev/null || true); do
    if ls -l "/proc/$pid/fd" 2>/dev/null | grep -qF -- "$dir/log/"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  return 0
}

cmd_status() {
  local dir=$1
  [ -f "$dir/slurm.conf" ] || die "no cluster in $dir (no slurm.conf); start one with: $0 start $dir"
  export SLURM_CONF="$dir/slurm.conf"
  sinfo
  squeue -t all
}

cmd_start() {
  local dir=$1
  shift
  local nodes=2 cpus=1
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) [ $# -ge 2 ] || usage; nodes=$2; shift 2 ;;
      --cpus-per-node) [ $# -ge 2 ] || usage; cpus=$2; shift 2 ;;
      *) usage ;;
    esac
  done
  [[ "$nodes" =~ ^[1-9][0-9]?$ ]] && [ "$nodes" -le 50 ] || die "--nodes must be 1..50, got '$nodes'"
  [[ "$cpus" =~ ^[1-9][0-9]*$ ]] || die "--cpus-per-node must be a positive integer, got '$cpus'"
  [ "$(id -u)" -eq 0 ] || die "must run as root (slurmd starts jobs as their user; munged runs as user munge)"
  local prog
  for prog in munged mungekey slurmctld slurmd sinfo squeue; do
    command -v "$prog" >/dev/null || die "$prog not found; install: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge"
  done
  id munge >/dev/null 2>&1 || die "user munge missing; install the munge package"

  [[ "$dir" != *[[:space:]]* ]] || die "DIR must not contain white space (it goes into slurm.conf): '$dir'"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  if [ -f "$dir/slurmctld.pid" ] && alive "$(cat "$dir/slurmctld.pid")"; then
    die "a cluster already runs in $dir; stop it first: $0 stop $dir"
  fi
  cmd_stop "$dir"
  # munged runs as user munge: DIR and every folder above must be traversable by it.
  chmod 755 "$dir"
  local up=$dir
  while [ "$up" != "/" ]; do
    runuser -u munge -- test -x "$up" || die "user munge cannot traverse $up (needed for munged's socket); chmod o+x it or choose another DIR"
    up=$(dirname "$up")
  done
  rm -rf "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
  mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"

  # munge: a private key and socket for this cluster only.
  local key=$dir/munge/munge.key sock=$dir/munge/munge.socket
  mungekey -c -k "$key" -b 1024 2>/dev/null || dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
  chown -R munge:munge "$dir/munge"
  chmod 700 "$dir/munge"
  chmod 400 "$key"
  chmod 755 "$dir/munge" # the socket must be reachable by every client user
  nohup setpriv --reuid=munge --regid=munge --init-groups munged -F --socket="$sock" --key-file="$key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" \
    >"$dir/log/munged.out" 2>&1 </dev/null &
  echo $! >"$dir/munged.pid"
  local i
  for i in $(seq 1 100); do
    [ -S "$sock" ] && break
    alive "$(cat "$dir/munged.pid")" || break
    sleep 0.05
  done
  if [ ! -S "$sock" ]; then
    cat "$dir/log/munged.out" "$dir/munge/munged.log" >&2 2>/dev/null || true
    cmd_stop "$dir"
    die "munged did not create its socket $sock"
  fi

  # Ports: slurmctld and every slurmd on 127.0.0.1, each slurmd on its own port (slurmd binds its port on all
  # addresses, so nodes cannot share one port on 127.0.0.N).
  local n ctld_port next
  ctld_port=$(pick_port 6817 127.0.0.1)
  local node_ports=()
  next=$((ctld_port + 1))
  for n in $(seq 1 "$nodes"); do
    next=$(pick_port "$next" 127.0.0.1)
    node_ports+=("$next")
    next=$((next + 1))
  done

  local conf=$dir/slurm.conf
  {
    echo "# Loopback test cluster written by .ci/slurm-loopback.sh"
    echo "ClusterName=loopback"
    echo "SlurmctldHost=localhost(127.0.0.1)"
    echo "SlurmctldPort=$ctld_port"
    echo "SlurmUser=root"
    echo "SlurmdUser=root"
    echo "CommunicationParameters=NoCtldInAddrAny,NoInAddrAny"
    echo "AuthType=auth/munge"
    echo "CredType=cred/munge"
    echo "AuthInfo=socket=$sock"
    echo "ProctrackType=proctrack/linuxproc"
    echo "TaskPlugin=task/none"
    echo "JobAcctGatherType=jobacct_gather/none"
    echo "AccountingStorageType=accounting_storage/none"
    echo "JobCompType=jobcomp/none"
    echo "MpiDefault=none"
    echo "SwitchType=switch/none"
    echo "SelectType=select/cons_tres"
    echo "SelectTypeParameters=CR_Core"
    echo "SchedulerType=sched/backfill"
    echo "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,default_queue_depth=1000"
    echo "SlurmdParameters=config_overrides"
    echo "ReturnToService=2"
    echo "MessageTimeout=5"
    echo "SlurmdTimeout=30"
    echo "SlurmctldTimeout=30"
    echo "InactiveLimit=0"
    echo "KillWait=2"
    echo "MinJobAge=600"
    echo "StateSaveLocation=$dir/state"
    echo "SlurmdSpoolDir=$dir/spool/%n"
    echo "SlurmctldPidFile=$dir/state/slurmctld.pid"
    echo "SlurmdPidFile=$dir/spool/slurmd-%n.pid"
    echo "SlurmctldLogFile=$dir/log/slurmctld.log"
    echo "SlurmdLogFile=$dir/log/slurmd-%n.log"
    echo "SlurmctldDebug=info"
    echo "SlurmdDebug=info"
    for n in $(seq 1 "$nodes"); do
      echo "NodeName=node$n NodeHostname=localhost NodeAddr=127.0.0.1 Port=${node_ports[$((n - 1))]} CPUs=$cpus RealMemory=2048 State=UNKNOWN"
    done
    echo "PartitionName=debug Nodes=node[1-$nodes] Default=YES MaxTime=UNLIMITED State=UP OverSubscribe=NO"
  } >"$conf.tmp"
  mv "$conf.tmp" "$conf"
  chmod 644 "$conf"
  export SLURM_CONF=$conf

  local t0
  t0=$(date +%s.%N)
  nohup slurmctld -D -c -f "$conf" >"$dir/log/slurmctld.out" 2>&1 </dev/null &
  echo $! >"$dir/slurmctld.pid"
  for n in $(seq 1 "$nodes"); do
    mkdir -p "$dir/spool/node$n"
    nohup slurmd -D -N "node$n" -f "$conf" >"$dir/log/slurmd-node$n.out" 2>&1 </dev/null &
    echo $! >"$dir/slurmd-node$n.pid"
  done

  local deadline=$((SECONDS + 60)) idle=0
  while [ "$SECONDS" -lt "$deadline" ]; do
    idle=$(sinfo -h -N -t idle -o '%N' 2>/dev/null | sort -u | grep -c . || true)
    [ "$idle" -eq "$nodes" ] && break
    local d
    for d in "$dir"/*.pid; do
      if ! alive "$(cat "$d")"; then
        tails "$dir"
        cmd_stop "$dir"
        die "$(basename "$d" .pid) exited during start-up (logs above)"
      fi
    done
    sleep 0.1
  done
  if [ "$idle" -ne "$nodes" ]; then
    sinfo -N >&2 || true
    tails "$dir"
    cmd_stop "$dir"
    die "only $idle of $nodes nodes idle after 60 s (logs above)"
  fi
  printf 'export SLURM_CONF=%s\n' "$conf" >"$dir/env.tmp"
  mv "$dir/env.tmp" "$dir/env"
  echo "slurm-loopback: $nodes node(s) idle after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s; ports slurmctld=$ctld_port slurmd=${node_ports[*]}" >&2
  cat "$dir/env"
}

[ $# -ge 2 ] || usage
sub=$1
dir=$2
shift 2
case "$sub" in
  start) cmd_start "$dir" "$@" ;;
  stop) [ $# -eq 0 ] || usage; cmd_stop "$dir" ;;
  status) [ $# -eq 0 ] || usage; cmd_status "$dir" ;;
  *) usage ;;
esac
