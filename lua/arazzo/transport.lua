--- Transports: functions `transport(request) -> response | nil, message, code`.
-- request  = {method, url, headers = {name = value}, body = string|nil, timeout = seconds}
-- response = {status = integer, headers = {lower-case name = value}, body = string}
-- The default sends through the C core's libcurl client. Clients are cached
-- per option set, so connections are kept alive across steps and runs.
local core = require "arazzo.core"

local M = {}

local clients = {}

local function client_key(o)
  return table.concat({ tostring(o.max_body), tostring(o.connect_timeout), tostring(o.verify),
    tostring(o.ca_file), tostring(o.proxy), tostring(o.max_redirects), tostring(o.user_agent) }, "\0")
end

--- A libcurl transport.
-- @param o client options (max_body, connect_timeout, verify, ca_file, proxy,
--   max_redirects, user_agent); nil for defaults
-- @return transport function, client
function M.curl(o)
  o = o or {}
  local key = client_key(o)
  local client = clients[key]
  if not client then
    local copts = {}
    for k, v in pairs(o) do copts[k] = v end
    client = core.http_client(copts)
    clients[key] = client
  end
  return function(request) return client:request(request) end, client
end

local default

--- The libcurl transport with default options, shared by every run that
-- does not set client options (so its connections stay alive across runs).
function M.default()
  if not default then default = M.curl() end
  return default
end

--- Close every cached client (their connections with them).
function M.close_all()
  for k, c in pairs(clients) do c:close(); clients[k] = nil end
  default = nil
end

return M
