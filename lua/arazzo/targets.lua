--- Step targets at load time: operationId (qualified or bare, with
-- did-you-mean hints), operationPath (including lenient forms), workflow
-- references (local or in an arazzo source), and the resolved operation as
-- the plan exposes it (server, URL template, parameters, body, security).
local core = require "arazzo.core"
local sources = require "arazzo.sources"
local suggest = require "arazzo.suggest"
local validate = require "arazzo.validate"

local M = {}

local type, pairs, ipairs, format = type, pairs, ipairs, string.format
local extend = validate.copy_path
local hint = suggest.hint

local function keys_of(t)
  local out = {}
  if type(t) == "table" then for k in pairs(t) do if type(k) == "string" then out[#out + 1] = k end end end
  table.sort(out)
  return out
end

-- Split "$sourceDescriptions.<name>.<rest>" (rest may contain dots).
local function qualified(s)
  local name, rest = s:match("^%$sourceDescriptions%.([%w_%-]+)%.(.+)$")
  return name, rest
end
M.qualified = qualified

local function join_url(server, path)
  if core.url_join then return core.url_join(server, path) end
  if path == "" then return server end
  return (server:gsub("/+$", "")) .. (path:sub(1, 1) == "/" and path or "/" .. path)
end

------------------------------------------------------------------------------
-- Operations

local function openapi_sources(st)
  local list = {}
  for _, s in ipairs(st.source_list) do if s.type == "openapi" then list[#list + 1] = s end end
  return list
end

local function op_ids(src)
  local out = {}
  for id in pairs(src.by_id or {}) do out[#out + 1] = id end
  table.sort(out)
  return out
end

-- Describe the resolved operation record as the plan exposes it.
function M.describe_operation(st, rec, path)
  local ctx = st.ctx
  local server, note = sources.server_for(ctx, rec)
  if not server then
    st.report:error(path, format("cannot determine the server of %s %s: %s", rec.method, rec.path, note), "source")
    server = ""
  elseif note == "relative" and not st.warned_relative then
    st.warned_relative = true
    st.report:warn(path, format("server URL '%s' of source '%s' is relative to a local file; pass opts.servers.%s to run it",
      server, rec.source.name, rec.source.name))
  end
  local body = sources.request_body_for(ctx, rec)
  local security, problems = sources.security_for(ctx, rec)
  for _, p in ipairs(problems or {}) do st.report:warn(path, format("source '%s': %s", rec.source.name, p)) end
  -- literal path text such as "/v1/Invoice Items" must be percent-encoded;
  -- {templates}, existing escapes and RFC 3986 path characters stay
  local encoded = rec.path:gsub("[^%w%-%._~!$&'()*+,;=:@/{}%%]", function(ch) return format("%%%02X", ch:byte()) end)
  return {
    source = rec.source.name, operationId = rec.operationId, method = rec.method, path = rec.path,
    server = server, url = join_url(server, encoded), relative_server = note == "relative" or nil,
    parameters = sources.parameters_for(ctx, rec),
    request_body = body, security = security,
  }
end

function M.operation_id(st, step, path)
  local value = step.operationId
  local p = extend(path, "operationId")
  local name, id = qualified(value)
  if name then
    local src = st.sources[name]
    if not src then
      if st.sources_declared[name] then return nil end -- its load error is reported already
      st.report:error(p, format("unknown source description '%s'%s", name, hint(name, keys_of(st.sources_declared), "source name")), "reference")
      return nil
    end
    if src.type ~= "openapi" then
      st.report:error(p, format("source '%s' is an %s document; operationId needs an openapi source", name, src.type), "reference")
      return nil
    end
    local rec = src.by_id[id]
    if not rec then
      st.report:error(p, format("unknown operation '%s' in source '%s'%s", id, name, hint(id, op_ids(src), "operationId")), "operation")
      return nil
    end
    return rec
  end
  if value:match("^%$sourceDescriptions%.") then
    st.report:error(p, format("malformed operationId '%s' (expected $sourceDescriptions.<name>.<operationId>)", value), "expr")
    return nil
  end
  local list = openapi_sources(st)
  local found = {}
  for _, src in ipairs(list) do
    if src.by_id[value] then found[#found + 1] = src end
  end
  if #found == 1 then
    if #list > 1 then
      st.report:warn(p, format("operationId '%s' should be qualified as $sourceDescriptions.%s.%s (there are %d openapi sources)",
        value, found[1].name, value, #list))
    end
    return found[1].by_id[value]
  elseif #found > 1 then
    local names = {}
    for i, s in ipairs(found) do names[i] = s.name end
    st.report:error(p, format("operationId '%s' is ambiguous: it exists in sources %s; qualify it as $sourceDescriptions.<name>.%s",
      value, table.concat(names, ", "), value), "operation")
    return nil
  end
  local all = {}
  for _, src in ipairs(list) do for _, id2 in ipairs(op_ids(src)) do all[#all + 1] = id2 end end
  if st.failed_sources then return nil end -- a source did not load: the id may live there
  if #list == 0 then
    st.report:error(p, format("unknown operation '%s': the document has no openapi source description", value), "operation")
  else
    st.report:error(p, format("unknown operation '%s'%s", value, hint(value, all, "operationId")), "operation")
  end
  return nil
end

function M.operation_path(st, step, path)
  local value = step.operationPath
  local p = extend(path, "operationPath")
  local expr, ptr = value:match("^{(%$[^}]*)}#(.*)$")
  if not expr and st.lenient then
    -- non-standard forms seen in real documents: "<sourceName>#/paths/..."
    -- and "$sourceDescriptions.<name>.url#/paths/..." without braces
    local name, p2 = value:match("^([%w_%-]+)#(/.*)$")
    if not name then name, p2 = value:match("^%$sourceDescriptions%.([%w_%-]+)%.url#(/.*)$") end
    if not name then name, p2 = value:match("^%$sourceDescriptions%.([%w_%-]+)#(/.*)$") end
    if name and st.sources_declared[name] then
      st.report:warn(p, format("operationPath '%s' should be written '{$sourceDescriptions.%s.url}#%s' (accepted in lenient mode)",
        value, name, p2))
      expr, ptr = "$sourceDescriptions." .. name .. ".url", p2
    end
  end
  if not expr then
    st.report:error(p, format("operationPath '%s' must look like '{$sourceDescriptions.<name>.url}#/paths/...'", value), "expr")
    return nil
  end
  local name = expr:match("^%$sourceDescriptions%.([%w_%-]+)%.url$")
  if not name then
    st.report:error(p, format("operationPath must name its source as {$sourceDescriptions.<name>.url}, got '{%s}'", expr), "expr")
    return nil
  end
  local src = st.sources[name]
  if not src then
    if st.sources_declared[name] then return nil end
    st.report:error(p, format("unknown source description '%s'%s", name, hint(name, keys_of(st.sources_declared), "source name")), "reference")
    return nil
  end
  if src.type ~= "openapi" then
    st.report:error(p, format("source '%s' is not an openapi document", name), "reference")
    return nil
  end
  local ok, msg = core.pointer_check(ptr)
  if not ok then st.report:error(p, msg, "expr") return nil end
  local toks = core.pointer_tokens(ptr)
  if toks[1] ~= "paths" or not toks[2] or #toks > 3 then
    st.report:error(p, format("operationPath pointer '%s' must be #/paths/<path>/<method>", ptr), "operation")
    return nil
  end
  local method = toks[3]
  if method then
    local rec = src.by_path[toks[2] .. " " .. method:lower()]
    if not rec then
      st.report:error(p, format("no operation %s %s in source '%s'", method:upper(), toks[2], name), "operation")
      return nil
    end
    if method ~= method:lower() then
      st.report:warn(p, format("method '%s' in operationPath should be lower-case", method))
    end
    return rec
  end
  -- A pointer to a Path Item (the LoginAndRetrievePets example): accept it
  -- when the path item has exactly one operation.
  local recs = {}
  for _, m in ipairs(sources.METHODS) do
    local r = src.by_path[toks[2] .. " " .. m]
    if r then recs[#recs + 1] = r end
  end
  if #recs == 1 then
    st.report:warn(p, format("operationPath points at a Path Item; using its only operation %s", recs[1].method))
    return recs[1]
  end
  st.report:error(p, format("operationPath '%s' points at a Path Item with %d operations; add the method segment",
    ptr, #recs), "operation")
  return nil
end

------------------------------------------------------------------------------
-- Workflows (local or in an arazzo source)

-- @return {document = doc_state_or_document, id = workflowId, plan = workflow plan or nil}
function M.workflow_ref(st, value, path)
  local name, id = qualified(value)
  if name then
    local src = st.sources[name]
    if not src then
      if st.sources_declared[name] then return nil end
      st.report:error(path, format("unknown source description '%s'%s", name, hint(name, keys_of(st.sources_declared), "source name")), "reference")
      return nil
    end
    if src.type ~= "arazzo" then
      st.report:error(path, format("source '%s' is an %s document; a workflow reference needs an arazzo source", name, src.type), "reference")
      return nil
    end
    local other = src.document
    if not other then return nil end -- its load error was reported already
    if not other.workflow_index[id] then
      st.report:error(path, format("unknown workflow '%s' in source '%s'%s", id, name, hint(id, other.workflow_ids, "workflowId")), "reference")
      return nil
    end
    return { document = other, id = id }
  end
  if value:match("^%$") then
    st.report:error(path, format("malformed workflow reference '%s' (expected a workflowId or $sourceDescriptions.<name>.<workflowId>)", value), "expr")
    return nil
  end
  if not st.workflow_index[value] then
    st.report:error(path, format("unknown workflow '%s'%s", value, hint(value, st.workflow_ids, "workflowId")), "reference")
    return nil
  end
  return { document = st.self_ref, id = value }
end

M.keys_of = keys_of
return M
