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
--
-- The work is split by concern: arazzo.schema.value (classification,
-- canonical form, numbers), .engine (applying compiled nodes to values),
-- .compile with .support, .kw_basic, .kw_container and .kw_apply (turning a
-- schema into nodes); this module keeps defaults and the public API.
-- @module arazzo.schema
local core = require "arazzo.core"

local M = {}

local type, pairs, ipairs, next, tostring = type, pairs, ipairs, next, tostring
local getmetatable, setmetatable, error = getmetatable, setmetatable, error
local fmt = string.format
local sort = table.sort
local array_mt = core.array_mt
local keys_of, getorder, setorder = core.keys, core.getorder, core.setorder
local rawlen = rawlen or function(t) return #t end -- luacheck: ignore

local DEFAULT_MAX_ERRORS = 100
local DEFAULT_MAX_DEPTH = 100

local values = require "arazzo.schema.value"
local is_integral = values.is_integral
local classify = values.classify
local multiple_of = values.multiple_of
local utf8_count = values.utf8_count
local engine = require "arazzo.schema.engine"
local EVAL_LIMIT = engine.EVAL_LIMIT
local path_string = engine.path_string
local finish_errors = engine.finish_errors
local run = engine.run
local support = require "arazzo.schema.support"
local EMPTY = support.EMPTY
local regex_test = support.regex_test
local compile = require "arazzo.schema.compile"
local compile_schema = compile.compile_schema
local resolve_pending = compile.resolve_pending
local check_inplace = compile.check_inplace

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
  local fast = self.fast
  if fast and fast(value) then return true end
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
---------------------------------------------------------------------------
-- A fast accepting path for the common flat schema
---------------------------------------------------------------------------

-- Keywords that constrain nothing, and the scalar types the fast path knows.
local QUIET = { description = true, title = true, ["$comment"] = true, examples = true, default = true,
  deprecated = true, readOnly = true, writeOnly = true, format = true }
local SCALAR = { string = true, number = true, integer = true, boolean = true }

--- For `{type: object, properties: {name: {type: <scalar>}}, required: [...]}`
--- (annotations allowed, nothing else), a checker that returns true only
--- when the full validation would pass; on false the full validation runs
--- and reports. nil for any other schema.
local function fast_path(s)
  if type(s) ~= "table" or getmetatable(s) == array_mt or s.type ~= "object" then return nil end
  local props, req = {}, {}
  for k, v in pairs(s) do
    if k == "properties" then
      if type(v) ~= "table" or getmetatable(v) == array_mt then return nil end
      for name, ps in pairs(v) do
        if type(name) ~= "string" or type(ps) ~= "table" or getmetatable(ps) == array_mt then return nil end
        for pk, pv in pairs(ps) do
          if pk == "type" then
            if not SCALAR[pv] then return nil end
          elseif not QUIET[pk] then
            return nil
          end
        end
        if ps.type == nil then return nil end
        props[#props + 1] = { name, ps.type }
      end
    elseif k == "required" then
      if type(v) ~= "table" then return nil end
      for i, name in ipairs(v) do
        if type(name) ~= "string" then return nil end
        req[i] = name
      end
      if #req ~= rawlen(v) then return nil end
    elseif k ~= "type" and not QUIET[k] then
      return nil
    end
  end
  -- straight-line code: one test per property (names quoted with %q)
  local src = { "local array_mt, next, type, getmetatable, is_integral = ...",
    "return function(x)",
    "  if type(x) ~= 'table' or getmetatable(x) == array_mt then return false end",
    "  for key in next, x do if type(key) ~= 'string' then return false end end",
    "  local v" }
  for _, name in ipairs(req) do src[#src + 1] = fmt("  if x[%q] == nil then return false end", name) end
  for _, p in ipairs(props) do
    local want = p[2]
    src[#src + 1] = fmt("  v = x[%q]", p[1])
    if want == "string" or want == "boolean" then
      src[#src + 1] = fmt("  if v ~= nil and type(v) ~= %q then return false end", want)
    elseif want == "number" then
      src[#src + 1] = "  if v ~= nil and (type(v) ~= 'number' or v - v ~= 0) then return false end"
    else
      src[#src + 1] = "  if v ~= nil and (type(v) ~= 'number' or v - v ~= 0 or not is_integral(v)) then return false end"
    end
  end
  src[#src + 1] = "  return true\nend"
  local chunk = load(table.concat(src, "\n"), "=(arazzo.schema fast path)", "t")
  if not chunk then return nil end
  return chunk(array_mt, next, type, getmetatable, is_integral)
end

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
    root = root, prefix = opts.path or "inputs", fast = fast_path(s),
    max_errors = opts.max_errors or DEFAULT_MAX_ERRORS, max_depth = opts.max_depth or DEFAULT_MAX_DEPTH,
  }, Validator)
end

-- exposed for tests
M._multiple_of = multiple_of
M._utf8_count = utf8_count

return M
