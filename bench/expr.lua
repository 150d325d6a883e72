-- bench/expr.lua: evaluation speed of compiled conditions and expressions
-- against equivalent hand-written Lua closures, measured in one run.
--   lua5.4 bench/expr.lua            (uses ./build)
--   ARAZZO_BUILD=build-jit luajit bench/expr.lua
-- Prints evaluations per second, the ratio compiled/closure (time per
-- evaluation; the target is <= 3 for the two conditions) and the memory
-- allocated per evaluation; then one machine-readable line per case:
-- "RESULT expr<label> <vm>|<case> <s per compiled eval> <s per closure eval>".
local build = os.getenv("ARAZZO_BUILD") or "build"
package.cpath = "./" .. build .. "/?.so;" .. package.cpath
local core = require "arazzo.core"

local N = tonumber(arg and arg[1]) or 2000000
local clock = os.clock

local ctx = {
  statusCode = 200,
  response = { header = { ["content-type"] = "application/json" },
               body = { id = "in_1", status = "open", amount_due = 1234 } },
  inputs = { amount = 1234, currency = "usd" },
  steps = { ["add-invoice-item"] = { outputs = { draftInvoiceId = "in_1" } } },
}

-- Seconds for n calls of f(ctx), best of three runs.
local function time(f, n)
  local best = math.huge
  for _ = 1, 3 do
    local t0 = clock()
    for _ = 1, n do f(ctx) end
    local t = clock() - t0
    if t < best then best = t end
  end
  return best
end

-- Bytes allocated per call of f(ctx) (GC stopped while measuring).
local function alloc(f, n)
  collectgarbage()
  collectgarbage("stop")
  local before = collectgarbage("count")
  for _ = 1, n do f(ctx) end
  local after = collectgarbage("count")
  collectgarbage("restart")
  return (after - before) * 1024 / n
end

local function compiled(text, mode)
  local e = assert(core.expr_compile(text, mode))
  local eval = e.eval
  return function(c) return eval(e, c) end, e
end

local cases = {
  { name = "$statusCode == 200", mode = "condition",
    closure = function(c) return c.statusCode == 200 end },
  { name = "$response.body#/status == 'open'", mode = "condition",
    closure = function(c)
      local b = c.response.body
      return type(b) == "table" and type(b.status) == "string" and b.status:lower() == "open"
    end },
  { name = "$steps.add-invoice-item.outputs.draftInvoiceId", mode = "expression",
    closure = function(c) return c.steps["add-invoice-item"].outputs.draftInvoiceId end },
  { name = "amount={$inputs.amount}&currency={$inputs.currency}", mode = "template",
    closure = function(c) return "amount=" .. c.inputs.amount .. "&currency=" .. c.inputs.currency end },
}

local function run(label)
  print(("%s%s, %d evaluations per case"):format(jit and jit.version or _VERSION, label, N))
  print(("%-52s %12s %12s %7s %10s"):format("case", "compiled/s", "closure/s", "ratio", "bytes/eval"))
  for _, case in ipairs(cases) do
    local f, e = compiled(case.name, case.mode)
    assert(f(ctx) == case.closure(ctx) or case.mode == "condition" and f(ctx) == true, case.name)
    local method = function(c) return e:eval(c) end
    local tc, tl, tm = time(f, N), time(case.closure, N), time(method, N)
    print(("%-52s %12.0f %12.0f %7.2f %10.1f"):format(case.name, N / tc, N / tl, tc / tl, alloc(f, 100000)))
    print(("%-52s %12.0f %12s %7.2f"):format("  (as e:eval(ctx))", N / tm, "", tm / tl))
    print(("RESULT expr%s %s|%s %.4e %.4e"):format(label:gsub(" ", ""), jit and "luajit" or _VERSION:gsub("Lua ", ""),
      case.name, tc / N, tl / N))
  end
end

run("")
if jit then
  -- The JIT compiles the closures into the loop (they cost next to nothing)
  -- while calls into C through the Lua API are never compiled; the ratios
  -- with the JIT off compare like with like.
  jit.off()
  jit.flush()
  print()
  run(" (jit.off)")
end
