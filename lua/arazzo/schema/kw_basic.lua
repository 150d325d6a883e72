--- arazzo.schema keyword compilers for type, enum, const, numbers and strings.
-- Licence: MIT (see LICENSE).
-- @module arazzo.schema.kw_basic
local values = require "arazzo.schema.value"
local classify = values.classify
local describe = values.describe
local describe_schema_value = values.describe_schema_value
local render = values.render
local canonical = values.canonical
local fmtnum = values.fmtnum
local quote = values.quote
local ulen = values.ulen
local multiple_of = values.multiple_of
local engine = require "arazzo.schema.engine"
local add = engine.add
local support = require "arazzo.schema.support"
local at = support.at
local cerr = support.cerr
local push = support.push
local want_number = support.want_number
local want_count = support.want_count
local want_kind = support.want_kind
local compile_regex = support.compile_regex
local regex_test = support.regex_test
local plural = support.plural

local M = {}

local type, ipairs = type, ipairs
local fmt, byte = string.format, string.byte
local concat = table.concat
local rawlen = rawlen or function(t) return #t end -- luacheck: ignore

local TYPE_NAMES = { "null", "boolean", "object", "array", "number", "integer", "string" }
local TYPE_SET = {}
for _, t in ipairs(TYPE_NAMES) do TYPE_SET[t] = true end

--- Levenshtein distance, for "did you mean" hints on type names.
local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = byte(a, i) == byte(b, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

local function unknown_type_msg(name)
  local best, bd = nil, 3
  for _, t in ipairs(TYPE_NAMES) do
    local d = distance(name, t)
    if d < bd then best, bd = t, d end
  end
  if best then return fmt("unknown type %s (did you mean %s?)", quote(name, 60), quote(best)) end
  return fmt("unknown type %s (expected one of %s)", quote(name, 60), concat(TYPE_NAMES, ", "))
end

---------------------------------------------------------------------------
-- Keyword compilers: generic (type, enum, const)
---------------------------------------------------------------------------

--- `type`: a type name or an array of unique type names.
local function kw_type(C, node, s, R, segs)
  local v, tsegs = s.type, at(segs, "type")
  local names
  if type(v) == "string" then
    names = { v }
  elseif classify(v) == "array" and rawlen(v) > 0 then
    names = {}
    for i = 1, rawlen(v) do names[i] = v[i] end
  else
    cerr(C, R, tsegs, "expected a type name or a non-empty array of type names, got " .. describe_schema_value(v))
    return
  end
  local accept, seen, ok = {}, {}, true
  for i, name in ipairs(names) do
    local esegs = type(v) == "string" and tsegs or at(tsegs, i - 1)
    if type(name) ~= "string" then
      cerr(C, R, esegs, "expected a type name, got " .. describe_schema_value(name))
      ok = false
    elseif not TYPE_SET[name] then
      cerr(C, R, esegs, unknown_type_msg(name))
      ok = false
    elseif seen[name] then
      cerr(C, R, esegs, "duplicate type " .. quote(name))
      ok = false
    else
      seen[name] = true
      accept[name] = true
      if name == "number" then accept.integer = true end
    end
  end
  if not ok then return end
  local want
  if #names == 1 then want = names[1]
  else want = concat(names, ", ", 1, #names - 1) .. " or " .. names[#names] end
  push(node.any, function(x, kind, st)
    if accept[kind] then return true end
    add(st, "expected " .. want .. ", got " .. describe(x, kind))
    return false
  end)
end

--- `enum` (any array) and `const` (any value): deep equality where 1 and
--- 1.0 are equal, compared through canonical forms.
local function kw_enum_const(C, node, s, R, segs)
  if s.enum ~= nil then
    local v = s.enum
    if classify(v) ~= "array" then
      cerr(C, R, at(segs, "enum"), "expected an array, got " .. describe_schema_value(v))
    else
      local set, shown = {}, {}
      for i = 1, rawlen(v) do
        local c, why = canonical(v[i], C.maxdepth, C.maxdepth)
        if c then set[c] = true else cerr(C, R, at(segs, "enum", i - 1), why) end
        if i <= 10 then shown[i] = render(v[i]) elseif i == 11 then shown[i] = "..." end
      end
      local want = "expected one of " .. concat(shown, ", ")
      if rawlen(v) == 0 then want = "expected no value at all (empty enum)" end
      push(node.any, function(x, kind, st)
        local c, why = canonical(x, st.maxdepth - st.depth, st.maxdepth)
        if c and set[c] then return true end
        add(st, why or want .. ", got " .. describe(x, kind))
        return false
      end)
    end
  end
  if s.const ~= nil then
    local want, bad = canonical(s.const, C.maxdepth, C.maxdepth)
    if not want then
      cerr(C, R, at(segs, "const"), bad)
      return
    end
    local text = "expected " .. render(s.const)
    push(node.any, function(x, kind, st)
      local c, why = canonical(x, st.maxdepth - st.depth, st.maxdepth)
      if c == want then return true end
      add(st, why or text .. ", got " .. describe(x, kind))
      return false
    end)
  end
end

---------------------------------------------------------------------------
-- Keyword compilers: numbers and strings
---------------------------------------------------------------------------

local BOUNDS = {
  { "minimum", ">=", function(x, b) return x >= b end },
  { "exclusiveMinimum", ">", function(x, b) return x > b end },
  { "maximum", "<=", function(x, b) return x <= b end },
  { "exclusiveMaximum", "<", function(x, b) return x < b end },
}

--- minimum, exclusiveMinimum, maximum, exclusiveMaximum, multipleOf.
local function kw_number(C, node, s, R, segs)
  for _, b in ipairs(BOUNDS) do
    local key, op, test = b[1], b[2], b[3]
    if s[key] ~= nil then
      local bound = want_number(C, R, at(segs, key), s[key])
      if bound then
        local text = "expected " .. op .. " " .. fmtnum(bound) .. ", got "
        push(node.number, function(x, _, st)
          if test(x, bound) then return true end
          add(st, text .. fmtnum(x))
          return false
        end)
      end
    end
  end
  if s.multipleOf ~= nil then
    local msegs = at(segs, "multipleOf")
    local m = want_number(C, R, msegs, s.multipleOf)
    if m and m <= 0 then
      cerr(C, R, msegs, "expected a number greater than 0, got " .. describe_schema_value(m))
    elseif m then
      local text = "expected a multiple of " .. fmtnum(m) .. ", got "
      push(node.number, function(x, _, st)
        if multiple_of(x, m) then return true end
        add(st, text .. fmtnum(x))
        return false
      end)
    end
  end
end

--- minLength, maxLength (in code points), pattern.
local function kw_string(C, node, s, R, segs)
  local minl = s.minLength ~= nil and want_count(C, R, at(segs, "minLength"), s.minLength)
  local maxl = s.maxLength ~= nil and want_count(C, R, at(segs, "maxLength"), s.maxLength)
  if minl or maxl then
    push(node.string, function(x, _, st)
      local n, bad = ulen(x)
      if not n then
        add(st, fmt("invalid UTF-8 at byte %d", bad))
        return false
      end
      if minl and n < minl then
        add(st, fmt("expected at least %s, got %s", plural(minl, "character"), fmtnum(n)))
        return false
      end
      if maxl and n > maxl then
        add(st, fmt("expected at most %s, got %s", plural(maxl, "character"), fmtnum(n)))
        return false
      end
      return true
    end)
  end
  if s.pattern ~= nil then
    local psegs = at(segs, "pattern")
    local pat = want_kind(C, R, psegs, s.pattern, "string", "a")
    local re = pat and compile_regex(C, R, psegs, pat)
    if re then
      local text = "does not match pattern " .. quote(pat, 60)
      push(node.string, function(x, _, st)
        local ok, msg = regex_test(re, x)
        if ok then return true end
        add(st, msg and "cannot match pattern " .. quote(pat, 60) .. ": " .. msg or text)
        return false
      end)
    end
  end
end

M.kw_type = kw_type
M.kw_enum_const = kw_enum_const
M.kw_number = kw_number
M.kw_string = kw_string

return M
