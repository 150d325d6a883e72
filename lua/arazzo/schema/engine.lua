--- The validation engine of arazzo.schema: error paths, states, applying a compiled node.
-- Licence: MIT (see LICENSE).
-- @module arazzo.schema.engine
local values = require "arazzo.schema.value"
local classify = values.classify
local quote = values.quote

local M = {}

local type = type
local fmt, find = string.format, string.find
local concat, sort = table.concat, table.sort

-- Bound on nested schema evaluations for one value (in-place applicators
-- and $ref chains add levels without descending into the value).
local EVAL_LIMIT = 1000

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

M.EVAL_LIMIT = EVAL_LIMIT
M.path_string = path_string
M.finish_errors = finish_errors
M.add = add
M.trial = trial
M.child = child
M.run = run
M.trial_summary = trial_summary

return M
