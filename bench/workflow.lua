-- bench/workflow.lua: the workflow benchmark. Runs the seed workflow
-- (examples/billing/fin-amberflo-usage-to-stripe-invoice.yml, unmodified)
-- N times in one process against a keep-alive stub (bench/nginx/), or
-- captures the requests one run sends, for the libcurl floor
-- (bench/http_floor.c). bench/run.sh drives both and prints the ratio.
--
--   lua5.4 bench/workflow.lua run BASE-URL N [WARMUP] [hooks]
--   lua5.4 bench/workflow.lua capture BASE-URL WIRE-FILE
--   lua5.4 bench/workflow.lua parts BASE-URL N
--   ARAZZO_BUILD=build-jit luajit bench/workflow.lua run ...
--
-- run: loads the document once (not timed), runs the workflow WARMUP times
-- (default 200), then times N runs. Every run must succeed with the stub's
-- outputs, or the benchmark stops (exit 1). With "hooks", every run passes
-- no-op before_request, after_response and success hooks. Prints a human
-- line, then "RESULT <name> <N> <wall seconds> <CPU seconds>" (CPU: this
-- process, user + system, from os.clock).
-- capture: one run whose transport records each request (method, path
-- below BASE-URL, headers in send order, body) into WIRE-FILE, in the format
-- http_floor.c reads, then forwards it to the default libcurl transport.
-- parts: where the CPU time of one run goes (see cmd_parts); prints
-- "RESULT parts/<vm> <transport us> <runner us> <runner+hooks us>
-- <decode us> <decode without order us> <KB allocated>" per workflow run.
local build = os.getenv("ARAZZO_BUILD") or "build"
package.path = "./lua/?.lua;./lua/?/init.lua;" .. package.path
package.cpath = "./" .. build .. "/?.so;" .. package.cpath

local arazzo = require "arazzo"
local core = require "arazzo.core"
local transport = require "arazzo.transport"

local SEED = "examples/billing/fin-amberflo-usage-to-stripe-invoice.yml"
local WORKFLOW = "meter-usage-and-invoice"

local INPUTS = {
  meterApiName = "api-calls", customerId = "customer-123456", usageValue = 1250,
  stripeCustomer = "cus_bench", currency = "usd",
  invoiceId = "unused", amount = 1250, -- declared by the seed, not used by its steps
}
-- The stub checks no credentials; these only make the runner send them.
local AUTH = {
  amberfloMeteringApi = { api_key = "amb_bench_key" },
  stripeInvoiceApi = { token = "sk_test_bench" },
}
local NOOP_HOOKS = {
  before_request = function() end,
  after_response = function() end,
  success = function() end, -- nil keeps the verdict
}

local function die(msg)
  io.stderr:write("workflow.lua: ", msg, "\n")
  os.exit(1)
end

-- The seed's workflow, its sources mapped to the project's descriptions and
-- its servers to the stub.
local function load_workflow(base)
  local doc, err = arazzo.load(SEED, {
    sources = { amberfloMeteringApi = "examples/billing/openapi/amberflo-metering.yaml",
                stripeInvoiceApi = "examples/billing/openapi/stripe-invoicing.yaml" },
    servers = { amberfloMeteringApi = base, stripeInvoiceApi = base },
  })
  if not doc then die("load failed:\n" .. tostring(err)) end
  return assert(doc:workflow(WORKFLOW))
end

-- Stop unless r is the result the stub's canned answers must give.
local function check(r)
  if not r.ok then
    die(string.format("run failed at step '%s' (%s): %s", tostring(r.error and r.error.step),
      tostring(r.error and r.error.code), tostring(r.error and r.error.message)))
  end
  local o = r.outputs
  if r.requests ~= 3 or o.ingestStatus ~= 200 or o.finalizedInvoiceId ~= "in_bench" or o.amountDue ~= 1234 then
    die("unexpected result: " .. tostring(core.json_encode(o)) .. ", requests " .. tostring(r.requests))
  end
end

local function cmd_run(base, n, warm, with_hooks)
  local wf = load_workflow(base)
  local opts = { auth = AUTH, hooks = with_hooks and NOOP_HOOKS or nil }
  for _ = 1, warm do check(wf:run(INPUTS, opts)) end
  collectgarbage()
  local c0, t0 = os.clock(), core.now()
  for _ = 1, n do check(wf:run(INPUTS, opts)) end
  local dt, dc = core.now() - t0, os.clock() - c0
  local name = (with_hooks and "runner+hooks" or "runner") .. (jit and "/luajit" or "/" .. _VERSION:gsub("Lua ", ""))
  print(string.format("%s: %d workflows (%d requests) in %.3f s (CPU %.3f s): %.0f workflows/s", name, n, 3 * n,
    dt, dc, n / dt))
  print(string.format("RESULT %s %d %.6f %.6f", name, n, dt, dc))
end

-- One wire-file block for a request the runner hands its transport.
local function wire_block(base, w)
  if w.url:sub(1, #base) ~= base then die("request url " .. w.url .. " is not below " .. base) end
  local lines = { string.format("request %s %s", w.method, w.url:sub(#base + 1)) }
  for _, k in ipairs(core.keys(w.headers)) do
    local v = tostring(w.headers[k])
    if v:find("[\r\n]") then die("header " .. k .. " holds a line break") end
    lines[#lines + 1] = string.format("header %s: %s", k, v)
  end
  if w.body ~= nil then lines[#lines + 1] = string.format("body %d\n%s", #w.body, w.body) end
  lines[#lines + 1] = "end"
  return table.concat(lines, "\n") .. "\n"
end

local function cmd_capture(base, file)
  local wf = load_workflow(base)
  local send = transport.curl()
  local blocks = { "arazzo-wire 1\n", "useragent arazzo/" .. arazzo._VERSION .. "\n" }
  local function recording(w)
    blocks[#blocks + 1] = wire_block(base, w)
    return send(w)
  end
  check(wf:run(INPUTS, { auth = AUTH, transport = recording }))
  local f = assert(io.open(file, "wb"))
  f:write(table.concat(blocks))
  f:close()
  print(string.format("captured %d requests into %s", #blocks - 2, file))
end

-- CPU seconds per call of each function in fs: after a warm-up, 5 rounds
-- that each time n calls of every function in turn; the best round of each.
-- Interleaving keeps one burst of load on a shared machine from spoiling
-- every sample of the same function.
local function cpu_per_call(fs, n)
  local best = {}
  for i, f in ipairs(fs) do
    for _ = 1, math.max(50, math.floor(n / 10)) do f() end
    best[i] = math.huge
  end
  for _ = 1, 5 do
    for i, f in ipairs(fs) do
      collectgarbage()
      local c0 = os.clock()
      for _ = 1, n do f() end
      local dc = os.clock() - c0
      if dc < best[i] then best[i] = dc end
    end
  end
  for i = 1, #best do best[i] = best[i] / n end
  return best
end

-- Where a workflow run's CPU time goes, without the stub's noise: the C
-- transport alone on the captured requests, the runner alone (a canned
-- transport answering with the captured responses), the share of JSON
-- decoding of those responses, and the Lua heap allocated per run.
local function cmd_parts(base, n)
  local wf = load_workflow(base)
  local send = transport.curl()
  local wires, resps = {}, {}
  check(wf:run(INPUTS, { auth = AUTH, transport = function(w)
    local res = assert(send(w))
    wires[#wires + 1], resps[#resps + 1] = w, res
    return res
  end }))
  local k = 0
  -- fresh body strings and header tables every time, as the C transport
  -- makes them (reused strings would let caches keyed on them always hit)
  local function canned()
    k = k % #resps + 1
    local r = resps[k]
    local h = {}
    for name, v in pairs(r.headers) do h[name] = v end
    return { status = r.status, headers = h, body = table.concat({ r.body, "" }) }
  end
  local plain, hooked = { auth = AUTH, transport = canned }, { auth = AUTH, transport = canned, hooks = NOOP_HOOKS }
  local no_order = { order = false }
  local t = cpu_per_call({
    function() for i = 1, #wires do assert(send(wires[i])) end end,
    function() check(wf:run(INPUTS, plain)) end,
    function() check(wf:run(INPUTS, hooked)) end,
    function() for i = 1, #resps do core.json_decode(resps[i].body) end end,
    function() for i = 1, #resps do core.json_decode(resps[i].body, no_order) end end,
  }, n)
  collectgarbage()
  collectgarbage("stop")
  local kb0 = collectgarbage("count")
  for _ = 1, 200 do check(wf:run(INPUTS, plain)) end
  local kb = (collectgarbage("count") - kb0) / 200
  collectgarbage("restart")
  local vm = jit and "luajit" or _VERSION:gsub("Lua ", "")
  print(string.format("%s, CPU per workflow run (best of 5 interleaved rounds x %d): transport alone %.1f us; runner "
    .. "alone (canned responses) %.1f us, with no-op hooks %.1f us; JSON decoding of the 3 responses %.1f us (%.1f us "
    .. "without key order); %.1f KB of Lua heap allocated per run (runner alone)", vm, n, t[1] * 1e6, t[2] * 1e6,
    t[3] * 1e6, t[4] * 1e6, t[5] * 1e6, kb))
  print(string.format("RESULT parts/%s %.3f %.3f %.3f %.3f %.3f %.2f", vm, t[1] * 1e6, t[2] * 1e6, t[3] * 1e6,
    t[4] * 1e6, t[5] * 1e6, kb))
end

local mode, base = arg[1], arg[2]
if mode == "run" and base and tonumber(arg[3]) then
  cmd_run(base, tonumber(arg[3]), tonumber(arg[4]) or 200, arg[5] == "hooks")
elseif mode == "capture" and base and arg[3] then
  cmd_capture(base, arg[3])
elseif mode == "parts" and base and tonumber(arg[3]) then
  cmd_parts(base, tonumber(arg[3]))
else
  io.stderr:write("usage: workflow.lua run BASE-URL N [WARMUP] [hooks] | capture BASE-URL WIRE-FILE"
    .. " | parts BASE-URL N\n")
  os.exit(2)
end
