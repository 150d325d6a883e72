--- JSON values for arazzo.schema: classification, descriptions, canonical form, numbers.
-- Licence: MIT (see LICENSE).
-- @module arazzo.schema.value
local core = require "arazzo.core"

local M = {}

local type, ipairs, next, tostring, tonumber = type, ipairs, next, tostring, tonumber
local getmetatable = getmetatable
local floor, huge, fmod = math.floor, math.huge, math.fmod
local mtype, tointeger = math.type, math.tointeger
local fmt, byte, sub, find, gsub = string.format, string.byte, string.sub, string.find, string.gsub
local concat, sort = table.concat, table.sort
local null, array_mt, isarray = core.null, core.array_mt, core.isarray
local keys_of = core.keys
local rawlen = rawlen or function(t) return #t end -- luacheck: ignore
local utf8len = utf8 and utf8.len -- luacheck: ignore

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

M.is_integral = is_integral
M.fmtnum = fmtnum
M.quote = quote
M.classify = classify
M.describe = describe
M.render = render
M.describe_schema_value = describe_schema_value
M.canonical = canonical
M.utf8_count = utf8_count
M.ulen = ulen
M.multiple_of = multiple_of

return M
