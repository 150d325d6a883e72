--- arazzo: run Arazzo 1.0.x workflows from Lua.
-- `require "arazzo"` is the only public entry point; `arazzo.core` is private.
local core = require "arazzo.core"
local document = require "arazzo.document"

local M = {}

M._VERSION = "0.1.0"
if core._VERSION ~= M._VERSION then
  error(string.format("arazzo: Lua modules are version %s but arazzo.core is %s (mixed installation?)",
    M._VERSION, tostring(core._VERSION)))
end

--- The one null value (a lightuserdata equal to cjson.null).
M.null = core.null

--- Mark a table as a JSON array (so an empty one encodes as `[]`).
M.array = core.array

--- Load, validate, resolve and compile a document.
-- @see arazzo.document.load
M.load = document.load

--- JSON helpers with exact integers, marked arrays and recorded key order.
M.json = {
  encode = function(v, opts) return core.json_encode(v, opts) end,
  decode = function(s, opts) return core.json_decode(s, opts) end,
}

return M
