--- Collects load-time problems and formats them with file:line:col and the
-- document path (`workflows[0].steps[1].operationId`).
-- Paths are kept as arrays of segments: strings for object keys, Lua
-- (1-based) integers for array items; they print 0-based like the spec does.
local M = {}
M.__index = M

local concat, format, type, ipairs = table.concat, string.format, type, ipairs

--- Render a segment list as `a.b[0].c`.
-- @param segs array of strings and 1-based integers
-- @return string
function M.path_string(segs)
  local out = {}
  for i, s in ipairs(segs) do
    if type(s) == "number" then
      out[#out + 1] = format("[%d]", s - 1)
    elseif s:match("^[%a_][%w_%-]*$") then
      out[#out + 1] = (i > 1 and "." or "") .. s
    else
      out[#out + 1] = format("[%q]", s)
    end
  end
  return concat(out)
end

--- Create a collector for one document.
-- @param file name used in messages
-- @param root the loaded document value
-- @param pos the positions table from core.yaml_load (may be nil)
function M.new(file, root, pos)
  return setmetatable({ file = file, root = root, pos = pos, errors = {}, warnings = {} }, M)
end

-- Find "line:col" for a path: the member's own position when known, else the
-- nearest enclosing container's.
function M:locate(segs)
  local pos, node = self.pos, self.root
  if not pos then return nil end
  local p = pos[node]
  local best = p and p[0]
  for _, s in ipairs(segs) do
    if type(node) ~= "table" then break end
    p = pos[node]
    if p and p[s] then best = p[s] end
    node = node[s]
    p = type(node) == "table" and pos[node]
    if p and p[0] and not best then best = p[0] end
  end
  return best
end

local function add(self, list, segs, msg, kind)
  local where = self:locate(segs)
  local line, col = 0, 0
  if where then
    local l, c = where:match("^(%d+):(%d+)$")
    line, col = tonumber(l), tonumber(c)
  end
  local item = {
    file = self.file, line = line, col = col, path = M.path_string(segs), message = msg,
    kind = kind or "invalid",
  }
  list[#list + 1] = item
  return item
end

--- Record an error at a path.
function M:error(segs, msg, kind) return add(self, self.errors, segs, msg, kind) end

--- Record a warning (lint) at a path; warnings never fail a load.
function M:warn(segs, msg, kind) return add(self, self.warnings, segs, msg, kind or "lint") end

--- Record an error with an explicit location (problems inside another file,
-- such as a source description).
function M:error_at(file, line, col, path, msg, kind)
  local item = { file = file, line = line or 0, col = col or 0, path = path or "", message = msg,
    kind = kind or "invalid" }
  self.errors[#self.errors + 1] = item
  return item
end

--- Format one problem as `file:line:col: path: message`.
function M.format(item)
  local loc = item.line > 0 and format("%s:%d:%d", item.file, item.line, item.col) or item.file
  if item.path ~= "" then return format("%s: %s: %s", loc, item.path, item.message) end
  return format("%s: %s", loc, item.message)
end

local function by_position(a, b)
  if a.file ~= b.file then return a.file < b.file end
  if a.line ~= b.line then return a.line < b.line end
  if a.col ~= b.col then return a.col < b.col end
  return a.path < b.path
end

--- Sorted formatted lines of errors (or warnings with which = "warnings").
function M:lines(which)
  local list = self[which or "errors"]
  table.sort(list, by_position)
  local out = {}
  for i, e in ipairs(list) do out[i] = M.format(e) end
  return out
end

function M:ok() return #self.errors == 0 end

--- The `nil, message, code, problems` failure tuple for load().
function M:failure()
  local lines = self:lines("errors")
  local code = self.errors[1].kind
  for _, e in ipairs(self.errors) do
    if e.kind ~= code then code = "invalid" break end
  end
  return nil, concat(lines, "\n"), code, self.errors
end

return M
