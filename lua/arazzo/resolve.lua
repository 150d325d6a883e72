--- Cross-object resolution at load time: step targets (arazzo.targets),
-- Reusable Object references, workflow/step parameter merging, action targets, dependsOn,
-- and the references inside every compiled runtime expression. Produces the
-- immutable plan that `run()` executes.
local core = require "arazzo.core"
local suggest = require "arazzo.suggest"
local compile = require "arazzo.compile"
local validate = require "arazzo.validate"
local body_mod = require "arazzo.body"
local schema = require "arazzo.schema"

local M = {}

local type, ipairs, format, tostring = type, ipairs, string.format, tostring
local extend = validate.copy_path
local hint = suggest.hint

local targets = require "arazzo.targets"
local keys_of = targets.keys_of

------------------------------------------------------------------------------
-- Reusable Objects

local function component(st, ref, kind, path)
  local want = "$components." .. kind .. "."
  if ref:sub(1, #want) ~= want then
    local got = ref:match("^%$components%.([%w]+)%.")
    if got then
      st.report:error(path, format("reference '%s' points at %s where %s are expected", ref, got, kind), "reference")
    else
      st.report:error(path, format("reference '%s' must be $components.%s.<name>", ref, kind), "reference")
    end
    return nil
  end
  local key = ref:sub(#want + 1)
  local comps = type(st.root.components) == "table" and st.root.components[kind]
  local v = type(comps) == "table" and comps[key] or nil
  if v == nil then
    st.report:error(path, format("unknown component '%s' in components.%s%s", key, kind, hint(key, keys_of(comps), "name")), "reference")
    return nil
  end
  return v, { "components", kind, key }
end

-- Resolve a parameter list item to {name, in, value, path (where value is)}.
local function parameter_item(st, item, path)
  if type(item) ~= "table" then return nil end
  if item.reference ~= nil then
    if type(item.reference) ~= "string" then return nil end
    local comp, cpath = component(st, item.reference, "parameters", extend(path, "reference"))
    if type(comp) ~= "table" then return nil end
    if item.value ~= nil then
      return { name = comp.name, ["in"] = comp["in"], value = item.value, vpath = extend(path, "value") }
    end
    return { name = comp.name, ["in"] = comp["in"], value = comp.value, vpath = extend(cpath, "value") }
  end
  return { name = item.name, ["in"] = item["in"], value = item.value, vpath = extend(path, "value"), path = path }
end

local function param_key(p)
  local loc = type(p["in"]) == "string" and p["in"] or ""
  return loc .. "\0" .. (loc == "header" and tostring(p.name):lower() or tostring(p.name))
end

-- Workflow parameters merged with the step's: the step's override on (name, in).
local function merged_parameters(st, wf, step, wpath, spath)
  local out, index = {}, {}
  local function add(list, path)
    for i, item in ipairs(type(list) == "table" and list or {}) do
      local p = parameter_item(st, item, extend(path, i))
      if p and type(p.name) == "string" then
        p.path = p.path or extend(path, i)
        local k = param_key(p)
        if index[k] then out[index[k]] = p else out[#out + 1] = p; index[k] = #out end
      end
    end
  end
  add(wf.parameters, extend(wpath, "parameters"))
  add(step.parameters, extend(spath, "parameters"))
  return out
end

-- Resolve an action list item (inline or Reusable) into a compiled action.
local function action(st, c, item, path, failure, wf_steps)
  if type(item) ~= "table" then return nil end
  local a, apath = item, path
  if item.reference ~= nil then
    if type(item.reference) ~= "string" then return nil end
    local kind = failure and "failureActions" or "successActions"
    local comp, cpath = component(st, item.reference, kind, extend(path, "reference"))
    if type(comp) ~= "table" then return nil end
    a, apath = comp, cpath
  end
  if type(a.name) ~= "string" or type(a.type) ~= "string" then return nil end
  local out = { name = a.name, type = a.type, criteria = {}, path = apath }
  if a.type == "retry" then
    out.retry_after = type(a.retryAfter) == "number" and a.retryAfter or nil
    out.retry_limit = type(a.retryLimit) == "number" and a.retryLimit or 1
  end
  if a.type ~= "end" then
    if type(a.stepId) == "string" then
      if not wf_steps[a.stepId] then
        st.report:error(extend(apath, "stepId"), format("unknown step '%s' in this workflow%s", a.stepId,
          hint(a.stepId, wf_steps.__ids, "stepId")), "reference")
      end
      out.step = a.stepId
    elseif type(a.workflowId) == "string" then
      out.workflow = targets.workflow_ref(st, a.workflowId, extend(apath, "workflowId"))
    end
  end
  for i, cr in ipairs(type(a.criteria) == "table" and a.criteria or {}) do
    if type(cr) == "table" and type(cr.condition) == "string" then
      out.criteria[#out.criteria + 1] = compile.criterion(c, cr, extend(extend(apath, "criteria"), i))
    end
  end
  return out
end

local function actions(st, c, list, path, failure, wf_steps)
  local out = {}
  for i, item in ipairs(type(list) == "table" and list or {}) do
    local a = action(st, c, item, extend(path, i), failure, wf_steps)
    if a then out[#out + 1] = a end
  end
  return out
end

-- Step actions first, then the workflow's whose name the step does not reuse
-- ("override but never remove", SPEC-NOTES §7 option a).
local function merge_actions(step_list, wf_list)
  local out, names = {}, {}
  for _, a in ipairs(step_list) do out[#out + 1] = a; names[a.name] = true end
  for _, a in ipairs(wf_list) do if not names[a.name] then out[#out + 1] = a end end
  return out
end

------------------------------------------------------------------------------
-- Steps

local function operation_parameters(st, c, step_plan, params, spath)
  local op = step_plan.operation
  local declared = {}
  for _, d in ipairs(op and op.parameters or {}) do declared[param_key(d)] = d end
  local out = {}
  for _, p in ipairs(params) do
    local loc = p["in"]
    if type(loc) ~= "string" then
      st.report:error(p.path, format("parameter '%s' needs 'in' (path, query, header or cookie) on an operation step", p.name), "invalid")
    elseif loc == "path" or loc == "query" or loc == "header" or loc == "cookie" then
      local spec = declared[param_key(p)]
      if op and not spec then
        st.report:warn(p.path, format("parameter '%s' (in %s) is not declared by %s %s", p.name, loc, op.method, op.path))
      end
      out[#out + 1] = { name = p.name, ["in"] = loc, value = compile.value(c, p.value, p.vpath), spec = spec }
    end
  end
  if op then
    local given = {}
    for _, p in ipairs(out) do given[param_key(p)] = true end
    for _, d in ipairs(op.parameters) do
      if d["in"] == "path" and not given[param_key(d)] then
        st.report:error(spath, format("path parameter '%s' of %s %s has no value in this step", d.name, op.method, op.path), "invalid")
      elseif d.required and not given[param_key(d)] and d["in"] ~= "path" then
        st.report:warn(spath, format("required %s parameter '%s' of %s %s is not set by this step", d["in"], d.name, op.method, op.path))
      end
    end
  end
  return out
end

local function request_body(st, c, step, step_plan, spath)
  local rb = step.requestBody
  local op = step_plan.operation
  if type(rb) ~= "table" then
    if op and op.request_body and op.request_body.required then
      st.report:warn(spath, format("%s %s requires a request body but the step has none", op.method, op.path))
    end
    return nil
  end
  local bpath = extend(spath, "requestBody")
  local body = { replacements = {} }
  local ct = rb.contentType
  if type(ct) ~= "string" then
    local types = op and op.request_body and op.request_body.media_types
    ct = types and types[1]
    if not ct then
      ct = type(rb.payload) == "string" and "text/plain" or "application/json"
      st.report:warn(bpath, format("no contentType and the operation declares no request body media type; using %s", ct))
    end
  elseif ct:find("*", 1, true) and not st.lenient then
    st.report:error(extend(bpath, "contentType"), format("contentType '%s' is a media range, not a media type", ct), "invalid")
  elseif ct:find("*", 1, true) then
    -- a media range ("*/*", "application/*+json") cannot be sent: use the
    -- operation's first declared type inside the range
    local types = op and op.request_body and op.request_body.media_types or {}
    local pat = "^" .. ct:lower():match("^%s*([^;%s]+)"):gsub("[%-%.%+]", "%%%0"):gsub("%*", "[^/]*") .. "$"
    local chosen
    for _, mt in ipairs(types) do if mt:lower():match(pat) then chosen = mt break end end
    chosen = chosen or types[1] or "application/octet-stream"
    st.report:warn(extend(bpath, "contentType"), format("contentType '%s' is a media range; sending '%s'", ct, chosen))
    ct = chosen
  elseif op and op.request_body and #op.request_body.media_types > 0 then
    local base = ct:lower():match("^([^;%s]+)")
    local found = false
    for _, mt in ipairs(op.request_body.media_types) do
      local m = mt:lower()
      if m == base or m == "*/*" or (m:match("/%*$") and base:sub(1, #m - 1) == m:sub(1, -2)) then found = true end
    end
    if not found then
      st.report:warn(extend(bpath, "contentType"), format("'%s' is not one of the media types %s %s declares (%s)",
        ct, op.method, op.path, table.concat(op.request_body.media_types, ", ")))
    end
  end
  body.content_type = ct
  if rb.payload ~= nil then body.payload = body_mod.compile_payload(c, rb.payload, ct, extend(bpath, "payload")) end
  if body.payload ~= nil then body.fast = body_mod.fast_template(body.payload, ct) end
  for i, r in ipairs(type(rb.replacements) == "table" and rb.replacements or {}) do
    if type(r) == "table" and type(r.target) == "string" then
      local rp = extend(extend(bpath, "replacements"), i)
      local is_xml = ct:lower():find("xml", 1, true) ~= nil
      if not is_xml then
        local ok, msg = core.pointer_check(r.target)
        if not ok then st.report:error(extend(rp, "target"), format("%s in '%s'", msg, r.target), "expr") end
      end
      body.replacements[#body.replacements + 1] = { target = r.target, xml = is_xml,
        value = compile.value(c, r.value, extend(rp, "value")) }
    end
  end
  return body
end

-- How a step's criteria, actions and outputs read the response body:
-- "none", "pointer" (only through #/pointers: the runner can hand the raw
-- text to the evaluator, which decodes just the selected node) or "whole".
local function body_use(plan)
  local use = "none"
  local function scan(e)
    if type(e) ~= "userdata" then return end
    for _, r in ipairs(e:refs()) do
      if r.source == "response" and r.field == "body" then
        if r.pointer and not r.lenient then
          if use == "none" then use = "pointer" end
        else
          use = "whole"
        end
      end
    end
  end
  local function criteria_list(list)
    for _, cr in ipairs(list) do
      if cr then
        scan(cr.cond); scan(cr.context); scan(cr.dynamic)
        if cr.kind ~= "simple" and cr.context then
          -- regex/jsonpath/xpath read the whole context value
          for _, r in ipairs(cr.context:refs()) do
            if r.source == "response" and r.field == "body" then use = "whole" end
          end
        end
      end
    end
  end
  criteria_list(plan.success)
  for _, list in ipairs({ plan.on_success, plan.on_failure }) do
    for _, a in ipairs(list) do criteria_list(a.criteria) end
  end
  for _, o in ipairs(plan.outputs) do scan(o.expr) end
  return use
end

-- An outputs map compiled in document order: list of {name, expr}.
local function compile_outputs(c, map, path)
  local out = { names = {}, exprs = {}, sorted = true }
  if type(map) ~= "table" then return out end
  local names = {}
  for _, k in ipairs(core.keys(map)) do
    local e = compile.expression(c, map[k], extend(path, k))
    if e then out[#out + 1] = { name = k, expr = e }; names[k] = true end
  end
  -- true when the declared order is the bytewise order (what a table
  -- without a recorded order encodes in): the runner then records none
  local sorted = core.keys(names)
  for i, o in ipairs(out) do if sorted[i] ~= o.name then out.sorted = false end end
  -- the same as two lists, for core.eval_outputs
  for i, o in ipairs(out) do out.names[i], out.exprs[i] = o.name, o.expr end
  return out
end

-- What core.build_request needs to build the step's request in one call,
-- or false when the step needs the Lua path: a parameter sent as `content`
-- or holding expressions inside a structure, header names that repeat (in
-- any case, Cookie included), a payload without a fast template, or
-- replacements.
local function request_kernel(plan)
  local op = plan.operation
  if not op or plan.kind ~= "operation" then return false end
  local params, seen, cookies = {}, {}, false
  for i, p in ipairs(plan.parameters) do
    local spec = p.spec or {}
    if spec.content ~= nil then return false end
    local v = p.value
    local expr, value = false, nil
    if type(v) == "userdata" then expr = v
    elseif type(v) == "table" and v.tag == "const" then value = v.value
    else return false end
    if p["in"] == "header" then
      local l = p.name:lower()
      if seen[l] then return false end
      seen[l] = true
    elseif p["in"] == "cookie" then
      cookies = true
    end
    params[i] = { p.name, p["in"], expr, value, spec.style, spec.explode, spec.allowReserved }
  end
  if cookies and seen.cookie then return false end
  local k = { method = op.method, url = op.url, params = params }
  local b = plan.body
  if b and b.payload ~= nil then
    if not b.fast or #b.replacements > 0 then return false end
    k.body, k.ct = b.fast, b.content_type
  end
  return k
end

local function step_plan(st, c, wf, wplan, step, i, wpath)
  local spath = extend(extend(wpath, "steps"), i)
  local plan = { id = step.stepId, index = i, description = step.description, path = spath }
  local rec
  if type(step.operationId) == "string" then
    rec = targets.operation_id(st, step, spath)
  elseif type(step.operationPath) == "string" then
    rec = targets.operation_path(st, step, spath)
  elseif type(step.workflowId) == "string" then
    plan.kind = "workflow"
    plan.workflow = targets.workflow_ref(st, step.workflowId, extend(spath, "workflowId"))
  end
  if rec then
    plan.kind = "operation"
    plan.operation = targets.describe_operation(st, rec, spath)
  end
  plan.kind = plan.kind or "operation"
  local params = merged_parameters(st, wf, step, wpath, spath)
  if plan.kind == "workflow" then
    plan.inputs = {}
    for _, p in ipairs(params) do
      plan.inputs[#plan.inputs + 1] = { name = p.name, value = compile.value(c, p.value, p.vpath) }
    end
  else
    plan.parameters = operation_parameters(st, c, plan, params, spath)
    plan.body = request_body(st, c, step, plan, spath)
  end
  plan.success = {}
  for j, cr in ipairs(type(step.successCriteria) == "table" and step.successCriteria or {}) do
    if type(cr) == "table" and type(cr.condition) == "string" then
      plan.success[#plan.success + 1] = compile.criterion(c, cr, extend(extend(spath, "successCriteria"), j))
    end
  end
  plan.kernel = request_kernel(plan)
  -- simple conditions only: their compiled conditions, for core.eval_conds
  plan.conds = {}
  for j, cr in ipairs(plan.success) do
    if cr.kind ~= "simple" then plan.conds = false break end
    plan.conds[j] = cr.cond
  end
  plan.on_success = merge_actions(actions(st, c, step.onSuccess, extend(spath, "onSuccess"), false, wplan.step_set),
    wplan.success_actions)
  plan.on_failure = merge_actions(actions(st, c, step.onFailure, extend(spath, "onFailure"), true, wplan.step_set),
    wplan.failure_actions)
  plan.outputs = compile_outputs(c, step.outputs, extend(spath, "outputs"))
  plan.body_use = body_use(plan)
  return plan
end

------------------------------------------------------------------------------
-- Expression references

local SOURCES_OK_IN_OUTPUTS = { inputs = true, steps = true, workflows = true, outputs = true,
  sourceDescriptions = true, components = true }

local function check_refs(st, wplan, exprs, declared_inputs)
  for _, item in ipairs(exprs) do
    for _, ref in ipairs(item.expr:refs()) do
      local src = ref.source
      if src == "steps" then
        local target = wplan.step_set[ref.id]
        if not target then
          st.report:error(item.path, format("$steps.%s: no step '%s' in workflow '%s'%s", tostring(ref.id), tostring(ref.id),
            wplan.id, hint(tostring(ref.id), wplan.step_set.__ids, "stepId")), "reference")
        elseif ref.name and target.outputs then
          local name = ref.name
          local top = name:match("^([^.]+)")
          if not target.outputs[name] and not target.outputs[top] then
            local outs = keys_of(target.outputs)
            -- a warning, not an error: the document is valid and the step may
            -- never be reached; evaluating it fails the step with this message
            st.report:warn(item.path, format("$steps.%s.outputs.%s: step '%s' defines no output '%s'%s", ref.id, name,
              ref.id, name, #outs > 0 and hint(name, outs, "output") or " (it defines no outputs)"))
          end
        end
      elseif src == "workflows" then
        if ref.id and not st.workflow_index[ref.id] then
          st.report:error(item.path, format("$workflows.%s: no workflow '%s'%s", ref.id, ref.id,
            hint(ref.id, st.workflow_ids, "workflowId")), "reference")
        end
      elseif src == "sourceDescriptions" then
        if ref.id and not st.sources_declared[ref.id] then
          st.report:error(item.path, format("$sourceDescriptions.%s: no source description '%s'%s", ref.id, ref.id,
            hint(ref.id, keys_of(st.sources_declared), "source name")), "reference")
        end
      elseif src == "components" then
        local comps = type(st.root.components) == "table" and st.root.components or {}
        local group = ref.field and comps[ref.field]
        if ref.name and (type(group) ~= "table" or group[ref.name] == nil) then
          st.report:error(item.path, format("$components.%s.%s: no such component", tostring(ref.field), ref.name), "reference")
        end
      elseif src == "inputs" then
        if declared_inputs and ref.name then
          local top = ref.name:match("^([^.]+)")
          if declared_inputs[ref.name] == nil and declared_inputs[top] == nil then
            st.report:warn(item.path, format("$inputs.%s is not declared in the inputs schema of workflow '%s'", ref.name, wplan.id))
          end
        end
      end
      if item.scope == "workflow-outputs" and not SOURCES_OK_IN_OUTPUTS[src] then
        st.report:warn(item.path, format("$%s is not available in workflow outputs (it belongs to a step)", src))
      end
    end
  end
end

local function declared_inputs(st, wf)
  local sch = wf.inputs
  if type(sch) ~= "table" then return nil end
  if type(sch["$ref"]) == "string" then
    local key = sch["$ref"]:match("^#/components/inputs/(.+)$")
    local comps = type(st.root.components) == "table" and st.root.components.inputs
    sch = key and type(comps) == "table" and comps[key] or nil
    if type(sch) ~= "table" then return nil end
  end
  if type(sch.properties) ~= "table" then return nil end
  if sch.additionalProperties ~= nil and sch.additionalProperties ~= false then return nil end
  return sch.properties
end

------------------------------------------------------------------------------
-- Workflows

-- Regex engine for JSON Schema `pattern` (ECMA-262-like, unanchored search).
local function schema_regex(pattern)
  local re, msg = core.regex(pattern)
  if not re then return nil, msg end
  return re
end

-- Compile the workflow's inputs schema once; `$ref`s into
-- #/components/inputs resolve against this document.
local function compile_inputs(st, wf, wpath)
  if wf.inputs == nil then return nil end
  local comps = type(st.root.components) == "table" and st.root.components.inputs
  local v, errs = schema.compile(wf.inputs, {
    regex = schema_regex,
    resolve = function(ref)
      local key = ref:match("^#/components/inputs/(.+)$")
      if not key then return nil, format("unsupported $ref '%s' (only #/components/inputs/<name>)", ref) end
      key = key:gsub("~1", "/"):gsub("~0", "~")
      local target
      if type(comps) == "table" then target = comps[key] end
      if target == nil then
        return nil, format("no component input '%s'%s", key, hint(key, keys_of(comps), "name"))
      end
      return target
    end,
  })
  if v then return v end
  for _, e in ipairs(errs) do
    local p = extend(wpath, "inputs")
    if e.ref then
      local key = e.ref:match("^#/components/inputs/(.+)$")
      if key then p = { "components", "inputs", key } end
    end
    st.report:error(p, format("%s%s", e.path ~= "" and (e.path .. ": ") or "", e.message), "invalid")
  end
  return nil
end

local function workflow_plan(st, wf, i)
  local wpath = { "workflows", i }
  local c = { report = st.report, lenient = st.lenient, exprs = {} }
  local wplan = { id = wf.workflowId, summary = wf.summary, description = wf.description, inputs = wf.inputs,
    path = wpath, steps = {}, step_set = { __ids = {} }, outputs = {} }
  for _, step in ipairs(wf.steps) do
    if type(step) == "table" and type(step.stepId) == "string" then
      wplan.step_set[step.stepId] = { outputs = type(step.outputs) == "table" and step.outputs or nil }
      wplan.step_set.__ids[#wplan.step_set.__ids + 1] = step.stepId
    end
  end
  wplan.validator = compile_inputs(st, wf, wpath)
  wplan.success_actions = actions(st, c, wf.successActions, extend(wpath, "successActions"), false, wplan.step_set)
  wplan.failure_actions = actions(st, c, wf.failureActions, extend(wpath, "failureActions"), true, wplan.step_set)
  wplan.depends = {}
  for j, d in ipairs(type(wf.dependsOn) == "table" and wf.dependsOn or {}) do
    if type(d) == "string" then
      local ref = targets.workflow_ref(st, d, extend(extend(wpath, "dependsOn"), j))
      if ref then wplan.depends[#wplan.depends + 1] = ref end
    end
  end
  for j, step in ipairs(wf.steps) do
    if type(step) == "table" and type(step.stepId) == "string" then
      local sp = step_plan(st, c, wf, wplan, step, j, wpath)
      wplan.steps[#wplan.steps + 1] = sp
    end
  end
  local n = #c.exprs
  wplan.outputs = compile_outputs(c, wf.outputs, extend(wpath, "outputs"))
  for j = n + 1, #c.exprs do c.exprs[j].scope = "workflow-outputs" end
  -- the runner builds the $request context only when something reads it
  for _, item in ipairs(c.exprs) do
    for _, r in ipairs(item.expr:refs()) do if r.source == "request" then wplan.uses_request = true end end
  end
  check_refs(st, wplan, c.exprs, declared_inputs(st, wf))
  wplan.step_index = {}
  for j, sp in ipairs(wplan.steps) do wplan.step_index[sp.id] = j end
  return wplan
end

-- dependsOn cycles among local workflows.
local function check_cycles(st, plans)
  local state, stack = {}, {}
  local function visit(id)
    if state[id] == 2 then return end
    if state[id] == 1 then
      local cyc, started = {}, false
      for _, s in ipairs(stack) do
        if s == id then started = true end
        if started then cyc[#cyc + 1] = s end
      end
      cyc[#cyc + 1] = id
      local idx = st.workflow_index[id]
      st.report:error({ "workflows", idx, "dependsOn" }, "dependsOn cycle: " .. table.concat(cyc, " -> "), "reference")
      return true
    end
    state[id] = 1
    stack[#stack + 1] = id
    local p = plans[st.workflow_index[id]]
    for _, d in ipairs(p and p.depends or {}) do
      if d.document == st.self_ref and visit(d.id) then break end
    end
    stack[#stack] = nil
    state[id] = 2
  end
  for _, id in ipairs(st.workflow_ids) do visit(id) end
end

--- Resolve and compile every workflow of a validated document.
-- @param st state: {report, root, sources, source_list, sources_declared, ctx,
--   lenient, self_ref}
-- @return list of workflow plans (in document order)
function M.workflows(st)
  st.workflow_index, st.workflow_ids = {}, {}
  for i, wf in ipairs(st.root.workflows) do
    if type(wf) == "table" and type(wf.workflowId) == "string" and not st.workflow_index[wf.workflowId] then
      st.workflow_index[wf.workflowId] = i
      st.workflow_ids[#st.workflow_ids + 1] = wf.workflowId
    end
  end
  local plans = {}
  for i, wf in ipairs(st.root.workflows) do
    if type(wf) == "table" and type(wf.workflowId) == "string" and type(wf.steps) == "table" then
      plans[i] = workflow_plan(st, wf, i)
    end
  end
  check_cycles(st, plans)
  local out = {}
  for i = 1, #st.root.workflows do if plans[i] then out[#out + 1] = plans[i] end end
  return out
end

return M
