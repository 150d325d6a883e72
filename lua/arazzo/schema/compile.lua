--- Compiling a JSON Schema for arazzo.schema: keyword dispatch, $ref resolution, cycle checks.
-- Licence: MIT (see LICENSE).
-- @module arazzo.schema.compile
local core = require "arazzo.core"
local values = require "arazzo.schema.value"
local classify = values.classify
local describe_schema_value = values.describe_schema_value
local quote = values.quote
local engine = require "arazzo.schema.engine"
local EVAL_LIMIT = engine.EVAL_LIMIT
local path_string = engine.path_string
local support = require "arazzo.schema.support"
local TRUE_NODE = support.TRUE_NODE
local FALSE_NODE = support.FALSE_NODE
local cerr = support.cerr
local kw_basic = require "arazzo.schema.kw_basic"
local kw_type = kw_basic.kw_type
local kw_enum_const = kw_basic.kw_enum_const
local kw_number = kw_basic.kw_number
local kw_string = kw_basic.kw_string
local kw_container = require "arazzo.schema.kw_container"
local kw_items = kw_container.kw_items
local kw_contains = kw_container.kw_contains
local kw_array_size = kw_container.kw_array_size
local kw_properties = kw_container.kw_properties
local kw_required = kw_container.kw_required
local kw_object_misc = kw_container.kw_object_misc
local kw_apply = require "arazzo.schema.kw_apply"
local kw_logic = kw_apply.kw_logic
local kw_conditional = kw_apply.kw_conditional
local kw_ref = kw_apply.kw_ref
local kw_annotations = kw_apply.kw_annotations

local M = {}

local type, ipairs, tostring, tonumber = type, ipairs, tostring, tonumber
local getmetatable = getmetatable
local fmt, sub, find, gsub = string.format, string.sub, string.find, string.gsub
local concat = table.concat
local array_mt, isarray = core.array_mt, core.isarray
local rawlen = rawlen or function(t) return #t end -- luacheck: ignore

--- Compile schema s found at segs under root record R. Returns its node
--- (nodes are cached per root and table, so shared and recursive schemas
--- compile once). Errors go to C.errs; a broken schema compiles to a
--- placeholder so compilation can continue and report more.
local function compile_schema(C, s, R, segs, depth)
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

M.compile_schema = compile_schema
M.resolve_pending = resolve_pending
M.check_inplace = check_inplace
support.compile_schema = compile_schema

return M
