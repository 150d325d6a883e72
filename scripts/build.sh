#!/bin/sh
# Build arazzo/core.so. Usage: scripts/build.sh [5.4|luajit|asan] (default 5.4).
set -eu
cd "$(dirname "$0")/.."
flavor="${1:-5.4}"
case "$flavor" in
  5.4)    dir=build;      args="-DARAZZO_STRICT=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo" ;;
  luajit) dir=build-jit;  args="-DLUA_FLAVOR=luajit -DARAZZO_STRICT=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo" ;;
  asan)   dir=build-asan; args="-DARAZZO_SANITIZE=ON -DARAZZO_STRICT=ON -DCMAKE_BUILD_TYPE=Debug" ;;
  *) echo "usage: $0 [5.4|luajit|asan]" >&2; exit 2 ;;
esac
log="$(mktemp)"
# shellcheck disable=SC2086
if ! { cmake -S . -B "$dir" $args && cmake --build "$dir" -j2; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "build ($flavor) failed" >&2
  exit 1
fi
rm -f "$log"
echo "$dir/arazzo/core.so"
