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

  describe("number text (arazzo_format_double, via core._format_double)", function()
    local F = core._format_double

    -- C's snprintf "%.*g": string.format on 5.4; LuaJIT formats on its own
    -- (rounding exact ties up, where glibc rounds them to even), so call
    -- snprintf through the FFI there.
    local fmt_g = function(p, x) return string.format("%." .. p .. "g", x) end
    if jit then
      local ffi = require "ffi"
      pcall(ffi.cdef, "int snprintf(char *s, size_t n, const char *fmt, ...);")
      local buf = ffi.new("char[64]")
      fmt_g = function(p, x)
        ffi.C.snprintf(buf, 64, "%.*g", ffi.new("int", p), ffi.new("double", x))
        return ffi.string(buf)
      end
    end

    -- The reference rule: the first precision 1..17 whose %.*g text reads
    -- back as x; integral values below 2^53 print as integers.
    local function shortest(x)
      if x == math.floor(x) and math.abs(x) < 2 ^ 53 then return string.format("%.0f", x) end
      for p = 1, 17 do
        local s = fmt_g(p, x)
        if tonumber(s) == x then return s end
      end
    end

    it("prints the shortest text that reads back", function()
      assert.equal("5e-324", F(5e-324))
      assert.equal("-5e-324", F(-5e-324))
      assert.equal("2.5e-323", F(2.5e-323))
      assert.equal("0.1", F(0.1))
      assert.equal("1e+300", F(1e300))
      assert.equal("123.456", F(123.456))
      assert.equal("0.30000000000000004", F(0.1 + 0.2))
      assert.equal("0.3333333333333333", F(1 / 3))
      assert.equal("2.2250738585072014e-308", F(2.2250738585072014e-308)) -- smallest normal
      assert.equal("2.225073858507201e-308", F(2.225073858507201e-308))   -- largest subnormal
      assert.equal("1.7976931348623157e+308", F(1.7976931348623157e308))
      assert.equal("-2.5e-07", F(-2.5e-7))
      for _, x in ipairs({ 5e-324, 0.1, 1e300, 123.456, 1 / 3, 4.9e-322, 1.5e-310 }) do
        assert.equal(x, tonumber(F(x)))
      end
    end)

    it("prints integral values below 2^53 without a fraction, larger ones as %g", function()
      assert.equal("3", F(3.0))
      assert.equal("-1234", F(-1234.0))
      assert.equal("0", F(0.0))
      assert.equal("0", F(-0.0))
      assert.equal("9007199254740991", F(2 ^ 53 - 1))
      assert.equal("9007199254740992", F(2 ^ 53))
      assert.equal("1.152921504606847e+18", F(2 ^ 60))
      assert.equal("1e+16", F(1e16))
    end)

    it("agrees with the precision scan 1..17 on random doubles, subnormals included", function()
      math.randomseed(20240601)
      for _ = 1, 4000 do
        local x = (math.random() - 0.5) * 2.0 ^ math.random(-1100, 1023)
        if x ~= 0 then
          local want = shortest(x)
          if F(x) ~= want then assert.equal(want, F(x)) end
        end
      end
    end)

    it("raises on a non-number, NaN and infinities", function()
      local function raise(v)
        local ok, err = pcall(function() local s = F(v) return s end)
        assert.is_false(ok)
        assert.matches("bad argument #1 to '[%w_.]+' %(", err)
        return err
      end
      for _, v in ipairs({ 0 / 0, math.huge, -math.huge }) do
        local err = raise(v)
        assert.equal("(finite number expected)", err:sub(-#"(finite number expected)"))
      end
      assert.matches("%(number expected, got string%)$", raise("x"))
      assert.matches("%(number expected, got table%)$", raise({}))
    end)

    describe("under a comma locale", function()
      local locale
      for _, name in ipairs({ "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8" }) do
        if not locale and os.setlocale(name, "numeric") then locale = name end
      end
      os.setlocale("C", "numeric")
      if not locale then
        pending("skipped: no locale with a decimal comma (localedef -i de_DE -f UTF-8 DIR/de_DE.UTF-8; LOCPATH=DIR)")
        return
      end
      it("still writes '.' and the same digits (" .. locale .. ")", function()
        os.setlocale(locale, "numeric")
        local ok, err = pcall(function()
          assert.equal("0,5", fmt_g(2, 0.5)) -- the locale is active
          assert.equal("0.1", F(0.1))
          assert.equal("123.456", F(123.456))
          assert.equal("5e-324", F(5e-324))
          assert.equal("2.5e-07", F(2.5e-7))
          assert.equal("0.30000000000000004", F(0.1 + 0.2))
          assert.equal("-1234", F(-1234.0))
        end)
        os.setlocale("C", "numeric")
        assert(ok, err)
      end)
    end)
  end)

  it("raises on wrong argument types", function()
    assert.has_error(function() core.keys(1) end)
    assert.has_error(function() core.array(1) end)
    assert.has_error(function() core.setorder({}, 1) end)
  end)
end)
