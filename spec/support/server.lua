--- server.lua: start and stop loopback test servers (spec/support/testserver.py)
-- from specs. Plain Lua 5.1-5.4: no socket library, only io.popen/os.execute.
-- The server binds 127.0.0.1:0 itself (so the port is free by construction)
-- and reports the port through a file written after listen(); start() waits
-- for that file, so the server accepts connections when start() returns.
local M = {}

local tmpname, remove, open = os.tmpname, os.remove, io.open
local execute, popen = os.execute, io.popen

--- Quote s for /bin/sh.
local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.quote = q

--- True when os.execute's results mean success (5.1 returns a number).
local function ok(a, _, c)
  if type(a) == "number" then return a == 0 end
  return a == true and (c == nil or c == 0)
end

--- Sleep for ms milliseconds (through sleep(1), fractional seconds).
function M.sleep(ms)
  execute(string.format("sleep %.3f", ms / 1000))
end

local function readfile(path)
  local f = open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

--- True while process pid exists and is not a zombie.
local function alive(pid)
  if not ok(execute("kill -0 " .. pid .. " 2>/dev/null")) then return false end
  local stat = readfile("/proc/" .. pid .. "/stat")
  if stat and stat:match("^%d+ %b() Z") then return false end
  return true
end
M.alive = alive

--- Start a server script in the background.
-- @param script path of the Python script (run with python3)
-- @param args optional array of extra command-line arguments
-- @return {port = n, pid = n, url = "http://127.0.0.1:n"}; raises when the
--   server does not come up within 10 s (the error carries its stderr)
function M.start(script, args)
  local portfile, logfile = tmpname(), tmpname()
  remove(portfile)
  local parts = { "env -u LD_PRELOAD python3", q(script), "--port-file", q(portfile) }
  for _, a in ipairs(args or {}) do parts[#parts + 1] = q(a) end
  local cmd = table.concat(parts, " ") .. " </dev/null >/dev/null 2>" .. q(logfile) .. " & echo $!"
  local p = assert(popen(cmd, "r"))
  local pid = tonumber(p:read("*l"))
  p:close()
  assert(pid, "server.start: could not start " .. script)
  for _ = 1, 500 do
    local port = tonumber(readfile(portfile) or "")
    if port then
      remove(portfile)
      remove(logfile)
      local scheme = "http"
      for _, a in ipairs(args or {}) do if a == "--tls" then scheme = "https" end end
      return { port = port, pid = pid, url = scheme .. "://127.0.0.1:" .. port }
    end
    if not alive(pid) then break end
    M.sleep(20)
  end
  local log = readfile(logfile) or ""
  remove(logfile)
  M.stop({ pid = pid })
  error("server.start: " .. script .. " did not start: " .. log, 2)
end

--- Stop a server started by start(): SIGTERM by PID, wait until it is gone
-- (SIGKILL after 5 s). Safe to call twice.
function M.stop(s)
  if not s or not s.pid then return end
  local pid = s.pid
  s.pid = nil
  execute("kill " .. pid .. " 2>/dev/null")
  for i = 1, 500 do
    if not alive(pid) then return end
    if i == 250 then execute("kill -9 " .. pid .. " 2>/dev/null") end
    M.sleep(20)
  end
end

return M
