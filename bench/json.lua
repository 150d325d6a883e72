-- bench/json.lua: core.json_encode / json_decode against Debian's lua-cjson
-- (a private cjson.new() instance) and, for scale, dkjson. Prints the time
-- per operation and the ratio to cjson, measured in this run, then one line
-- "RESULT json <vm>|<document>|<op> <s arazzo> <s cjson>" per measurement.
--   lua5.4 bench/json.lua [build-dir]        luajit bench/json.lua build-jit
-- cjson and arazzo do not produce the same output (cjson: hash key order,
-- 14 significant digits, "\/"), so this compares speed only.
local build = arg[1] or os.getenv("ARAZZO_BUILD") or "build"
package.cpath = "./" .. build .. "/?.so;" .. package.cpath
local core = require "arazzo.core"
local have_cjson, cjson_mod = pcall(require, "cjson")
local cjson = have_cjson and cjson_mod.new() or nil
local have_dk, dkjson = pcall(require, "dkjson")

local clock = os.clock

-- Seconds per call of fn(x), running for about `budget` seconds.
local function per_call(fn, x, budget)
  local n, t0 = 0, clock()
  local reps = 1
  while true do
    for _ = 1, reps do fn(x) end
    n = n + reps
    local dt = clock() - t0
    if dt >= budget then return dt / n end
    reps = reps * 2
  end
end

local function fmt(s)
  if s >= 1e-3 then return string.format("%8.2f ms", s * 1e3) end
  return string.format("%8.2f us", s * 1e6)
end

-- A Stripe-invoice-like response body: nested objects, strings, integers.
local function invoice_text()
  local lines = {}
  for i = 1, 10 do
    lines[i] = string.format('{"id":"il_%d","object":"line_item","amount":%d,"currency":"usd",' ..
      '"description":"Usage \\u2014 meter %d","period":{"end":1717459200,"start":1714867200},' ..
      '"quantity":%d,"metadata":{},"tax_amounts":[],"proration":false,"price":null}', i, 1234 * i, i, i)
  end
  return '{"id":"in_1PNcVbLkdIwHu7ix","object":"invoice","amount_due":123400,"amount_paid":0,' ..
    '"customer":"cus_Q0SXnJ8wbFtOgN","status":"open","livemode":false,"created":1717459200,' ..
    '"lines":{"object":"list","data":[' .. table.concat(lines, ",") .. '],"has_more":false},' ..
    '"total":123400,"metadata":{"source":"amberflo","run":"2024-06"}}'
end

-- About 1 MB of records with floats, unicode and escapes.
local function records_text()
  local parts = {}
  for i = 1, 8000 do
    parts[i] = string.format('{"id":%d,"name":"caf\195\169 \\"%d\\"","price":%d.%d,"ok":%s,' ..
      '"tags":["a","b","c"],"ts":1717459200%03d}', i, i, i, i % 97, i % 2 == 0 and "true" or "false", i % 1000)
  end
  return "[" .. table.concat(parts, ",") .. "]"
end

local cases = {
  { "invoice (" .. #invoice_text() .. " B)", invoice_text(), 0.4 },
  { "records (" .. #records_text() .. " B)", records_text(), 1.0 },
}

print(string.format("%s, %s", _VERSION, jit and jit.version or "PUC"))
local vm = jit and "luajit" or _VERSION:gsub("Lua ", "")
print(string.format("%-22s %-8s %12s %12s %12s %9s", "document", "op", "arazzo", "cjson", "dkjson", "arazzo/cjson"))
for _, c in ipairs(cases) do
  local name, text, budget = c[1], c[2], c[3]
  local value = assert(core.json_decode(text))
  local plain = cjson and cjson.decode(text)
  local ta = per_call(core.json_decode, text, budget)
  local tc = cjson and per_call(cjson.decode, text, budget)
  local td = have_dk and per_call(dkjson.decode, text, budget / 4)
  print(string.format("%-22s %-8s %12s %12s %12s %9s", name, "decode", fmt(ta), tc and fmt(tc) or "-",
    td and fmt(td) or "-", tc and string.format("%.2fx", ta / tc) or "-"))
  if tc then print(string.format("RESULT json %s|%s|decode %.9f %.9f", vm, name, ta, tc)) end
  ta = per_call(core.json_encode, value, budget)
  tc = cjson and per_call(cjson.encode, plain, budget)
  td = have_dk and per_call(dkjson.encode, dkjson.decode(text, 1, dkjson.null), budget / 4)
  print(string.format("%-22s %-8s %12s %12s %12s %9s", name, "encode", fmt(ta), tc and fmt(tc) or "-",
    td and fmt(td) or "-", tc and string.format("%.2fx", ta / tc) or "-"))
  if tc then print(string.format("RESULT json %s|%s|encode %.9f %.9f", vm, name, ta, tc)) end
  local unordered = assert(core.json_decode(text, { order = false }))
  ta = per_call(function(t) return core.json_decode(t, { order = false }) end, text, budget)
  print(string.format("%-22s %-8s %12s", name, "dec/no-order", fmt(ta)))
  ta = per_call(core.json_encode, unordered, budget)
  print(string.format("%-22s %-8s %12s", name, "enc/sorted", fmt(ta)))
end
