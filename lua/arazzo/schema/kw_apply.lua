--- arazzo.schema keyword compilers for applicators (allOf, anyOf, oneOf, not, if), $ref and annotations.
-- Licence: MIT (see LICENSE).
-- @module arazzo.schema.kw_apply
local values = require "arazzo.schema.value"
local quote = values.quote
local engine = require "arazzo.schema.engine"
local add = engine.add
local run = engine.run
local trial = engine.trial
local trial_summary = engine.trial_summary
local support = require "arazzo.schema.support"
local TRUE_NODE = support.TRUE_NODE
local at = support.at
local cerr = support.cerr
local push = support.push
local sub_schema = support.sub_schema
local schema_array = support.schema_array
local schema_map = support.schema_map
local want_kind = support.want_kind

local M = {}

local type, pairs, ipairs = type, pairs, ipairs
local fmt, sub, find = string.format, string.sub, string.find
local concat = table.concat

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

M.kw_logic = kw_logic
M.kw_conditional = kw_conditional
M.kw_ref = kw_ref
M.kw_annotations = kw_annotations

return M
