--- The step loop: runs a compiled workflow plan. Plain Lua from `run()` down
-- to the transport call, so a transport that yields (OpenResty cosockets)
-- can yield through `run()`; the C core is only called for pure functions.
--
-- Semantics (README "Run semantics" has the user-facing version):
-- * a step succeeds when all successCriteria hold; without criteria, when the
--   status is 2xx; hooks.success may override the verdict;
-- * on success: step outputs, then the first success action whose criteria
--   hold (step actions before workflow actions); none -> next step;
-- * on failure: the first failure action whose criteria hold; retry honours
--   retryLimit (default 1: retries, not attempts), retryAfter and an HTTP
--   Retry-After header (which wins); an exhausted retry falls through to the
--   later actions; none -> the workflow fails;
-- * goto a step continues there (retry counters reset); goto a workflow runs
--   it in place of the rest of this one (one-way);
-- * `end` on success ends the workflow successfully; on failure it ends it
--   as failed;
-- * loops are bounded by opts.max_steps.
local core = require "arazzo.core"
local compile = require "arazzo.compile"
local request_mod = require "arazzo.request"
local criteria = require "arazzo.criteria"
local config = require "arazzo.config"

local M = {}

local type, pairs, ipairs, format, tostring, pcall = type, pairs, ipairs, string.format, tostring, pcall
local now = core.now
local eval_conds = core.eval_conds

local config_for = config.config_for

------------------------------------------------------------------------------
-- helpers

local function http_date(s)
  local months = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }
  local d, mon, y, h, mi, sec = s:match("^%a+, (%d%d) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  if not d or not months[mon] then return nil end
  -- days from civil (proleptic Gregorian), UTC, no dependence on the local zone
  local yy, m = tonumber(y), months[mon]
  if m <= 2 then yy = yy - 1 end
  local era = math.floor(yy / 400)
  local yoe = yy - era * 400
  local mp = (m + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + tonumber(d) - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end
M.http_date = http_date

--- Seconds to wait from a Retry-After header value (delta-seconds or HTTP-date).
function M.retry_after_seconds(v)
  if type(v) ~= "string" then return nil end
  v = v:match("^%s*(.-)%s*$")
  if v:match("^%d+$") then return tonumber(v) end
  local t = http_date(v)
  if t then
    local d = t - core.wallclock()
    return d > 0 and d or 0
  end
  return nil
end

local function is_json_type(ct)
  ct = (ct or ""):lower()
  return ct:find("json", 1, true) ~= nil
end

-- The response body as expressions see it: decoded only when the step reads
-- the whole value (body_use "whole"); with "pointer" the evaluator decodes
-- just the node a #/pointer selects from the raw text; with "none" nothing
-- reads it.
local function decode_body(res, use)
  local raw = res.body or ""
  if use ~= "whole" then return raw end
  local ct = res.headers and res.headers["content-type"]
  if raw == "" then return raw end
  if is_json_type(ct) or (not ct and raw:match("^%s*[%[{]")) then
    local v = core.json_decode(raw)
    if v ~= nil then return v end
  end
  return raw
end

local random = math.random
local function random_id()
  return format("%07x%07x%02x", random(0, 0xfffffff), random(0, 0xfffffff), random(0, 0xff))
end

------------------------------------------------------------------------------
-- state

-- The state of one run: its counters and records; the configuration is
-- read through the metatable (see config_for).
local function new_state(meta, opts)
  return setmetatable({
    run_id = opts and opts.run_id or random_id(), count = 0, requests = 0, auth_plans = {},
    steps = {}, history = {}, wfdata = {}, executions = {}, workflow_steps = {},
    top = nil, last_status = nil, last_response = nil, last_url = nil, last_method = nil,
  }, meta)
end

-- Callers guard with `if st.trace then` so no event table is built without one.
local function trace(st, ev)
  pcall(st.trace, ev)
end

local call_hook = request_mod.call_hook

local function step_ctx(base)
  return { inputs = base.inputs, outputs = base.outputs, steps = base.steps, workflows = base.workflows,
    sourceDescriptions = base.sourceDescriptions, components = base.components }
end

------------------------------------------------------------------------------
-- one HTTP step

-- Send and judge one HTTP step. ctx is the workflow's evaluation context,
-- reused from step to step: the fields of the exchange are reset here.
-- Returns transported (boolean), response.
local function exec_http(st, wf, step, ctx, hinfo, rec, entry)
  ctx.statusCode, ctx.response, ctx.url, ctx.method, ctx.request = nil, nil, nil, nil, nil
  local full = hinfo ~= nil or wf.uses_request
  local request, code, err = request_mod.prepare(st, step, ctx, full, rec.notes, hinfo, wf.id, entry)
  if not request then
    rec.error = { code = code, message = err, step = step.id }
    return false
  end
  local method, url = request.method, request.url
  ctx.url, ctx.method = url, method
  if wf.uses_request then ctx.request = request_mod.context(request) end
  rec.method, rec.url = method, url
  if st.trace then trace(st, { event = "request", workflow = wf.id, step = step.id, method = method, url = url,
    attempt = rec.attempt }) end
  local wire = request
  if full then
    wire = { method = method, url = url, headers = request.headers, body = request.body, timeout = request.timeout }
  end
  local t0 = now()
  st.requests = st.requests + 1
  local ok, res, terr, tcode = pcall(st.transport, wire)
  rec.ms = (rec.ms or 0) + (now() - t0) * 1000
  if not ok then
    rec.error = { code = "transport", message = "transport raised: " .. tostring(res), step = step.id }
    return false
  end
  if type(res) ~= "table" then
    rec.error = { code = tcode or "transport", message = tostring(terr or "transport returned no response"), step = step.id }
    if st.trace then trace(st, { event = "response", workflow = wf.id, step = step.id, error = rec.error }) end
    return false
  end
  local status = res.status
  if type(status) ~= "number" then
    rec.error = { code = "transport", message = "transport response has no numeric status", step = step.id }
    return false
  end
  local headers = res.headers
  if headers == nil then headers = {}; res.headers = headers end
  if res.body == nil then res.body = "" end
  ctx.statusCode = status
  -- the wrapper expressions read ($response.header, .body) is reused per workflow run
  local response = ctx.wrap
  if response then
    response.header, response.body = headers, decode_body(res, step.body_use)
  else
    response = { header = headers, body = decode_body(res, step.body_use) }
    ctx.wrap = response
  end
  ctx.response = response
  rec.status_code = status
  st.last_status, st.last_response, st.last_url, st.last_method = status, response, url, method
  if st.hooks.after_response then
    local hok, herr = call_hook(st, "after_response", hinfo, res)
    if not hok then
      rec.error = { code = "hook", message = "after_response hook: " .. tostring(herr), step = step.id }
      return false, res
    end
    -- a hook may have changed the response
    if res.status ~= status then ctx.statusCode = res.status; rec.status_code = res.status end
  end
  return true, res
end

-- Whether the step's success criteria hold: passed, failing source, note.
-- All simple conditions go to core.eval_conds in one call.
local function criteria_hold(step, ctx)
  if step.conds then
    local ok, i, note = eval_conds(step.conds, ctx)
    if ok then return true end
    return false, step.success[i].source, note
  end
  return criteria.all(step.success, ctx)
end

local function judge(st, step, ctx, res, hinfo, rec, transported)
  local passed, failed_src, note
  if not transported then
    passed = false
  elseif #step.success == 0 then
    local sc = ctx.statusCode
    passed = type(sc) == "number" and sc >= 200 and sc <= 299
    if not passed then failed_src = "default: a status in 200-299" end
  else
    passed, failed_src, note = criteria_hold(step, ctx)
  end
  if transported and st.hooks.success then
    local ok, v = call_hook(st, "success", hinfo, res, passed)
    if not ok then
      rec.error = { code = "hook", message = "success hook: " .. tostring(v), step = step.id }
      return false
    end
    if v ~= nil then
      if v ~= passed then rec.notes[#rec.notes + 1] = format("success hook changed the verdict to %s", tostring(v)) end
      passed = v == true
    end
  end
  if not passed and not rec.error then
    local msg = format("success criteria not met: %s", failed_src or "?")
    if ctx.statusCode then msg = msg .. format(" (status %d)", ctx.statusCode) end
    if note then msg = msg .. ": " .. note end
    rec.error = { code = "criteria", message = msg, step = step.id }
  end
  return passed
end

------------------------------------------------------------------------------
-- workflows

local run_workflow

local eval_list = core.eval_outputs

local function eval_outputs(list, ctx, notes)
  local out, missing = eval_list(list.names, list.exprs, ctx, #list > 1 and not list.sorted)
  if missing and notes then
    for i = 1, #missing, 2 do notes[#notes + 1] = format("output '%s': %s", missing[i], missing[i + 1]) end
  end
  return out
end

-- The table hooks get as their `step` argument.
local function hook_info(wf, step, rec, entry)
  return { id = step.id, workflow = wf.id, index = step.index, operation = step.operation, attempt = rec.attempt,
    entry = entry, notes = rec.notes, description = step.description }
end

-- Run a workflow step: its parameters become the callee's inputs; $outputs
-- in its outputs and criteria are the callee's, $statusCode/$response the
-- callee's last exchange. Returns passed, ctx.
local function exec_workflow_step(st, step, base, depth, rec)
  local ctx = step_ctx(base)
  local inputs = {}
  for _, p in ipairs(step.inputs) do
    local v, err = compile.eval(p.value, ctx)
    if v == nil then
      rec.error = { code = "expression", message = format("input '%s': %s", p.name, err), step = step.id }
      return false, ctx
    end
    inputs[p.name] = v
  end
  local callee = step.workflow.document:workflow(step.workflow.id)
  local child = run_workflow(st, callee, inputs, depth + 1)
  if st.last_response then
    ctx.statusCode, ctx.response, ctx.url, ctx.method = st.last_status, st.last_response, st.last_url, st.last_method
  end
  ctx.outputs = child.outputs or {}
  if not child.ok then
    rec.error = { code = child.error and child.error.code or "workflow",
      message = format("workflow '%s' failed: %s", step.workflow.id, child.error and child.error.message or "?"),
      step = step.id }
  end
  rec.status_code = ctx.statusCode
  if rec.error then return false, ctx end
  if #step.success > 0 then
    local ok, src, note = criteria_hold(step, ctx)
    if not ok then
      rec.error = { code = "criteria", message = format("success criteria not met: %s%s", src, note and (": " .. note) or ""),
        step = step.id }
      return false, ctx
    end
  end
  return true, ctx
end

-- Run one step entry (one attempt). base is the workflow's context, which
-- HTTP steps reuse. Returns passed, ctx, record.
local function exec_step(st, wf, step, base, depth, entry, attempt)
  -- every field a record can get, so the table is sized once
  local rec = { step = step.id, workflow = wf.id, attempt = attempt, notes = {}, ok = false, ms = nil,
    method = nil, url = nil, status_code = nil, response = nil, outputs = nil, error = nil, runs = nil, attempts = nil }
  local t0 = now()
  if st.trace then trace(st, { event = "step", workflow = wf.id, step = step.id, attempt = attempt }) end
  local passed, ctx
  if step.kind == "workflow" then
    passed, ctx = exec_workflow_step(st, step, base, depth, rec)
    rec.ms = (now() - t0) * 1000
  elseif not step.operation then
    rec.error = { code = "unresolved", message = "the step's operation is not resolved", step = step.id }
    base.statusCode, base.response, base.url, base.method, base.request = nil, nil, nil, nil, nil
    passed, ctx = false, base
  else
    local hinfo = st.any_hook and hook_info(wf, step, rec, entry) or nil
    local transported, res = exec_http(st, wf, step, base, hinfo, rec, entry)
    ctx = base
    passed = judge(st, step, ctx, res, hinfo, rec, transported) and not rec.error
    rec.response = res
  end
  rec.ok = passed
  if passed then
    rec.outputs = eval_outputs(step.outputs, ctx, rec.notes)
    -- $steps.<id>.outputs.<name> reads only the record's outputs
    base.steps[step.id] = rec
  end
  if not rec.ms then rec.ms = (now() - t0) * 1000 end
  if st.trace then trace(st, { event = "step_end", workflow = wf.id, step = step.id, ok = passed, status = rec.status_code,
    error = rec.error, outputs = rec.outputs, ms = rec.ms }) end
  return passed, ctx, rec
end

-- First action whose criteria hold; `counts` skips exhausted retries.
local function choose(list, ctx, counts)
  for _, a in ipairs(list) do
    if not (a.type == "retry" and counts and (counts[a] or 0) >= a.retry_limit) then
      if criteria.all(a.criteria, ctx) then return a end
    end
  end
  return nil
end

local function fail(code, message, stepid)
  return { ok = false, error = { code = code, message = message, step = stepid } }
end

-- Keep the record: result.steps holds the top-level workflow's steps, and
-- result.workflows[id].steps those of every workflow run (nested ones too,
-- whose step ids may repeat the caller's).
local function record(st, rec)
  local per = st.workflow_steps[rec.workflow]
  if not per then per = {}; st.workflow_steps[rec.workflow] = per end
  local prev = per[rec.step]
  rec.runs = (prev and prev.runs or 0) + 1
  rec.attempts = rec.attempt
  per[rec.step] = rec
  if rec.workflow == st.top then st.steps[rec.step] = rec end
  st.history[#st.history + 1] = rec
end

local function wait_for_retry(st, action, res)
  local secs = action.retry_after or 0
  local header = res and res.headers and res.headers["retry-after"]
  local from_header = M.retry_after_seconds(header)
  if from_header then secs = from_header end
  if secs > st.max_retry_wait then
    return nil, format("retry wait of %gs exceeds opts.max_retry_wait (%gs)", secs, st.max_retry_wait)
  end
  if secs > 0 then st.sleep(secs) end
  return true
end

-- Check the caller's inputs against the workflow's compiled schema.
local function check_inputs(st, wf, inputs)
  if type(inputs) ~= "table" then return "inputs must be a table" end
  if st.opts.validate_inputs == false or not wf.validator then return nil end
  local ok, errs = wf.validator:validate(inputs)
  if ok then return nil end
  local lines = {}
  for i, e in ipairs(errs) do
    if i > 20 then lines[#lines + 1] = format("... and %d more", #errs - 20) break end
    lines[#lines + 1] = format("%s: %s", e.path, e.message)
  end
  return table.concat(lines, "; ")
end

local function run_dependencies(st, wf, depth)
  for _, dep in ipairs(wf.depends) do
    local key = tostring(dep.document) .. "\0" .. dep.id
    st.done = st.done or {}
    local done = st.done[key]
    if not done then
      local dwf = dep.document:workflow(dep.id)
      done = run_workflow(st, dwf, st.inputs_for[dep.id] or {}, depth + 1)
      st.done[key] = done
    end
    if not done.ok then
      return format("dependency '%s' failed: %s", dep.id, done.error and done.error.message or "?")
    end
  end
  return nil
end

-- goto a workflow: it runs in place of the rest of this one (one way), with
-- opts.inputs_for[id] or this workflow's inputs.
local function transfer(st, a, base, depth)
  local target = a.workflow.document:workflow(a.workflow.id)
  local r = run_workflow(st, target, st.inputs_for[a.workflow.id] or base.inputs, depth + 1)
  r.transferred_to = a.workflow.id
  return r
end

-- The loop over one workflow's steps.
local function loop(st, wf, base, depth)
  local i, n = 1, #wf.steps
  local counts, entry = nil, 0
  local attempt = 1
  while i <= n do
    st.count = st.count + 1
    if st.count > st.max_steps then
      return fail("limit", format("more than %d step executions (opts.max_steps); a goto or retry loop?", st.max_steps),
        wf.steps[i].id)
    end
    local step = wf.steps[i]
    if attempt == 1 then entry = entry + 1 end
    st.executions[step] = (st.executions[step] or 0) + (attempt == 1 and 1 or 0)
    local passed, ctx, rec = exec_step(st, wf, step, base, depth, st.executions[step], attempt)
    record(st, rec)
    if passed then
      counts, attempt = nil, 1
      local a = choose(step.on_success, ctx)
      if not a then
        i = i + 1
      elseif a.type == "end" then
        return { ok = true, ended_by = a.name }
      elseif a.step then
        i = wf.step_index[a.step]
      elseif a.workflow then
        return transfer(st, a, base, depth)
      else
        i = i + 1
      end
    else
      counts = counts or {}
      local a = choose(step.on_failure, ctx, counts)
      if not a then
        return { ok = false, error = rec.error or { code = "failed", message = "step failed", step = step.id } }
      elseif a.type == "end" then
        local e = rec.error or {}
        return { ok = false, ended_by = a.name, error = { code = e.code or "failed",
          message = format("ended by failure action '%s': %s", a.name, e.message or "step failed"), step = step.id } }
      elseif a.type == "retry" then
        counts[a] = (counts[a] or 0) + 1
        local ok, werr = wait_for_retry(st, a, rec.response)
        if not ok then return fail("retry", werr, step.id) end
        if a.step then
          local target = wf.steps[wf.step_index[a.step]]
          st.count = st.count + 1
          st.executions[target] = (st.executions[target] or 0) + 1
          local tp, _, trec = exec_step(st, wf, target, base, depth, st.executions[target], 1)
          record(st, trec)
          if not tp then
            return { ok = false, error = { code = trec.error and trec.error.code or "failed",
              message = format("retry of '%s' needed step '%s', which failed: %s", step.id, target.id,
                trec.error and trec.error.message or "?"), step = target.id } }
          end
        elseif a.workflow then
          local target = a.workflow.document:workflow(a.workflow.id)
          local r = run_workflow(st, target, st.inputs_for[a.workflow.id] or base.inputs, depth + 1)
          if not r.ok then
            return { ok = false, error = { code = r.error and r.error.code or "failed",
              message = format("retry of '%s' needed workflow '%s', which failed: %s", step.id, a.workflow.id,
                r.error and r.error.message or "?"), step = step.id } }
          end
        end
        attempt = attempt + 1
      elseif a.step then
        counts, attempt = nil, 1
        i = wf.step_index[a.step]
      elseif a.workflow then
        return transfer(st, a, base, depth)
      else
        return { ok = false, error = rec.error }
      end
    end
  end
  return { ok = true }
end

run_workflow = function(st, wf, inputs, depth)
  if depth > st.max_depth then
    return fail("limit", format("workflows nested deeper than %d (opts.max_depth)", st.max_depth))
  end
  inputs = inputs or {}
  local bad = check_inputs(st, wf, inputs)
  if bad then return fail("inputs", format("workflow '%s': %s", wf.id, bad)) end
  local derr = run_dependencies(st, wf, depth)
  if derr then return fail("dependency", format("workflow '%s': %s", wf.id, derr)) end
  local doc = wf.document
  -- The workflow's evaluation context, which is also what $workflows.<id>
  -- reads (inputs, outputs). The exchange fields are set per HTTP step and
  -- the response wrapper is reused; all are listed so the table is sized once.
  local base = { inputs = inputs, outputs = {}, steps = {}, workflows = st.wfdata,
    sourceDescriptions = doc.source_info, components = doc.components,
    statusCode = nil, response = nil, url = nil, method = nil, request = nil, wrap = nil }
  st.wfdata[wf.id] = base
  local r = loop(st, wf, base, depth)
  if r.transferred_to then return r end
  base.statusCode, base.response, base.url, base.method, base.request = nil, nil, nil, nil, nil
  local notes = {}
  local outs = eval_outputs(wf.outputs, base, notes)
  base.outputs = outs
  r.outputs = outs
  r.notes = notes
  r.workflow = wf.id
  return r
end

--- Run a workflow (see Workflow:run in the README for the full contract).
-- @return result table, never raises for runtime failures
function M.run(wf, inputs, opts)
  if inputs ~= nil and type(inputs) ~= "table" then
    error(format("bad argument #1 to 'run' (table expected, got %s)", type(inputs)), 3)
  end
  local meta = config_for(opts)
  local st = new_state(meta, opts)
  st.top = wf.id
  local t0 = now()
  local ok, r = pcall(run_workflow, st, wf, inputs or {}, 0)
  if not ok then
    r = fail("internal", "internal error: " .. tostring(r))
  end
  local workflows = {}
  for id, steps in pairs(st.workflow_steps) do workflows[id] = { steps = steps, outputs = st.wfdata[id] and st.wfdata[id].outputs } end
  r = { ok = r.ok, workflow = r.workflow or wf.id, outputs = r.outputs or {}, error = r.error, notes = r.notes,
    ended_by = r.ended_by, transferred_to = r.transferred_to, steps = st.steps, workflows = workflows,
    history = st.history, requests = st.requests, ms = (now() - t0) * 1000, run_id = st.run_id }
  return r
end

return M
