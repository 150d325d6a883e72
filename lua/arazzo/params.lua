--- Request assembly from evaluated parameters: path template substitution,
-- query string, headers and cookies, each serialized with the OpenAPI
-- parameter's style/explode (defaults per location when undeclared).
local core = require "arazzo.core"

local M = {}

local type, ipairs, format, concat = type, ipairs, string.format, table.concat

-- A parameter declared with `content` (instead of a style) carries the
-- JSON encoding of its value.
local function prepare(p)
  local spec = p.spec
  if spec and spec.content and type(p.value) == "table" then
    local s, err = core.json_encode(p.value)
    if not s then return nil, err end
    return s
  end
  return p.value
end

local function serialize(p, loc)
  local v, err = prepare(p)
  if v == nil then return nil, err end
  local spec = p.spec or {}
  local s, serr = core.param_serialize(p.name, v, loc, spec.style, spec.explode, spec.allowReserved)
  if s == nil then return nil, format("parameter '%s' (in %s): %s", p.name, loc, serr) end
  return s
end

--- Build the URL, headers and cookie header from evaluated parameters.
-- @param base_url the server URL joined with the path template
-- @param params list of {name, in, value, spec}
-- @return url, header list {{name, value}...} or nil when there are none | nil, message
function M.build(base_url, params)
  if #params == 0 and not base_url:find("{", 1, true) then return base_url end
  local url = base_url
  local query, headers, cookies = {}, {}, {}
  for _, p in ipairs(params) do
    local loc = p["in"]
    if loc == "path" then
      local s, err = serialize(p, "path")
      if not s then return nil, err end
      local pat = "{" .. p.name .. "}"
      local a, b = url:find(pat, 1, true)
      if not a then return nil, format("path parameter '%s' does not appear in '%s'", p.name, base_url) end
      repeat
        url = url:sub(1, a - 1) .. s .. url:sub(b + 1)
        a, b = url:find(pat, a + #s, true)
      until not a
    elseif loc == "query" then
      local s, err = serialize(p, "query")
      if not s then return nil, err end
      if s ~= "" then query[#query + 1] = s end
    elseif loc == "header" then
      local s, err = serialize(p, "header")
      if not s then return nil, err end
      headers[#headers + 1] = { p.name, s }
    elseif loc == "cookie" then
      local s, err = serialize(p, "cookie")
      if not s then return nil, err end
      if s ~= "" then cookies[#cookies + 1] = s end
    end
  end
  local left = url:match("{([^}/]*)}")
  if left then
    return nil, format("path parameter '%s' has no value", left)
  end
  if #query > 0 then
    url = url .. (url:find("?", 1, true) and "&" or "?") .. concat(query, "&")
  end
  if #cookies > 0 then headers[#headers + 1] = { "Cookie", concat(cookies, "; ") } end
  return url, #headers > 0 and headers or nil
end

return M
