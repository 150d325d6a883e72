--- Request bodies: evaluating the compiled payload, applying replacements,
-- and serializing by media type (JSON, form-urlencoded with bracket nesting,
-- multipart/form-data, XML/text templates, raw bytes).
--
-- JSON text templates (a string payload whose content type is JSON) are
-- filled JSON-aware: a `{$x}` outside a string literal is replaced by the
-- JSON encoding of the value; inside a string literal it is escaped as string
-- content; and a string literal that is exactly `"{$x}"` is replaced by the
-- JSON encoding of the value, so `"products": "{$inputs.products}"` sends an
-- array, not a string (SPEC-NOTES §8, bnpl example). Other text templates are
-- filled as plain text.
local core = require "arazzo.core"
local compile = require "arazzo.compile"

local M = {}

local type, ipairs, format, concat, tostring = type, ipairs, string.format, table.concat, tostring
local null, isarray = core.null, core.isarray

local media_cache = {} -- bounded by the distinct media types documents and hooks use

local function media_of(ct)
  local base = (ct or ""):lower():match("^%s*([^;%s]+)") or ""
  if base == "application/json" or base:match("^application/[%w.%-]+%+json$") or base == "text/json" then
    return "json"
  elseif base == "application/x-www-form-urlencoded" then
    return "form"
  elseif base == "multipart/form-data" or base == "multipart/mixed" then
    return "multipart"
  elseif base:find("xml", 1, true) then
    return "xml"
  elseif base:match("^text/") then
    return "text"
  end
  return "bytes"
end

-- media types repeat per step and run: remember the answer per string
local function media(ct)
  ct = ct or ""
  local m = media_cache[ct]
  if not m then m = media_of(ct); media_cache[ct] = m end
  return m
end
M.media = media

------------------------------------------------------------------------------
-- JSON text templates

-- Split a JSON text template into literal text and expression slots, noting
-- for each slot whether it sits inside a string literal and whether it is
-- the whole literal. Returns nil when the text has no `{$`.
-- @return {parts = {string | {expr=Expr, inside=bool, whole=bool}}} | nil, err
function M.compile_json_template(c, text, path)
  if not text:find("{$", 1, true) then return nil end
  local parts, buf = {}, {}
  local i, n, in_str, str_start = 1, #text, false, 0
  while i <= n do
    local ch = text:sub(i, i)
    if in_str and ch == "\\" then
      buf[#buf + 1] = text:sub(i, i + 1)
      i = i + 2
    elseif ch == '"' then
      in_str = not in_str
      if in_str then str_start = i end
      buf[#buf + 1] = ch
      i = i + 1
    elseif ch == "{" and text:sub(i + 1, i + 1) == "$" then
      local close = text:find("}", i + 2, true)
      if not close then
        c.report:error(path, format("unterminated '{$' at offset %d of the JSON template", i), "expr")
        return nil
      end
      local src = text:sub(i + 1, close - 1)
      local e, msg = core.expr_compile(src, "expression", { lenient = c.lenient })
      if not e then
        c.report:error(path, format("%s in '{%s}'", msg, src), "expr")
        return nil
      end
      compile.note_lenient(c, e, path)
      c.exprs[#c.exprs + 1] = { expr = e, path = path }
      local whole = in_str and str_start == i - 1 and text:sub(close + 1, close + 1) == '"'
      if whole then
        buf[#buf] = nil -- drop the opening quote already buffered
        parts[#parts + 1] = concat(buf)
        buf = {}
        parts[#parts + 1] = { expr = e, whole = true }
        in_str = false
        i = close + 2
      else
        parts[#parts + 1] = concat(buf)
        buf = {}
        parts[#parts + 1] = { expr = e, inside = in_str }
        i = close + 1
      end
    else
      local j = text:find('[\\"{]', i)
      if not j then j = n + 1 end
      if j == i then j = i + 1 end
      buf[#buf + 1] = text:sub(i, j - 1)
      i = j
    end
  end
  parts[#parts + 1] = concat(buf)
  local tpl = { json_template = true, parts = parts, source = text }
  tpl.structured = M.structured_twin(c, tpl)
  return tpl
end

-- The same template as a value tree, for missing = "omit": each placeholder
-- becomes a unique marker string, the text is parsed as JSON, and the markers
-- are swapped back for the compiled expressions (placeholders inside longer
-- strings become templates). Nil when the text is not JSON with markers in.
function M.structured_twin(c, tpl)
  local marks, text = {}, {}
  for i, p in ipairs(tpl.parts) do
    if type(p) == "string" then
      text[#text + 1] = p
    else
      local m = format("\\u0000arazzo-slot-%d\\u0000", i) -- JSON escapes for NUL: no author text holds them
      marks["\0arazzo-slot-" .. i .. "\0"] = p
      text[#text + 1] = (p.whole or not p.inside) and ('"' .. m .. '"') or m
    end
  end
  local value = core.json_decode(table.concat(text))
  if value == nil then return nil end
  local function swap(v)
    if type(v) == "string" then
      local whole = marks[v]
      if whole then return whole.expr end
      if v:find("\0arazzo-slot-", 1, true) then
        -- a placeholder inside a longer string: rebuild it as a template
        -- plain find, no patterns: LuaJIT patterns stop at NUL
        local out, pos = {}, 1
        while true do
          local a = v:find("\0arazzo-slot-", pos, true)
          if not a then out[#out + 1] = v:sub(pos) break end
          local b = v:find("\0", a + 1, true)
          out[#out + 1] = v:sub(pos, a - 1)
          out[#out + 1] = "{" .. marks[v:sub(a, b)].expr:source() .. "}"
          pos = b + 1
        end
        local src = table.concat(out)
        local e = core.expr_compile(src, "template", { lenient = c.lenient })
        return e or v
      end
      return { tag = "const", value = v }
    end
    if type(v) ~= "table" then return { tag = "const", value = v } end
    local arr = core.isarray(v)
    local node = { tag = arr and "array" or "object", items = {}, n = #v, keys = arr and {} or core.keys(v) }
    if arr then for i = 1, #v do node.items[i] = swap(v[i]) end
    else for _, k in ipairs(node.keys) do node.items[k] = swap(v[k]) end end
    return node
  end
  return swap(value)
end

local function render_text(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then
    if core.isinteger(v) then return format("%d", v) end
    return core.json_encode(v) or tostring(v)
  end
  if t == "boolean" then return tostring(v) end
  if v == null then return "null" end
  return core.json_encode(v)
end

local function eval_json_template(tpl, ctx)
  local out = {}
  for _, p in ipairs(tpl.parts) do
    if type(p) == "string" then
      out[#out + 1] = p
    else
      local v, err = p.expr:eval(ctx)
      if v == nil then return nil, err end
      if p.whole or not p.inside then
        local s, jerr = core.json_encode(v)
        if not s then return nil, jerr end
        out[#out + 1] = s
      else
        local s, jerr = core.json_encode(render_text(v))
        if not s then return nil, jerr end
        out[#out + 1] = s:sub(2, -2)
      end
    end
  end
  return concat(out)
end

--- Compile a step's payload for its content type.
function M.compile_payload(c, payload, content_type, path)
  if type(payload) == "string" and media(content_type) == "json" then
    local tpl = M.compile_json_template(c, payload, path)
    if tpl then return tpl end
  end
  return compile.value(c, payload, path)
end

--- Evaluate a compiled payload.
-- @param omit leave out object members whose value is missing (missing = "omit")
-- @return value | nil, message
function M.evaluate(node, ctx, omit)
  if type(node) == "table" and node.json_template then
    local s, err = eval_json_template(node, ctx)
    if s == nil and omit and node.structured then return compile.eval(node.structured, ctx, true) end
    return s, err
  end
  return compile.eval(node, ctx, omit)
end

------------------------------------------------------------------------------
-- Fast templates: a structured JSON or form payload as literal text and
-- expression slots, so a run renders the body without building the payload
-- value and encoding it. Used only when nothing needs that value (no
-- before_request hook, no $request, no replacements); a slot whose value is
-- missing or not a scalar makes the caller take the structured path, which
-- reports or omits exactly as before. The text is byte-identical to
-- serialize(evaluate(payload)).

local json_encode = core.json_encode

-- Literal text and slots of a compiled JSON value; false when a part cannot
-- be rendered ahead (a JSON text template, a constant that does not encode).
local function json_parts(node, lits, exprs, depth)
  if depth > 64 then return false end
  if type(node) == "userdata" then
    exprs[#exprs + 1] = node
    lits[#lits + 1] = ""
    return true
  end
  if type(node) ~= "table" or node.json_template then return false end
  local tag = node.tag
  local function add(text) lits[#lits] = lits[#lits] .. text end
  if tag == "const" then
    local s = json_encode(compile.eval(node, {}))
    if not s then return false end
    add(s)
    return true
  elseif tag == "array" then
    add("[")
    for i = 1, node.n do
      if i > 1 then add(",") end
      if not json_parts(node.items[i], lits, exprs, depth + 1) then return false end
    end
    add("]")
    return true
  elseif tag == "object" then
    add("{")
    for i, k in ipairs(node.keys) do
      if i > 1 then add(",") end
      add(json_encode(k) .. ":")
      if not json_parts(node.items[k], lits, exprs, depth + 1) then return false end
    end
    add("}")
    return true
  end
  return false
end

-- Literal text and slots of a compiled form payload: the text of each
-- constant member and the "name=" before each slot come from
-- core.form_encode itself; false for anything else (or a constant that
-- writes nothing, which would leave a dangling '&').
local function form_parts(node, lits, exprs)
  if type(node) ~= "table" or node.tag ~= "object" then return false end
  lits[1] = ""
  for i, k in ipairs(node.keys) do
    local item = node.items[k]
    local sep = i > 1 and "&" or ""
    if type(item) == "userdata" then
      local name = core.form_encode({ [k] = "" })
      if not name then return false end
      lits[#lits] = lits[#lits] .. sep .. name
      exprs[#exprs + 1] = item
      lits[#lits + 1] = ""
    elseif type(item) == "table" and item.tag == "const" then
      local text = core.form_encode({ [k] = compile.eval(item, {}) })
      if not text or text == "" then return false end
      lits[#lits] = lits[#lits] .. sep .. text
    else
      return false
    end
  end
  return true
end

--- The fast template of a compiled payload for its content type, or nil.
function M.fast_template(node, content_type)
  local kind = media(content_type)
  local lits, exprs = { "" }, {}
  if kind == "json" then
    if not json_parts(node, lits, exprs, 0) then return nil end
  elseif kind == "form" then
    lits = {}
    if not form_parts(node, lits, exprs) then return nil end
  else
    return nil
  end
  -- a payload that is one expression is mostly a table at run time
  if #exprs == 1 and lits[1] == "" and lits[2] == "" then return nil end
  return { kind = kind, lits = lits, exprs = exprs }
end

--- Render a fast template against ctx (core.render_template): the body
--- text, or nil when a slot's value is missing or not a scalar (take the
--- structured path).
local render_template = core.render_template
function M.render_fast(ft, ctx)
  return render_template(ft.kind, ft.lits, ft.exprs, ctx)
end

------------------------------------------------------------------------------
-- Replacements (JSON Pointer targets; XPath for XML payloads)

-- Set the member at pointer in value; the parent must exist; the last
-- segment is created when absent (SPEC-NOTES §8 recommendation).
local function pointer_set(root, pointer, v)
  if pointer == "" then return v end
  local toks, err = core.pointer_tokens(pointer)
  if not toks then return nil, err end
  local parent = root
  for i = 1, #toks - 1 do
    local t = toks[i]
    if type(parent) ~= "table" then return nil, format("target '%s': '%s' is not an object or array", pointer, toks[i - 1] or "") end
    if isarray(parent) then
      local idx = t:match("^%d+$") and tonumber(t)
      parent = idx and parent[idx + 1]
    else
      parent = parent[t]
    end
    if parent == nil then return nil, format("target '%s': '%s' does not exist", pointer, t) end
  end
  local last = toks[#toks]
  if type(parent) ~= "table" then return nil, format("target '%s': parent is not an object or array", pointer) end
  if isarray(parent) then
    local n = #parent
    local idx = last == "-" and n or (last:match("^%d+$") and tonumber(last))
    if not idx or idx > n then return nil, format("target '%s': index '%s' is out of range", pointer, last) end
    parent[idx + 1] = v
  else
    if parent[last] == nil then
      local order = core.getorder(parent)
      if order then order[#order + 1] = last end
    end
    parent[last] = v
  end
  return root
end
M.pointer_set = pointer_set

--- Apply compiled replacements to an evaluated payload.
-- @return payload | nil, message
function M.replace(payload, replacements, ctx)
  for _, r in ipairs(replacements) do
    local v, err = compile.eval(r.value, ctx)
    if v == nil then return nil, format("replacement '%s': %s", r.target, err) end
    if r.xml then
      if type(payload) ~= "string" then return nil, "XPath replacement needs an XML text payload" end
      local out, xerr = core.xml_replace(payload, r.target, render_text(v))
      if not out then return nil, format("replacement '%s': %s", r.target, xerr) end
      payload = out
    else
      if type(payload) == "string" then
        local decoded, derr = core.json_decode(payload)
        if decoded == nil then return nil, format("replacement '%s': the payload is not JSON (%s)", r.target, derr) end
        payload = decoded
      end
      local out, perr = pointer_set(payload, r.target, v)
      if out == nil then return nil, format("replacement '%s': %s", r.target, perr) end
      payload = out
    end
  end
  return payload
end

------------------------------------------------------------------------------
-- Serialization

local boundary_counter = 0
local function new_boundary()
  boundary_counter = boundary_counter + 1
  return format("arazzo-%d-%x%x", boundary_counter, math.floor(core.wallclock() * 1000) % 0xffffff,
    math.random(0, 0xffffff))
end

--- Serialize a payload for the wire.
-- @param payload evaluated value
-- @param content_type the media type header value
-- @param encoding OpenAPI encoding map for form bodies (may be nil)
-- @return body string, content type (possibly with a multipart boundary) | nil, message
function M.serialize(payload, content_type, opts)
  local kind = media(content_type)
  if payload == nil then return nil, content_type end
  if kind == "json" then
    if type(payload) == "string" then return payload, content_type end
    local s, err = core.json_encode(payload)
    if not s then return nil, err end
    return s, content_type
  elseif kind == "form" then
    if type(payload) == "string" then return payload, content_type end
    if type(payload) ~= "table" or isarray(payload) then
      return nil, format("a form-urlencoded payload must be an object or a string, got %s", type(payload))
    end
    local s, err = core.form_encode(payload, opts and opts.form)
    if not s then return nil, err end
    return s, content_type
  elseif kind == "multipart" then
    if type(payload) == "string" then return payload, content_type end
    if type(payload) ~= "table" then return nil, "a multipart payload must be an object or a string" end
    local b = opts and opts.boundary or new_boundary()
    local s, err = core.multipart_encode(payload, b)
    if not s then return nil, err end
    local ct = content_type
    if not ct:lower():find("boundary=", 1, true) then ct = ct .. "; boundary=" .. b end
    return s, ct
  end
  if type(payload) == "string" then return payload, content_type end
  if kind == "text" or kind == "xml" then return render_text(payload), content_type end
  if type(payload) == "table" then
    local s, err = core.json_encode(payload)
    if not s then return nil, err end
    return s, content_type
  end
  return render_text(payload), content_type
end

M.render_text = render_text
return M
