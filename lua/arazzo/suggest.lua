--- "Did you mean" suggestions for unknown names.
local M = {}

local min, format, concat = math.min, string.format, table.concat

-- Levenshtein distance with an early cut-off at limit.
local function distance(a, b, limit)
  local la, lb = #a, #b
  if math.abs(la - lb) > limit then return limit + 1 end
  local prev, cur = {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local best = i
    local ca = a:byte(i)
    for j = 1, lb do
      local cost = (ca == b:byte(j)) and 0 or 1
      local v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      cur[j] = v
      if v < best then best = v end
    end
    if best > limit then return limit + 1 end
    prev, cur = cur, prev
  end
  return prev[lb]
end
M.distance = distance

--- Closest candidates to name.
-- @param name the unknown name
-- @param candidates array of known names
-- @return case_match (a candidate equal ignoring case, or nil), list of up to 3 close names
function M.closest(name, candidates)
  local lower = name:lower()
  local case_match
  for _, c in ipairs(candidates) do
    if c ~= name and c:lower() == lower then case_match = c break end
  end
  local limit = math.max(2, math.floor(#name / 3))
  local scored = {}
  for _, c in ipairs(candidates) do
    if c ~= case_match then
      local d = distance(lower, c:lower(), limit)
      if d <= limit then scored[#scored + 1] = { c, d } end
    end
  end
  table.sort(scored, function(x, y)
    if x[2] ~= y[2] then return x[2] < y[2] end
    return x[1] < y[1]
  end)
  local out = {}
  for i = 1, min(3, #scored) do out[i] = scored[i][1] end
  return case_match, out
end

--- A message tail for an unknown name: "; did you mean 'x'?" or "" when nothing is close.
function M.hint(name, candidates, what)
  local case_match, close = M.closest(name, candidates)
  if case_match then
    return format(" (%ss are case-sensitive: the %s is spelled '%s')", what or "name", what or "name", case_match)
  end
  if #close == 0 then return "" end
  local q = {}
  for i, c in ipairs(close) do q[i] = "'" .. c .. "'" end
  return format(" (did you mean %s?)", concat(q, " or "))
end

return M
