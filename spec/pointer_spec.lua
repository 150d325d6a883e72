local core = require "arazzo.core"

describe("arazzo.core JSON pointer", function()
  local doc = { a = { b = core.array({ 10, 20 }) }, ["x/y"] = { ["m~n"] = 5 }, [""] = "empty" }

  it("resolves members, array indexes and escapes", function()
    assert.equal(doc, core.pointer_get(doc, ""))
    assert.equal(20, core.pointer_get(doc, "/a/b/1"))
    assert.equal(5, core.pointer_get(doc, "/x~1y/m~0n"))
    assert.equal("empty", core.pointer_get(doc, "/"))
  end)

  it("gives nil for absent members and non-canonical indexes", function()
    assert.is_nil(core.pointer_get(doc, "/a/b/2"))
    assert.is_nil(core.pointer_get(doc, "/a/b/01"))
    assert.is_nil(core.pointer_get(doc, "/a/b/-"))
    assert.is_nil(core.pointer_get(doc, "/nope/deeper"))
    assert.is_nil(core.pointer_get(5, "/x"))
  end)

  it("checks syntax with a column", function()
    assert.is_true(core.pointer_check("/a/~0~1"))
    local ok, msg, col = core.pointer_check("/a~2")
    assert.is_nil(ok)
    assert.matches("~", msg)
    assert.equal(3, col)
    ok, msg, col = core.pointer_check("a")
    assert.is_nil(ok)
    assert.matches("start with '/'", msg)
    assert.equal(1, col)
  end)

  it("raises on a malformed pointer passed to pointer_get", function()
    assert.has_error(function() core.pointer_get(doc, "a") end)
    assert.has_error(function() core.pointer_get(doc, "/~") end)
  end)

  it("splits and escapes tokens", function()
    assert.same({ "a/b", "c~" }, core.pointer_tokens("/a~1b/c~0"))
    assert.equal("a~1b~0", core.pointer_escape("a/b~"))
  end)
end)
