#!/bin/sh
# bench/run.sh: every benchmark in one command, each against a baseline
# measured in the same run, then one summary. Run from anywhere:
#   bench/run.sh            (BENCH_ROUNDS=7 BENCH_N=2000 BENCH_WARMUP=200)
#   BENCH_QUICK=1 bench/run.sh      (workflow benchmark only, 3 rounds)
#   BENCH_PIN=0 bench/run.sh        (do not pin the stub and the clients to CPUs)
# Needs: cmake + a C compiler, lua5.4, nginx, python3; luajit optional.
# Starts nginx (bench/nginx/nginx.conf.in) on a free 127.0.0.1 port in a
# private prefix under bench/out/, and a one-shot wire checker; stops both
# by PID on exit. Exit status: 0 when everything ran (whatever the ratios),
# 1 when a benchmark or a check failed.
# Licence: MIT (see LICENSE).
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${BENCH_ROUNDS:-7}
N=${BENCH_N:-2000}
WARM=${BENCH_WARMUP:-200}
QUICK=${BENCH_QUICK:-}
PIN_ON=${BENCH_PIN:-1}
[ -n "$QUICK" ] && ROUNDS=${BENCH_ROUNDS:-3}
OUT=bench/out
mkdir -p "$OUT"
RESULTS="$OUT/results.txt"
: >"$RESULTS"
NGINX_PID=
CHECK_PID=

cleanup() {
  if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -QUIT "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
  if [ -n "$CHECK_PID" ] && kill -0 "$CHECK_PID" 2>/dev/null; then kill "$CHECK_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Print a command line, then run it; RESULT lines also go to $RESULTS.
run() {
  echo "\$ $*"
  "$@" >"$OUT/last.log" 2>&1 || { cat "$OUT/last.log"; echo "FAILED: $*" >&2; exit 1; }
  grep -v '^RESULT ' "$OUT/last.log" | sed 's/^/  /'
  grep '^RESULT ' "$OUT/last.log" >>"$RESULTS" || true
}

have() { command -v "$1" >/dev/null 2>&1; }

section() { printf '\n== %s\n' "$1"; }

# ---- machine ---------------------------------------------------------------
section "machine"
echo "nproc: $(nproc)   CPU: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "kernel: $(uname -sr)   load average (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
echo "lua5.4: $(lua5.4 -v 2>&1)   luajit: $(if have luajit; then luajit -v 2>&1; else echo none; fi)"
echo "libcurl: $(curl-config --version 2>/dev/null || echo '?')   nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //')"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (dirty)')"

# ---- builds ----------------------------------------------------------------
section "build"
echo "\$ scripts/build.sh 5.4"
scripts/build.sh 5.4 >/dev/null
JIT=
if have luajit; then
  echo "\$ scripts/build.sh luajit"
  if scripts/build.sh luajit >/dev/null; then JIT=1; else echo "  (luajit build failed: luajit skipped)"; fi
fi
FLOOR_CC="cc -std=c99 -O2 -Wall -Wextra -pedantic -Werror -o $OUT/http_floor bench/http_floor.c -lcurl"
echo "\$ $FLOOR_CC"
$FLOOR_CC

# ---- stub server -------------------------------------------------------------
section "stub (nginx)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PREFIX="$OUT/nginx"
start_nginx() {
  rm -rf "$PREFIX"
  mkdir -p "$PREFIX/conf" "$PREFIX/logs" "$PREFIX/tmp"
  sed "s/@PORT@/$PORT/" bench/nginx/nginx.conf.in >"$PREFIX/conf/nginx.conf"
  nginx -p "$PREFIX" -c conf/nginx.conf -e logs/error.log &
  NGINX_PID=$!
  i=0
  while [ $i -lt 50 ]; do
    if curl -s -o /dev/null -X POST "http://127.0.0.1:$PORT/ingest" 2>/dev/null; then return 0; fi
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
  done
  kill -QUIT "$NGINX_PID" 2>/dev/null || true
  wait "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=
  return 1
}
tries=0
until PORT=$(free_port) && start_nginx; do
  tries=$((tries + 1))
  if [ $tries -ge 3 ]; then cat "$PREFIX/logs/error.log" >&2; echo "nginx did not start" >&2; exit 1; fi
done
BASE="http://127.0.0.1:$PORT"
echo "\$ nginx -p $PREFIX -c conf/nginx.conf -e logs/error.log   (pid $NGINX_PID, $BASE)"
WORKER=$(pgrep -P "$NGINX_PID" | head -n 1 || true)
# With two CPUs or more, the stub's worker gets the last CPU and every client
# (floor and runner alike) CPU 0: the scheduler then cannot put both on one
# CPU or move them around mid-measurement, the largest source of noise seen.
PIN=
NCPU=$(nproc)
if [ "$PIN_ON" = 1 ] && [ "$NCPU" -ge 2 ] && [ -n "$WORKER" ] && command -v taskset >/dev/null; then
  taskset -pc $((NCPU - 1)) "$WORKER" >/dev/null
  PIN="taskset -c 0"
  echo "  pinned: stub worker on CPU $((NCPU - 1)), clients on CPU 0 (BENCH_PIN=0 turns this off)"
else
  echo "  not pinned"
fi
echo "  worker pid ${WORKER:-?} (its CPU time is read from /proc during the floor runs)"
# CPU clock ticks (user + system) the nginx worker has used so far.
stub_ticks() { if [ -n "$WORKER" ]; then awk '{ print $14 + $15 }' "/proc/$WORKER/stat"; else echo 0; fi; }

# ---- wire capture and check --------------------------------------------------
section "wire capture: the floor must send the runner's bytes"
WIRE="$OUT/wire.txt"
rm -f "$OUT/check.port"
echo "\$ python3 bench/wire_check.py 3 $OUT/check.port &"
python3 bench/wire_check.py 3 "$OUT/check.port" >"$OUT/check.log" 2>&1 &
CHECK_PID=$!
i=0
while [ ! -s "$OUT/check.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
CHECK_BASE="http://127.0.0.1:$(cat "$OUT/check.port")"
run lua5.4 bench/workflow.lua capture "$CHECK_BASE" "$WIRE"
run "$OUT/http_floor" "$CHECK_BASE" "$WIRE" 1 0
if ! wait "$CHECK_PID"; then CHECK_PID=; cat "$OUT/check.log"; echo "wire check failed" >&2; exit 1; fi
CHECK_PID=
sed 's/^/  /' "$OUT/check.log"
: >"$RESULTS" # the capture runs are not measurements
sed 's/^/  | /' "$WIRE"

# ---- workflow benchmark --------------------------------------------------------
section "workflow: seed x $N against the stub, $ROUNDS alternating rounds (warm-up $WARM each)"
r=1
while [ $r -le "$ROUNDS" ]; do
  echo "-- round $r/$ROUNDS (load average $(cut -d' ' -f1 /proc/loadavg))"
  t0=$(stub_ticks)
  run $PIN "$OUT/http_floor" "$BASE" "$WIRE" "$N" "$WARM"
  echo "RESULT stub $(($(stub_ticks) - t0)) $(getconf CLK_TCK) $((3 * (N + WARM)))" >>"$RESULTS"
  run $PIN lua5.4 bench/workflow.lua run "$BASE" "$N" "$WARM"
  run $PIN lua5.4 bench/workflow.lua run "$BASE" "$N" "$WARM" hooks
  if [ -n "$JIT" ]; then
    run $PIN env ARAZZO_BUILD=build-jit luajit bench/workflow.lua run "$BASE" "$N" "$WARM"
    run $PIN env ARAZZO_BUILD=build-jit luajit bench/workflow.lua run "$BASE" "$N" "$WARM" hooks
  fi
  r=$((r + 1))
done
section "workflow: where the CPU time of one run goes (no stub noise)"
run $PIN lua5.4 bench/workflow.lua parts "$BASE" "$N"
[ -n "$JIT" ] && run $PIN env ARAZZO_BUILD=build-jit luajit bench/workflow.lua parts "$BASE" "$N"
WF_RESULTS="$OUT/workflow_results.txt"
cp "$RESULTS" "$WF_RESULTS"

# ---- other benchmarks ------------------------------------------------------------
if [ -z "$QUICK" ]; then
  section "expressions: compiled conditions vs Lua closures"
  run lua5.4 bench/expr.lua
  [ -n "$JIT" ] && run env ARAZZO_BUILD=build-jit luajit bench/expr.lua
  section "JSON: arazzo vs lua-cjson"
  run lua5.4 bench/json.lua
  [ -n "$JIT" ] && run env ARAZZO_BUILD=build-jit luajit bench/json.lua build-jit
  if [ -f bench/load.lua ]; then
    section "YAML load (bench/load.lua)"
    run lua5.4 bench/load.lua
  fi
  section "full load of a 4 MB OpenAPI source vs a bare libyaml parse"
  run lua5.4 bench/load_full.lua
  [ -n "$JIT" ] && run env ARAZZO_BUILD=build-jit luajit bench/load_full.lua
fi

# ---- summary ---------------------------------------------------------------------
section "summary"
lua5.4 bench/summary.lua "$WF_RESULTS" "$RESULTS" "$N"
