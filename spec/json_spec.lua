-- json_spec.lua: core.json_encode / core.json_decode and the C entry points
-- (through the core._json_encode_buffer / core._json_decode_raw test hooks).
local core = require "arazzo.core"

local E, D = core.json_encode, core.json_decode
local is54 = math.type ~= nil  -- LuaJIT has no integer subtype

-- Assert that encoding v fails with exactly msg.
local function enc_fails(v, msg, opts)
  local s, err, code = E(v, opts)
  assert.is_nil(s)
  assert.equal(msg, err)
  assert.equal("json", code)
end

-- Assert that decoding text fails with exactly msg.
local function dec_fails(text, msg, opts)
  local v, err, code = D(text, opts)
  assert.is_nil(v)
  assert.equal(msg, err)
  assert.equal("json", code)
end

-- Assert that fn raises a bad-argument error ending in "(detail)".
local function raises(fn, detail)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  assert.matches("bad argument #%d+ to '[%w_.]+' %(", err)
  assert.equal("(" .. detail .. ")", err:sub(-#detail - 2))
end

-- Compare long texts, reporting the first difference rather than both texts.
local function same_text(expected, actual)
  if expected == actual then return end
  local i = 1
  while expected:sub(i, i) == actual:sub(i, i) do i = i + 1 end
  assert.equal(expected:sub(math.max(1, i - 40), i + 40), actual:sub(math.max(1, i - 40), i + 40))
  assert.equal(#expected, #actual)
end

local function nest(open, close, n, inner)
  return string.rep(open, n) .. (inner or "") .. string.rep(close, n)
end

describe("arazzo.core json", function()
  describe("json_encode", function()
    it("encodes scalars and null", function()
      assert.equal("true", E(true))
      assert.equal("false", E(false))
      assert.equal("null", E(core.null))
      assert.equal('"abc"', E("abc"))
      assert.equal("0", E(0))
      assert.equal("-17", E(-17))
    end)

    it("encodes integers exactly across the whole int64 range", function()
      if not is54 then return end
      assert.equal("9223372036854775807", E(math.maxinteger))
      assert.equal("-9223372036854775808", E(math.mininteger))
      assert.equal("9007199254740993", E(math.tointeger("9007199254740993")))
      assert.equal("123456789012345", E(123456789012345))
      assert.equal("1717459200000", E(1717459200000))
    end)

    it("encodes integral doubles below 2^53 without a fraction on LuaJIT too", function()
      assert.equal("9007199254740991", E(9007199254740991))
      assert.equal("-1234", E(-1234.0))
      assert.equal("3", E(3.0))
    end)

    it("encodes floats with round-trip text", function()
      assert.equal("0.1", E(0.1))
      assert.equal("1.5", E(1.5))
      assert.equal("1e+300", E(1e300))
      assert.equal("-0.0", E(-0.0))
      assert.equal("5e-324", E(5e-324))
      assert.equal("[-5e-324,123.456]", E({ -5e-324, 123.456 }))
      assert.equal("0.30000000000000004", E(0.1 + 0.2))
      for _, x in ipairs({ 5e-324, 1 / 3, 2 ^ 60, -2.5e-7, 1.7976931348623157e308, 123.456 }) do
        assert.equal(x, D(E(x)))
      end
    end)

    it("refuses NaN and infinities, naming where", function()
      enc_fails({ x = { 0 / 0 } }, "json: cannot encode NaN at /x/0")
      enc_fails({ x = math.huge }, "json: cannot encode inf at /x")
      enc_fails(core.array({ 1, -math.huge }), "json: cannot encode -inf at /1")
      enc_fails(0 / 0, "json: cannot encode NaN at root")
    end)

    it("keeps [] and {} apart, also when nested", function()
      assert.equal("[]", E(core.array()))
      assert.equal("{}", E({}))
      assert.equal('{"a":[],"b":{}}', E({ a = core.array(), b = {} }))
      assert.equal("[[],{},[[]]]", E(core.array({ core.array(), {}, core.array({ core.array() }) })))
    end)

    it("encodes unmarked sequences as arrays", function()
      assert.equal("[1,2,3]", E({ 1, 2, 3 }))
      assert.equal('[["a"],{"k":true}]', E({ { "a" }, { k = true } }))
    end)

    it("writes null inside arrays and objects", function()
      assert.equal("[null,1,null]", E(core.array({ core.null, 1, core.null })))
      assert.equal('{"a":null}', E({ a = core.null }))
    end)

    it("escapes strings per RFC 8259 and leaves / and UTF-8 alone", function()
      assert.equal([["\"\\\b\f\n\r\t"]], E("\"\\\b\f\n\r\t"))
      assert.equal([["\u0000\u0001\u001f\u000b"]], E("\0\1\31\11"))
      assert.equal('"a/b"', E("a/b"))
      assert.equal('"\127"', E("\127"))
      assert.equal('"caf\195\169 \226\130\172 \240\159\152\128"', E("caf\195\169 \226\130\172 \240\159\152\128"))
      assert.equal('"a\\u0000b"', E("a\0b"))
    end)

    it("refuses invalid UTF-8 with the byte offset", function()
      enc_fails({ a = "ok\255" }, "json: invalid UTF-8 in string (byte 3) at /a")
      enc_fails("\192\128", "json: invalid UTF-8 in string (byte 1) at root")        -- overlong
      enc_fails("x\237\160\128", "json: invalid UTF-8 in string (byte 2) at root")   -- surrogate
      enc_fails("\244\144\128\128", "json: invalid UTF-8 in string (byte 1) at root") -- > U+10FFFF
      enc_fails("ab\226\130", "json: invalid UTF-8 in string (byte 3) at root")       -- truncated
      enc_fails("\128", "json: invalid UTF-8 in string (byte 1) at root")             -- stray continuation
      enc_fails({ o = { ["k\255"] = 1 } }, "json: invalid UTF-8 in object key (byte 2) at /o")
    end)

    it("refuses values JSON cannot hold, naming where as a JSON pointer", function()
      enc_fails({ items = { 1, 2, { price = print } } }, "json: cannot encode function at /items/2/price")
      enc_fails({ co = coroutine.create(print) }, "json: cannot encode thread at /co")
      enc_fails({ f = io.stdout }, "json: cannot encode userdata at /f")
      enc_fails(nil, "json: cannot encode nil at root")
      enc_fails({ ["a/b"] = { ["m~n"] = print } }, "json: cannot encode function at /a~1b/m~0n")
      enc_fails({ [""] = print }, "json: cannot encode function at /")
    end)

    it("refuses non-string keys in objects", function()
      enc_fails({ [true] = 1 }, "json: cannot encode boolean key true at root")
      enc_fails({ a = { [1.5] = 1 } }, "json: cannot encode number key 1.5 at /a")
      enc_fails({ a = { [{}] = 1 } }, "json: cannot encode table key at /a")
      enc_fails({ 1, 2, x = 3 }, "json: cannot encode number key 1 at root")
    end)

    it("refuses sparse arrays, marked or not", function()
      enc_fails({ [1] = 1, [3] = 3 }, "json: cannot encode sparse array at root")
      enc_fails({ a = { [2] = "x" } }, "json: cannot encode sparse array at /a")
      local t = core.array()
      t[1], t[3] = 1, 3
      enc_fails({ t }, "json: cannot encode sparse array at /0")
      local u = core.array({ 1 })
      u.x = 2
      enc_fails(u, 'json: cannot encode array with string key "x" at root')
      local v = core.array({ 1 })
      v[0] = 2
      enc_fails(v, "json: cannot encode array with number key 0 at root")
    end)

    it("refuses cycles but encodes shared tables", function()
      local t = {}
      t.self = t
      enc_fails(t, "json: cannot encode a cycle at /self")
      local a = core.array()
      a[1] = { x = a }
      enc_fails({ top = a }, "json: cannot encode a cycle at /top/0/x")
      local s = { 1 }
      assert.equal('{"a":[1],"b":[1]}', E({ a = s, b = s }))
    end)

    it("finds cycles deeper than the linear scan", function()
      local root = {}
      local cur = root
      for _ = 1, 40 do
        local n = {}
        cur.a = n
        cur = n
      end
      cur.back = root.a.a
      enc_fails(root, "json: cannot encode a cycle at " .. string.rep("/a", 40) .. "/back")
      cur.back = { 1, { 2 } }   -- shared again, no cycle: the set must have been emptied
      assert.equal(string.rep('{"a":', 40) .. '{"back":[1,[2]]}' .. string.rep("}", 40), E(root))
    end)

    it("limits depth, 1000 by default", function()
      local t = core.array()
      local cur = t
      for _ = 2, 1000 do
        local n = core.array()
        cur[1] = n
        cur = n
      end
      assert.equal(nest("[", "]", 1000), E(t))
      cur[1] = core.array()
      enc_fails(t, "json: nesting deeper than 1000 at " .. string.rep("/0", 1000))
      enc_fails({ a = { b = {} } }, "json: nesting deeper than 2 at /a/b", { max_depth = 2 })
      assert.equal('{"a":{"b":1}}', E({ a = { b = 1 } }, { max_depth = 2 }))
      enc_fails({}, "json: nesting deeper than 0 at root", { max_depth = 0 })
      assert.equal("1", E(1, { max_depth = 0 }))
    end)

    it("goes deep without C recursion when max_depth allows it", function()
      local t = {}
      local cur = t
      for _ = 1, 20000 do
        local n = {}
        cur.a = n
        cur = n
      end
      local s, err = E(t, { max_depth = 30000 })
      if s then
        assert.equal(20000 * 5 + 2 + 20000, #s)
      else -- LuaJIT lets a C function use at most 8000 stack slots
        assert.matches("^json: nesting too deep for the Lua stack at /a/a/a", err)
      end
    end)

    it("writes keys in recorded order, then the rest sorted bytewise", function()
      local t = { b = 1, a = 2, c = 3, ["a\0"] = 4, B = 5 }
      assert.equal('{"B":5,"a":2,"a\\u0000":4,"b":1,"c":3}', E(t))
      core.setorder(t, { "c", "a", "gone" })
      assert.equal('{"c":3,"a":2,"B":5,"a\\u0000":4,"b":1}', E(t))
      core.setorder(t, { "c", "b", "a", "B", "a\0" })
      assert.equal('{"c":3,"b":1,"a":2,"B":5,"a\\u0000":4}', E(t))
    end)

    it("skips repeated, stale and non-string entries of a recorded order", function()
      local t = { x = 1, y = 2, z = 3 }
      core.setorder(t, { "z", "gone", "z", 5, "x", "y", "x" })
      assert.equal('{"z":3,"x":1,"y":2}', E(t))
      core.setorder(t, { "y", "y", "gone" })            -- partial: the rest sorted after
      assert.equal('{"y":2,"x":1,"z":3}', E(t))
    end)

    it("keeps recorded order for objects with many keys", function()
      local t, order, want = {}, {}, {}
      for i = 100, 1, -1 do
        local k = string.format("k%03d", i)
        t[k] = i
        order[#order + 1] = k
        want[#want + 1] = string.format('"%s":%d', k, i)
      end
      core.setorder(t, order)
      assert.equal("{" .. table.concat(want, ",") .. "}", E(t))
      order[#order] = nil                                 -- k001 now comes from the sorted rest
      assert.equal("{" .. table.concat(want, ",") .. "}", E(t))
      core.setorder(t, { "k050" })
      local s = E(t)
      assert.equal('{"k050":50,"k001":1,"k002":2,', s:sub(1, 29))
    end)

    it("names keys of ordered objects in error pointers", function()
      local t = { z = { 1, { f = print } }, a = 1 }
      core.setorder(t, { "z", "a" })
      enc_fails(t, "json: cannot encode function at /z/1/f")
    end)

    it("pretty-prints with opts.indent", function()
      local t = { a = 1, b = { 1, { c = core.array() } }, d = {} }
      assert.equal('{\n  "a": 1,\n  "b": [\n    1,\n    {\n      "c": []\n    }\n  ],\n  "d": {}\n}',
        E(t, { indent = "  " }))
      assert.equal('[\n\t1,\n\t2\n]', E({ 1, 2 }, { indent = "\t" }))
      assert.equal('{\n"a": 1\n}', E({ a = 1 }, { indent = "" }))
      assert.equal('"x"', E("x", { indent = "  " }))
    end)

    it("encodes a large array of objects", function()
      local rows = core.array()
      for i = 1, 20000 do
        rows[i] = { id = i, name = "row " .. i, ok = i % 2 == 0, price = i + 0.25 }
      end
      local s = E(rows)
      assert.is_true(#s > 1000000)
      assert.equal('[{"id":1,"name":"row 1","ok":false,"price":1.25},', s:sub(1, 49))
      assert.same(rows, D(s))
      same_text(s, E(D(s)))
    end)

    it("raises on bad arguments and options", function()
      assert.has_error(function() E() end)
      assert.has_error(function() E(1, 5) end)
      raises(function() E(1, { indent = 2 }) end, "indent must be a string")
      raises(function() E(1, { indent = " x" }) end, "indent must be spaces and tabs")
      raises(function() E(1, { max_depth = -1 }) end, "max_depth must be a non-negative integer")
      raises(function() E(1, { max_depth = 1.5 }) end, "max_depth must be a non-negative integer")
      raises(function() E(1, { pretty = true }) end, "unknown option 'pretty'")
      raises(function() E(1, { [1] = true }) end, "unknown option '?'")
    end)
  end)

  describe("json_decode", function()
    it("decodes scalars", function()
      assert.equal(true, D("true"))
      assert.equal(false, D("false"))
      assert.equal(core.null, D("null"))
      assert.equal("abc", D('"abc"'))
      assert.equal(42, D("42"))
      assert.equal(-7, D(" -7 "))
    end)

    it("keeps integral numbers as integers when they fit int64", function()
      if not is54 then return end
      assert.equal("integer", math.type(D("42")))
      assert.equal("integer", math.type(D("-0")))
      assert.equal(math.maxinteger, D("9223372036854775807"))
      assert.equal(math.mininteger, D("-9223372036854775808"))
      assert.equal("9007199254740993", tostring(D("9007199254740993")))
      assert.equal("float", math.type(D("9223372036854775808")))
      assert.equal(9223372036854775808.0, D("9223372036854775808"))
      assert.equal("float", math.type(D("-9223372036854775809")))
      assert.equal("float", math.type(D("1.0")))
      assert.equal("float", math.type(D("1e2")))
      assert.equal("float", math.type(D("12345678901234567890")))
    end)

    it("decodes every number as a double on LuaJIT", function()
      if is54 then return end
      assert.equal(9007199254740992, D("9007199254740993"))  -- nearest double
      assert.equal(2 ^ 63, D("9223372036854775807"))
      assert.equal(-2 ^ 63, D("-9223372036854775808"))
    end)

    it("prints integral doubles below 2^63 as integers on LuaJIT", function()
      if is54 then return end
      assert.equal("9007199254741000", E(D("9007199254741000")))
      assert.equal("-9223372036854775808", E(-2 ^ 63))
      assert.equal("100000000000000000", E(1e17))
      assert.equal("9.223372036854776e+18", E(2 ^ 63))
    end)

    it("decodes floats correctly rounded", function()
      assert.equal(0.1, D("0.1"))
      assert.equal(1e300, D("1e300"))
      assert.equal(5e-324, D("5e-324"))
      assert.equal(1e23, D("1e23"))
      assert.equal(1e22, D("1E+22"))
      assert.equal(100, D("1e2"))
      assert.equal(-2.5e-3, D("-25e-4"))
      assert.equal(1500, D("1.5e3"))
      assert.equal(0.1, D("0.1000000000000000055511151231257827"))
      assert.equal(1.7976931348623157e308, D("1.7976931348623157e308"))
      assert.equal(2.2250738585072014e-308, D("2.2250738585072014e-308"))
      assert.equal(9007199254740992, D("9007199254740993.0"))   -- ties to even
      assert.equal(1.2345678901234568e29, D("123456789012345678901234567890"))
      assert.equal(0, D("1e-400"))
      assert.equal(1, D("0." .. string.rep("0", 1000000) .. "1e1000001"))
      assert.equal(1.5, D("15" .. string.rep("0", 400) .. "e-401"))
      local z = D("-0.0")
      assert.equal(0, z)
      assert.equal(-math.huge, 1 / z)
    end)

    it("round-trips integers at the edges of int64 and 2^53", function()
      local list = { "0", "1", "-1", "9007199254740991", "-9007199254740991" }
      if is54 then
        for _, s in ipairs({ "9007199254740993", "9223372036854775807", "-9223372036854775808",
                             "123456789012345678" }) do
          list[#list + 1] = s
        end
      end
      for _, s in ipairs(list) do assert.equal(s, E(D(s))) end
    end)

    it("round-trips floats including -0.0 and the smallest subnormal", function()
      for _, x in ipairs({ 0.1, 1e300, 5e-324, -1.5, 1 / 3, 2.5e-8 }) do
        assert.equal(x, D(E(x)))
      end
      assert.equal("-0.0", E(D(E(-0.0))))
      assert.equal(-math.huge, 1 / D(E(-0.0)))
    end)

    it("marks arrays so [] and {} survive a round trip", function()
      local a, o = D("[]"), D("{}")
      assert.is_true(core.isarray(a))
      assert.equal(core.array_mt, getmetatable(a))
      assert.is_false(core.isarray(o))
      assert.is_nil(getmetatable(o))
      for _, s in ipairs({ "[]", "{}", "[[],{},[[]]]", '{"a":[],"b":{"c":{}}}', "[{}]" }) do
        assert.equal(s, E(D(s)))
      end
    end)

    it("decodes null inside arrays and objects as core.null", function()
      local a = D("[null,1,null]")
      assert.equal(3, #a)
      assert.equal(core.null, a[1])
      assert.equal(core.null, a[3])
      assert.equal(core.null, D('{"a":null}').a)
      assert.equal("[null,1,null]", E(a))
    end)

    it("records key order and re-encodes the same bytes", function()
      local text = '{"zeta":1,"alpha":{"y":[1,{"q":null,"b":2}],"x":true},"mid":"s"}'
      local v = D(text)
      assert.same({ "zeta", "alpha", "mid" }, core.getorder(v))
      assert.same({ "y", "x" }, core.getorder(v.alpha))
      assert.equal(text, E(v))
    end)

    it("skips recording order with opts.order = false", function()
      local v = D('{"b":1,"a":{"d":1,"c":2}}', { order = false })
      assert.is_nil(core.getorder(v))
      assert.is_nil(core.getorder(v.a))
      assert.equal('{"a":{"c":2,"d":1},"b":1}', E(v))
    end)

    it("lets the last duplicate key win and keeps its first position", function()
      local v = D('{"a":1,"b":2,"a":3}')
      assert.equal(3, v.a)
      assert.same({ "a", "b" }, core.getorder(v))
      assert.equal('{"a":3,"b":2}', E(v))
    end)

    it("decodes every escape and unicode form", function()
      assert.equal("\"\\/\b\f\n\r\t", D([["\"\\\/\b\f\n\r\t"]]))
      assert.equal("\195\169\226\130\172", D([["\u00e9\u20AC"]]))
      assert.equal("\240\159\152\128", D([["\ud83d\ude00"]]))
      assert.equal("\244\143\191\191", D([["\uDBFF\uDFFF"]]))
      assert.equal("a\0b", D([["a\u0000b"]]))
      assert.equal("caf\195\169 \240\159\152\128", D('"caf\195\169 \240\159\152\128"'))
      assert.equal("x\127y", D('"x\127y"'))
      assert.equal("\240\159\152\128", E(D([["\ud83d\ude00"]])):sub(2, -2))
      local key = D([[{"\u00e9":1}]])
      assert.equal(1, key["\195\169"])
    end)

    it("accepts JSON whitespace and a leading BOM", function()
      assert.equal(1, D(" \t\r\n1\n "))
      assert.same({ 1, 2 }, D("\239\187\191[1, 2]"))
      assert.equal('{"a":[1]}', E(D('\n{ "a" :\t[ 1 ] }\r\n')))
    end)

    it("reports structural errors with line and column", function()
      dec_fails("", "json:1:1: unexpected end of input, expected a value")
      dec_fails("   ", "json:1:4: unexpected end of input, expected a value")
      dec_fails("[1,", "json:1:4: unexpected end of input, expected a value")
      dec_fails("[1 2]", "json:1:4: unexpected '2', expected ',' or ']'")
      dec_fails('{"a":1 "b":2}', "json:1:8: unexpected '\"', expected ',' or '}'")
      dec_fails('{"a" 1}', "json:1:6: unexpected '1', expected ':'")
      dec_fails("{1:2}", "json:1:2: unexpected '1', expected a string key or '}'")
      dec_fails('{"a":1,2}', "json:1:8: unexpected '2', expected a string key")
      dec_fails("{'a':1}", "json:1:2: unexpected ''', expected a string key or '}'")
      dec_fails("[1,]", "json:1:3: trailing comma before ']'")
      dec_fails('{"a":1 , }', "json:1:8: trailing comma before '}'")
      dec_fails("[1] 2", "json:1:5: unexpected '2', expected end of input")
      dec_fails("1 // c", "json:1:3: unexpected '/', expected end of input")
      dec_fails("/* c */ 1", "json:1:1: unexpected '/', expected a value")
      dec_fails("[1]]", "json:1:4: unexpected ']', expected end of input")
      dec_fails("]", "json:1:1: unexpected ']', expected a value")
      dec_fails("[\0]", "json:1:2: unexpected U+0000, expected a value")
      dec_fails("\195\169", "json:1:1: unexpected U+00E9, expected a value")
      dec_fails("\255", "json:1:1: unexpected byte 0xFF, expected a value")
      dec_fails("\239\187\191", "json:1:1: unexpected end of input, expected a value")
    end)

    it("reports bad literals, NaN and Infinity", function()
      dec_fails("tru", "json:1:1: invalid literal, expected true")
      dec_fails("[fals]", "json:1:2: invalid literal, expected false")
      dec_fails("nul", "json:1:1: invalid literal, expected null")
      dec_fails("True", "json:1:1: unexpected 'T', expected a value")
      dec_fails("[NaN]", "json:1:2: NaN is not valid JSON")
      dec_fails("Infinity", "json:1:1: Infinity is not valid JSON")
      dec_fails("[1,-Infinity]", "json:1:4: Infinity is not valid JSON")
      dec_fails("truex", "json:1:5: unexpected 'x', expected end of input")
    end)

    it("reports bad numbers", function()
      dec_fails("01", "json:1:1: leading zeros are not allowed")
      dec_fails("[-01]", "json:1:3: leading zeros are not allowed")
      dec_fails("+1", "json:1:1: unexpected '+', expected a value")
      dec_fails(".5", "json:1:1: unexpected '.', expected a value")
      dec_fails("-", "json:1:2: unexpected end of input, expected a digit after '-'")
      dec_fails("[-a]", "json:1:3: unexpected 'a', expected a digit after '-'")
      dec_fails("1.", "json:1:3: unexpected end of input, expected a digit after '.'")
      dec_fails("1.e5", "json:1:3: unexpected 'e', expected a digit after '.'")
      dec_fails("1e", "json:1:3: unexpected end of input, expected a digit in the exponent")
      dec_fails("1e+x", "json:1:4: unexpected 'x', expected a digit in the exponent")
      dec_fails("0x10", "json:1:2: unexpected 'x', expected end of input")
      dec_fails("[1e400]", "json:1:2: number out of range")
      dec_fails("-1e999999999", "json:1:1: number out of range")
      dec_fails("0." .. string.rep("0", 100) .. "1e99999999999999999999", "json:1:1: number out of range")
      -- an exponent too long to accumulate must not cancel against the zeros
      for _, z in ipairs({ 99999, 1000000 }) do
        dec_fails("[0." .. string.rep("0", z) .. "1e1000000000]", "json:1:2: number out of range")
        dec_fails("[0." .. string.rep("0", z) .. "1e100000000000000000000]", "json:1:2: number out of range")
      end
    end)

    it("reports bad strings", function()
      dec_fails('"abc', "json:1:1: unterminated string")
      dec_fails('["a\\', "json:1:2: unterminated string")
      dec_fails('"a\nb"', "json:1:3: unexpected U+000A, control characters in strings must be escaped")
      dec_fails('"\9"', "json:1:2: unexpected U+0009, control characters in strings must be escaped")
      dec_fails('"a\\qb"', "json:1:4: unexpected 'q', expected one of \" \\ / b f n r t u after '\\'")
      dec_fails('"\\x41"', "json:1:3: unexpected 'x', expected one of \" \\ / b f n r t u after '\\'")
      dec_fails('"\\u12g4"', "json:1:6: unexpected 'g', expected 4 hex digits after \\u")
      dec_fails('"\\u12', "json:1:6: unexpected end of input, expected 4 hex digits after \\u")
      dec_fails('"\\ud83d"', "json:1:2: unpaired UTF-16 surrogate in \\u escape")
      dec_fails('"\\ud83dx"', "json:1:2: unpaired UTF-16 surrogate in \\u escape")
      dec_fails('"\\ud83d\\u0041"', "json:1:2: unpaired UTF-16 surrogate in \\u escape")
      dec_fails('"\\ude00"', "json:1:2: unpaired UTF-16 surrogate in \\u escape")
      dec_fails('"\\ud83d\\uzz"', "json:1:10: unexpected 'z', expected 4 hex digits after \\u")
      dec_fails("'a'", "json:1:1: unexpected ''', expected a value")
    end)

    it("reports invalid UTF-8 in strings", function()
      dec_fails('"ok\255"', "json:1:4: invalid UTF-8 in string")
      dec_fails('"\192\128"', "json:1:2: invalid UTF-8 in string")          -- overlong NUL
      dec_fails('"\224\128\128"', "json:1:2: invalid UTF-8 in string")      -- overlong
      dec_fails('"\237\160\128"', "json:1:2: invalid UTF-8 in string")      -- surrogate
      dec_fails('"\244\144\128\128"', "json:1:2: invalid UTF-8 in string")  -- > U+10FFFF
      dec_fails('"\226\130"', "json:1:2: invalid UTF-8 in string")          -- truncated
      dec_fails('{"k\128":1}', "json:1:4: invalid UTF-8 in string")
    end)

    it("counts lines at LF, CRLF and CR and columns in characters", function()
      dec_fails('[1,\n 2,\n x]', "json:3:2: unexpected 'x', expected a value")
      dec_fails('[1,\r\n 2,\r\n  x]', "json:3:3: unexpected 'x', expected a value")
      dec_fails('[1,\r x]', "json:2:2: unexpected 'x', expected a value")
      dec_fails('["\195\169\226\130\172", x]', "json:1:8: unexpected 'x', expected a value")
      dec_fails('\239\187\191[x]', "json:1:2: unexpected 'x', expected a value")
      dec_fails('\t[x]', "json:1:3: unexpected 'x', expected a value")
    end)

    it("limits depth, 1000 by default", function()
      assert.equal(nest("[", "]", 1000), E(D(nest("[", "]", 1000))))
      dec_fails(nest("[", "]", 1001), "json:1:1001: nesting deeper than 1000")
      dec_fails(nest('{"a":', "}", 1001, "1"), "json:1:5001: nesting deeper than 1000")
      dec_fails("[[[1]]]", "json:1:3: nesting deeper than 2", { max_depth = 2 })
      assert.equal(1, D("[[1]]", { max_depth = 2 })[1][1])
      dec_fails("[]", "json:1:1: nesting deeper than 0", { max_depth = 0 })
      assert.equal(5, D("5", { max_depth = 0 }))
    end)

    it("goes deep without C recursion when max_depth allows it", function()
      local v, err = D(nest("[", "]", 100000), { max_depth = 200000 })
      if v then
        local n = 0
        while v[1] do v, n = v[1], n + 1 end
        assert.equal(99999, n)
      else -- LuaJIT lets a C function use at most 8000 stack slots
        assert.matches("^json:1:%d+: nesting too deep for the Lua stack$", err)
      end
    end)

    it("decodes a 1 MB document and re-encodes the same bytes", function()
      local parts = {}
      for i = 1, 12000 do
        parts[i] = string.format('{"id":%d,"sku":"p-%d","name":"caf\195\169 \\"%d\\"\\n","amount":%d.%d,' ..
          '"tags":["a","b"],"meta":{},"gone":null,"big":%d}', i, i, i, i, i % 9 + 1, 9007199254740000 + i)
      end
      local text = "[" .. table.concat(parts, ",") .. "]"
      assert.is_true(#text > 1000000)
      local v = assert(D(text))
      assert.equal(12000, #v)
      assert.equal(12000, v[12000].id)
      assert.equal('caf\195\169 "7"\n', v[7].name)
      assert.equal(5.6, v[5].amount)
      assert.equal(core.null, v[3].gone)
      assert.equal(9007199254740000 + 9, v[9].big)
      same_text(text, E(v))
    end)

    it("raises on bad arguments and options", function()
      assert.has_error(function() D() end)
      assert.has_error(function() D({}) end)
      assert.has_error(function() D("1", 1) end)
      raises(function() D("1", { order = 1 }) end, "order must be a boolean")
      raises(function() D("1", { max_depth = "x" }) end, "max_depth must be a non-negative integer")
      raises(function() D("1", { strict = true }) end, "unknown option 'strict'")
    end)
  end)

  describe("decimal point under a comma locale", function()
    local locale
    for _, name in ipairs({ "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8" }) do
      if not locale and os.setlocale(name, "numeric") then locale = name end
    end
    os.setlocale("C", "numeric")
    if not locale then
      pending("skipped: no locale with a decimal comma (localedef -i de_DE -f UTF-8 DIR/de_DE.UTF-8; LOCPATH=DIR)")
      return
    end
    it("encodes and decodes floats with '.' whatever LC_NUMERIC says (" .. locale .. ")", function()
      os.setlocale(locale, "numeric")
      local ok, err = pcall(function()
        if is54 then assert.equal("0,5", string.format("%.1f", 0.5)) end -- the locale is active
        assert.equal("[0.5,1e+300,0.30000000000000004]", E({ 0.5, 1e300, 0.1 + 0.2 }))
        assert.equal(0.1, D("0.1000000000000000055511151231257827"))
        assert.equal(5e-324, D("5e-324"))
        assert.equal(0.5, D("0.5"))
      end)
      os.setlocale("C", "numeric")
      assert(ok, err)
    end)
  end)

  describe("C entry points", function()
    it("arazzo_json_encode_value appends to a luaL_Buffer in use", function()
      assert.equal('<{"a":[1,2]}>', core._json_encode_buffer("<", { a = { 1, 2 } }, ">"))
      local long = string.rep("p", 5000)          -- the buffer already lives in a box
      assert.equal(long .. "[[],{}]!", core._json_encode_buffer(long, core.array({ core.array(), {} }), "!"))
      local big = {}
      for i = 1, 3000 do big[i] = "value " .. i end
      local s = core._json_encode_buffer("", big, "")
      assert.equal(E(big), s)
    end)

    it("arazzo_json_encode_value leaves only the message on error", function()
      local s, err = core._json_encode_buffer("<", { a = { print } }, ">")
      assert.is_nil(s)
      assert.equal("json: cannot encode function at /a/0", err)
    end)

    it("arazzo_json_decode pushes the value or gives a static message and offset", function()
      local v = core._json_decode_raw('{"b":[1,{}],"a":null}')
      assert.equal('{"b":[1,{}],"a":null}', E(v))
      local none, msg, pos = core._json_decode_raw('[1, 2,]')
      assert.is_nil(none)
      assert.equal("trailing comma before ']'", msg)
      assert.equal(5, pos)
      none, msg, pos = core._json_decode_raw('{"a":\255}')
      assert.is_nil(none)
      assert.equal("expected a value", msg)
      assert.equal(5, pos)
    end)
  end)
end)
