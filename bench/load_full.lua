-- bench/load_full.lua: the full `arazzo.load()` of a document whose one
-- source is a large OpenAPI description (Stripe's spec3, 4 MB of YAML),
-- against a bare `core.yaml_events` parse of that file (libyaml's events,
-- nothing built), measured in one run; plus peak RSS in fresh processes.
--
--   lua5.4 bench/load_full.lua [SPEC-FILE]
--   ARAZZO_BUILD=build-jit luajit bench/load_full.lua [SPEC-FILE]
--   lua5.4 bench/load_full.lua rss (load|events|none) SPEC-FILE   (internal)
--
-- The Arazzo document (text, below) names SPEC-FILE as its source and has
-- one step resolving operationId `PostInvoices`; a load must succeed and
-- resolve it to POST .../v1/invoices, or the benchmark stops. Times are the
-- best of 5 in CPU time (wall time shown too; each load starts from
-- scratch: loads share no cache). Also
-- shown, for scale: core.yaml_load of the file as the loader does it for a
-- source (a Lua tree, no key order, no positions).
-- Peak RSS is VmHWM from /proc/self/status of a fresh interpreter doing one
-- thing: nothing but require arazzo ("none"), the bare parse, the full load.
local build = os.getenv("ARAZZO_BUILD") or "build"
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./" .. build .. "/?.so;" .. package.cpath

local arazzo = require "arazzo"
local core = require "arazzo.core"

local DEFAULT_SPEC = "/work/shared/providers/large/stripe-spec3.yaml"

local function document_text(spec)
  return table.concat({
    "arazzo: 1.0.1",
    "info: {title: Load benchmark, version: 1.0.0}",
    "sourceDescriptions:",
    "  - name: stripe",
    "    url: '" .. spec:gsub("'", "''") .. "'",
    "    type: openapi",
    "workflows:",
    "  - workflowId: create-invoice",
    "    steps:",
    "      - stepId: create",
    "        operationId: PostInvoices",
    "        successCriteria:",
    "          - condition: $statusCode == 200",
    "",
  }, "\n")
end

local function read(path)
  local f, err = io.open(path, "rb")
  if not f then
    io.stderr:write("load_full.lua: ", tostring(err), "\n")
    os.exit(1)
  end
  local s = f:read("a")
  f:close()
  return s
end

-- The full load; stops the benchmark unless the step resolved.
local function full_load(text)
  local doc, err = arazzo.load(text, { name = "load-bench.arazzo.yaml" })
  if not doc then
    io.stderr:write("load_full.lua: load failed:\n", tostring(err), "\n")
    os.exit(1)
  end
  local op = doc:workflow("create-invoice").steps[1].operation
  if not op or op.method ~= "POST" or not op.url:match("/v1/invoices$") then
    io.stderr:write("load_full.lua: PostInvoices did not resolve\n")
    os.exit(1)
  end
  return doc
end

local function events(s)
  local n, err = core.yaml_events(s)
  if not n then
    io.stderr:write("load_full.lua: ", tostring(err), "\n")
    os.exit(1)
  end
  return n
end

-- Best of 5 for f(x), a full GC before each run: CPU seconds (os.clock:
-- this process, user + system) and wall seconds. The ratio uses CPU time,
-- which other load on a shared machine inflates far less than wall time.
local function best_of_5(f, x)
  local best_cpu, best_wall = math.huge, math.huge
  for _ = 1, 5 do
    collectgarbage()
    collectgarbage()
    local c0, t0 = os.clock(), core.now()
    f(x)
    local dc, dt = os.clock() - c0, core.now() - t0
    if dc < best_cpu then best_cpu = dc end
    if dt < best_wall then best_wall = dt end
  end
  return best_cpu, best_wall
end

local function vmhwm_kb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmHWM:%s*(%d+) kB")
    if kb then return tonumber(kb) end
  end
  return nil
end

-- Peak RSS (kB) of a fresh interpreter doing `what`.
local function rss_of(what, spec)
  local interp = arg[-1] or "lua5.4"
  local cmd = string.format("%s bench/load_full.lua rss %s '%s'", interp, what, spec:gsub("'", "'\\''"))
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  return tonumber(out:match("VmHWM (%d+)")), cmd
end

if arg[1] == "rss" then
  local what, spec = arg[2], arg[3]
  if what == "load" then full_load(document_text(spec))
  elseif what == "events" then events(read(spec)) end
  print("VmHWM " .. vmhwm_kb())
  os.exit(0)
end

local spec = arg[1] or DEFAULT_SPEC
local text, spec_text = document_text(spec), read(spec)
local vm = jit and jit.version or _VERSION
local t_events, w_events = best_of_5(events, spec_text)
local t_tree, w_tree = best_of_5(function(s) return core.yaml_load(s, spec, { order = false }) end, spec_text)
local t_load, w_load = best_of_5(full_load, text)
print(string.format("%s, %s (%d bytes, %d libyaml events), best of 5", vm, spec, #spec_text, events(spec_text)))
print(string.format("%-38s %10s %8s %10s", "case", "CPU ms", "ratio", "wall ms"))
print(string.format("%-38s %10.1f %8.2f %10.1f", "core.yaml_events (baseline)", t_events * 1e3, 1, w_events * 1e3))
print(string.format("%-38s %10.1f %8.2f %10.1f", "core.yaml_load (tree, as sources do)", t_tree * 1e3, t_tree / t_events,
  w_tree * 1e3))
print(string.format("%-38s %10.1f %8.2f %10.1f", "arazzo.load (full)", t_load * 1e3, t_load / t_events, w_load * 1e3))
local r0 = rss_of("none", spec)
local r1 = rss_of("events", spec)
local r2, cmd = rss_of("load", spec)
print(string.format("peak RSS (VmHWM, fresh process): require only %.1f MB, yaml_events %.1f MB, full load %.1f MB",
  r0 / 1024, r1 / 1024, r2 / 1024))
print("  (e.g. " .. cmd .. ")")
print(string.format("RESULT load_full/%s %.6f %.6f %d", jit and "luajit" or _VERSION:gsub("Lua ", ""), t_load,
  t_events, r2))
