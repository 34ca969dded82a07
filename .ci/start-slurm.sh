#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine (munge + slurmctld + slurmd) for the cluster
# test (tests/test_slurm.py). Idempotent: a healthy running cluster is only checked, not touched.
# The node offers one GPU generic resource backed by /dev/zero (no real GPU): SLURM then accepts
# and schedules `--gpus=1` requests for real (one such job at a time) and sets
# CUDA_VISIBLE_DEVICES in them, which is what profiles/slurm-gpu is tested against.
# No systemd needed: the daemons are started directly and fork into the background.
# Needs root. Exits non-zero with a message naming the failing step when SLURM cannot be started.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
LOG_DIR=/var/log/slurm
HOST=$(hostname -s)
WAIT_SECONDS=${SLURM_START_TIMEOUT:-90}

die() {
  echo "start-slurm: ERROR: $*" >&2
  for log in "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" /var/log/munge/munged.log; do
    [[ -r $log && -s $log ]] && { echo "--- last lines of $log:" >&2; tail -n 15 "$log" >&2; }
  done
  exit 1
}
say() { echo "start-slurm: $*"; }

# A trivial job through both paths the workflow uses (a batch job and a job step), and a job step
# that asks for the GPU and must see it as CUDA device 0.
smoke_test() {
  local limit=${1:-60}
  timeout "$limit" sbatch --parsable --wait -o /dev/null -t 1 --wrap hostname >/dev/null 2>&1 &&
    timeout "$limit" srun -N1 -n1 -t 1 hostname >/dev/null 2>&1 &&
    [[ $(timeout "$limit" srun -N1 -n1 -t 1 --gpus=1 printenv CUDA_VISIBLE_DEVICES 2>/dev/null) == 0 ]]
}

node_state() { sinfo -h -N -n "$HOST" -o %T 2>/dev/null | head -n1; }

healthy() {
  scontrol ping 2>/dev/null | grep -q "is UP" || return 1
  scontrol show slurmd >/dev/null 2>&1 || return 1 # the local slurmd answers
  scontrol show node "$HOST" 2>/dev/null | grep -q "Gres=gpu:fake:1" || return 1 # GPU configured
  case "$(node_state)" in idle* | mixed* | allocated* | completing*) return 0 ;; *) return 1 ;; esac
}

if command -v sinfo >/dev/null && healthy && smoke_test 20; then
  say "SLURM already running on $HOST (node $(node_state)); nothing to do"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root to install and start SLURM (try: sudo bash $0)"

# --- packages (normally installed by .ci/run) ---
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || die "slurmctld/slurmd/munged missing and no apt-get to install slurm-wlm and munge"
  say "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null || die "apt-get install slurm-wlm munge failed"
fi

# --- stop daemons a previous, unhealthy start left behind (only ours: by pid file) ---
for pidfile in /run/slurmd.pid /run/slurmctld.pid; do
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    say "stopping stale $(basename "$pidfile" .pid) (pid $pid)"
    kill "$pid" || true
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
done

# --- munge: key and daemon ---
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
  say "creating munge key"
  if command -v mungekey >/dev/null; then
    mungekey --create --keyfile=/etc/munge/munge.key
  else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "starting munged"
  runuser -u munge -- /usr/sbin/munged || die "munged did not start"
  for _ in $(seq 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
  munge -n | unmunge >/dev/null || die "munge does not work (munge -n | unmunge failed)"
fi

# --- slurm.conf: this host is controller and the only compute node ---
# Topology (sockets/cores/threads) from slurmd -C so the node is never drained for a mismatch;
# memory leaves a margin for the OS and the controller.
CPUS=$(nproc)
TOTAL_MB=$(free -m | awk '/^Mem:/ {print $2}')
MARGIN_MB=$(( TOTAL_MB / 10 > 512 ? TOTAL_MB / 10 : 512 ))
REAL_MB=$(( TOTAL_MB - MARGIN_MB ))
(( REAL_MB > 0 )) || die "could not determine memory (free -m says total ${TOTAL_MB} MB)"
TOPOLOGY=$(slurmd -C 2>/dev/null | head -n1 | grep -o 'Boards=[0-9]* SocketsPerBoard=[0-9]* CoresPerSocket=[0-9]* ThreadsPerCore=[0-9]*' || true)

install -d -m 0755 "$CONF_DIR" "$LOG_DIR" /var/spool/slurmctld /var/spool/slurmd
cat >"$CONF.new" <<EOF
# Written by .ci/start-slurm.sh: single-node test cluster ($HOST is controller and compute node).
ClusterName=amrcomp
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
# Finished jobs stay visible to squeue for an hour: the Snakemake executor reads job states from
# squeue because there is no accounting database (sacct) here.
MinJobAge=3600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
# Cores and memory are consumable, so two 1-core jobs share the node.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
InactiveLimit=0
KillWait=30
Waittime=0
# One fake GPU (gres.conf): GPU requests are scheduled and bound for real, without a device.
GresTypes=gpu
NodeName=$HOST CPUs=$CPUS $TOPOLOGY RealMemory=$REAL_MB Gres=gpu:fake:1 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
mv "$CONF.new" "$CONF"
cat >"$CONF_DIR/gres.conf" <<EOF
# Written by .ci/start-slurm.sh: a GPU generic resource without a GPU (File must exist).
AutoDetect=off
NodeName=$HOST Name=gpu Type=fake File=/dev/zero
EOF
say "wrote $CONF (CPUs=$CPUS RealMemory=${REAL_MB} MB, Gres=gpu:fake:1) and gres.conf"

# --- daemons ---
say "starting slurmctld and slurmd"
/usr/sbin/slurmctld -i || die "slurmctld did not start"
/usr/sbin/slurmd || die "slurmd did not start"

deadline=$(( $(date +%s) + WAIT_SECONDS ))
until healthy; do
  (( $(date +%s) < deadline )) || die "node $HOST not idle after ${WAIT_SECONDS}s (state: '$(node_state)'; scontrol ping: $(scontrol ping 2>&1 | tr '\n' ' '))"
  state=$(node_state)
  if [[ $state == drain* || $state == down* ]]; then
    scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true
  fi
  sleep 1
done
smoke_test || die "SLURM is up but a trivial job failed (sbatch --wait --wrap hostname / srun hostname)"
say "SLURM ready: $(sinfo -h -o '%P %a %D %T %c cpus %m MB')"
