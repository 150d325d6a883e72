--- The run configuration: what `run()` options decide (hooks, limits, the
-- transport), checked and remembered per options table. A run state reads
-- it through its metatable (see arazzo.runner).
local core = require "arazzo.core"
local transport_mod = require "arazzo.transport"

local M = {}

local type, pairs, next, format, tostring, setmetatable, error = type, pairs, next, string.format, tostring,
  setmetatable, error

local OPTIONS = {
  auth = "table", hooks = "table", transport = "function", timeout = "number", max_steps = "number",
  max_depth = "number", max_retry_wait = "number", sleep = "function", trace = "function",
  inputs_for = "table", idempotency = "any", run_id = "string", validate_inputs = "boolean",
  connect_timeout = "number", max_body = "number", verify = "boolean", ca_file = "string", proxy = "string",
  max_redirects = "number", user_agent = "string", missing = "string",
}
local HOOKS = { before_request = true, after_response = true, success = true }

local function check_opts(opts)
  if type(opts) ~= "table" then error(format("bad argument #2 to 'run' (table expected, got %s)", type(opts)), 4) end
  for k, v in pairs(opts) do
    local want = OPTIONS[k]
    if not want then error(format("run: unknown option '%s'", tostring(k)), 4) end
    if want ~= "any" and type(v) ~= want then
      error(format("run: option '%s' must be a %s, got %s", k, want, type(v)), 4)
    end
  end
  for k, v in pairs(opts.hooks or {}) do
    if not HOOKS[k] then error(format("run: unknown hook '%s' (before_request, after_response, success)", tostring(k)), 4) end
    if type(v) ~= "function" then error(format("run: hook '%s' must be a function, got %s", k, type(v)), 4) end
  end
  if opts.missing and opts.missing ~= "error" and opts.missing ~= "omit" then
    error("run: option 'missing' must be \"error\" or \"omit\"", 4)
  end
end

local EMPTY = setmetatable({}, { __newindex = function() error("internal: a shared empty table was written", 2) end })

-- Options tables are usually reused run after run. Their configuration is
-- remembered with a copy of their fields (and of the hooks table's); a run
-- whose options differ in any field checks and decides again.
local config_memo = setmetatable({}, { __mode = "k" })

--- A copy of t's fields for a later `same` check; with nested, tables one
-- level down are copied too (deeper ones make it nil: not remembered).
function M.snapshot(t, nested)
  local copy, n = {}, 0
  for k, v in pairs(t) do
    if nested and type(v) == "table" then
      v = M.snapshot(v, false)
      for _, x in pairs(v) do if type(x) == "table" then return nil end end
    end
    copy[k], n = v, n + 1
  end
  copy[0] = n
  return copy
end

--- Whether t still has exactly the fields of snapshot copy (same nesting).
function M.same(t, copy, nested)
  local n = 0
  for k, v in pairs(t) do
    local c = copy[k]
    if nested and type(v) == "table" then
      if type(c) ~= "table" or not M.same(v, c, false) then return false end
    elseif c ~= v then
      return false
    end
    n = n + 1
  end
  return n == copy[0]
end

local function transport_for(opts)
  if opts.transport then return opts.transport end
  if not (opts.max_body or opts.connect_timeout or opts.verify ~= nil or opts.ca_file
      or opts.proxy or opts.max_redirects or opts.user_agent) then
    return transport_mod.default()
  end
  return transport_mod.curl({ max_body = opts.max_body, connect_timeout = opts.connect_timeout,
    verify = opts.verify, ca_file = opts.ca_file, proxy = opts.proxy, max_redirects = opts.max_redirects,
    user_agent = opts.user_agent })
end

local NO_OPTS = {}

-- The configuration for opts (validated; raises on programmer errors). Its
-- fields are read through each run state's metatable.
function M.config_for(opts)
  if opts == nil then opts = NO_OPTS end
  local m = config_memo[opts]
  if m and M.same(opts, m.opts) and M.same(m.cfg.hooks, m.hooks) then return m.meta end
  check_opts(opts)
  local hooks = opts.hooks or EMPTY
  local cfg = {
    opts = opts, hooks = hooks, any_hook = next(hooks) ~= nil, auth = opts.auth or EMPTY, trace = opts.trace,
    timeout = opts.timeout or 30, max_steps = opts.max_steps or 1000, max_depth = opts.max_depth or 16,
    max_retry_wait = opts.max_retry_wait or 60, sleep = opts.sleep or core.sleep,
    inputs_for = opts.inputs_for or EMPTY, missing = opts.missing or "error", transport = transport_for(opts),
  }
  local meta = { __index = cfg }
  config_memo[opts] = { opts = M.snapshot(opts), hooks = M.snapshot(hooks), cfg = cfg, meta = meta }
  return meta
end

return M
