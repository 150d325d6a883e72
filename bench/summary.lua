-- bench/summary.lua: the summary table of bench/run.sh, from the RESULT
-- lines the benchmarks print (collected by run.sh).
--   lua5.4 bench/summary.lua WORKFLOW-RESULTS OTHER-RESULTS N
-- Workflow lines: "RESULT <name> <N> <wall s> <CPU s>", one per round;
-- the summary takes the median wall and CPU time of each name over the rounds
-- and compares it with the floor's median. Other lines: "RESULT expr...",
-- "RESULT json ...", "RESULT load_full/<vm> ...", "RESULT load/..." (see the
-- benchmarks' headers).
local wf_file, other_file, n_arg = arg[1], arg[2], tonumber(arg[3])
if not (wf_file and other_file and n_arg) then
  io.stderr:write("usage: summary.lua WORKFLOW-RESULTS OTHER-RESULTS N\n")
  os.exit(2)
end

local TARGET = 0.8
local STEPS = 3 -- steps (requests) per workflow run

local function lines_of(file)
  local out = {}
  local f = io.open(file, "r")
  if not f then return out end
  for line in f:lines() do
    if line:sub(1, 7) == "RESULT " then out[#out + 1] = line:sub(8) end
  end
  f:close()
  return out
end

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local m = #s
  if m == 0 then return nil end
  if m % 2 == 1 then return s[(m + 1) / 2] end
  return (s[m / 2] + s[m / 2 + 1]) / 2
end

-- ---- workflow ---------------------------------------------------------------
local order, runs = {}, {}
local parts, stub = {}, { ticks = 0, hz = 100, requests = 0 }
for _, l in ipairs(lines_of(wf_file)) do
  local ticks, hz, reqs = l:match("^stub (%d+) (%d+) (%d+)$")
  if ticks then
    stub.ticks, stub.hz, stub.requests = stub.ticks + tonumber(ticks), tonumber(hz), stub.requests + tonumber(reqs)
  end
  local vm, rest = l:match("^parts/(%S+) (.*)$")
  if vm then
    local v = {}
    for x in rest:gmatch("%S+") do v[#v + 1] = tonumber(x) end
    parts[#parts + 1] = { vm = vm, transport = v[1], runner = v[2], hooks = v[3], decode = v[4], decode2 = v[5], kb = v[6] }
  end
  local name, n, wall, cpu = l:match("^(%S+) (%d+) ([%d.]+) ([%d.]+)$")
  if name and name ~= "stub" then
    if not runs[name] then runs[name] = { wall = {}, cpu = {}, n = tonumber(n) }; order[#order + 1] = name end
    local r = runs[name]
    r.wall[#r.wall + 1], r.cpu[#r.cpu + 1] = tonumber(wall), tonumber(cpu)
  end
end

local floor = runs.floor
if not floor then
  print("no workflow results")
else
  local fw, fc = median(floor.wall), median(floor.cpu)
  local steps = floor.n * STEPS
  print(string.format("workflow: the seed run %d times per measurement (%d steps), median of %d rounds", floor.n, steps,
    #floor.wall))
  print(string.format("%-20s %7s %11s %8s %8s %14s %7s %13s  %s", "", "wall s", "workflows/s", "vs floor",
    "best-of", "overhead us/st", "CPU s", "CPU ovh us/st", "target >= 0.8x"))
  local fbest = math.min(table.unpack(floor.wall))
  for _, name in ipairs(order) do
    local r = runs[name]
    local w, c = median(r.wall), median(r.cpu)
    if name == "floor" then
      print(string.format("%-20s %7.3f %11.0f %8s %8s %14s %7.3f %13s", "floor (bare libcurl)", w, r.n / w, "1.00x",
        "1.00x", "-", c, "-"))
    else
      local ratio = fw / w
      print(string.format("%-20s %7.3f %11.0f %7.2fx %7.2fx %14.1f %7.3f %13.1f  %s", name, w, r.n / w, ratio,
        fbest / math.min(table.unpack(r.wall)), (w - fw) / steps * 1e6, c, (c - fc) / steps * 1e6,
        name:match("hooks") and "(informative)" or (ratio >= TARGET and "meets" or "MISSES")))
    end
  end
  print("  (wall: median over the rounds; vs floor: floor's median wall / this median wall; best-of: the same with")
  print("   each side's fastest round; overhead: (median wall - floor's) / steps; CPU: this process only)")
  if stub.requests > 0 then
    print(string.format("  stub (nginx worker) CPU during the floor runs: %.1f us per request; floor wall per request "
      .. "%.1f us", stub.ticks / stub.hz / stub.requests * 1e6, fw / steps * 1e6))
  end
  for _, name in ipairs(order) do
    if name ~= "floor" then
      local per = {}
      for i, w in ipairs(runs[name].wall) do
        if floor.wall[i] then per[#per + 1] = string.format("%.2f", floor.wall[i] / w) end
      end
      print(string.format("  per-round ratio %-20s %s", name, table.concat(per, " ")))
    end
  end
end

if floor and #parts > 0 then
  local fc = median(floor.cpu) / floor.n * 1e6
  print("\nwhere the CPU goes, us per workflow run (3 steps); floor = the bare libcurl loop's CPU")
  print(string.format("  %-8s %8s %12s %14s %12s %13s %10s %12s", "", "floor", "C transport", "runner (Lua)",
    "of it: JSON", "(w/o order)", "hooks", "Lua heap KB"))
  for _, p in ipairs(parts) do
    print(string.format("  %-8s %8.1f %+12.1f %+14.1f %12.1f %13.1f %+10.1f %12.1f", p.vm, fc, p.transport - fc,
      p.runner, p.decode, p.decode2, p.hooks - p.runner, p.kb))
  end
  print("  (C transport: the runner's libcurl client on the same requests, minus the floor; runner: a run with a")
  print("   canned transport; JSON: what decoding the 3 responses in full would cost (the runner reads #/pointers from the")
  print("   raw text instead, decoding only the selected nodes); hooks: extra for 3 no-op hooks)")
end

-- ---- other benchmarks ------------------------------------------------------------
local expr, json, load = {}, {}, {}
for _, l in ipairs(lines_of(other_file)) do
  local label, key, a, b = l:match("^(expr%S*) (.-) ([%d.e+-]+) ([%d.e+-]+)$")
  if label then expr[#expr + 1] = { label .. " " .. key, tonumber(a), tonumber(b) } end
  key, a, b = l:match("^json (.-) ([%d.e+-]+) ([%d.e+-]+)$")
  if key then json[#json + 1] = { key, tonumber(a), tonumber(b) } end
  local vm, tl, te, rss = l:match("^load_full/(%S+) ([%d.]+) ([%d.]+) (%d+)$")
  if vm then load[#load + 1] = { vm, tonumber(tl), tonumber(te), tonumber(rss) } end
end
if #expr > 0 then
  print("\nexpressions: time per compiled evaluation / time per equivalent Lua closure")
  for _, e in ipairs(expr) do
    print(string.format("  %-74s %8.1f ns %8.2fx", e[1], e[2] * 1e9, e[2] / e[3]))
  end
end
if #json > 0 then
  print("\nJSON: arazzo time / lua-cjson time (same run)")
  for _, e in ipairs(json) do print(string.format("  %-42s %10.2f us %8.2fx", e[1], e[2] * 1e6, e[2] / e[3])) end
end
if #load > 0 then
  print("\nfull arazzo.load of a document naming the 4 MB Stripe spec / bare core.yaml_events parse (best of 5)")
  for _, e in ipairs(load) do
    print(string.format("  %-8s load %8.1f ms  parse %8.1f ms  %6.2fx   peak RSS of a load %6.1f MB", e[1], e[2] * 1e3,
      e[3] * 1e3, e[2] / e[3], e[4] / 1024))
  end
end
