#!/bin/sh
# The main job: install what is missing, build, start the local provider
# sandbox, run the seed billing workflow (and the amount-billing example)
# against it, print each step and the outputs, stop the sandbox.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh 5.4 >/dev/null
run_dir="$(mktemp -d)"
eval "$(scripts/sandbox.sh start --run-dir "$run_dir" --amberflo-port 0 --stripe-port 0)"
trap 'scripts/sandbox.sh stop --run-dir "$run_dir" >/dev/null 2>&1; rm -rf "$run_dir"' EXIT INT TERM
echo "sandbox: Amberflo at $AMBERFLO_URL, Stripe at $STRIPE_URL"
LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/?.so;;" \
  lua5.4 examples/billing/run.lua "$AMBERFLO_URL" "$STRIPE_URL"
