#!/bin/sh
# The whole test suite: installs what is missing, builds the C core for Lua 5.4,
# LuaJIT and ASan/UBSan, runs every busted spec under each, luacheck, and the
# LuaRocks install check. Ends with one line "N passed, N failed".
# Exit status is non-zero when anything failed.
set -u
cd "$(dirname "$0")/.."
root="$(pwd)"
scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

out="$root/.ci/out"
rm -rf "$out"; mkdir -p "$out"
counts="$out/counts"
: >"$counts"
export ARAZZO_COUNTS="$counts"

record() { # record <name> <rc>: a non-busted check counts as one test
  if [ "$2" -eq 0 ]; then echo "1 0 0 $1" >>"$counts"; echo "ok: $1"
  else echo "0 1 0 $1" >>"$counts"; echo "FAILED: $1"; fi
}

step() { printf '\n== %s\n' "$1"; }

step "build (Lua 5.4, strict warnings)"
scripts/build.sh 5.4; record "build lua5.4" $?
step "build (LuaJIT)"
scripts/build.sh luajit; record "build luajit" $?
step "build (ASan/UBSan)"
scripts/build.sh asan; record "build asan" $?

# A decimal-comma locale for the specs that prove number text ignores the C
# locale (generated into the output folder; nothing system-wide changes).
mkdir -p "$out/locale"
if localedef -i de_DE -f UTF-8 "$out/locale/de_DE.UTF-8" >/dev/null 2>&1 || [ -d "$out/locale/de_DE.UTF-8" ]; then
  export LOCPATH="$out/locale"
fi

step "busted, Lua 5.4"
ARAZZO_SUITE=lua5.4 busted -o ./spec/ci_handler.lua
step "busted, LuaJIT"
ARAZZO_SUITE=luajit ARAZZO_BUILD=build-jit busted --lua=luajit -o ./spec/ci_handler.lua
step "busted, Lua 5.4 + ASan/UBSan"
ARAZZO_SUITE=asan ARAZZO_BUILD=build-asan ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  LD_PRELOAD="$(gcc -print-file-name=libasan.so)" lua5.4 /usr/bin/busted -o ./spec/ci_handler.lua

step "luacheck"
luacheck -q --no-color lua spec bench examples >"$out/luacheck.log" 2>&1
rc=$?; cat "$out/luacheck.log" | tail -20; record "luacheck" $rc

step "luarocks make into a fresh tree"
tree="$out/rocks"
rock_rc=1
if luarocks --lua-version 5.4 --tree "$tree" make --deps-mode=none arazzo-scm-1.rockspec >"$out/luarocks.log" 2>&1; then
  LUA_PATH="$tree/share/lua/5.4/?.lua;$tree/share/lua/5.4/?/init.lua;;" LUA_CPATH="$tree/lib/lua/5.4/?.so;;" \
    lua5.4 -e 'local a = require "arazzo"; assert(a.load and a._VERSION); print("require ok: arazzo " .. a._VERSION)' \
    && rock_rc=0
else
  tail -30 "$out/luarocks.log"
fi
record "luarocks make + require" $rock_rc
rm -rf "$root/build.luarocks"

step "summary"
awk '{ printf "  %-12s %d passed, %d failed, %d skipped\n", $4, $1, $2, $3 }' "$counts"
passed=$(awk '{ s += $1 } END { print s + 0 }' "$counts")
failed=$(awk '{ s += $2 } END { print s + 0 }' "$counts")
suites=$(wc -l <"$counts")
# a busted run that crashed before its summary leaves no line: count it failed
expected=8
if [ "$suites" -lt "$expected" ]; then failed=$((failed + expected - suites)); fi
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
