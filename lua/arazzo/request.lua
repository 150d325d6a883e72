--- Request assembly for one HTTP step: parameters, body (payload,
-- replacements, serialization), the before_request hook, authentication,
-- idempotency keys and header checks; and the $request evaluation context.
-- Used by arazzo.runner; plain Lua, no C call may yield here.
local core = require "arazzo.core"
local compile = require "arazzo.compile"
local body = require "arazzo.body"
local params = require "arazzo.params"
local auth = require "arazzo.auth"
local snap = require "arazzo.config" -- snapshot / same

local M = {}

local type, pairs, ipairs, format, tostring = type, pairs, ipairs, string.format, tostring

-- Lower-case header names, memoised: the same few names repeat on every
-- request. The memo is bounded (names can come from hooks).
local lower_memo, lower_n = {}, 0
local function lower(k)
  local l = lower_memo[k]
  if l then return l end
  l = k:lower()
  if lower_n >= 512 then lower_memo, lower_n = {}, 0 end
  lower_memo[k], lower_n = l, lower_n + 1
  return l
end

-- Header parameters {{name, value}...} into a name -> value map; repeats of
-- a name (in any case) are joined with ", ".
local function headers_map(list)
  local out = {}
  if not list then return out end
  local seen
  for _, h in ipairs(list) do
    local l = lower(h[1])
    local first = seen and seen[l]
    if first then out[first] = out[first] .. ", " .. h[2]
    else out[h[1]] = h[2]; seen = seen or {}; seen[l] = h[1] end
  end
  return out
end

local function lower_map(m)
  local out = {}
  for k, v in pairs(m) do out[lower(k)] = v end
  return out
end

local function bad_header(headers)
  for k, v in pairs(headers) do
    if type(k) ~= "string" or not k:match("^[!#$%%&'*+%-.^_`|~%w]+$") then
      return format("invalid header name %q", tostring(k))
    end
    if type(v) ~= "string" then return format("header '%s' must be a string, got %s", k, type(v)) end
    if v:find("[\r\n%z]") then return format("header '%s' contains CR, LF or NUL", k) end
  end
  return nil
end

-- Call a hook under pcall with a traceback.
local function call_hook(st, name, ...)
  local f = st.hooks[name]
  if not f then return true end
  return xpcall(f, debug.traceback, ...)
end
M.call_hook = call_hook

local function idempotency_for(st, source)
  local o = st.opts.idempotency
  if o == true then return true end
  if type(o) == "table" then return o[source] == true end
  return false
end

-- Evaluate the step's parameters; honours opts.missing for optional ones.
local function eval_params(st, step, ctx)
  local out = {}
  for _, p in ipairs(step.parameters) do
    local v, err = compile.eval(p.value, ctx)
    if v == nil then
      local required = p["in"] == "path" or (p.spec and p.spec.required)
      if st.missing ~= "omit" or required then
        return nil, format("parameter '%s' (in %s): %s", p.name, p["in"], err)
      end
    else
      out[#out + 1] = { name = p.name, ["in"] = p["in"], value = v, spec = p.spec }
    end
  end
  return out
end

local NO_PARAMS = setmetatable({}, { __newindex = function() error("internal: the shared empty parameter list was written", 2) end })

-- Auth decisions are remembered across runs per credentials table and
-- operation security, together with a copy of the credentials (two levels:
-- per-source fields and per-scheme tables); a run whose credentials differ
-- in any field decides again.
local auth_memo = setmetatable({}, { __mode = "k" })

local function decide_auth(op, creds)
  local plan, anote = auth.plan(op.security, creds)
  if plan then
    for _, a in ipairs(plan) do
      if type(a.value) ~= "string" or a.value:find("[\r\n%z]") then
        plan, anote = nil, "credentials contain CR, LF or NUL"
        break
      end
    end
  end
  local d = { plan = plan, note = anote, headers_only = true, hlist = {} }
  if plan then
    for _, a in ipairs(plan) do
      if a.kind ~= "header" then d.headers_only = false end
      d.hlist[#d.hlist + 1], d.hlist[#d.hlist + 2] = a.name, a.value
    end
  end
  return d
end

-- The auth decision for an operation in this run.
local function auth_for(st, op)
  local d = st.auth_plans[op.security]
  if d then return d end
  local creds = st.auth[op.source]
  if type(creds) == "table" then
    local m = auth_memo[creds]
    local e = m and m[op.security]
    if e and snap.same(creds, e.copy, true) then
      d = e.decision
    else
      d = decide_auth(op, creds)
      local copy = snap.snapshot(creds, true)
      if copy then
        if not m then m = setmetatable({}, { __mode = "k" }); auth_memo[creds] = m end
        m[op.security] = { decision = d, copy = copy }
      end
    end
  else
    d = decide_auth(op, creds)
  end
  st.auth_plans[op.security] = d
  return d
end

-- Apply the run's auth decision for the operation (headers the step sets
-- win over credentials: auth.apply_map). Returns true or nil, message.
local function apply_auth(st, op, req, notes)
  local d = auth_for(st, op)
  if not d.plan then return nil, format("source '%s': %s", op.source, d.note) end
  if d.note then notes[#notes + 1] = d.note end
  if #d.plan > 0 then auth.apply_map(d.plan, req) end
  return true
end

-- The Idempotency-Key header for POSTs when opts.idempotency asks for it:
-- <run>-<workflow>-<step>-<n>, unique per step execution within a run and
-- the same for every retry of that execution.
local function add_idempotency(st, op, headers, wfid, stepid, entry)
  if op.method ~= "POST" or not idempotency_for(st, op.source) then return end
  for k in pairs(headers) do if lower(k) == "idempotency-key" then return end end
  headers["Idempotency-Key"] = format("%s-%s-%s-%d", st.run_id, wfid, stepid, entry)
end

-- The step's payload evaluated and serialized.
-- @return true, body string | nil, content type | nil, payload | false, code, message
local function make_body(st, step, ctx, full)
  local sb = step.body
  if not sb then return true end
  local ct = sb.content_type
  if not sb.payload then return true, nil, ct end
  local fast = sb.fast
  if fast and not full and #sb.replacements == 0 then
    local text = body.render_fast(fast, ctx)
    if text then return true, text, ct end
  end
  local payload, err = body.evaluate(sb.payload, ctx, st.missing == "omit")
  if payload == nil then return false, "expression", "requestBody: " .. err end
  if #sb.replacements > 0 then
    payload, err = body.replace(payload, sb.replacements, ctx)
    if payload == nil then return false, "expression", "requestBody: " .. err end
  end
  local body_s
  body_s, err = body.serialize(payload, ct)
  if body_s == nil then return false, "request", "requestBody: " .. err end
  return true, body_s, err, payload
end

-- Assemble what the transport gets for one HTTP step: parameters, body,
-- auth, idempotency key; without hooks and $request nothing else is built.
-- @param full build the hook-visible request (payload, params, content_type)
-- @param notes the step record's notes
-- @param hinfo the hooks' step table (nil without hooks)
-- @return request | nil, code, message
local build_request = core.build_request

local function prepare(st, step, ctx, full, notes, hinfo, wfid, entry)
  local op = step.operation
  -- the common case in one C call; whatever it cannot do, the Lua below does
  local k = step.kernel
  if k and not full and not st.opts.idempotency then
    local d = auth_for(st, op)
    if d.plan and d.headers_only then
      local wire = build_request(k, ctx, d.hlist, st.timeout)
      if wire then
        if d.note then notes[#notes + 1] = d.note end
        return wire
      end
    end
  end
  local pvals, err
  if #step.parameters > 0 then
    pvals, err = eval_params(st, step, ctx)
    if not pvals then return nil, "expression", err end
  else
    pvals = full and {} or NO_PARAMS
  end
  local bok, body_s, ct, payload = make_body(st, step, ctx, full)
  if not bok then return nil, body_s, ct end
  local url, hlist = params.build(op.url, pvals)
  if not url then return nil, "request", hlist end
  local headers = headers_map(hlist)
  if body_s ~= nil and ct and headers["Content-Type"] == nil then headers["Content-Type"] = ct end
  local request
  if full then
    request = { method = op.method, url = url, headers = headers, body = body_s, payload = payload,
      params = pvals, content_type = ct, timeout = st.timeout }
  else
    request = { method = op.method, url = url, headers = headers, body = body_s, timeout = st.timeout }
  end
  local hook = st.hooks.before_request
  if hook then
    local body0 = body_s
    local ok, herr = call_hook(st, "before_request", hinfo, request)
    if not ok then return nil, "hook", "before_request hook: " .. tostring(herr) end
    if request.url == url then
      local u2, h2 = params.build(op.url, request.params or NO_PARAMS)
      if not u2 then return nil, "request", h2 end
      request.url = u2
      for _, h in ipairs(h2 or NO_PARAMS) do
        if request.headers[h[1]] == nil then request.headers[h[1]] = h[2] end
      end
    end
    if request.body == body0 and (request.payload ~= payload or request.payload ~= nil) then
      if request.payload == nil then
        request.body = nil
      else
        local b, ct2 = body.serialize(request.payload, request.content_type or ct or "application/json")
        if b == nil then return nil, "request", "requestBody: " .. ct2 end
        request.body = b
        if request.headers["Content-Type"] == nil then request.headers["Content-Type"] = ct2 end
      end
    end
    if type(request.headers) ~= "table" then return nil, "request", "before_request hook: request.headers is not a table" end
    headers = request.headers
  end
  local aok, aerr = apply_auth(st, op, request, notes)
  if not aok then return nil, "auth", aerr end
  if st.opts.idempotency then add_idempotency(st, op, headers, wfid, step.id, entry) end
  if hook then
    -- parameter and credential values were checked already; a hook may have
    -- added anything
    local bad = bad_header(headers)
    if bad then return nil, "request", bad end
  end
  return request
end

local function request_ctx(request)
  local query = {}
  local qs = request.url:match("%?([^#]*)")
  if qs and core.form_decode then
    for _, kv in ipairs(core.form_decode(qs) or {}) do query[kv[1]] = kv[2] end
  end
  local path = {}
  for _, p in ipairs(request.params or {}) do
    if p["in"] == "path" then path[p.name] = p.value end
    if p["in"] == "query" and query[p.name] == nil then query[p.name] = p.value end
  end
  local rbody = request.payload
  if rbody == nil then rbody = request.body end
  return { header = lower_map(request.headers), query = query, path = path, body = rbody }
end

M.prepare = prepare
M.context = request_ctx
return M
