--- Compiles the dynamic parts of a document once, at load time: runtime
-- expressions, `{$...}` templates, payload trees, criteria (simple, regex,
-- JSONPath, XPath) and their contexts. Every compile error becomes a located
-- load error; `run()` only evaluates what is compiled here.
local core = require "arazzo.core"

local M = {}
local extend = require("arazzo.validate").copy_path

local type, ipairs, format = type, ipairs, string.format
local null = core.null
local isarray = core.isarray

-- A compiled payload/value tree is the original value with every dynamic
-- string replaced by its Expr userdata, wrapped so evaluation knows which
-- tables contain expressions:
--   {tag = "const", value = v}                  no expression inside
--   Expr userdata                               a dynamic string
--   {tag = "array"|"object", keys = {...}, items = {[k] = node}}
local CONST, ARRAY, OBJECT = "const", "array", "object"

--- Compile a runtime expression field (outputs values, criterion context).
-- @param c compile state {report, lenient}
-- @return Expr | nil (error recorded)
function M.expression(c, text, path)
  if type(text) ~= "string" then return nil end -- the validator reported its type
  local e, msg = core.expr_compile(text, "expression", { lenient = c.lenient })
  if not e then
    c.report:error(path, format("%s in '%s'", msg, text), "expr")
    return nil
  end
  M.note_lenient(c, e, path)
  c.exprs[#c.exprs + 1] = { expr = e, path = path }
  return e
end

function M.note_lenient(c, e, path)
  if e:lenient() then
    c.report:warn(path, format("non-standard expression '%s' accepted in lenient mode", e:source()))
  end
end

-- Compile a string that may be a literal, an expression or a template.
local function compile_string(c, s, path)
  local e, msg = core.expr_compile(s, "value", { lenient = c.lenient })
  if not e then
    c.report:error(path, format("%s in '%s'", msg, s), "expr")
    return nil, false
  end
  if e:kind() == "literal" then
    local fake = s:match("%$([%a_][%w_]*)%.")
    if fake and not s:find("{$", 1, true) then
      local known = { url = 1, method = 1, statusCode = 1, request = 1, response = 1, inputs = 1, outputs = 1,
        steps = 1, workflows = 1, sourceDescriptions = 1, components = 1 }
      if not known[fake] then
        c.report:warn(path, format("'%s' looks like a runtime expression but '$%s' is not a source; sent as literal text", s, fake))
      end
    end
    if not c.lenient then
      local probe = core.expr_compile(s, "value", { lenient = true })
      if probe and probe:kind() ~= "literal" then
        c.report:warn(path, format("'%s' holds a runtime expression without braces; strict mode sends it as literal text", s))
      end
    end
    return s, false
  end
  M.note_lenient(c, e, path)
  c.exprs[#c.exprs + 1] = { expr = e, path = path }
  return e, true
end

--- Compile a value that may contain expressions anywhere (parameter values,
-- payloads, replacement values).
-- @return node (see above)
function M.value(c, v, path, depth)
  depth = depth or 0
  if depth > 64 then
    c.report:error(path, "value nested too deeply (more than 64 levels)")
    return { tag = CONST, value = null }
  end
  if type(v) == "string" then
    local node, dyn = compile_string(c, v, path)
    if dyn then return node end
    return { tag = CONST, value = v }
  end
  if type(v) ~= "table" then return { tag = CONST, value = v } end
  local arr = isarray(v)
  local keys, items, dynamic = {}, {}, false
  if arr then
    for i = 1, #v do
      local p = extend(path, i)
      local n = M.value(c, v[i], p, depth + 1)
      items[i] = n
      if type(n) ~= "table" or n.tag ~= CONST then dynamic = true end
    end
  else
    keys = core.keys(v)
    for _, k in ipairs(keys) do
      local p = extend(path, k)
      local n = M.value(c, v[k], p, depth + 1)
      items[k] = n
      if type(n) ~= "table" or n.tag ~= CONST then dynamic = true end
    end
  end
  if not dynamic then return { tag = CONST, value = v } end
  return { tag = arr and ARRAY or OBJECT, keys = keys, items = items, n = #v }
end

-- Deep copy of a constant (tables are never shared with the document, so
-- hooks may edit what they get).
local function copy(v, depth)
  if type(v) ~= "table" then return v end
  if depth > 200 then return null end
  local out = {}
  if isarray(v) then
    for i = 1, #v do out[i] = copy(v[i], depth + 1) end
    return core.array(out)
  end
  local keys = core.keys(v)
  for _, k in ipairs(keys) do out[k] = copy(v[k], depth + 1) end
  core.setorder(out, keys)
  return out
end
M.copy = copy

local function where_string(path)
  local out = {}
  for i, s in ipairs(path) do
    out[#out + 1] = type(s) == "number" and format("[%d]", s - 1) or ((i > 1 and "." or "") .. s)
  end
  return table.concat(out)
end

--- Evaluate a compiled value against ctx.
-- @param omit when true, an object member whose expression has no value is
--   left out instead of failing the whole value
-- @return value | nil, message (a missing value, with where it is)
function M.eval(node, ctx, omit)
  if type(node) == "userdata" then
    local v, err = node:eval(ctx)
    if v == nil then return nil, err or format("%s has no value", node:source()) end
    return v
  end
  local tag = node.tag
  if tag == CONST then return copy(node.value, 0) end
  local out = {}
  if tag == ARRAY then
    for i = 1, node.n do
      local v, err = M.eval(node.items[i], ctx, omit)
      if v == nil then return nil, format("[%d]: %s", i - 1, err) end
      out[i] = v
    end
    return core.array(out)
  end
  local keys = node.keys
  for _, k in ipairs(node.keys) do
    local item = node.items[k]
    local v, err = M.eval(item, ctx, omit)
    if v ~= nil then
      out[k] = v
    elseif omit and type(item) == "userdata" then
      if keys == node.keys then keys = {} for _, k2 in ipairs(node.keys) do keys[#keys + 1] = k2 end end
      for j = #keys, 1, -1 do if keys[j] == k then table.remove(keys, j) end end
    else
      return nil, format("%s: %s", k, err)
    end
  end
  core.setorder(out, keys)
  return out
end

M.where_string = where_string

-- JSONPath conditions: RFC 9535 first; JavaScript-style comparisons
-- (`$.items.length > 0`) in lenient mode.
local function compile_jsonpath(c, cond, path, version)
  if cond:find("{$", 1, true) then
    local t, msg = core.expr_compile(cond, "template", {})
    if not t then c.report:error(path, msg, "expr") return nil end
    return { dynamic = t, version = version }
  end
  local jp, msg = core.jsonpath(cond, version == "draft-goessner-dispatch-jsonpath-00" and "goessner" or nil)
  if jp then return { path = jp } end
  local js = core.expr_compile(cond, "jscondition", {})
  if js and c.lenient then
    c.report:warn(path, format("'%s' is not RFC 9535 JSONPath; evaluated as a JavaScript-style comparison (lenient mode)", cond))
    return { js = js }
  end
  c.report:error(path, format("%s in '%s'%s", msg, cond,
    js and " (a JavaScript-style comparison: allowed only in lenient mode)" or ""), "expr")
  return nil
end

--- Compile one Criterion Object.
-- @return {kind, cond|re|jp|js|xp, context, source} | nil
function M.criterion(c, cr, path)
  local cond = cr.condition
  local t = cr.type
  local version
  if type(t) == "table" then t, version = t.type, t.version end
  t = t or "simple"
  local out = { kind = t, source = cond, path = path }
  local cpath = extend(path, "condition")
  if cr.context ~= nil and t ~= "simple" then
    local xp = extend(path, "context")
    out.context = M.expression(c, cr.context, xp)
    if not out.context then return nil end
  end
  if t == "simple" then
    if cr.context ~= nil and (cond:match("^%s*%$[.%[]") or cond:match("^%s*%$%s")) then
      -- `context` + `$.field == x`: a JSONPath-ish comparison written as simple
      local xp = extend(path, "context")
      out.context = M.expression(c, cr.context, xp)
      local js, msg = core.expr_compile(cond, "jscondition", {})
      if not js then c.report:error(cpath, format("%s in '%s'", msg, cond), "expr") return nil end
      out.kind, out.js = "jsonpath", js
      return out
    end
    local e, msg = core.expr_compile(cond, "condition", { lenient = c.lenient })
    if not e then c.report:error(cpath, format("%s in '%s'", msg, cond), "expr") return nil end
    M.note_lenient(c, e, cpath)
    c.exprs[#c.exprs + 1] = { expr = e, path = cpath }
    out.cond = e
  elseif t == "regex" then
    if cond:find("{$", 1, true) then
      local tm, msg = core.expr_compile(cond, "template", {})
      if not tm then c.report:error(cpath, msg, "expr") return nil end
      out.dynamic = tm
    else
      local re, msg = core.regex(cond)
      if not re then c.report:error(cpath, format("%s in '%s'", msg, cond), "regex") return nil end
      out.re = re
    end
  elseif t == "jsonpath" then
    local r = compile_jsonpath(c, cond, cpath, version)
    if not r then return nil end
    out.jp, out.js, out.dynamic = r.path, r.js, r.dynamic
  elseif t == "xpath" then
    if version and version ~= "xpath-10" then
      c.report:warn(path, format("XPath version '%s' requested; this runner evaluates XPath 1.0", version))
    end
    local xp, msg = core.xpath(cond)
    if not xp then c.report:error(cpath, format("%s in '%s'", msg, cond), "xpath") return nil end
    out.xp = xp
  end
  return out
end

return M
