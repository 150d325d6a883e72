-- helpers.lua: shared test helpers. Tests that need ../shared call
-- helpers.shared(path) and skip with a visible message when it is absent.
local M = {}

local here = debug.getinfo(1, "S").source:match("^@(.*)/spec/helpers%.lua$") or "."
M.root = here
M.shared_root = os.getenv("ARAZZO_SHARED") or (here .. "/../shared")

--- Path inside ../shared, or nil when ../shared is not there.
function M.shared(rel)
  local p = M.shared_root .. "/" .. rel
  local f = io.open(p, "rb")
  if f then f:close() return p end
  local ok = os.rename(p, p)   -- directories
  if ok then return p end
  return nil
end

--- Message for a test skipped because ../shared/rel is absent.
function M.skip_reason(rel)
  return "skipped: ../shared/" .. rel .. " is absent (set ARAZZO_SHARED to its location)"
end

function M.readfile(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function M.writefile(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

function M.tmpname()
  local p = os.tmpname()
  os.remove(p)
  return p
end

return M
