--- JSON Schema 2020-12 validation of workflow inputs.
--
-- `compile` turns a schema (as the loader produces it: objects are plain
-- tables, arrays carry `core.array_mt`, null is `core.null`) into a
-- validator once; `validator:validate(value)` then checks values against it
-- and reports every error (up to a bound) with the path of the offending
-- value. Pure Lua; runs on Lua 5.4 and LuaJIT.
--
-- Messages never echo the contents of input strings (they may be secrets);
-- numbers and booleans are shown.
-- @module arazzo.schema
local core = require "arazzo.core"

local M = {}

local type, pairs, ipairs, next, tostring, tonumber = type, pairs, ipairs, next, tostring, tonumber
local getmetatable, setmetatable, error = getmetatable, setmetatable, error
local floor, huge, fmod = math.floor, math.huge, math.fmod
local mtype, tointeger = math.type, math.tointeger
local fmt, byte, sub, find, gsub = string.format, string.byte, string.sub, string.find, string.gsub
local concat, sort = table.concat, table.sort
local null, array_mt, isarray = core.null, core.array_mt, core.isarray
local keys_of, getorder, setorder = core.keys, core.getorder, core.setorder
local rawlen = rawlen or function(t) return #t end -- luacheck: ignore
local utf8len = utf8 and utf8.len -- luacheck: ignore

local DEFAULT_MAX_ERRORS = 100
local DEFAULT_MAX_DEPTH = 100
-- Bound on nested schema evaluations for one value (in-place applicators
-- and $ref chains add levels without descending into the value).
local EVAL_LIMIT = 1000

---------------------------------------------------------------------------
-- Values: classification, description, canonical form
---------------------------------------------------------------------------

--- True when the number x is integral and finite (any subtype).
local function is_integral(x)
  if mtype and mtype(x) == "integer" then return true end
  return x == floor(x) and x - x == 0
end

--- Shortest text that reads back as the same number; floats keep a ".0" on
--- Lua 5.4 so they can be told from integers.
local function fmtnum(x)
  if mtype and mtype(x) == "integer" then return fmt("%d", x) end
  if x ~= x then return "nan" end
  if x == huge then return "inf" elseif x == -huge then return "-inf" end
  if not mtype and x == floor(x) and x > -2 ^ 53 and x < 2 ^ 53 then
    return fmt("%.0f", x)
  end
  local s
  for p = 15, 17 do
    s = fmt("%." .. p .. "g", x)
    if tonumber(s) == x then break end
  end
  if mtype and not find(s, "[%.eni]") then s = s .. ".0" end
  return s
end

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

--- JSON-style quoted string; limit (optional) truncates long strings.
local function quote(s, limit)
  local cut = ""
  if limit and #s > limit then s, cut = sub(s, 1, limit), "..." end
  s = gsub(s, '[%c"\\]', function(c)
    return ESCAPES[c] or fmt("\\u%04x", byte(c))
  end)
  return '"' .. s .. '"' .. cut
end

--- Describe a non-string table key for messages.
local function keydesc(k)
  if type(k) == "number" then return fmtnum(k) end
  if type(k) == "boolean" then return "boolean " .. tostring(k) end
  return type(k)
end

--- Classify a table: "array", "object", or nil plus the reason it is not
--- JSON (a non-string key in a table that is not an array).
local function classify_table(v)
  if getmetatable(v) == array_mt then return "array" end
  if rawlen(v) > 0 and isarray(v) then return "array" end
  for k in next, v do
    if type(k) ~= "string" then return nil, "table with non-string key " .. keydesc(k) end
  end
  return "object"
end

--- JSON kind of a Lua value: "null", "boolean", "integer", "number" (a
--- non-integral number), "string", "array", "object"; or nil plus a
--- description of the non-JSON value. cache (optional) memoises tables.
local function classify(v, cache)
  local tv = type(v)
  if tv == "string" then return "string" end
  if tv == "number" then
    if v - v ~= 0 then return nil, "float " .. fmtnum(v) end
    if is_integral(v) then return "integer" end
    return "number"
  end
  if tv == "table" then
    if cache then
      local k = cache[v]
      if k then return k end
      local kind, why = classify_table(v)
      if kind then cache[v] = kind end
      return kind, why
    end
    return classify_table(v)
  end
  if tv == "boolean" then return "boolean" end
  if v == null then return "null" end
  return nil, tv
end

--- Describe an input value of a known kind without revealing string text.
local function describe(v, kind)
  if kind == "integer" or kind == "number" then
    if kind == "number" or (mtype and mtype(v) == "float") then return "float " .. fmtnum(v) end
    return "integer " .. fmtnum(v)
  end
  if kind == "boolean" then return "boolean " .. tostring(v) end
  return kind
end

--- Render a schema value (not an input) compactly for messages.
local function render(v, depth)
  local kind = classify(v)
  if kind == "string" then return quote(v, 60) end
  if kind == "integer" or kind == "number" then return fmtnum(v) end
  if kind == "null" or kind == "boolean" then return tostring(kind == "null" and "null" or v) end
  if not kind then return tostring(v) end
  if (depth or 0) >= 2 then return kind == "array" and "[...]" or "{...}" end
  local parts = {}
  if kind == "array" then
    for i = 1, rawlen(v) do
      if i > 5 then parts[#parts + 1] = "..." break end
      parts[#parts + 1] = render(v[i], (depth or 0) + 1)
    end
    return "[" .. concat(parts, ", ") .. "]"
  end
  for i, k in ipairs(keys_of(v)) do
    if i > 5 then parts[#parts + 1] = "..." break end
    parts[#parts + 1] = quote(k, 60) .. ": " .. render(v[k], (depth or 0) + 1)
  end
  return "{" .. concat(parts, ", ") .. "}"
end

--- Describe any value found in a schema (strings shown) for compile errors.
local function describe_schema_value(v)
  local kind, why = classify(v)
  if not kind then return why end
  if kind == "string" then return "string " .. quote(v, 60) end
  if kind == "array" or kind == "object" or kind == "null" then return kind end
  return describe(v, kind)
end

--- Canonical number text: equal JSON numbers (1 and 1.0) give equal text.
local function numkey(x)
  if x == 0 then return "0" end
  if mtype and mtype(x) == "integer" then return fmt("%d", x) end
  if x == floor(x) then return fmt("%.0f", x) end
  return fmt("%.17g", x)
end

--- Append the canonical form of v to buffer b (self-delimiting, keys
--- sorted); JSON-equal values get equal forms. Returns true, or false plus
--- "deep" or a description of a value that is not JSON.
local function canon(v, b, depth)
  local kind, why = classify(v)
  local n = #b
  if kind == "string" then
    b[n + 1] = "s" .. #v .. ":"; b[n + 2] = v
  elseif kind == "integer" or kind == "number" then
    b[n + 1] = "n" .. numkey(v) .. ";"
  elseif kind == "boolean" then
    b[n + 1] = v and "t" or "f"
  elseif kind == "null" then
    b[n + 1] = "z"
  elseif not kind then
    return false, why
  elseif depth <= 0 then
    return false, "deep"
  elseif kind == "array" then
    local len = rawlen(v)
    b[n + 1] = "a" .. len .. "["
    for i = 1, len do
      local ok, err = canon(v[i], b, depth - 1)
      if not ok then return false, err end
    end
    b[#b + 1] = "]"
  else
    local ks = {}
    for k in next, v do ks[#ks + 1] = k end
    sort(ks)
    b[n + 1] = "o" .. #ks .. "{"
    for i = 1, #ks do
      local k = ks[i]
      b[#b + 1] = "s" .. #k .. ":"; b[#b + 1] = k
      local ok, err = canon(v[k], b, depth - 1)
      if not ok then return false, err end
    end
    b[#b + 1] = "}"
  end
  return true
end

--- Canonical string of v, or nil plus a message when v holds containers
--- more than `depth` levels down (the message names `limit`, the nesting
--- bound of the whole value) or a value that is not JSON.
local function canonical(v, depth, limit)
  local b = {}
  local ok, why = canon(v, b, depth)
  if ok then return concat(b) end
  if why == "deep" then return nil, fmt("value nested deeper than %d levels", limit) end
  return nil, "not a JSON value (" .. why .. ")"
end

---------------------------------------------------------------------------
-- Strings and numbers
---------------------------------------------------------------------------

--- Number of UTF-8 code points in s (strict: no overlongs, surrogates or
--- values above U+10FFFF), or nil plus the 1-based position of the first
--- bad byte. Used where the utf8 library is missing (LuaJIT).
local function utf8_count(s)
  local i, n, len = 1, 0, #s
  while i <= len do
    local c = byte(s, i)
    local need, min, cp
    if c < 0x80 then need, min, cp = 0, 0, c
    elseif c >= 0xC2 and c < 0xE0 then need, min, cp = 1, 0x80, c - 0xC0
    elseif c >= 0xE0 and c < 0xF0 then need, min, cp = 2, 0x800, c - 0xE0
    elseif c >= 0xF0 and c < 0xF5 then need, min, cp = 3, 0x10000, c - 0xF0
    else return nil, i end
    for j = 1, need do
      local d = byte(s, i + j)
      if not d or d < 0x80 or d > 0xBF then return nil, i end
      cp = cp * 64 + (d - 0x80)
    end
    if cp < min or cp > 0x10FFFF or (cp >= 0xD800 and cp <= 0xDFFF) then return nil, i end
    i, n = i + need + 1, n + 1
  end
  return n
end
local ulen = utf8len or utf8_count

--- Decimal digits and exponent of a finite non-zero number as written in
--- its shortest form: x == digits * 10^exp, digits without leading or
--- trailing zeros.
local function decimal(x)
  local s = gsub(fmtnum(x), "^%-", "")
  local mant, e = s:match("^([%d%.]+)[eE]([-+]?%d+)$")
  if not mant then mant, e = s, "0" end
  local int, frac = mant:match("^(%d*)%.?(%d*)$")
  local digits, exp = (int .. frac):gsub("^0+", ""), tonumber(e) - #frac
  local stripped = digits:gsub("0+$", "")
  return stripped, exp + (#digits - #stripped)
end

--- Remainder test: true when the decimal integer `a` (digit string)
--- followed by k zeros is divisible by the decimal integer `b`.
local function divides(b, a, k)
  local total = #a + k
  local function digit(i) return i <= #a and byte(a, i) - 48 or 0 end
  if #b <= 14 or (mtype and #b <= 17) then
    -- every intermediate stays below 10*b: exact in doubles up to 14
    -- digits, and in Lua 5.4 integers up to 17
    local m, r = mtype and tointeger(tonumber(b)) or tonumber(b), 0
    for i = 1, total do r = (r * 10 + digit(i)) % m end
    return r == 0
  end
  -- long division on digit arrays (LuaJIT with a 15+ digit divisor)
  local B, r = {}, {}
  for i = 1, #b do B[i] = byte(b, i) - 48 end
  local function ge()
    if #r ~= #B then return #r > #B end
    for i = 1, #r do if r[i] ~= B[i] then return r[i] > B[i] end end
    return true
  end
  for i = 1, total do
    if #r > 0 or digit(i) > 0 then r[#r + 1] = digit(i) end
    while ge() do
      local borrow, off = 0, #r - #B
      for j = #r, 1, -1 do
        local d = r[j] - (B[j - off] or 0) - borrow
        borrow = d < 0 and 1 or 0
        r[j] = d + 10 * borrow
      end
      while r[1] == 0 do table.remove(r, 1) end
    end
  end
  return #r == 0
end

--- True when v is an exact multiple of m (m > 0), comparing the decimal
--- values as written (so 19.99 is a multiple of 0.01).
local function multiple_of(v, m)
  if v == 0 then return true end
  if mtype and mtype(v) == "integer" and mtype(m) == "integer" then return v % m == 0 end
  if is_integral(v) and is_integral(m) and v > -2 ^ 53 and v < 2 ^ 53 and m < 2 ^ 53 then
    return fmod(v, m) == 0
  end
  local dv, ev = decimal(v)
  local dm, em = decimal(m)
  local k = ev - em
  if k < 0 then return false end -- dv has no factor 10 left to cancel
  return divides(dm, dv, k)
end

---------------------------------------------------------------------------
-- Paths and errors
---------------------------------------------------------------------------

--- Text of a path: prefix then `.key`, `["odd key"]` and `[index]` parts.
local function path_string(prefix, segs, n)
  local buf = { prefix }
  for i = 1, n or #segs do
    local s = segs[i]
    if type(s) == "number" then
      buf[#buf + 1] = fmt("[%d]", s)
    elseif find(s, "^[%w_%$%-]+$") then
      buf[#buf + 1] = (#buf == 1 and prefix == "") and s or "." .. s
    else
      buf[#buf + 1] = "[" .. quote(s) .. "]"
    end
  end
  return concat(buf)
end

--- Order for error lists: path segment by segment (indexes before keys,
--- indexes numerically, keys bytewise, parents first), then discovery order.
local function error_before(a, b)
  local sa, sb = a.segs, b.segs
  if a.ref ~= b.ref then return (a.ref or "") < (b.ref or "") end
  for i = 1, math.min(#sa, #sb) do
    local x, y = sa[i], sb[i]
    if x ~= y then
      local tx, ty = type(x), type(y)
      if tx ~= ty then return tx == "number" end
      return x < y
    end
  end
  if #sa ~= #sb then return #sa < #sb end
  return a.seq < b.seq
end

--- Sort raw errors and turn them into `{path =, message =}` records.
local function finish_errors(raw, prefix, truncated)
  sort(raw, error_before)
  local out = {}
  for i = 1, #raw do
    local e = raw[i]
    out[i] = { path = path_string(prefix, e.segs), message = e.message, ref = e.ref }
  end
  if truncated then out.truncated = true end
  return out
end

---------------------------------------------------------------------------
-- Validation engine
---------------------------------------------------------------------------

-- A validation state: path (shared segment stack), depth (its used
-- length), errs/n (collected errors), max (bound), stop (bound reached),
-- level (evaluation nesting), kinds (classification cache), maxdepth,
-- prefix.

--- Record an error at the current path (plus seg when given).
local function add(st, msg, seg)
  local n = st.n
  if n >= st.max then st.stop = true return end
  local segs, path = {}, st.path
  for i = 1, st.depth do segs[i] = path[i] end
  if seg ~= nil then segs[st.depth + 1] = seg end
  n = n + 1
  st.errs[n] = { segs = segs, message = msg, seq = n }
  st.n = n
  if n >= st.max then st.stop = true end
end

--- A state for a trial evaluation (anyOf, not, contains, ...): shares the
--- path and cache, stops at the first error.
local function trial(st)
  return {
    path = st.path, depth = st.depth, errs = {}, n = 0, max = 1, stop = false,
    level = st.level, kinds = st.kinds, maxdepth = st.maxdepth, prefix = st.prefix,
  }
end

local run -- forward: run(node, value, state) -> boolean

--- Validate x, the member `seg` of the current value, against node.
local function child(node, x, seg, st)
  local d = st.depth + 1
  if d > st.maxdepth then
    add(st, fmt("value nested deeper than %d levels", st.maxdepth), seg)
    return false
  end
  st.path[d] = seg
  st.depth = d
  local ok = run(node, x, st)
  st.depth = d - 1
  return ok
end

--- Apply node to value v. A node is {bool = true|false} or holds check
--- lists `any` (every kind) and per kind (`object`, `array`, `string`,
--- `number`, `integer`); a check is f(v, kind, st) -> boolean.
function run(node, v, st)
  local kind, why = classify(v, st.kinds)
  if not kind then
    add(st, why == "nil" and "value is missing (nil)" or "not a JSON value (" .. why .. ")")
    return false
  end
  local b = node.bool
  if b ~= nil then
    if b then return true end
    add(st, "no value is allowed here (false schema)")
    return false
  end
  local level = st.level + 1
  if level > EVAL_LIMIT then
    add(st, fmt("schema evaluation nested deeper than %d levels", EVAL_LIMIT))
    return false
  end
  st.level = level
  local ok = true
  local list = node.any
  for i = 1, #list do
    if not list[i](v, kind, st) then
      ok = false
      if st.stop then break end
    end
  end
  list = node[kind]
  if list and not st.stop then
    for i = 1, #list do
      if not list[i](v, kind, st) then
        ok = false
        if st.stop then break end
      end
    end
  end
  st.level = level - 1
  return ok
end

--- First error of a trial state as "path: message" (path omitted when it
--- is the value being tested).
local function trial_summary(t, st)
  local e = t.errs[1]
  if not e then return "no details" end
  if #e.segs == st.depth then return e.message end
  return path_string(st.prefix, e.segs) .. ": " .. e.message
end

---------------------------------------------------------------------------
-- Compiler
---------------------------------------------------------------------------

local TRUE_NODE = { bool = true }
local FALSE_NODE = { bool = false }
local EMPTY = {}

local TYPE_NAMES = { "null", "boolean", "object", "array", "number", "integer", "string" }
local TYPE_SET = {}
for _, t in ipairs(TYPE_NAMES) do TYPE_SET[t] = true end

-- Keywords that this implementation refuses rather than silently ignoring
-- an assertion the schema author relies on.
local UNSUPPORTED = {
  unevaluatedProperties = "unevaluatedProperties is not supported",
  unevaluatedItems = "unevaluatedItems is not supported",
  ["$dynamicRef"] = "$dynamicRef is not supported",
  ["$recursiveRef"] = "$recursiveRef is not a 2020-12 keyword and is not supported",
  dependencies = "dependencies is not a 2020-12 keyword (use dependentRequired or dependentSchemas)",
  additionalItems = "additionalItems is not a 2020-12 keyword (use prefixItems and items)",
}

local STRING_ANNOTATIONS = {
  "title", "description", "$comment", "$schema", "$id", "format", "$anchor", "$dynamicAnchor",
}
local BOOLEAN_ANNOTATIONS = { "deprecated", "readOnly", "writeOnly" }

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

local compile_schema -- forward

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

---------------------------------------------------------------------------
-- Keyword compilers: arrays
---------------------------------------------------------------------------

--- prefixItems and items.
local function kw_items(C, node, s, R, segs, depth)
  local prefix = s.prefixItems ~= nil and schema_array(C, s, "prefixItems", R, segs, depth) or nil
  local items
  if classify(s.items) == "array" then
    cerr(C, R, at(segs, "items"),
      "expected a schema (object or boolean), got array (2020-12 writes tuples as prefixItems)")
  elseif s.items ~= nil then
    items = sub_schema(C, s, "items", R, segs, depth)
  end
  node.prefix, node.items = prefix, items
  if not prefix and not items then return end
  local np = prefix and #prefix or 0
  push(node.array, function(x, _, st)
    local ok = true
    for i = 1, rawlen(x) do
      local sn = i <= np and prefix[i] or items
      if not sn then break end
      if sn.bool == false and i > np then
        add(st, np > 0 and fmt("no items allowed beyond the %s of prefixItems", plural(np, "item"))
          or "no items allowed (items is false)", i - 1)
        ok = false
      elseif not child(sn, x[i], i - 1, st) then
        ok = false
      end
      if st.stop then return false end
    end
    return ok
  end)
end

--- contains, minContains, maxContains.
local function kw_contains(C, node, s, R, segs, depth)
  local minc = s.minContains ~= nil and want_count(C, R, at(segs, "minContains"), s.minContains)
  local maxc = s.maxContains ~= nil and want_count(C, R, at(segs, "maxContains"), s.maxContains)
  if s.contains == nil then return end
  local cn = sub_schema(C, s, "contains", R, segs, depth)
  minc = minc or 1
  push(node.array, function(x, _, st)
    local count = 0
    for i = 1, rawlen(x) do
      local t = trial(st)
      if child(cn, x[i], i - 1, t) then
        count = count + 1
        if not maxc and count >= minc then return true end
      end
    end
    if count < minc then
      add(st, fmt("expected at least %s matching contains, got %s", plural(minc, "item"), fmtnum(count)))
      return false
    end
    if maxc and count > maxc then
      add(st, fmt("expected at most %s matching contains, got %s", plural(maxc, "item"), fmtnum(count)))
      return false
    end
    return true
  end)
end

--- minItems, maxItems, uniqueItems.
local function kw_array_size(C, node, s, R, segs)
  local mini = s.minItems ~= nil and want_count(C, R, at(segs, "minItems"), s.minItems)
  local maxi = s.maxItems ~= nil and want_count(C, R, at(segs, "maxItems"), s.maxItems)
  if mini or maxi then
    push(node.array, function(x, _, st)
      local n = rawlen(x)
      if mini and n < mini then
        add(st, fmt("expected at least %s, got %s", plural(mini, "item"), fmtnum(n)))
        return false
      end
      if maxi and n > maxi then
        add(st, fmt("expected at most %s, got %s", plural(maxi, "item"), fmtnum(n)))
        return false
      end
      return true
    end)
  end
  local uniq = s.uniqueItems ~= nil and want_kind(C, R, at(segs, "uniqueItems"), s.uniqueItems, "boolean", "a")
  if uniq then
    push(node.array, function(x, _, st)
      local seen, ok = {}, true
      for i = 1, rawlen(x) do
        local c, why = canonical(x[i], st.maxdepth - st.depth - 1, st.maxdepth)
        local j = c and seen[c]
        if not c then
          add(st, why, i - 1)
          ok = false
        elseif j then
          add(st, fmt("items [%d] and [%d] are equal", j - 1, i - 1))
          ok = false
        else
          seen[c] = i
        end
        if st.stop then return false end
      end
      return ok
    end)
  end
end

---------------------------------------------------------------------------
-- Keyword compilers: objects
---------------------------------------------------------------------------

--- properties, patternProperties, additionalProperties (one check, since
--- additionalProperties depends on the other two).
local function kw_properties(C, node, s, R, segs, depth)
  local props = s.properties ~= nil and schema_map(C, s, "properties", R, segs, depth) or nil
  local pats
  if s.patternProperties ~= nil then
    local list = schema_map(C, s, "patternProperties", R, segs, depth)
    if list then
      pats = {}
      for _, p in ipairs(list) do
        local re = compile_regex(C, R, at(segs, "patternProperties", p[1]), p[1])
        if re then pats[#pats + 1] = { re = re, node = p[2], pat = p[1] } end
      end
    end
  end
  local addl = s.additionalProperties ~= nil and sub_schema(C, s, "additionalProperties", R, segs, depth) or nil
  node.props, node.pats, node.addl = props, pats, addl
  if not (props or pats or addl) then return end
  local named = {}
  for _, p in ipairs(props or EMPTY) do named[p[1]] = true end
  node.named = named
  local np = props and #props or 0
  push(node.object, function(x, _, st)
    local ok = true
    for i = 1, np do
      local p = props[i]
      local v = x[p[1]]
      if v ~= nil and not child(p[2], v, p[1], st) then
        ok = false
        if st.stop then return false end
      end
    end
    if not (pats or addl) then return ok end
    for _, key in ipairs(keys_of(x)) do
      local matched = named[key] or false
      for j = 1, pats and #pats or 0 do
        local pm, msg = regex_test(pats[j].re, key)
        if msg then
          add(st, "cannot match pattern " .. quote(pats[j].pat, 60) .. ": " .. msg, key)
          ok = false
        elseif pm then
          matched = true
          if not child(pats[j].node, x[key], key, st) then ok = false end
        end
      end
      if not matched and addl then
        if addl.bool == false then
          add(st, "additional property is not allowed", key)
          ok = false
        elseif not child(addl, x[key], key, st) then
          ok = false
        end
      end
      if st.stop then return false end
    end
    return ok
  end)
end

--- required, dependentRequired.
local function kw_required(C, node, s, R, segs)
  local req = s.required ~= nil and want_strings(C, R, at(segs, "required"), s.required)
  if req and rawlen(req) > 0 then
    push(node.object, function(x, _, st)
      local ok = true
      for i = 1, rawlen(req) do
        if x[req[i]] == nil then
          add(st, "required property is missing", req[i])
          ok = false
        end
      end
      return ok
    end)
  end
  if s.dependentRequired == nil then return end
  local dsegs = at(segs, "dependentRequired")
  if classify(s.dependentRequired) ~= "object" then
    cerr(C, R, dsegs, "expected an object of string arrays, got " .. describe_schema_value(s.dependentRequired))
    return
  end
  local deps = {}
  for _, name in ipairs(keys_of(s.dependentRequired)) do
    local list = want_strings(C, R, at(dsegs, name), s.dependentRequired[name])
    if list then
      local msg = "required property is missing (required when " .. quote(name, 60) .. " is present)"
      deps[#deps + 1] = { name, list, msg }
    end
  end
  push(node.object, function(x, _, st)
    local ok = true
    for _, d in ipairs(deps) do
      if x[d[1]] ~= nil then
        for _, r in ipairs(d[2]) do
          if x[r] == nil then add(st, d[3], r) ok = false end
        end
      end
    end
    return ok
  end)
end

--- propertyNames, minProperties, maxProperties, dependentSchemas.
local function kw_object_misc(C, node, s, R, segs, depth)
  if s.propertyNames ~= nil then
    local pn = sub_schema(C, s, "propertyNames", R, segs, depth)
    push(node.object, function(x, _, st)
      local ok = true
      for _, key in ipairs(keys_of(x)) do
        local t = trial(st)
        if not run(pn, key, t) then
          add(st, "invalid property name: " .. trial_summary(t, st), key)
          ok = false
          if st.stop then return false end
        end
      end
      return ok
    end)
  end
  local minp = s.minProperties ~= nil and want_count(C, R, at(segs, "minProperties"), s.minProperties)
  local maxp = s.maxProperties ~= nil and want_count(C, R, at(segs, "maxProperties"), s.maxProperties)
  if minp or maxp then
    push(node.object, function(x, _, st)
      local n = 0
      for _ in next, x do n = n + 1 end
      if minp and n < minp then
        add(st, fmt("expected at least %s %s, got %s", fmtnum(minp), props_word(minp), fmtnum(n)))
        return false
      end
      if maxp and n > maxp then
        add(st, fmt("expected at most %s %s, got %s", fmtnum(maxp), props_word(maxp), fmtnum(n)))
        return false
      end
      return true
    end)
  end
  local deps = s.dependentSchemas ~= nil and schema_map(C, s, "dependentSchemas", R, segs, depth)
  if deps then
    for _, d in ipairs(deps) do node.inplace[#node.inplace + 1] = d[2] end
    push(node.object, function(x, _, st)
      local ok = true
      for _, d in ipairs(deps) do
        if x[d[1]] ~= nil and not run(d[2], x, st) then ok = false end
      end
      return ok
    end)
  end
end

---------------------------------------------------------------------------
-- Keyword compilers: applicators and references
---------------------------------------------------------------------------

--- allOf, anyOf, oneOf, not.
local function kw_logic(C, node, s, R, segs, depth)
  local function edges(list) for _, n in ipairs(list) do node.inplace[#node.inplace + 1] = n end end
  local all = s.allOf ~= nil and schema_array(C, s, "allOf", R, segs, depth)
  if all then
    edges(all)
    node.allof = all
    push(node.any, function(x, _, st)
      local ok = true
      for i = 1, #all do
        if not run(all[i], x, st) then ok = false if st.stop then return false end end
      end
      return ok
    end)
  end
  for _, key in ipairs({ "anyOf", "oneOf" }) do
    local list = s[key] ~= nil and schema_array(C, s, key, R, segs, depth)
    if list then
      edges(list)
      local one = key == "oneOf"
      push(node.any, function(x, _, st)
        local passed, why = {}, {}
        for i = 1, #list do
          local t = trial(st)
          if run(list[i], x, t) then
            passed[#passed + 1] = fmt("%s[%d]", key, i - 1)
            if not one then return true end
          else
            why[#why + 1] = fmt("%s[%d]: %s", key, i - 1, trial_summary(t, st))
          end
        end
        if #passed == 1 then return true end
        if #passed == 0 then
          add(st, fmt("matches none of the %s schemas (%s)", key, concat(why, "; ")))
        else
          add(st, fmt("matches more than one of the oneOf schemas (%s)", concat(passed, ", ")))
        end
        return false
      end)
    end
  end
  if s["not"] ~= nil then
    local nn = sub_schema(C, s, "not", R, segs, depth)
    edges({ nn })
    push(node.any, function(x, _, st)
      if not run(nn, x, trial(st)) then return true end
      add(st, "must not match the schema in not")
      return false
    end)
  end
end

--- if, then, else.
local function kw_conditional(C, node, s, R, segs, depth)
  local i = s["if"] ~= nil and sub_schema(C, s, "if", R, segs, depth) or nil
  local th = s["then"] ~= nil and sub_schema(C, s, "then", R, segs, depth) or nil
  local el = s["else"] ~= nil and sub_schema(C, s, "else", R, segs, depth) or nil
  if not i or not (th or el) then return end
  node.inplace[#node.inplace + 1] = i
  node.inplace[#node.inplace + 1] = th
  node.inplace[#node.inplace + 1] = el
  push(node.any, function(x, _, st)
    if run(i, x, trial(st)) then
      return not th or run(th, x, st)
    end
    return not el or run(el, x, st)
  end)
end

--- $ref: resolved after the whole tree is compiled (see resolve_pending),
--- so recursive schemas and forward references work.
local function kw_ref(C, node, s, R, segs)
  local rsegs = at(segs, "$ref")
  local ref = want_kind(C, R, rsegs, s["$ref"], "string", "a")
  if not ref then return end
  if C.embedded > 0 and sub(ref, 1, 1) == "#" then
    -- 2020-12 resolves it against the enclosing subschema with $id, which
    -- this implementation does not track: refuse rather than guess
    cerr(C, R, rsegs, "$ref " .. quote(ref, 80) .. " inside a subschema with its own $id is not supported")
    return
  end
  local holder = { node = TRUE_NODE }
  node.ref = holder
  node.inplace[#node.inplace + 1] = holder
  C.pending[#C.pending + 1] = { holder = holder, ref = ref, R = R, segs = rsegs }
  push(node.any, function(x, _, st) return run(holder.node, x, st) end)
end

--- Annotations are not asserted, but their values must have their types;
--- refused keywords are reported; $defs are compiled for their errors.
local function kw_annotations(C, node, s, R, segs, depth)
  for _, key in ipairs(STRING_ANNOTATIONS) do
    if s[key] ~= nil then want_kind(C, R, at(segs, key), s[key], "string", "a") end
  end
  for _, key in ipairs(BOOLEAN_ANNOTATIONS) do
    if s[key] ~= nil then want_kind(C, R, at(segs, key), s[key], "boolean", "a") end
  end
  if s.examples ~= nil then want_kind(C, R, at(segs, "examples"), s.examples, "array", "an") end
  for _, key in ipairs({ "$anchor", "$dynamicAnchor" }) do
    local name = s[key]
    if type(name) == "string" then
      if not find(name, "^[A-Za-z_][%w%-%._]*$") then
        cerr(C, R, at(segs, key), "invalid anchor name " .. quote(name, 60))
      elseif R.anchors[name] and R.anchors[name].tbl ~= s then
        cerr(C, R, at(segs, key), "duplicate anchor " .. quote(name, 60))
      else
        R.anchors[name] = { tbl = s, segs = segs }
      end
    end
  end
  for key, msg in pairs(UNSUPPORTED) do
    if s[key] ~= nil then cerr(C, R, at(segs, key), msg) end
  end
  if s["$defs"] ~= nil then schema_map(C, s, "$defs", R, segs, depth) end
  if s.default ~= nil then node.has_default, node.default = true, s.default end
end

--- Compile schema s found at segs under root record R. Returns its node
--- (nodes are cached per root and table, so shared and recursive schemas
--- compile once). Errors go to C.errs; a broken schema compiles to a
--- placeholder so compilation can continue and report more.
function compile_schema(C, s, R, segs, depth)
  if s == true then return TRUE_NODE elseif s == false then return FALSE_NODE end
  local kind = classify(s)
  if kind ~= "object" then
    cerr(C, R, segs, "expected a schema (object or boolean), got " .. describe_schema_value(s))
    return TRUE_NODE
  end
  local node = R.nodes[s]
  if node then return node end
  if depth > C.maxdepth then
    cerr(C, R, segs, fmt("schema nested deeper than %d levels", C.maxdepth))
    return TRUE_NODE
  end
  node = { any = {}, object = {}, array = {}, string = {}, number = {}, inplace = {}, segs = segs, R = R }
  node.integer = node.number
  R.nodes[s] = node
  local embedded = depth > 0 and type(s["$id"]) == "string"
  if embedded then C.embedded = C.embedded + 1 end
  kw_annotations(C, node, s, R, segs, depth)
  if s.type ~= nil then kw_type(C, node, s, R, segs) end
  kw_enum_const(C, node, s, R, segs)
  if s["$ref"] ~= nil then kw_ref(C, node, s, R, segs) end
  kw_logic(C, node, s, R, segs, depth)
  kw_conditional(C, node, s, R, segs, depth)
  kw_number(C, node, s, R, segs)
  kw_string(C, node, s, R, segs)
  kw_items(C, node, s, R, segs, depth)
  kw_contains(C, node, s, R, segs, depth)
  kw_array_size(C, node, s, R, segs)
  kw_required(C, node, s, R, segs)
  kw_properties(C, node, s, R, segs, depth)
  kw_object_misc(C, node, s, R, segs, depth)
  if embedded then C.embedded = C.embedded - 1 end
  return node
end

---------------------------------------------------------------------------
-- Reference resolution and cycle detection
---------------------------------------------------------------------------

--- Percent-decode a URI fragment; nil on a malformed escape.
local function percent_decode(s)
  if find(s, "%%%x?[^%x]") or find(s, "%%%x?$") then return nil end
  return (gsub(s, "%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

--- Walk JSON pointer `frag` ("/a/b") through root table t. Returns the
--- target and its segments, or nil plus nil (not found) or a syntax error.
local function walk_pointer(t, frag)
  local toks = {}
  for raw in (sub(frag, 2) .. "/"):gmatch("([^/]*)/") do
    if find(raw, "~[^01]") or find(raw, "~$") then
      return nil, "invalid escape in JSON pointer token " .. quote(raw, 60)
    end
    toks[#toks + 1] = gsub(gsub(raw, "~1", "/"), "~0", "~")
  end
  local cur, segs = t, {}
  for _, tok in ipairs(toks) do
    -- only the container kind matters here: no full key scan per step
    local kind = type(cur) == "table" and
      ((getmetatable(cur) == array_mt or (rawlen(cur) > 0 and isarray(cur))) and "array" or "object")
    if kind == "array" then
      local idx = find(tok, "^0$") and 0 or (find(tok, "^[1-9]%d*$") and #tok < 16 and tonumber(tok))
      if not idx then return nil end
      cur, segs[#segs + 1] = cur[idx + 1], idx
    elseif kind == "object" then
      cur, segs[#segs + 1] = cur[tok], tok
    else
      return nil
    end
    if cur == nil then return nil end
  end
  return cur, segs
end

--- Find the schema a $ref names: local pointer or anchor in R first, then
--- opts.resolve. Returns target, root record, segments; or nil, message.
local function locate(C, ref, R)
  local why
  if sub(ref, 1, 1) == "#" then
    local frag = percent_decode(sub(ref, 2))
    if not frag then return nil, "invalid percent-encoding in $ref " .. quote(ref, 80) end
    if frag == "" then return R.tbl, R, {} end
    if sub(frag, 1, 1) == "/" then
      local target, segs = walk_pointer(R.tbl, frag)
      if target ~= nil then return target, R, segs end
      if segs then return nil, segs .. " in $ref " .. quote(ref, 80) end
    elseif R.anchors[frag] then
      return R.anchors[frag].tbl, R, R.anchors[frag].segs
    end
  end
  local resolve = C.resolve
  if resolve then
    local R2 = C.resolved[ref]
    if R2 then return R2.tbl, R2, {} end
    local target, msg = resolve(ref)
    if target ~= nil then
      R2 = { tbl = target, ref = ref, nodes = {}, anchors = {} }
      C.resolved[ref] = R2
      return target, R2, {}
    end
    why = msg
  end
  return nil, "unresolved $ref " .. quote(ref, 80) .. (why and ": " .. tostring(why) or "")
end

--- Resolve queued $refs (compiling their targets may queue more).
local function resolve_pending(C)
  local i = 1
  while C.pending[i] do
    local p = C.pending[i]
    local target, R2, segs = locate(C, p.ref, p.R)
    if target == nil then
      cerr(C, p.R, p.segs, R2)
    else
      local kind = classify(target)
      if kind ~= "object" and kind ~= "boolean" then
        cerr(C, p.R, p.segs,
          fmt("$ref %s does not point to a schema (%s)", quote(p.ref, 80), describe_schema_value(target)))
      else
        p.holder.node = compile_schema(C, target, R2, segs, 0)
      end
    end
    i = i + 1
  end
end

--- Readable location of a node for cycle messages.
local function node_where(n)
  local p = path_string("", n.segs)
  if n.R.ref then return n.R.ref .. (p ~= "" and " " .. p or "") end
  return p ~= "" and p or "(root)"
end

--- Report the cycle that closes at node m (on the DFS stack).
local function report_cycle(C, stack, m)
  local names, from = {}, nil
  for k = 1, #stack do
    if stack[k] == m then from = k end
    if from then names[#names + 1] = node_where(stack[k]) end
  end
  names[#names + 1] = node_where(m)
  cerr(C, m.R, m.segs, "$ref cycle without progress: " .. concat(names, " -> "))
end

--- Check the graph of in-place applicators ($ref, allOf, anyOf, oneOf,
--- not, if/then/else, dependentSchemas), whose edges never descend into
--- the value: a cycle would never end, and a chain longer than the
--- evaluation bound could never validate anything. Iterative depth-first
--- search, so long chains cannot overflow the Lua stack.
local function check_inplace(C, nodes)
  local color, height, worst = {}, {}, nil
  for _, start in ipairs(nodes) do
    if not color[start] then
      local stack, next_edge = { start }, { 0 }
      color[start] = 1
      while #stack > 0 do
        local top = #stack
        local n = stack[top]
        local i = next_edge[top] + 1
        next_edge[top] = i
        local e = n.inplace[i]
        if e == nil then
          local h = 0
          for _, f in ipairs(n.inplace) do h = math.max(h, height[f.node or f] or 0) end
          height[n] = h + 1
          if height[n] > EVAL_LIMIT and (not worst or height[n] > height[worst]) then worst = n end
          color[n] = 2
          stack[top], next_edge[top] = nil, nil
        else
          local m = e.node or e
          if m.inplace and color[m] == 1 then
            report_cycle(C, stack, m)
          elseif m.inplace and not color[m] then
            color[m] = 1
            stack[top + 1], next_edge[top + 1] = m, 0
          end
        end
      end
    end
  end
  if worst then
    cerr(C, worst.R, worst.segs, fmt("chain of $ref and in-place applicators longer than %d levels", EVAL_LIMIT))
  end
end

---------------------------------------------------------------------------
-- Defaults
---------------------------------------------------------------------------

--- Deep copy of a JSON value keeping array marks and key order. Returns
--- nil plus a message when nested deeper than maxdepth.
local function deep_copy(v, depth)
  if type(v) ~= "table" then return v end
  if depth <= 0 then return nil, "too deep" end
  local out = {}
  for k, x in next, v do
    local c, err = deep_copy(x, depth - 1)
    if err then return nil, err end
    out[k] = c
  end
  if getmetatable(v) == array_mt then setmetatable(out, array_mt) end
  local order = getorder(v)
  if order then
    local o = {}
    for i = 1, #order do o[i] = order[i] end
    setorder(out, o)
  end
  return out
end

--- The default a node declares, directly or through $ref / allOf.
local function node_default(n, hops)
  if hops > EVAL_LIMIT or n.bool ~= nil then return false end
  if n.has_default then return true, n.default end
  if n.ref then
    local ok, d = node_default(n.ref.node, hops + 1)
    if ok then return ok, d end
  end
  for _, a in ipairs(n.allof or EMPTY) do
    local ok, d = node_default(a, hops + 1)
    if ok then return ok, d end
  end
  return false
end

local fill -- forward

--- Fill defaults of object x (a copy we own) from node n's properties,
--- then descend into every property a subschema applies to.
local function fill_object(n, x, depth, F)
  for _, p in ipairs(n.props or EMPTY) do
    local name, pn = p[1], p[2]
    if x[name] == nil then
      local has, d = node_default(pn, 0)
      if has then
        local c, err = deep_copy(d, F.maxdepth - depth)
        if err then return nil, fmt("value nested deeper than %d levels", F.maxdepth) end
        x[name] = c
        local order = getorder(x)
        if order then order[#order + 1] = name end
      end
    end
    if x[name] ~= nil then
      local ok, err = fill(pn, x[name], depth + 1, F)
      if not ok then return nil, err end
    end
  end
  if not (n.pats or n.addl) then return true end
  for _, key in ipairs(keys_of(x)) do
    local matched = n.named[key] or false
    for _, pt in ipairs(n.pats or EMPTY) do
      if regex_test(pt.re, key) then
        matched = true
        local ok, err = fill(pt.node, x[key], depth + 1, F)
        if not ok then return nil, err end
      end
    end
    if not matched and n.addl then
      local ok, err = fill(n.addl, x[key], depth + 1, F)
      if not ok then return nil, err end
    end
  end
  return true
end

--- Apply node n's defaults inside value x (in place; x is our copy) at
--- value depth `depth`. F = {maxdepth =, level =} bounds the recursion as
--- validation does. Returns true or nil, message.
function fill(n, x, depth, F)
  if n.bool ~= nil or type(x) ~= "table" then return true end
  if depth > F.maxdepth then return nil, fmt("value nested deeper than %d levels", F.maxdepth) end
  if F.level >= EVAL_LIMIT then return nil, fmt("schema evaluation nested deeper than %d levels", EVAL_LIMIT) end
  F.level = F.level + 1
  local kind = classify(x)
  local ok, err = true, nil
  if kind == "object" then
    ok, err = fill_object(n, x, depth, F)
  elseif kind == "array" then
    local np = n.prefix and #n.prefix or 0
    for i = 1, rawlen(x) do
      local sn = i <= np and n.prefix[i] or n.items
      if sn then ok, err = fill(sn, x[i], depth + 1, F) end
      if not ok then break end
    end
  end
  if ok and n.ref then ok, err = fill(n.ref.node, x, depth, F) end
  for _, a in ipairs(ok and n.allof or EMPTY) do
    ok, err = fill(a, x, depth, F)
    if not ok then break end
  end
  F.level = F.level - 1
  if not ok then return nil, err end
  return true
end

---------------------------------------------------------------------------
-- Public API
---------------------------------------------------------------------------

local Validator = {}
Validator.__index = Validator
Validator.__name = "arazzo.schema.Validator"

local function check_self(self, name)
  if getmetatable(self) ~= Validator then
    error(fmt("bad self to '%s' (arazzo.schema.Validator expected, got %s)", name, type(self)), 3)
  end
end

--- Validate a value.
-- Every error is collected (up to `max_errors`), sorted by path.
-- A Lua value that is not JSON (nil, a function, a NaN, a table with
-- non-string keys that is not an array) fails wherever a schema reaches it.
-- @param value the value (inputs as the runner received them)
-- @return `true`, or `false, errors`: a list of `{path = "inputs.items[0].price",
-- message = "expected integer, got float 12.5"}`; `errors.truncated` is
-- true when the list reached `max_errors` and validation stopped there
function Validator:validate(value)
  check_self(self, "validate")
  local st = {
    path = {}, depth = 0, errs = {}, n = 0, max = self.max_errors, stop = false,
    level = 0, kinds = {}, maxdepth = self.max_depth, prefix = self.prefix,
  }
  if run(self.root, value, st) then return true end
  return false, finish_errors(st.errs, self.prefix, st.stop)
end

--- Fill in defaults.
-- Returns a deep copy of `value` (array marks and key order kept) where
-- every absent property whose schema (under `properties`, directly or
-- through `$ref`/`allOf`) has a `default` gets a copy of that default,
-- appended to the recorded key order. Defaults are applied through
-- properties, patternProperties, additionalProperties, prefixItems, items,
-- `$ref` and `allOf`; never through anyOf/oneOf/not/if (which branch
-- applies is not known before validation). The default values themselves
-- are not validated; call `validate` on the result.
-- @param value the inputs (nil: the root schema's default, if any)
-- @return the copy, or `nil, message` when the value is nested deeper than
-- `max_depth` (or the schema evaluation bound is reached)
function Validator:defaults(value)
  check_self(self, "defaults")
  if value == nil then
    local has, d = node_default(self.root, 0)
    if not has then return nil end
    value = d
  end
  local copy, err = deep_copy(value, self.max_depth)
  if err then return nil, fmt("%s: value nested deeper than %d levels", self.prefix, self.max_depth) end
  local ok
  ok, err = fill(self.root, copy, 0, { maxdepth = self.max_depth, level = 0 })
  if not ok then return nil, self.prefix .. ": " .. err end
  return copy
end

local OPTIONS = {
  resolve = "function", regex = "function", path = "string", max_errors = "number", max_depth = "number",
}

local function check_opts(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error("bad argument #2 to 'compile' (table expected, got " .. type(opts) .. ")", 3)
  end
  for k, v in pairs(opts) do
    local want = OPTIONS[k]
    if not want then error("bad argument #2 to 'compile' (unknown option '" .. tostring(k) .. "')", 3) end
    if type(v) ~= want then
      error(fmt("bad argument #2 to 'compile' (option '%s': %s expected, got %s)", k, want, type(v)), 3)
    end
    if want == "number" and not (is_integral(v) and v >= 1) then
      error(fmt("bad argument #2 to 'compile' (option '%s': positive integer expected)", k), 3)
    end
    if k == "max_depth" and v > EVAL_LIMIT then
      error(fmt("bad argument #2 to 'compile' (option 'max_depth': at most %d)", EVAL_LIMIT), 3)
    end
  end
  return opts
end

--- Compile a JSON Schema 2020-12 document.
-- @param s the schema as loaded (a table or a boolean)
-- @param opts optional table:
--   `resolve(ref)` -> schema | nil, message: resolves `$ref`s that are not
--   local to the schema (a `#/...` pointer is tried against the schema root
--   first, then given to resolve);
--   `regex(pattern)` -> object with `:test(s)` -> boolean (unanchored
--   search) | nil, message; without it `pattern` and `patternProperties`
--   are compile errors ("no regex engine");
--   `path` prefix of validation error paths (default "inputs");
--   `max_errors` (default 100); `max_depth` nesting bound for schemas and
--   values (default 100).
-- @return a validator, or `nil, errors`: a list of `{path = "properties.amount.type",
-- message = "..."}` sorted by path, where path is relative to the schema
-- root, or to the resolved schema named by the error's `ref` field
function M.compile(s, opts)
  if s == nil then error("bad argument #1 to 'compile' (schema expected, got no value)", 2) end
  opts = check_opts(opts)
  local C = {
    errs = {}, max = opts.max_errors or DEFAULT_MAX_ERRORS, maxdepth = opts.max_depth or DEFAULT_MAX_DEPTH,
    regex = opts.regex, resolve = opts.resolve, regexes = {}, resolved = {}, pending = {}, embedded = 0,
  }
  local R = { tbl = s, nodes = {}, anchors = {} }
  local root = compile_schema(C, s, R, {}, 0)
  resolve_pending(C)
  local all = {}
  for _, n in pairs(R.nodes) do all[#all + 1] = n end
  for _, rec in pairs(C.resolved) do for _, n in pairs(rec.nodes) do all[#all + 1] = n end end
  -- a fixed visiting order makes cycle reports deterministic
  local key = {}
  for _, n in ipairs(all) do key[n] = (n.R.ref or "") .. "\0" .. path_string("", n.segs) end
  sort(all, function(a, b) return key[a] < key[b] end)
  check_inplace(C, all)
  if #C.errs > 0 then return nil, finish_errors(C.errs, "", C.truncated) end
  return setmetatable({
    root = root, prefix = opts.path or "inputs",
    max_errors = opts.max_errors or DEFAULT_MAX_ERRORS, max_depth = opts.max_depth or DEFAULT_MAX_DEPTH,
  }, Validator)
end

-- exposed for tests
M._multiple_of = multiple_of
M._utf8_count = utf8_count

return M
