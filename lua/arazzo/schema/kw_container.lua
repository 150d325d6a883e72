--- arazzo.schema keyword compilers for arrays and objects.
-- Licence: MIT (see LICENSE).
-- @module arazzo.schema.kw_container
local core = require "arazzo.core"
local values = require "arazzo.schema.value"
local classify = values.classify
local describe_schema_value = values.describe_schema_value
local canonical = values.canonical
local fmtnum = values.fmtnum
local quote = values.quote
local engine = require "arazzo.schema.engine"
local add = engine.add
local child = engine.child
local run = engine.run
local trial = engine.trial
local trial_summary = engine.trial_summary
local support = require "arazzo.schema.support"
local EMPTY = support.EMPTY
local at = support.at
local cerr = support.cerr
local push = support.push
local plural = support.plural
local props_word = support.props_word
local sub_schema = support.sub_schema
local schema_array = support.schema_array
local schema_map = support.schema_map
local want_count = support.want_count
local want_kind = support.want_kind
local want_strings = support.want_strings
local compile_regex = support.compile_regex
local regex_test = support.regex_test

local M = {}

local ipairs, next = ipairs, next
local fmt = string.format
local keys_of = core.keys
local rawlen = rawlen or function(t) return #t end -- luacheck: ignore

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

M.kw_items = kw_items
M.kw_contains = kw_contains
M.kw_array_size = kw_array_size
M.kw_properties = kw_properties
M.kw_required = kw_required
M.kw_object_misc = kw_object_misc

return M
