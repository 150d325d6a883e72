--- Request assembly for one HTTP step: parameters, body (payload,
-- replacements, serialization), the before_request hook, authentication,
-- idempotency keys and header checks; and the $request evaluation context.
-- Used by arazzo.runner; plain Lua, no C call may yield here.
local core = require "arazzo.core"
local compile = require "arazzo.compile"
local body = require "arazzo.body"
local params = require "arazzo.params"
local auth = require "arazzo.auth"

local M = {}

local type, pairs, ipairs, format, tostring = type, pairs, ipairs, string.format, tostring

local function headers_map(list)
  local out, seen = {}, {}
  for _, h in ipairs(list) do
    local l = h[1]:lower()
    if seen[l] then out[seen[l]] = out[seen[l]] .. ", " .. h[2]
    else out[h[1]] = h[2]; seen[l] = h[1] end
  end
  return out
end

local function lower_map(m)
  local out = {}
  for k, v in pairs(m) do out[k:lower()] = v end
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

local function build_url_headers(step, request)
  local built, err = params.build(step.operation.url, request.params)
  if not built then return nil, err end
  return built
end

-- Assemble the request: params, body, hook, auth. Returns request, ctx.request.
local function prepare(st, step, ctx, info)
  local op = step.operation
  local pvals, err = eval_params(st, step, ctx)
  if not pvals then return nil, "expression", err end
  local payload, ct
  if step.body then
    ct = step.body.content_type
    if step.body.payload then
      payload, err = body.evaluate(step.body.payload, ctx, st.missing == "omit")
      if payload == nil then return nil, "expression", "requestBody: " .. err end
      if #step.body.replacements > 0 then
        payload, err = body.replace(payload, step.body.replacements, ctx)
        if payload == nil then return nil, "expression", "requestBody: " .. err end
      end
    end
  end
  local built
  built, err = build_url_headers(step, { params = pvals })
  if not built then return nil, "request", err end
  local body_s
  if payload ~= nil then
    body_s, err = body.serialize(payload, ct)
    if body_s == nil then return nil, "request", "requestBody: " .. err end
    ct = err
  end
  local headers = headers_map(built.headers)
  if body_s ~= nil and ct then headers["Content-Type"] = headers["Content-Type"] or ct end
  local request = { method = op.method, url = built.url, headers = headers, body = body_s, payload = payload,
    params = pvals, content_type = ct, timeout = st.timeout }
  if st.hooks.before_request then
    local url0, body0, pay0 = request.url, request.body, payload
    local ok, herr = call_hook(st, "before_request", info, request)
    if not ok then return nil, "hook", "before_request hook: " .. tostring(herr) end
    if request.url == url0 then
      local b2, e2 = build_url_headers(step, request)
      if not b2 then return nil, "request", e2 end
      request.url = b2.url
      for _, h in ipairs(b2.headers) do
        if request.headers[h[1]] == nil then request.headers[h[1]] = h[2] end
      end
    end
    if request.body == body0 and (request.payload ~= pay0 or request.payload ~= nil) then
      if request.payload == nil then
        request.body = nil
      else
        local b, ct2 = body.serialize(request.payload, request.content_type or ct or "application/json")
        if b == nil then return nil, "request", "requestBody: " .. ct2 end
        request.body = b
        if request.headers["Content-Type"] == nil then request.headers["Content-Type"] = ct2 end
      end
    end
  end
  -- one auth decision per operation security and run (credentials do not
  -- change during a run); their values are checked for CR/LF once
  local cached = st.auth_plans[op.security]
  if not cached then
    local plan, anote = auth.plan(op.security, st.auth[op.source])
    if plan then
      for _, a in ipairs(plan) do
        if type(a.value) ~= "string" or a.value:find("[\r\n%z]") then
          plan, anote = nil, "credentials contain CR, LF or NUL"
          break
        end
      end
    end
    cached = { plan = plan, note = anote }
    st.auth_plans[op.security] = cached
  end
  if not cached.plan then return nil, "auth", format("source '%s': %s", op.source, cached.note) end
  if cached.note then info.notes[#info.notes + 1] = cached.note end
  if #cached.plan > 0 then auth.apply_map(cached.plan, request) end
  if op.method == "POST" and idempotency_for(st, op.source) then
    local has = false
    for k in pairs(request.headers) do if k:lower() == "idempotency-key" then has = true end end
    if not has then
      -- <run>-<workflow>-<step>-<n>: unique per step execution within a run,
      -- the same for every retry of that execution
      request.headers["Idempotency-Key"] = format("%s-%s-%s-%d", st.run_id, info.workflow, step.id, info.entry)
    end
  end
  if st.hooks.before_request then
    -- parameter and credential values were checked already; a hook may have
    -- added anything
    local bad = bad_header(request.headers)
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
