local core = require "arazzo.core"

describe("arazzo.core value model", function()
  it("has one null, a lightuserdata equal to cjson.null", function()
    assert.equal("userdata", type(core.null))
    local ok, cjson = pcall(require, "cjson")
    if ok then assert.equal(cjson.null, core.null) end
  end)

  it("marks arrays so empty ones stay arrays", function()
    assert.is_true(core.isarray(core.array()))
    assert.is_false(core.isarray({}))
    assert.is_true(core.isarray({ 1, 2 }))
    assert.is_false(core.isarray({ 1, x = 2 }))
    local t = core.array({ "a" })
    assert.equal(core.array_mt, getmetatable(t))
  end)

  it("lists keys in recorded order, then the rest sorted", function()
    local t = { b = 1, a = 2, c = 3, d = 4 }
    core.setorder(t, { "c", "gone", "b" })
    assert.same({ "c", "b", "a", "d" }, core.keys(t))
    core.setorder(t, nil)
    assert.same({ "a", "b", "c", "d" }, core.keys(t))
  end)

  it("sorts keys with embedded NULs bytewise without truncating them", function()
    local t = { ["a\0b"] = 1, ["a"] = 2, ["a\0a"] = 3 }
    assert.same({ "a", "a\0a", "a\0b" }, core.keys(t))
  end)

  it("tells integers by subtype on 5.4", function()
    assert.is_true(core.isinteger(3))
    assert.is_false(core.isinteger("3"))
    if math.type then assert.is_false(core.isinteger(3.0)) end
  end)

  it("raises on wrong argument types", function()
    assert.has_error(function() core.keys(1) end)
    assert.has_error(function() core.array(1) end)
    assert.has_error(function() core.setorder({}, 1) end)
  end)
end)
