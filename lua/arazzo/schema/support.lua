--- Helpers shared by the arazzo.schema keyword compilers: errors, keyword values, regexes, subschemas.
-- Licence: MIT (see LICENSE).
-- @module arazzo.schema.support
local core = require "arazzo.core"
local values = require "arazzo.schema.value"
local classify = values.classify
local describe_schema_value = values.describe_schema_value
local quote = values.quote
local fmtnum = values.fmtnum

local M = {}

local type, ipairs, tostring = type, ipairs, tostring
local error = error
local mtype, tointeger = math.type, math.tointeger
local fmt = string.format
local keys_of = core.keys
local rawlen = rawlen or function(t) return #t end -- luacheck: ignore

---------------------------------------------------------------------------
-- Compiler
---------------------------------------------------------------------------

local TRUE_NODE = { bool = true }
local FALSE_NODE = { bool = false }
local EMPTY = {}

--- Append segments to a copy of a segment list.
local function at(segs, a, b)
  local out = {}
  for i = 1, #segs do out[i] = segs[i] end
  out[#out + 1] = a
  if b ~= nil then out[#out + 1] = b end
  return out
end

--- Record a compile error. R is the schema root record (its `ref` is set
--- when the root came from opts.resolve).
local function cerr(C, R, segs, msg)
  local n = #C.errs + 1
  if n > C.max then C.truncated = true return end
  C.errs[n] = { segs = segs, message = msg, seq = n, ref = R.ref }
end

--- Keyword value checks shared by the keyword compilers; each records a
--- compile error and returns nil when the value has the wrong type.
local function want_number(C, R, segs, v)
  local kind = classify(v)
  if kind == "integer" or kind == "number" then return v end
  cerr(C, R, segs, "expected a number, got " .. describe_schema_value(v))
end

local function want_count(C, R, segs, v)
  local kind = classify(v)
  if kind == "integer" and v >= 0 then return mtype and tointeger(v) or v end
  cerr(C, R, segs, "expected a non-negative integer, got " .. describe_schema_value(v))
end

local function want_kind(C, R, segs, v, want, article)
  local kind = classify(v)
  if kind == want then return v end
  cerr(C, R, segs, fmt("expected %s %s, got %s", article or "an", want, describe_schema_value(v)))
end

--- An array of unique strings (required, dependentRequired lists).
local function want_strings(C, R, segs, v)
  if classify(v) ~= "array" then
    cerr(C, R, segs, "expected an array of strings, got " .. describe_schema_value(v))
    return nil
  end
  local seen, ok = {}, true
  for i = 1, rawlen(v) do
    local s = v[i]
    if type(s) ~= "string" then
      cerr(C, R, at(segs, i - 1), "expected a string, got " .. describe_schema_value(s))
      ok = false
    elseif seen[s] then
      cerr(C, R, at(segs, i - 1), "duplicate entry " .. quote(s, 60))
      ok = false
    end
    if type(s) == "string" then seen[s] = true end
  end
  return ok and v or nil
end

--- Compile a regular expression through opts.regex (cached by pattern).
local function compile_regex(C, R, segs, pat)
  local rx = C.regex
  if not rx then cerr(C, R, segs, "no regex engine") return nil end
  local re = C.regexes[pat]
  if re then return re end
  local msg
  re, msg = rx(pat)
  if not re then
    cerr(C, R, segs, "invalid pattern " .. quote(pat, 60) .. ": " .. tostring(msg or "rejected by the regex engine"))
    return nil
  end
  if type(re) ~= "table" and type(re) ~= "userdata" then
    error("arazzo.schema: opts.regex must return an object with a test method", 0)
  end
  C.regexes[pat] = re
  return re
end

--- Run a regex object's test; a non-boolean answer is reported as a match
--- failure with the engine's message.
local function regex_test(re, s)
  local r, msg = re:test(s)
  if r then return true end
  if r == nil and msg ~= nil then return false, tostring(msg) end
  return false
end

--- Compile schema s found at segs under root record R. arazzo.schema.compile
--- fills the M.compile_schema slot when it loads (it requires the keyword
--- compilers, which require this module); a tail call, so no extra frame.
local function compile_schema(C, s, R, segs, depth)
  return M.compile_schema(C, s, R, segs, depth)
end

--- Compile `key` of schema s as a subschema (child of segs).
local function sub_schema(C, s, key, R, segs, depth)
  return compile_schema(C, s[key], R, at(segs, key), depth + 1)
end

--- Compile a non-empty array of subschemas; returns the list of nodes.
local function schema_array(C, s, key, R, segs, depth)
  local v = s[key]
  local psegs = at(segs, key)
  if classify(v) ~= "array" or rawlen(v) == 0 then
    cerr(C, R, psegs, "expected a non-empty array of schemas, got " .. describe_schema_value(v))
    return nil
  end
  local nodes = {}
  for i = 1, rawlen(v) do nodes[i] = compile_schema(C, v[i], R, at(psegs, i - 1), depth + 1) end
  return nodes
end

--- Compile an object of subschemas; returns a list of {name, node} in
--- document order.
local function schema_map(C, s, key, R, segs, depth)
  local v = s[key]
  local psegs = at(segs, key)
  if classify(v) ~= "object" then
    cerr(C, R, psegs, "expected an object of schemas, got " .. describe_schema_value(v))
    return nil
  end
  local list = {}
  for i, name in ipairs(keys_of(v)) do
    list[i] = { name, compile_schema(C, v[name], R, at(psegs, name), depth + 1) }
  end
  return list
end

local function push(list, f) list[#list + 1] = f end

local function plural(n, word)
  return fmt("%s %s%s", fmtnum(n), word, n == 1 and "" or "s")
end

local function props_word(n) return n == 1 and "property" or "properties" end

M.TRUE_NODE = TRUE_NODE
M.FALSE_NODE = FALSE_NODE
M.EMPTY = EMPTY
M.at = at
M.cerr = cerr
M.want_number = want_number
M.want_count = want_count
M.want_kind = want_kind
M.want_strings = want_strings
M.compile_regex = compile_regex
M.regex_test = regex_test
M.sub_schema = sub_schema
M.schema_array = schema_array
M.schema_map = schema_map
M.push = push
M.plural = plural
M.props_word = props_word

return M
