-- bench/jsonpath.lua: JSONPath evaluation time over 10,000 objects, for
-- decoded JSON (key order recorded) and Lua-built tables (no recorded
-- order, members visited sorted). Prints the time per query.
--   lua5.4 bench/jsonpath.lua [build-dir]    luajit bench/jsonpath.lua build-jit
local build = arg[1] or os.getenv("ARAZZO_BUILD") or "build"
package.cpath = (build:sub(1, 1) == "/" and "" or "./") .. build .. "/?.so;" .. package.cpath
local core = require "arazzo.core"

local clock = os.clock

-- Seconds per call of fn(), running for about `budget` seconds.
local function per_call(fn, budget)
  local n, t0, reps = 0, clock(), 1
  while true do
    for _ = 1, reps do fn() end
    n = n + reps
    local dt = clock() - t0
    if dt >= budget then return dt / n end
    reps = reps * 2
  end
end

local N = 10000
local parts = {}
for i = 1, N do
  parts[i] = string.format('{"id":"o_%d","x":%d,"name":"n%d","meta":{"a":1,"b":"two"},"tags":["t1","t2"]}',
    i, i, i)
end
local decoded = assert(core.json_decode("[" .. table.concat(parts, ",") .. "]"))
local plain = core.array({})
for i = 1, N do
  plain[i] = { id = "o_" .. i, x = i, name = "n" .. i, meta = { a = 1, b = "two" },
               tags = core.array({ "t1", "t2" }) }
end

print(string.format("%s, %s", _VERSION, jit and jit.version or "PUC"))
print(string.format("%-20s %-8s %8s %11s", "query", "document", "nodes", "time"))
for _, q in ipairs({ "$..x", "$..*", "$[*].meta.*", "$[?@.x > 5000].id" }) do
  local p = assert(core.jsonpath(q))
  for _, doc in ipairs({ { "decoded", decoded }, { "plain", plain } }) do
    local nodes = #assert(p:query(doc[2]))
    local t = per_call(function() p:query(doc[2]) end, 1.0)
    print(string.format("%-20s %-8s %8d %8.2f ms", q, doc[1], nodes, t * 1e3))
  end
end
