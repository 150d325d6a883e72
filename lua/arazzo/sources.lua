--- Source descriptions: fetching documents (files, http/https), OpenAPI 3.0/3.1
-- detection, the operation index, lazy `$ref` resolution (internal and
-- external relative references), servers and security schemes.
--
-- A loader context (`ctx`) is shared by one `arazzo.load()` call: it caches
-- every fetched document by absolute location so a file referenced twice is
-- parsed once.
local core = require "arazzo.core"

local M = {}

local type, ipairs, format, tostring = type, ipairs, string.format, tostring
local null = core.null

local METHODS = { "get", "put", "post", "delete", "options", "head", "patch", "trace" }
M.METHODS = METHODS

local function is_url(s) return s:match("^[%a][%w+.-]*://") ~= nil end
local function scheme_of(s) return (s:match("^([%a][%w+.-]*):") or ""):lower() end

-- Collapse "." and ".." segments of a slash path.
local function normalize_path(p)
  local abs = p:sub(1, 1) == "/"
  local out = {}
  for seg in p:gmatch("[^/]+") do
    if seg == ".." then
      if #out > 0 and out[#out] ~= ".." then out[#out] = nil
      elseif not abs then out[#out + 1] = ".." end
    elseif seg ~= "." then
      out[#out + 1] = seg
    end
  end
  local s = table.concat(out, "/")
  if abs then return "/" .. s end
  return s == "" and "." or s
end
M.normalize_path = normalize_path

local function dirname(p)
  local d = p:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end

local function percent_decode(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

--- Resolve ref against base (a file path or an absolute URL).
-- @return location, kind ("file" or "http") | nil, message
function M.resolve_location(base, ref)
  if ref:sub(1, 7) == "file://" then
    if base and is_url(base) then return nil, format("a remote document may not reference '%s'", ref) end
    return normalize_path(percent_decode(ref:gsub("^file://[^/]*", ""))), "file"
  end
  if is_url(ref) then
    local sch = scheme_of(ref)
    if sch ~= "http" and sch ~= "https" then return nil, format("unsupported URL scheme '%s' in '%s'", sch, ref) end
    return ref, "http"
  end
  if base and is_url(base) then
    if not core.url_resolve then return nil, "URL resolution is not available in this build" end
    local abs, err = core.url_resolve(base, ref)
    if not abs then return nil, err end
    return abs, "http"
  end
  if ref:sub(1, 1) == "/" then return normalize_path(ref), "file" end
  local dir = base and dirname(base) or "."
  return normalize_path(dir .. "/" .. ref), "file"
end

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, format("cannot read '%s': %s", path, (err or "error"):gsub("^[^:]*: ", "")) end
  local s = f:read("a")
  f:close()
  if s == nil then return nil, format("cannot read '%s'", path) end
  return s
end
M.read_file = read_file

--- Fetch a document's text.
-- @return text | nil, message, code
function M.fetch(ctx, location, kind)
  if kind == "file" then
    local s, err = read_file(location)
    if not s then return nil, err, "io" end
    return s
  end
  if ctx.opts.allow_remote == false then
    return nil, format("remote source '%s' not fetched (opts.allow_remote is false)", location), "io"
  end
  if not core.http_client then return nil, "http support is not available in this build", "http" end
  ctx.http = ctx.http or core.http_client({ max_body = ctx.opts.max_source_bytes or 64 * 1024 * 1024 })
  local res, err, code = ctx.http:request({ method = "GET", url = location, timeout = ctx.opts.timeout or 30,
    headers = { Accept = "application/yaml, application/json;q=0.9, */*;q=0.5" } })
  if not res then return nil, format("cannot fetch '%s': %s", location, err), code or "http" end
  if res.status < 200 or res.status > 299 then
    return nil, format("cannot fetch '%s': HTTP %d", location, res.status), "http"
  end
  return res.body
end

--- Load (or reuse) the parsed document at location.
-- @return entry {location, kind, root, text?} | nil, message, code
function M.document(ctx, location, kind, want_positions)
  local cached = ctx.docs[location]
  if cached then return cached end
  local text, err, code = M.fetch(ctx, location, kind)
  if not text then return nil, err, code end
  local root, pos = core.yaml_load(text, location, { order = want_positions or false,
    positions = want_positions or false })
  if root == nil then return nil, pos, "yaml" end
  local entry = { location = location, kind = kind, root = root, pos = pos, text = text }
  ctx.docs[location] = entry
  return entry
end

--- Follow `$ref` from node (which lives in document entry `doc`).
-- Returns the target node and the entry it lives in, or nil, message.
-- Chains are followed up to 32 hops; cycles are reported.
function M.deref(ctx, node, doc)
  local hops = 0
  while type(node) == "table" and type(node["$ref"]) == "string" do
    hops = hops + 1
    if hops > 32 then return nil, "$ref chain too long (cycle?)" end
    local ref = node["$ref"]
    local target, frag = ref:match("^([^#]*)#?(.*)$")
    local entry = doc
    if target ~= "" then
      local loc, kind_or_err = M.resolve_location(doc.location, target)
      if not loc then return nil, kind_or_err end
      local e, err = M.document(ctx, loc, kind_or_err)
      if not e then return nil, format("$ref '%s': %s", ref, err) end
      entry = e
    end
    frag = percent_decode(frag)
    local ok = frag == "" or (core.pointer_check(frag))
    if not ok then return nil, format("$ref '%s' has a malformed JSON pointer", ref) end
    local v = frag == "" and entry.root or core.pointer_get(entry.root, frag)
    if v == nil then return nil, format("$ref '%s' does not resolve", ref) end
    node, doc = v, entry
  end
  return node, doc
end

-- Detect the kind of a loaded source document.
local function detect(root)
  if type(root) ~= "table" then return nil, "not an object" end
  if type(root.openapi) == "string" then
    if root.openapi:match("^3%.[01]%.") or root.openapi:match("^3%.[01]$") then return "openapi" end
    return nil, format("unsupported OpenAPI version '%s' (3.0 and 3.1 are supported)", root.openapi)
  end
  if root.swagger ~= nil then return nil, "Swagger 2.0 documents are not supported (convert to OpenAPI 3)" end
  if type(root.arazzo) == "string" then return "arazzo" end
  return nil, "neither an OpenAPI nor an Arazzo document (no 'openapi' or 'arazzo' field)"
end

-- Build the operation index of an OpenAPI source: by operationId and by
-- (path, method). Path Item $refs are followed; dangling refs elsewhere are
-- irrelevant until an operation needs them.
local function index_openapi(ctx, src)
  local root = src.entry.root
  src.by_id, src.by_path, src.operations = {}, {}, {}
  src.problems = {}
  local paths = root.paths
  if type(paths) ~= "table" then return end
  for _, path in ipairs(core.keys(paths)) do
    local item, idoc = paths[path], src.entry
    if type(item) == "table" and item["$ref"] then
      local t, e = M.deref(ctx, item, src.entry)
      if t then item, idoc = t, e
      else src.problems[#src.problems + 1] = format("paths['%s']: %s", path, e); item = nil end
    end
    if type(item) == "table" then
      for _, m in ipairs(METHODS) do
        local op = item[m]
        if type(op) == "table" then
          local rec = { source = src, method = m:upper(), path = path, op = op, item = item, doc = idoc,
            operationId = type(op.operationId) == "string" and op.operationId or nil }
          src.operations[#src.operations + 1] = rec
          src.by_path[path .. " " .. m] = rec
          if rec.operationId then
            if src.by_id[rec.operationId] then
              src.problems[#src.problems + 1] = format("duplicate operationId '%s' (%s %s and %s %s)",
                rec.operationId, src.by_id[rec.operationId].method, src.by_id[rec.operationId].path, rec.method, path)
            else
              src.by_id[rec.operationId] = rec
            end
          end
        end
      end
    end
  end
end

--- Open source description `sd` (a validated Source Description Object).
-- @param ctx loader context: {opts, base, docs, loading}
-- @return Source | nil, message, code
function M.open(ctx, sd)
  local override = ctx.opts.sources and ctx.opts.sources[sd.name]
  local loc, kind
  if override ~= nil then
    if type(override) ~= "string" then
      error(format("opts.sources.%s must be a path or URL string", sd.name), 0)
    end
    -- an override is the caller's: relative to the working directory
    loc, kind = M.resolve_location(nil, override)
  else
    loc, kind = M.resolve_location(ctx.base, sd.url)
  end
  if not loc then return nil, kind, "io" end
  if kind == "file" and ctx.base and is_url(ctx.base) and override == nil then
    return nil, format("a remote document may not load the local file '%s'", loc), "io"
  end
  local entry, err, code = M.document(ctx, loc, kind)
  if not entry then return nil, err, code end
  local detected, why = detect(entry.root)
  if not detected then return nil, format("%s: %s", loc, why), "source" end
  if (sd.type == "openapi" or sd.type == "arazzo") and sd.type ~= detected then
    return nil, format("%s is an %s document but the source declares type '%s'", loc, detected, sd.type), "source"
  end
  if detected ~= "arazzo" then entry.text = nil end -- only nested Arazzo documents are parsed again
  local src = { name = sd.name, url = sd.url, location = loc, type = detected, entry = entry,
    version = entry.root.openapi or entry.root.arazzo }
  if detected == "openapi" then index_openapi(ctx, src) end
  return src
end

-- Substitute server variables with their defaults.
local function server_url(server)
  local url = server.url
  if type(url) ~= "string" then return nil, "server without a url" end
  local vars = type(server.variables) == "table" and server.variables or {}
  local missing
  url = url:gsub("{([^}]*)}", function(name)
    local v = vars[name]
    if type(v) == "table" and v.default ~= nil then return tostring(v.default) end
    missing = name
    return "{" .. name .. "}"
  end)
  if missing then return nil, format("server variable '%s' has no default", missing) end
  return url
end

--- The base URL for an operation record: opts.servers override, then the
-- operation's, path item's and document's servers (first entry), resolved
-- against the source location when relative.
-- @return url, note | nil, message
function M.server_for(ctx, rec)
  local src = rec.source
  local override = ctx.opts.servers and ctx.opts.servers[src.name]
  if override ~= nil then
    if type(override) ~= "string" then error(format("opts.servers.%s must be a URL string", src.name), 0) end
    return override
  end
  local list
  -- document-level servers come from the source document itself, even when
  -- the path item was reached through an external $ref
  for _, holder in ipairs({ rec.op, rec.item, src.entry.root }) do
    if type(holder.servers) == "table" and #holder.servers > 0 then list = holder.servers break end
  end
  if not list then list = { { url = "/" } } end
  local server = M.deref(ctx, list[1], list == src.entry.root.servers and src.entry or rec.doc)
  if type(server) ~= "table" then return nil, "server entry is not an object" end
  local url, err = server_url(server)
  if not url then return nil, err end
  if not is_url(url) then
    if is_url(src.location) and core.url_resolve then
      return core.url_resolve(src.location, url)
    end
    return url, "relative"
  end
  return url
end

-- Merge path-item and operation parameters: the operation's override the
-- path item's on (name, in).
function M.parameters_for(ctx, rec)
  local out, index = {}, {}
  for _, holder in ipairs({ rec.item, rec.op }) do
    if type(holder.parameters) == "table" then
      for _, p in ipairs(holder.parameters) do
        local prm = M.deref(ctx, p, rec.doc)
        if type(prm) == "table" and type(prm.name) == "string" and type(prm["in"]) == "string" then
          local key = prm["in"] .. "\0" .. (prm["in"] == "header" and prm.name:lower() or prm.name)
          local explode = prm.explode
          if type(explode) ~= "boolean" then explode = nil end -- false must survive: no `and/or` here
          local entry = { name = prm.name, ["in"] = prm["in"], required = prm.required == true or prm["in"] == "path",
            style = type(prm.style) == "string" and prm.style or nil,
            explode = explode,
            allowReserved = prm.allowReserved == true, schema = prm.schema, content = prm.content }
          if index[key] then out[index[key]] = entry
          else out[#out + 1] = entry; index[key] = #out end
        end
      end
    end
  end
  return out
end

local function media_rank(mt)
  local m = mt:lower()
  if m == "application/json" then return 1 end
  if m:match("^application/[%w.+-]*%+json") or m:match("^application/json") then return 2 end
  if m == "application/x-www-form-urlencoded" then return 3 end
  if m == "multipart/form-data" then return 4 end
  return 5
end

--- The operation's request body description: {required, media_types (JSON
-- first), content = {[media type] = {schema, encoding}}} or nil.
function M.request_body_for(ctx, rec)
  local rb = rec.op.requestBody
  if rb == nil then return nil end
  local body, err = M.deref(ctx, rb, rec.doc)
  if type(body) ~= "table" then return nil, err end
  local content = type(body.content) == "table" and body.content or {}
  local types = core.keys(content)
  table.sort(types, function(a, b)
    local ra, rb2 = media_rank(a), media_rank(b)
    if ra ~= rb2 then return ra < rb2 end
    return a < b
  end)
  return { required = body.required == true, media_types = types, content = content }
end

--- Security alternatives for an operation: a list of requirements, each a
-- list of {name, scheme (dereferenced Security Scheme Object), scopes}.
-- An empty list means no authentication.
function M.security_for(ctx, rec)
  local root = rec.source.entry.root
  local reqs = rec.op.security
  if reqs == nil then reqs = root.security end
  if type(reqs) ~= "table" then return {} end
  local comps = type(root.components) == "table" and root.components or {}
  local schemes = type(comps.securitySchemes) == "table" and comps.securitySchemes or {}
  local out, problems = {}, {}
  for _, req in ipairs(reqs) do
    local alt = {}
    if type(req) == "table" then
      for _, name in ipairs(core.keys(req)) do
        local sch = schemes[name]
        if sch ~= nil then sch = M.deref(ctx, sch, rec.source.entry) end
        if type(sch) ~= "table" then
          problems[#problems + 1] = format("security scheme '%s' is not defined", name)
        else
          alt[#alt + 1] = { name = name, scheme = sch, scopes = req[name] }
        end
      end
    end
    out[#out + 1] = alt
  end
  return out, problems
end

M.is_url = is_url
M.dirname = dirname
M.null = null
return M
