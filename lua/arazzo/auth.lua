--- Authentication from caller-supplied credentials, applied the way the
-- operation's OpenAPI security requirements say: apiKey (header, query,
-- cookie), http basic, http bearer, and oauth2/openIdConnect access tokens
-- sent as bearer tokens.
--
-- Credentials per source description (opts.auth[sourceName]):
--   { api_key = "...", token = "...", username = "...", password = "..." }
-- or per security scheme name: { [schemeName] = { api_key | token | username, password } }.
local core = require "arazzo.core"

local M = {}

local type, ipairs, format = type, ipairs, string.format

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

--- Standard base64 (RFC 4648) with padding.
function M.base64(s)
  local out, n = {}, #s
  for i = 1, n, 3 do
    local a, b, c = s:byte(i, i + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(v / 262144) % 64
    local c2 = math.floor(v / 4096) % 64
    local c3 = math.floor(v / 64) % 64
    local c4 = v % 64
    out[#out + 1] = B64:sub(c1 + 1, c1 + 1) .. B64:sub(c2 + 1, c2 + 1)
      .. (b and B64:sub(c3 + 1, c3 + 1) or "=") .. (c and B64:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

-- The credentials for one scheme: the per-scheme entry or the source-wide one.
local function creds_for(creds, name)
  local c = creds[name]
  if type(c) == "table" then return c end
  if type(c) == "string" then return { api_key = c, token = c } end
  return creds
end

-- What one scheme needs, as an application function, or nil when the
-- credentials cannot satisfy it.
local function plan_scheme(entry, creds)
  local sch, c = entry.scheme, creds_for(creds, entry.name)
  local t = type(sch.type) == "string" and sch.type or ""
  if t == "apiKey" then
    local key = c.api_key or c.key
    if type(key) ~= "string" or type(sch.name) ~= "string" then return nil end
    local loc = sch["in"]
    if loc == "header" then return { kind = "header", name = sch.name, value = key }
    elseif loc == "query" then return { kind = "query", name = sch.name, value = key }
    elseif loc == "cookie" then return { kind = "cookie", name = sch.name, value = key } end
    return nil
  elseif t == "http" then
    local scheme = type(sch.scheme) == "string" and sch.scheme:lower() or ""
    if scheme == "basic" then
      if type(c.username) ~= "string" then return nil end
      local pw = type(c.password) == "string" and c.password or ""
      return { kind = "header", name = "Authorization", value = "Basic " .. M.base64(c.username .. ":" .. pw) }
    elseif scheme == "bearer" then
      if type(c.token) ~= "string" then return nil end
      return { kind = "header", name = "Authorization", value = "Bearer " .. c.token }
    end
    return nil
  elseif t == "oauth2" or t == "openIdConnect" then
    if type(c.token) ~= "string" then return nil end
    return { kind = "header", name = "Authorization", value = "Bearer " .. c.token }
  end
  return nil
end

--- Decide how to authenticate one request.
-- @param security the operation's requirement alternatives (from load)
-- @param creds the caller's credentials for the source (table or nil)
-- @return list of {kind, name, value} to apply (maybe empty), note | nil, message
function M.plan(security, creds)
  if #security == 0 then return {} end
  for _, alt in ipairs(security) do
    if #alt == 0 then return {} end -- an empty requirement: anonymous access allowed
  end
  if type(creds) ~= "table" then
    local names = {}
    for _, alt in ipairs(security) do for _, e in ipairs(alt) do names[#names + 1] = e.name end end
    return {}, format("no credentials given for security scheme %s", table.concat(names, " or "))
  end
  local tried = {}
  for _, alt in ipairs(security) do
    local apply, ok = {}, true
    for _, e in ipairs(alt) do
      local a = plan_scheme(e, creds)
      if not a then ok = false; tried[#tried + 1] = e.name; break end
      apply[#apply + 1] = a
    end
    if ok then return apply end
  end
  return nil, format("the credentials given satisfy none of the security schemes (%s)", table.concat(tried, ", "))
end

--- Apply an auth plan to a request being built. Headers the step sets
-- explicitly win over credentials (a step may send its own Authorization).
-- @param req {url, headers = {{name, value}...}}
function M.apply(plan, req)
  for _, a in ipairs(plan) do
    if a.kind == "header" then
      local present = false
      local lname = a.name:lower()
      for _, h in ipairs(req.headers) do if h[1]:lower() == lname then present = true break end end
      if not present then req.headers[#req.headers + 1] = { a.name, a.value } end
    elseif a.kind == "query" then
      local piece = core.url_encode(a.name) .. "=" .. core.url_encode(a.value)
      req.url = req.url .. (req.url:find("?", 1, true) and "&" or "?") .. piece
    elseif a.kind == "cookie" then
      local piece = a.name .. "=" .. a.value
      local found = false
      for _, h in ipairs(req.headers) do
        if h[1]:lower() == "cookie" then h[2] = h[2] .. "; " .. piece; found = true break end
      end
      if not found then req.headers[#req.headers + 1] = { "Cookie", piece } end
    end
  end
  return req
end

--- Apply an auth plan to a request whose headers are a name -> value map.
function M.apply_map(plan, req)
  local headers = req.headers
  for _, a in ipairs(plan) do
    if a.kind == "header" then
      local present = headers[a.name] ~= nil
      if not present then
        local lname = a.name:lower()
        for k in pairs(headers) do if k:lower() == lname then present = true break end end
      end
      if not present then headers[a.name] = a.value end
    elseif a.kind == "query" then
      local piece = core.url_encode(a.name) .. "=" .. core.url_encode(a.value)
      req.url = req.url .. (req.url:find("?", 1, true) and "&" or "?") .. piece
    elseif a.kind == "cookie" then
      local piece = a.name .. "=" .. a.value
      local ck
      for k in pairs(headers) do if k:lower() == "cookie" then ck = k break end end
      if ck then headers[ck] = headers[ck] .. "; " .. piece else headers.Cookie = piece end
    end
  end
  return req
end

return M
