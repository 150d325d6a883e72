#!/usr/bin/env bash
# sandbox.sh: start, stop or query the local Amberflo + Stripe sandbox (tools/sandbox.py).
# Licence: MIT (see LICENSE).
#
#   scripts/sandbox.sh start [--run-dir D] [--amberflo-port N] [--stripe-port N] [--state-dir D]
#                            [any other tools/sandbox.py option]
#       Starts the sandbox in the background on 127.0.0.1 and prints, once both ports listen:
#           AMBERFLO_URL=http://127.0.0.1:N
#           STRIPE_URL=http://127.0.0.1:N
#           SANDBOX_PID=N
#       (shell-evaluable). Port 0 picks a free port. Exit 1 if it is already running or fails.
#   scripts/sandbox.sh stop [--run-dir D]     stops the process named in the PID file (TERM,
#                                             then KILL after 5 s); exit 0 also when not running
#   scripts/sandbox.sh status [--run-dir D]   prints the URLs and exits 0 when running, else 3
#
# The run directory (default $ARAZZO_SANDBOX_RUN or ${TMPDIR:-/tmp}/arazzo-sandbox-$UID) holds
# sandbox.pid, sandbox.urls and sandbox.log (the request log). $PYTHON overrides the interpreter
# (default: Debian's /usr/bin/python3).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:-}
[ $# -gt 0 ] && shift
run_dir=${ARAZZO_SANDBOX_RUN:-${TMPDIR:-/tmp}/arazzo-sandbox-$(id -u)}
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --run-dir) [ $# -ge 2 ] || { echo "sandbox: --run-dir needs a value" >&2; exit 2; }
               run_dir=$2; shift 2 ;;
    --run-dir=*) run_dir=${1#*=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
pid_file=$run_dir/sandbox.pid
url_file=$run_dir/sandbox.urls
log_file=$run_dir/sandbox.log

if [ -n "${PYTHON:-}" ]; then py=$PYTHON
elif [ -x /usr/bin/python3 ]; then py=/usr/bin/python3
else py=python3
fi

# alive PID: the process exists, is not a zombie, and is our sandbox.py
alive() {
  local pid=$1 state
  kill -0 "$pid" 2>/dev/null || return 1
  state=$(sed -n 's/^[0-9]* (.*) \([A-Z]\).*/\1/p' "/proc/$pid/stat" 2>/dev/null || true)
  [ "$state" != Z ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q 'tools/sandbox\.py'
}

# the PID from the PID file when that process is running, else nothing
running_pid() {
  local pid
  [ -f "$pid_file" ] || return 1
  pid=$(cat "$pid_file")
  case $pid in ''|*[!0-9]*) return 1 ;; esac
  alive "$pid" || return 1
  echo "$pid"
}

start() {
  local pid
  mkdir -p "$run_dir"
  if pid=$(running_pid); then
    echo "sandbox: already running (pid $pid, run dir $run_dir)" >&2
    exit 1
  fi
  rm -f "$pid_file" "$url_file"
  "$py" "$root/tools/sandbox.py" --ready-file "$url_file" ${args[@]+"${args[@]}"} \
    </dev/null >/dev/null 2>>"$log_file" &
  pid=$!
  echo "$pid" > "$pid_file"
  for _ in $(seq 1 100); do
    if [ -s "$url_file" ]; then cat "$url_file"; exit 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "sandbox: did not start; last lines of $log_file:" >&2
  tail -n 5 "$log_file" >&2
  kill "$pid" 2>/dev/null || true
  rm -f "$pid_file"
  exit 1
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pid_file" "$url_file"
    echo "sandbox: not running"
    exit 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 50); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then kill -KILL "$pid"; fi
  rm -f "$pid_file" "$url_file"
  echo "sandbox: stopped (pid $pid)"
}

status() {
  local pid
  if pid=$(running_pid); then
    echo "sandbox: running (pid $pid, run dir $run_dir)"
    cat "$url_file"
    exit 0
  fi
  echo "sandbox: not running"
  exit 3
}

case $cmd in
  start) start ;;
  stop) [ ${#args[@]} -eq 0 ] || { echo "sandbox: stop takes only --run-dir" >&2; exit 2; }; stop ;;
  status) [ ${#args[@]} -eq 0 ] || { echo "sandbox: status takes only --run-dir" >&2; exit 2; }; status ;;
  *) echo "usage: scripts/sandbox.sh start|stop|status [--run-dir D] [sandbox options]" >&2; exit 2 ;;
esac
