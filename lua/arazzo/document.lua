--- `arazzo.load()`: parse, validate, resolve and compile an Arazzo document
-- into an immutable Document whose workflows can be run many times.
local core = require "arazzo.core"
local report = require "arazzo.report"
local validate = require "arazzo.validate"
local sources = require "arazzo.sources"
local resolve = require "arazzo.resolve"
local suggest = require "arazzo.suggest"

local M = {}

local type, pairs, ipairs, format, tostring, setmetatable = type, pairs, ipairs, string.format, tostring, setmetatable

local Document = { __name = "arazzo.Document" }
Document.__index = Document
local Workflow = { __name = "arazzo.Workflow" }
Workflow.__index = Workflow
M.Document, M.Workflow = Document, Workflow

local function immutable(t, what)
  return setmetatable(t, {
    __index = what,
    __newindex = function(_, k) error(format("%s is immutable (tried to set '%s')", what.__name, tostring(k)), 2) end,
    __name = what.__name,
    __tostring = what.__tostring,
  })
end

local OPTIONS = { sources = "table", servers = "table", lenient = "boolean", allow_remote = "boolean",
  timeout = "number", name = "string", base = "string", max_source_bytes = "number", offline = "boolean" }

local function check_opts(opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error("bad argument #2 to 'load' (table expected, got " .. type(opts) .. ")", 3) end
  for k, v in pairs(opts) do
    local want = OPTIONS[k]
    if not want then
      local names = {}
      for n in pairs(OPTIONS) do names[#names + 1] = n end
      error(format("load: unknown option '%s'%s", tostring(k), suggest.hint(tostring(k), names, "option")), 3)
    end
    if type(v) ~= want then error(format("load: option '%s' must be a %s, got %s", k, want, type(v)), 3) end
  end
  return opts
end

local function looks_like_text(s)
  return s:find("\n", 1, true) ~= nil or s:match("^%s*[{%[]") ~= nil
end

-- Load the source descriptions; errors are recorded in the report.
local function open_sources(st, ctx)
  st.sources, st.source_list, st.sources_declared = {}, {}, {}
  for i, sd in ipairs(type(st.root.sourceDescriptions) == "table" and st.root.sourceDescriptions or {}) do
    if type(sd) == "table" and type(sd.name) == "string" and type(sd.url) == "string"
        and not st.sources_declared[sd.name] then -- a duplicate name is reported by the validator
      st.sources_declared[sd.name] = { name = sd.name, url = sd.url, type = sd.type }
      local src, err, code
      if ctx.opts.offline then
        st.failed_sources = true -- not fetched: operations stay unresolved
      else
        src, err, code = sources.open(ctx, sd)
      end
      if ctx.opts.offline then -- luacheck: ignore 542
      elseif not src then
        st.failed_sources = true
        st.report:error({ "sourceDescriptions", i, "url" }, err, code or "source")
      else
        st.sources[sd.name] = src
        st.source_list[#st.source_list + 1] = src
        for _, p in ipairs(src.problems or {}) do
          st.report:warn({ "sourceDescriptions", i }, format("%s: %s", src.location, p))
        end
        if src.type == "arazzo" then
          local other, oerr = M.load_nested(ctx, src)
          if other then src.document = other
          else st.report:error({ "sourceDescriptions", i, "url" }, oerr, "source") end
        end
      end
    end
  end
  if st.ctx.opts.sources then
    for name in pairs(st.ctx.opts.sources) do
      if not st.sources_declared[name] then
        local names = {}
        for n in pairs(st.sources_declared) do names[#names + 1] = n end
        error(format("load: opts.sources.%s: the document has no source description '%s'%s", name, name,
          suggest.hint(name, names, "source name")), 0)
      end
    end
  end
  if st.ctx.opts.servers then
    for name in pairs(st.ctx.opts.servers) do
      if not st.sources_declared[name] then
        local names = {}
        for n in pairs(st.sources_declared) do names[#names + 1] = n end
        error(format("load: opts.servers.%s: the document has no source description '%s'%s", name, name,
          suggest.hint(name, names, "source name")), 0)
      end
    end
  end
end

-- Build the state for one Arazzo document and resolve it. Returns the state
-- (with st.plans) and its report.
local function analyse(ctx, text, chunk, location)
  local root, pos = core.yaml_load(text, chunk, { positions = true, order = true })
  if root == nil then return nil, pos, "yaml" end
  local r = report.new(chunk, root, pos)
  local st = { report = r, root = root, ctx = ctx, lenient = ctx.opts.lenient ~= false, location = location }
  st.self_ref = st
  local structural = validate.document(root, r)
  if type(root) ~= "table" or core.isarray(root) then return st end
  open_sources(st, ctx)
  if type(root.workflows) == "table" then
    local ok, err = pcall(function() st.plans = resolve.workflows(st) end)
    if not ok then
      if structural then error(err, 0) end -- a bug: the structure was sound
      r:error({}, "could not resolve the document past the errors above")
    end
  end
  return st
end

-- Freeze a resolved state into a Document.
local function build(st, chunk)
  local doc = { path = chunk, location = st.location, arazzo = st.root.arazzo, info = st.root.info,
    components = st.root.components, root = st.root, warnings = st.report:lines("warnings"),
    sources = {}, workflows = {}, workflow_index = st.workflow_index, workflow_ids = st.workflow_ids }
  for name, s in pairs(st.sources) do
    doc.sources[name] = { name = name, url = s.url, location = s.location, type = s.type, version = s.version,
      document = s.document }
  end
  doc.source_info = {}
  for name, d in pairs(st.sources_declared) do
    local s = st.sources[name]
    doc.source_info[name] = { name = name, url = s and s.location or d.url, type = s and s.type or d.type }
  end
  for i, plan in ipairs(st.plans or {}) do
    plan.document = doc
    doc.workflows[i] = immutable(plan, Workflow)
  end
  -- workflow references point at the state while resolving; point them at
  -- the document now
  for _, wf in ipairs(doc.workflows) do
    local function fix(ref) if ref and ref.document == st then ref.document = doc end end
    for _, d in ipairs(wf.depends) do fix(d) end
    for _, list in ipairs({ wf.success_actions, wf.failure_actions }) do for _, a in ipairs(list) do fix(a.workflow) end end
    for _, s in ipairs(wf.steps) do
      fix(s.workflow)
      for _, list in ipairs({ s.on_success, s.on_failure }) do for _, a in ipairs(list) do fix(a.workflow) end end
    end
  end
  return immutable(doc, Document)
end

--- Load an arazzo-type source description (recursively, guarding cycles).
function M.load_nested(ctx, src)
  if ctx.loading[src.location] then
    return nil, format("%s: source descriptions form a cycle", src.location)
  end
  ctx.loading[src.location] = true
  local text = src.entry.text
  if not text then
    local err
    text, err = sources.fetch(ctx, src.location, sources.is_url(src.location) and "http" or "file")
    if not text then ctx.loading[src.location] = nil return nil, err end
  end
  local st, err = analyse(ctx, text, src.location, src.location)
  ctx.loading[src.location] = nil
  if not st then return nil, err end
  if not st.report:ok() then
    local _, msg = st.report:failure()
    return nil, "in source '" .. src.name .. "':\n" .. msg
  end
  return build(st, src.location)
end

--- Load, validate, resolve and compile an Arazzo document.
-- @param what a file path, an http(s) URL, or the document text itself (any
--   string containing a newline or starting with `{`/`[`)
-- @param opts optional: sources = {[name] = path or URL}, servers = {[name] =
--   base URL}, lenient (default true), allow_remote (default true), timeout
--   (seconds, for fetching), name (chunk name for text), base (directory or
--   URL that relative references in text resolve against), offline (do not
--   fetch source descriptions: everything but operation resolution is
--   checked, and the workflows cannot run)
-- @return Document | nil, message, code, problems
function M.load(what, opts)
  if type(what) ~= "string" then
    error("bad argument #1 to 'load' (string expected, got " .. type(what) .. ")", 2)
  end
  opts = check_opts(opts)
  local ctx = { opts = opts, docs = {}, loading = {} }
  local text, chunk, location
  if looks_like_text(what) then
    text, chunk = what, opts.name or "<string>"
    location = opts.base and (sources.is_url(opts.base) and opts.base or (opts.base:gsub("/*$", "") .. "/" .. chunk)) or chunk
  else
    local kind
    location, kind = sources.resolve_location(nil, what)
    if not location then return nil, kind, "io" end
    local err, code
    text, err, code = sources.fetch(ctx, location, kind)
    if not text then return nil, err, code end
    chunk = what
  end
  ctx.base = location
  ctx.loading[location] = true
  local st, err, code = analyse(ctx, text, chunk, location)
  if ctx.http then ctx.http:close() ctx.http = nil end
  if not st then return nil, err, code end
  if not st.report:ok() then return st.report:failure() end
  return build(st, chunk)
end

------------------------------------------------------------------------------
-- Document and Workflow methods

--- Find a workflow by id.
-- @return Workflow | nil, message
function Document:workflow(id)
  if type(id) ~= "string" then error("bad argument #1 to 'workflow' (string expected, got " .. type(id) .. ")", 2) end
  local i = self.workflow_index[id]
  if i then
    for _, wf in ipairs(self.workflows) do if wf.id == id then return wf end end
  end
  return nil, format("no workflow '%s' in %s%s", id, self.path, suggest.hint(id, self.workflow_ids, "workflowId"))
end

function Document.__tostring(self) return format("arazzo.Document(%s)", self.path) end

local function step_line(s)
  if s.kind == "workflow" then
    return format("%s: workflow %s", s.id, s.workflow and s.workflow.id or "?")
  end
  local op = s.operation
  if not op then return format("%s: (unresolved)", s.id) end
  local ct = s.body and s.body.content_type
  return format("%s: %s %s%s", s.id, op.method, op.url, ct and ("  [" .. ct .. "]") or "")
end

--- A human-readable plan: one line per step with method, URL template and body media type.
function Workflow:plan()
  local out = { format("workflow %s (%d step%s)", self.id, #self.steps, #self.steps == 1 and "" or "s") }
  for i, s in ipairs(self.steps) do out[#out + 1] = format("  %d. %s", i, step_line(s)) end
  return table.concat(out, "\n")
end

--- Run the workflow.
-- @param inputs table of workflow inputs
-- @param opts run options (auth, hooks, transport, timeout, ...; see README)
-- @return result table {ok, outputs, steps, history, error, requests, ms}
function Workflow:run(inputs, opts)
  return require("arazzo.runner").run(self, inputs, opts)
end

function Workflow.__tostring(self) return format("arazzo.Workflow(%s)", self.id) end

return M
