--- Structural validation of an Arazzo 1.0.x document: every rule of the
-- official JSON Schema (both 1.0 iterations, with the spec winning where they
-- disagree: SPEC-NOTES §10) plus the spec's uniqueness and shape rules that
-- the schema misses. Cross-object checks (targets, references, expressions)
-- live in arazzo.resolve; this module only looks at one object at a time.
local core = require "arazzo.core"

local M = {}

local null, isarray, isinteger = core.null, core.isarray, core.isinteger
local type, pairs, ipairs, format, next = type, pairs, ipairs, string.format, next
local math_type = math.type

local function copy_path(path, extra)
  local p = {}
  for i = 1, #path do p[i] = path[i] end
  if extra ~= nil then p[#p + 1] = extra end
  return p
end
M.copy_path = copy_path

--- The JSON type of a loaded value: null boolean integer number string array object.
function M.jtype(v)
  local t = type(v)
  if t == "table" then return isarray(v) and "array" or "object" end
  if t == "number" then
    if isinteger(v) or (not math_type and v == math.floor(v)) then return "integer" end
    return "number"
  end
  if v == null then return "null" end
  if t == "userdata" then return "null" end
  return t
end
local jtype = M.jtype

local function type_ok(v, want)
  local t = jtype(v)
  if want == "any" then return true end
  if want == "number" then return t == "number" or t == "integer" end
  if want == "object" then
    -- an empty table loaded from YAML `{}` is an object; an empty marked array is not
    return t == "object" or (type(v) == "table" and next(v) == nil and not isarray(v))
  end
  return t == want
end

local function article(t)
  return (t == "array" or t == "object" or t == "integer") and ("an " .. t) or ("a " .. t)
end

-- The validator state: r is an arazzo.report collector.
local V = {}
V.__index = V

function V:err(path, msg, kind) self.r:error(path, msg, kind) end
function V:warn(path, msg) self.r:warn(path, msg) end

-- Report fields that are neither listed nor extensions.
function V:fields(node, path, allowed, what, ext)
  for k in pairs(node) do
    if type(k) ~= "string" then
      self:err(path, format("%s has a non-string key", what))
    elseif not allowed[k] and not (ext ~= false and k:sub(1, 2) == "x-") then
      if ext == "ignore" then
        self:warn(copy_path(path, k), format("unknown field '%s' in %s is ignored", k, what))
      else
        self:err(copy_path(path, k), format("unknown field '%s' in %s", k, what))
      end
    end
  end
end

-- Check node[key]'s type; returns the value when present and well-typed.
function V:field(node, path, key, want, required)
  local v = node[key]
  if v == nil then
    if required then self:err(path, format("missing required field '%s'", key)) end
    return nil
  end
  if not type_ok(v, want) then
    self:err(copy_path(path, key), format("'%s' must be %s, got %s", key, article(want), jtype(v)))
    return nil
  end
  return v
end

-- An object value at path (already fetched); reports and returns false if not.
function V:object(v, path, what)
  if not type_ok(v, "object") then
    self:err(path, format("%s must be an object, got %s", what, jtype(v)))
    return false
  end
  return true
end

local function deep_equal(a, b, depth)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" or depth > 64 then return false end
  if isarray(a) ~= isarray(b) then return false end
  for k, v in pairs(a) do
    if not deep_equal(v, b[k], depth + 1) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end
M.deep_equal = deep_equal

-- An array field: type, minItems, uniqueItems (schema), then each item.
-- keyed: the items have their own identity check (names, ids), which reports
-- duplicates more precisely than uniqueItems would.
function V:list(node, path, key, required, min, each, keyed)
  local v = self:field(node, path, key, "array", required)
  if not v then return nil end
  local p = copy_path(path, key)
  if min and #v < min then
    self:err(p, format("'%s' must have at least %d item%s", key, min, min == 1 and "" or "s"))
  end
  for i = 2, keyed and 0 or #v do
    for j = 1, i - 1 do
      if deep_equal(v[i], v[j], 0) then
        self:err(copy_path(p, i), format("duplicate item (same as [%d])", j - 1))
        break
      end
    end
  end
  if each then
    for i, item in ipairs(v) do each(self, item, copy_path(p, i)) end
  end
  return v
end

-- A map field whose keys must match the component/output key pattern.
function V:map(node, path, key, each, valuetype)
  local v = self:field(node, path, key, "object", false)
  if not v then return nil end
  local p = copy_path(path, key)
  for k, item in pairs(v) do
    if type(k) == "string" and not k:match("^[%w%.%-_]+$") then
      self:err(copy_path(p, k), format("key '%s' must match ^[a-zA-Z0-9.\\-_]+$", k))
    end
    if valuetype and not type_ok(item, valuetype) then
      self:err(copy_path(p, k), format("'%s' must be %s, got %s", k, article(valuetype), jtype(item)))
    elseif each then
      each(self, item, copy_path(p, k))
    end
  end
  return v
end

local ID_PATTERN = "^[%w_%-]+$"

function V:info(v, path)
  if not self:object(v, path, "info") then return end
  self:fields(v, path, { title = 1, summary = 1, description = 1, version = 1 }, "info")
  self:field(v, path, "title", "string", true)
  self:field(v, path, "summary", "string")
  self:field(v, path, "description", "string")
  self:field(v, path, "version", "string", true)
end

function V:source(v, path)
  if not self:object(v, path, "source description") then return end
  self:fields(v, path, { name = 1, url = 1, type = 1 }, "source description")
  local name = self:field(v, path, "name", "string", true)
  if name and not name:match(ID_PATTERN) then
    self:err(copy_path(path, "name"), format("source name '%s' must match ^[A-Za-z0-9_\\-]+$", name))
  end
  local url = self:field(v, path, "url", "string", true)
  if url and (url == "" or url:find("[%s<>\"{}|\\^`]")) then
    self:err(copy_path(path, "url"), format("'%s' is not a valid URI reference", url))
  end
  local t = self:field(v, path, "type", "string")
  if t and t ~= "openapi" and t ~= "arazzo" then
    self:err(copy_path(path, "type"), format("source type must be 'openapi' or 'arazzo', got '%s'", t))
  end
end

function V:criterion(v, path)
  if not self:object(v, path, "criterion") then return end
  self:fields(v, path, { condition = 1, context = 1, type = 1 }, "criterion")
  self:field(v, path, "condition", "string", true)
  local ctx = self:field(v, path, "context", "string")
  local t = v.type
  if t == nil then return end
  local tp = copy_path(path, "type")
  if type(t) == "string" then
    if t ~= "simple" and t ~= "regex" and t ~= "jsonpath" and t ~= "xpath" then
      self:err(tp, format("criterion type must be simple, regex, jsonpath or xpath, got '%s'", t))
    elseif t ~= "simple" and not ctx and v.context == nil then
      self:err(path, format("a '%s' criterion needs a 'context'", t))
    end
  elseif type_ok(t, "object") then
    self:fields(t, tp, { type = 1, version = 1 }, "criterion expression type")
    local et = self:field(t, tp, "type", "string", true)
    local ver = self:field(t, tp, "version", "string", true)
    if et == "jsonpath" then
      if ver and ver ~= "draft-goessner-dispatch-jsonpath-00" then
        self:err(copy_path(tp, "version"), format("unknown jsonpath version '%s' (expected draft-goessner-dispatch-jsonpath-00)", ver))
      end
    elseif et == "xpath" then
      if ver and ver ~= "xpath-10" and ver ~= "xpath-20" and ver ~= "xpath-30" then
        self:err(copy_path(tp, "version"), format("unknown xpath version '%s' (expected xpath-10, xpath-20 or xpath-30)", ver))
      end
    elseif et then
      self:err(copy_path(tp, "type"), format("criterion expression type must be jsonpath or xpath, got '%s'", et))
    end
    if not ctx and v.context == nil then self:err(path, "a criterion with an expression type needs a 'context'") end
  else
    self:err(tp, format("criterion type must be a string or an object, got %s", jtype(t)))
  end
end

function V:reusable(v, path)
  -- The spec says extra properties MUST be ignored; the schema rejects them.
  -- The spec wins: warn.
  self:fields(v, path, { reference = 1, value = 1 }, "reusable object", "ignore")
  local ref = self:field(v, path, "reference", "string", true)
  if ref and v.value ~= nil and not ref:match("^%$components%.parameters%.") then
    self:err(copy_path(path, "value"), "'value' is only allowed on a reference to $components.parameters")
  end
end

function V:parameter(v, path)
  self:fields(v, path, { name = 1, ["in"] = 1, value = 1 }, "parameter")
  self:field(v, path, "name", "string", true)
  local loc = v["in"]
  if loc ~= nil then
    if type(loc) ~= "string" then
      self:err(copy_path(path, "in"), format("'in' must be a string, got %s", jtype(loc)))
    elseif loc == "body" then
      self:err(copy_path(path, "in"), "'in: body' was removed in Arazzo 1.0.1; use requestBody")
    elseif loc ~= "path" and loc ~= "query" and loc ~= "header" and loc ~= "cookie" then
      self:err(copy_path(path, "in"), format("'in' must be path, query, header or cookie, got '%s'", loc))
    end
  end
  if v.value == nil then self:err(path, "missing required field 'value'") end
end

-- A parameter list item: a Parameter Object or a Reusable Object.
function V:param_item(v, path)
  if not self:object(v, path, "parameter") then return end
  if v.reference ~= nil then return self:reusable(v, path) end
  self:parameter(v, path)
end

-- Parameters must be unique by (name, in); header names compare
-- case-insensitively (RFC 9110).
function V:param_dups(list, path)
  local seen = {}
  for i, p in ipairs(list or {}) do
    if type(p) == "table" and type(p.name) == "string" and p.reference == nil then
      local loc = type(p["in"]) == "string" and p["in"] or ""
      local key = loc .. "\0" .. (loc == "header" and p.name:lower() or p.name)
      if seen[key] then
        self:err(copy_path(path, i), format("duplicate parameter '%s'%s (same as [%d])", p.name,
          loc ~= "" and (" in " .. loc) or "", seen[key] - 1))
      else
        seen[key] = i
      end
    end
  end
end

function V:action(v, path, failure)
  local what = failure and "failure action" or "success action"
  if not self:object(v, path, what) then return end
  if v.reference ~= nil then return self:reusable(v, path) end
  self:fields(v, path, failure and { name = 1, type = 1, workflowId = 1, stepId = 1, retryAfter = 1,
    retryLimit = 1, criteria = 1 } or { name = 1, type = 1, workflowId = 1, stepId = 1, criteria = 1 }, what)
  self:field(v, path, "name", "string", true)
  local t = self:field(v, path, "type", "string", true)
  local wf = self:field(v, path, "workflowId", "string")
  local st = self:field(v, path, "stepId", "string")
  if t then
    local ok = t == "end" or t == "goto" or (failure and t == "retry")
    if not ok then
      self:err(copy_path(path, "type"), format("%s type must be %s, got '%s'", what,
        failure and "end, goto or retry" or "end or goto", t))
    end
  end
  if wf and st then self:err(path, "'workflowId' and 'stepId' are mutually exclusive") end
  if t == "goto" and not wf and not st then self:err(path, "a goto action needs a 'stepId' or a 'workflowId'") end
  if t == "end" and (wf or st) then self:warn(path, "'stepId'/'workflowId' are ignored on an end action") end
  if failure then
    local ra = self:field(v, path, "retryAfter", "number")
    if ra and ra < 0 then self:err(copy_path(path, "retryAfter"), "'retryAfter' must be >= 0") end
    local rl = v.retryLimit
    if rl ~= nil then
      if jtype(rl) ~= "integer" then
        self:err(copy_path(path, "retryLimit"), format("'retryLimit' must be an integer, got %s", jtype(rl)))
      elseif rl < 0 then
        self:err(copy_path(path, "retryLimit"), "'retryLimit' must be >= 0")
      end
    end
    if t and t ~= "retry" and (v.retryAfter ~= nil or rl ~= nil) then
      self:warn(path, "'retryAfter'/'retryLimit' only apply to retry actions")
    end
  end
  self:list(v, path, "criteria", false, (not failure) and 1 or nil, V.criterion)
end

function V:action_dups(list, path)
  local seen = {}
  for i, a in ipairs(list or {}) do
    if type(a) == "table" and type(a.name) == "string" and a.reference == nil then
      if seen[a.name] then
        self:err(copy_path(path, i), format("duplicate action name '%s' (same as [%d])", a.name, seen[a.name] - 1))
      else
        seen[a.name] = i
      end
    end
  end
end

function V:request_body(v, path)
  if not self:object(v, path, "requestBody") then return end
  self:fields(v, path, { contentType = 1, payload = 1, replacements = 1 }, "requestBody")
  local ct = self:field(v, path, "contentType", "string")
  if ct and not ct:match("^[%w!#$&%-^_.+*]+/[%w!#$&%-^_.+*]+") then
    self:err(copy_path(path, "contentType"), format("'%s' is not a media type", ct))
  end
  self:list(v, path, "replacements", false, nil, function(self2, r, p)
    if not self2:object(r, p, "payload replacement") then return end
    self2:fields(r, p, { target = 1, value = 1 }, "payload replacement")
    self2:field(r, p, "target", "string", true)
    -- the schema types value as a string; the spec says Any, and the spec wins
    if r.value == nil then self2:err(p, "missing required field 'value'") end
  end)
end

local function outputs_map(self, v, path)
  self:map(v, path, "outputs", nil, "string")
end

function V:step(v, path)
  if not self:object(v, path, "step") then return end
  self:fields(v, path, { stepId = 1, description = 1, operationId = 1, operationPath = 1,
    workflowId = 1, parameters = 1, requestBody = 1, successCriteria = 1, onSuccess = 1,
    onFailure = 1, outputs = 1 }, "step")
  local id = self:field(v, path, "stepId", "string", true)
  if id and not id:match(ID_PATTERN) then
    self:warn(copy_path(path, "stepId"), format("stepId '%s' should match [A-Za-z0-9_-]+", id))
  end
  self:field(v, path, "description", "string")
  local n = 0
  for _, k in ipairs({ "operationId", "operationPath", "workflowId" }) do
    if self:field(v, path, k, "string") then n = n + 1 end
  end
  if n == 0 and v.operationId == nil and v.operationPath == nil and v.workflowId == nil then
    self:err(path, "a step needs exactly one of 'operationId', 'operationPath' or 'workflowId'")
  elseif n > 1 then
    self:err(path, "'operationId', 'operationPath' and 'workflowId' are mutually exclusive")
  end
  local params = self:list(v, path, "parameters", false, nil, V.param_item)
  self:param_dups(params, copy_path(path, "parameters"))
  if v.requestBody ~= nil then
    self:request_body(v.requestBody, copy_path(path, "requestBody"))
    if v.workflowId ~= nil then
      self:warn(copy_path(path, "requestBody"), "requestBody on a workflow step is ignored")
    end
  end
  self:list(v, path, "successCriteria", false, 1, V.criterion)
  local on_s = self:list(v, path, "onSuccess", false, nil, function(s, a, p) s:action(a, p, false) end)
  self:action_dups(on_s, copy_path(path, "onSuccess"))
  local on_f = self:list(v, path, "onFailure", false, nil, function(s, a, p) s:action(a, p, true) end)
  self:action_dups(on_f, copy_path(path, "onFailure"))
  outputs_map(self, v, path)
end

function V:workflow(v, path)
  if not self:object(v, path, "workflow") then return end
  self:fields(v, path, { workflowId = 1, summary = 1, description = 1, inputs = 1, dependsOn = 1,
    steps = 1, successActions = 1, failureActions = 1, outputs = 1, parameters = 1 }, "workflow")
  local id = self:field(v, path, "workflowId", "string", true)
  if id and not id:match(ID_PATTERN) then
    self:warn(copy_path(path, "workflowId"), format("workflowId '%s' should match [A-Za-z0-9_-]+", id))
  end
  self:field(v, path, "summary", "string")
  self:field(v, path, "description", "string")
  if v.inputs ~= nil and not type_ok(v.inputs, "object") and type(v.inputs) ~= "boolean" then
    self:err(copy_path(path, "inputs"), format("'inputs' must be a JSON Schema (an object), got %s", jtype(v.inputs)))
  end
  self:list(v, path, "dependsOn", false, nil, function(s, d, p)
    if type(d) ~= "string" then s:err(p, format("dependsOn items must be strings, got %s", jtype(d))) end
  end)
  local steps = self:list(v, path, "steps", true, 1, V.step, true)
  if steps then
    local seen = {}
    for i, st in ipairs(steps) do
      if type(st) == "table" and type(st.stepId) == "string" then
        if seen[st.stepId] then
          self:err(copy_path(copy_path(path, "steps"), i), format("duplicate stepId '%s' (same as steps[%d])",
            st.stepId, seen[st.stepId] - 1))
        else
          seen[st.stepId] = i
        end
      end
    end
  end
  local sa = self:list(v, path, "successActions", false, nil, function(s, a, p) s:action(a, p, false) end)
  self:action_dups(sa, copy_path(path, "successActions"))
  local fa = self:list(v, path, "failureActions", false, nil, function(s, a, p) s:action(a, p, true) end)
  self:action_dups(fa, copy_path(path, "failureActions"))
  outputs_map(self, v, path)
  local params = self:list(v, path, "parameters", false, nil, V.param_item)
  self:param_dups(params, copy_path(path, "parameters"))
end

function V:components(v, path)
  if not self:object(v, path, "components") then return end
  self:fields(v, path, { inputs = 1, parameters = 1, successActions = 1, failureActions = 1 }, "components")
  self:map(v, path, "inputs", function(s, sch, p)
    if not type_ok(sch, "object") and type(sch) ~= "boolean" then
      s:err(p, format("a component input must be a JSON Schema (an object), got %s", jtype(sch)))
    end
  end)
  self:map(v, path, "parameters", function(s, prm, p)
    if s:object(prm, p, "component parameter") then s:parameter(prm, p) end
  end)
  self:map(v, path, "successActions", function(s, a, p) s:action(a, p, false) end)
  self:map(v, path, "failureActions", function(s, a, p) s:action(a, p, true) end)
end

--- Validate a loaded Arazzo document, recording problems in report r.
-- @param root the document value
-- @param r an arazzo.report collector
-- @return true when the structure is sound enough for cross-object checks
function M.document(root, r)
  local self = setmetatable({ r = r }, V)
  if not type_ok(root, "object") then
    self:err({}, format("an Arazzo document must be an object, got %s", jtype(root)))
    return false
  end
  self:fields(root, {}, { arazzo = 1, info = 1, sourceDescriptions = 1, workflows = 1, components = 1 },
    "the Arazzo document")
  local ver = root.arazzo
  if ver == nil then
    self:err({}, "missing required field 'arazzo'")
  elseif type(ver) ~= "string" then
    self:err({ "arazzo" }, format("'arazzo' must be a version string such as \"1.0.1\", got %s %s",
      jtype(ver), tostring(ver)))
  elseif not ver:match("^1%.0%.%d+$") and not ver:match("^1%.0%.%d+%-.+$") then
    self:err({ "arazzo" }, format("unsupported Arazzo version '%s' (this runner reads 1.0.x)", ver))
  end
  if root.info == nil then self:err({}, "missing required field 'info'")
  else self:info(root.info, { "info" }) end
  local sources = self:list(root, {}, "sourceDescriptions", true, 1, V.source, true)
  if sources then
    local seen = {}
    for i, s in ipairs(sources) do
      if type(s) == "table" and type(s.name) == "string" then
        if seen[s.name] then
          self:err({ "sourceDescriptions", i }, format("duplicate source name '%s' (same as sourceDescriptions[%d])",
            s.name, seen[s.name] - 1))
        else
          seen[s.name] = i
        end
      end
    end
  end
  local wfs = self:list(root, {}, "workflows", true, 1, V.workflow, true)
  if wfs then
    local seen = {}
    for i, w in ipairs(wfs) do
      if type(w) == "table" and type(w.workflowId) == "string" then
        if seen[w.workflowId] then
          self:err({ "workflows", i, "workflowId" }, format("duplicate workflowId '%s' (same as workflows[%d])",
            w.workflowId, seen[w.workflowId] - 1))
        else
          seen[w.workflowId] = i
        end
      end
    end
  end
  if root.components ~= nil then self:components(root.components, { "components" }) end
  return r:ok()
end

return M
