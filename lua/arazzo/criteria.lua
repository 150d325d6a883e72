--- Evaluating compiled criteria against a step context. Every criterion
-- yields true or false; an evaluation problem makes it false and is reported
-- as a note (SPEC-NOTES §5: errors make a criterion fail).
local core = require "arazzo.core"

local M = {}

local type, ipairs, format, tostring = type, ipairs, string.format, tostring

local function as_text(v)
  if type(v) == "string" then return v end
  if v == nil then return nil end
  if type(v) == "table" then return core.json_encode(v) end
  if v == core.null then return "null" end
  if type(v) == "number" and core.isinteger(v) then return format("%d", v) end
  return tostring(v)
end

-- Compile-once cache for criteria whose condition is a {$...} template.
local dyn_cache = setmetatable({}, { __mode = "k" })

local function dynamic(cr, ctx, make)
  local text, err = cr.dynamic:eval(ctx)
  if text == nil then return nil, err end
  local cache = dyn_cache[cr]
  if not cache then cache = {}; dyn_cache[cr] = cache end
  local hit = cache[text]
  if hit then return hit end
  local obj, msg = make(text)
  if not obj then return nil, msg end
  cache[text] = obj
  return obj
end

--- Evaluate one compiled criterion.
-- @return passed (boolean), note (string or nil)
function M.check(cr, ctx)
  local kind = cr.kind
  if kind == "simple" then
    return cr.cond:eval(ctx)
  end
  local value
  if cr.context then
    local v, err = cr.context:eval(ctx)
    if v == nil then return false, format("context %s: %s", cr.context:source(), err or "no value") end
    value = v
  end
  if kind == "regex" then
    local re = cr.re
    if not re then
      local err
      re, err = dynamic(cr, ctx, core.regex)
      if not re then return false, err end
    end
    local text = as_text(value)
    if text == nil then return false, "regex context has no value" end
    local ok, err = re:test(text)
    if ok == nil then return false, err end
    return ok
  elseif kind == "jsonpath" then
    if type(value) == "string" then
      local decoded = core.json_decode(value)
      if decoded ~= nil then value = decoded end
    end
    if cr.js then return cr.js:eval(ctx, value) end
    local jp = cr.jp
    if not jp then
      local err
      jp, err = dynamic(cr, ctx, core.jsonpath)
      if not jp then return false, err end
    end
    local found, jerr = jp:exists(value)
    if found == nil then return false, jerr end
    if not found and type(value) == "table" and not core.isarray(value)
        and tostring(jp):match("^%s*%$%s*%[%s*%?") then
      -- A root filter `$[?...]` selects children (RFC 9535), yet the Arazzo
      -- spec's own examples (`$[?count(@.pets) > 0]`, the oauth example's
      -- `$[?@.access_token != null]`) test the context object itself. When
      -- the context is an object and nothing matched, the filter is applied
      -- to the object as the single member of an array.
      found, jerr = jp:exists(core.array({ value }))
      if found == nil then return false, jerr end
    end
    return found
  elseif kind == "xpath" then
    local text = as_text(value)
    if text == nil then return false, "xpath context has no value" end
    local ok, err = cr.xp:test(text)
    if ok == nil then return false, err end
    return ok
  end
  return false, "unknown criterion type " .. tostring(kind)
end

--- Evaluate a list (AND).
-- @return passed, failing criterion source, note
function M.all(list, ctx)
  for _, cr in ipairs(list) do
    local ok, note = M.check(cr, ctx)
    if ok ~= true then return false, cr.source, note end
  end
  return true
end

return M
