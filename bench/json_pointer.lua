-- bench/json_pointer.lua: reading a few members of a JSON response body.
-- Compares a full core.json_decode followed by core.pointer_get with
-- core.json_decode(text, {pointer = p}), which checks the whole text but
-- builds only the selected node, and times compiled runtime expressions
-- ($response.body#/p) evaluated on the undecoded body text (the evaluator
-- decodes only the selected node when the build has that path; an older
-- build decodes the whole body for every evaluation) and on the decoded
-- body. The documents are the 2.5 KB invoice of bench/json.lua and the two
-- Stripe answers of the nginx stub (bench/nginx/nginx.conf.in).
--   lua5.4 bench/json_pointer.lua [build-dir] [seconds per case]
-- Prints CPU time per operation, then one line per measurement:
-- "RESULT json_pointer <vm>|<doc>|<case> <s per op>".
local build = arg[1] or os.getenv("ARAZZO_BUILD") or "build"
local budget = tonumber(arg[2]) or 0.3
package.cpath = "./" .. build .. "/?.so;" .. package.cpath
local core = require "arazzo.core"

local clock = os.clock

-- Seconds of CPU per call of fn(), running for about `budget` seconds.
local function per_call(fn)
  local n, reps, t0 = 0, 1, clock()
  while true do
    for _ = 1, reps do fn() end
    n = n + reps
    local dt = clock() - t0
    if dt >= budget then return dt / n end
    reps = reps * 2
  end
end

-- The invoice of bench/json.lua (kept identical).
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

-- The stub's answer at `location = <path>`.
local function stub_body(path)
  local f = assert(io.open("bench/nginx/nginx.conf.in"))
  local conf = f:read("a")
  f:close()
  local at = assert(conf:find("location = " .. path .. " {", 1, true), path)
  return assert(conf:match("return 200 '(.-)';", at))
end

local docs = {
  { "invoice", invoice_text(), { "/status", "/amount_due", "/lines/data/9/amount", "/metadata/run" } },
  { "stub draft", stub_body("/v1/invoices"), { "/id", "/status" } },
  { "stub finalize", stub_body("/v1/invoices/in_bench/finalize"), { "/status", "/id", "/amount_due" } },
}

local has_at = pcall(core.json_decode, "{}", { pointer = "" })
local vm = jit and "luajit" or _VERSION:gsub("Lua ", "")
local results = {}

local function report(doc, case, s)
  print(string.format("%-14s %-34s %9.2f us", doc, case, s * 1e6))
  results[#results + 1] = string.format("RESULT json_pointer %s|%s|%s %.9f", vm, doc, case, s)
end

print(string.format("%s, %s; build %s; pointer path %s", _VERSION, jit and jit.version or "PUC", build,
  has_at and "present" or "absent"))
for _, d in ipairs(docs) do
  local name, text, ptrs = d[1], d[2], d[3]
  name = name .. " (" .. #text .. " B)"
  local decoded = assert(core.json_decode(text))
  report(name, "json_decode (whole)", per_call(function() return core.json_decode(text) end))
  local exprs = {}
  for i, p in ipairs(ptrs) do
    exprs[i] = assert(core.expr_compile("$response.body#" .. p, "expression"))
    assert(exprs[i]:eval({ response = { body = text } }) == core.pointer_get(decoded, p), p)
  end
  for i, p in ipairs(ptrs) do
    report(name, "decode+pointer_get " .. p, per_call(function()
      return core.pointer_get(core.json_decode(text), p)
    end))
    if has_at then
      local opts = { pointer = p }
      report(name, "json_decode{pointer} " .. p, per_call(function() return core.json_decode(text, opts) end))
    end
    local e, sctx, tctx = exprs[i], { response = { body = text } }, { response = { body = decoded } }
    report(name, "expr on text " .. p, per_call(function() return e:eval(sctx) end))
    report(name, "expr on decoded " .. p, per_call(function() return e:eval(tctx) end))
  end
  -- what one step does with this response: decode once and read every
  -- pointer, against reading every pointer from the text
  local tctx, sctx = { response = {} }, { response = { body = text } }
  report(name, "step: decode once + all exprs", per_call(function()
    tctx.response.body = core.json_decode(text)
    for i = 1, #exprs do exprs[i]:eval(tctx) end
  end))
  report(name, "step: all exprs on text", per_call(function()
    for i = 1, #exprs do exprs[i]:eval(sctx) end
  end))
end
for _, r in ipairs(results) do print(r) end
