-- bench/load.lua: time to load the large Stripe OpenAPI description
-- (../shared/providers/large/stripe-spec3.yaml, about 4 MB), against the bare
-- libyaml parse core.yaml_events as the floor, measured in one run.
--   lua5.4 bench/load.lua [build-dir]        luajit bench/load.lua build-jit
-- ARAZZO_SHARED overrides the location of ../shared (relative to the repo).
-- Prints, per case, the best of 5 runs, the ratio to the floor (the target for
-- yaml_load is within 3x: measured about 1.5x with order = false and 1.8x with
-- order = true), the Lua heap right after the load (collectgarbage("count"),
-- highest of the runs: the 4 MB text, the value built and any garbage not yet
-- collected) and the process's VmHWM after the case (peak resident set of the
-- run so far: it only grows, so read the column top to bottom).
-- To add a case (e.g. the full arazzo.load()), append { name, fn } to `cases`:
-- fn(text) runs one load and returns what it built (kept alive while the heap
-- is measured).
local build = arg[1] or os.getenv("ARAZZO_BUILD") or "build"
local root = debug.getinfo(1, "S").source:match("^@(.*)/bench/load%.lua$") or "."
package.cpath = root .. "/" .. build .. "/?.so;" .. package.cpath
package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
local core = require "arazzo.core"

local REL = "providers/large/stripe-spec3.yaml"
local RUNS = 5
local clock = os.clock

local shared = os.getenv("ARAZZO_SHARED") or (root .. "/../shared")
local path = shared .. "/" .. REL
local f = io.open(path, "rb")
if not f then
  print(("bench/load.lua: skipped: %s is absent (set ARAZZO_SHARED to the directory holding %s)")
    :format(path, REL))
  os.exit(0)
end
local text = f:read("a")
f:close()

--- The named cases, in print order. The first is the floor the others are
--- compared with. fn(text) must raise on failure and return what it built.
local cases = {
  { "core.yaml_events (floor)", function(t) return assert(core.yaml_events(t)) end },
  { "yaml_load order=false", function(t) return assert(core.yaml_load(t, "stripe", { order = false })) end },
  { "yaml_load order=true", function(t) return assert(core.yaml_load(t, "stripe", { order = true })) end },
}

-- VmHWM of this process in kB, or nil where /proc is not available.
local function vm_hwm()
  local s = io.open("/proc/self/status", "r")
  if not s then return nil end
  local status = s:read("a")
  s:close()
  return tonumber(status:match("VmHWM:%s*(%d+)"))
end

-- Best time (seconds) of RUNS calls of fn(text), and the highest Lua heap
-- (kB) seen right after a call, with its result still referenced.
local function measure(fn)
  local best, heap = math.huge, 0
  for _ = 1, RUNS do
    collectgarbage()
    collectgarbage()
    local t0 = clock()
    local v = fn(text)
    local dt = clock() - t0
    local kb = collectgarbage("count")
    if v == nil then error("a case must return what it built") end
    if dt < best then best = dt end
    if kb > heap then heap = kb end
  end
  return best, heap
end

local function mb(kb) return kb and ("%9.1f MB"):format(kb / 1024) or "        -" end

print(("%s, %s; %s (%.1f MB), best of %d"):format(_VERSION, jit and jit.version or "PUC", REL,
  #text / 1048576, RUNS))
print(("%-26s %10s %8s %12s %12s"):format("case", "time", "ratio", "Lua heap", "VmHWM"))
local floor
for _, c in ipairs(cases) do
  local t, heap = measure(c[2])
  floor = floor or t
  print(("%-26s %7.1f ms %7.2fx %12s %12s"):format(c[1], t * 1e3, t / floor, mb(heap), mb(vm_hwm())))
end
