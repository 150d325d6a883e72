-- json_at_spec.lua: decoding only the node a JSON pointer selects
-- (core.json_decode(text, {pointer = ...}), the C entry point
-- arazzo_json_decode_at through core._json_decode_at, and the expression
-- evaluator stepping into undecoded JSON bodies). Every result is compared
-- with a full decode followed by the pointer.
local core = require "arazzo.core"

local D = core.json_decode
local is54 = math.type ~= nil -- LuaJIT has no integer subtype

local function nest(open, close, n, inner)
  return string.rep(open, n) .. (inner or "") .. string.rep(close, n)
end

-- nil when a and b are the same decoded value (types, integer subtypes,
-- array marks, recorded key order, members), else where they differ.
local function diff(a, b, path)
  path = path or "#"
  if type(a) ~= type(b) then return path .. ": " .. type(a) .. " vs " .. type(b) end
  if type(a) == "number" then
    if is54 and math.type(a) ~= math.type(b) then return path .. ": " .. math.type(a) .. " vs " .. math.type(b) end
    if a ~= b then return path .. ": " .. tostring(a) .. " vs " .. tostring(b) end
    return nil
  end
  if type(a) ~= "table" then
    if a ~= b then return path .. ": " .. tostring(a) .. " vs " .. tostring(b) end
    return nil
  end
  if getmetatable(a) ~= getmetatable(b) then return path .. ": array mark differs" end
  local oa, ob = core.getorder(a), core.getorder(b)
  if (oa == nil) ~= (ob == nil) then return path .. ": key order recorded on one side only" end
  if oa and table.concat(oa, "\0") ~= table.concat(ob, "\0") then return path .. ": key order differs" end
  for k, v in pairs(a) do
    local d = diff(v, b[k], path .. "/" .. tostring(k))
    if d then return d end
  end
  for k in pairs(b) do
    if a[k] == nil then return path .. "/" .. tostring(k) .. ": only on the right" end
  end
  return nil
end

-- Every pointer into v (escaped), plus pointers that select nothing next
-- to each node: missing keys, out-of-range, "-" and non-canonical indexes,
-- and steps into scalars.
local function pointers(v, prefix, out)
  out[#out + 1] = prefix
  if type(v) ~= "table" then
    out[#out + 1] = prefix .. "/x"
    out[#out + 1] = prefix .. "/0"
    return out
  end
  if core.isarray(v) then
    for i = 1, #v do pointers(v[i], prefix .. "/" .. (i - 1), out) end
    for _, t in ipairs({ tostring(#v), "-", "01", "00", "1e0", " 0", "+0", "-1", "x", "",
                         "99999999999999999999" }) do
      out[#out + 1] = prefix .. "/" .. t
    end
  else
    for _, k in ipairs(core.keys(v)) do pointers(v[k], prefix .. "/" .. core.pointer_escape(k), out) end
    for _, t in ipairs({ "missing", "0", "", "~0", "~1" }) do out[#out + 1] = prefix .. "/" .. t end
  end
  return out
end

-- Assert that the pointer path gives what a full decode + pointer_get
-- gives, for every pointer into text, with and without key order.
local function agrees(text, extra)
  local count = 0
  for _, order in ipairs({ true, false }) do
    local whole = assert(D(text, { order = order }))
    local list = pointers(whole, "", {})
    for _, p in ipairs(extra or {}) do list[#list + 1] = p end
    for _, p in ipairs(list) do
      local want = core.pointer_get(whole, p)
      local n = select("#", D(text, { pointer = p, order = order }))
      local got = D(text, { pointer = p, order = order })
      assert.equal(1, n)
      local d = diff(want, got)
      assert(d == nil, ("pointer %q (order %s): %s"):format(p, tostring(order), tostring(d)))
      count = count + 1
    end
  end
  return count
end

-- Assert that text fails the same way with any pointer as without one.
local function fails_alike(text, opts)
  local want = { D(text, opts) }
  assert.is_nil(want[1])
  assert.equal("json", want[3])
  for _, p in ipairs({ "", "/a", "/0", "/a/b", "/0/0", "/x/y/z", "/-" }) do
    local o = { pointer = p }
    for k, v in pairs(opts or {}) do o[k] = v end
    assert.same(want, { D(text, o) })
  end
  return want[2]
end

local invoice = '{"id":"in_1PNc","object":"invoice","amount_due":123400,"status":"open",' ..
  '"lines":{"object":"list","data":[{"id":"il_1","amount":1234,"period":{"end":1717459200,"start":1714867200},' ..
  '"metadata":{},"tax_amounts":[],"proration":false,"price":null,"description":"Usage \\u2014 meter 1"},' ..
  '{"id":"il_2","amount":2468,"metadata":{"k":"v"},"tax_amounts":[{"amount":0}]}],"has_more":false},' ..
  '"total":-0.5e-3,"big":9223372036854775807,"neg":-9223372036854775808,"f":1.5,"e":1E2,"z":-0,' ..
  '"metadata":{"source":"amberflo","run":"2024-06"}}'

describe("arazzo.core json_decode with a pointer", function()
  describe("agrees with a full decode followed by the pointer", function()
    it("on an invoice-like document, for every node and every near miss", function()
      assert.is_true(agrees(invoice) > 200)
    end)

    it("on duplicate keys: the last one wins, subtree and all", function()
      agrees('{"a":1,"a":2}')
      agrees('{"a":{"b":1},"a":{"c":2}}', { "/a/b", "/a/c" })
      agrees('{"a":{"b":{"c":1}},"a":5}', { "/a/b", "/a/b/c" })
      agrees('{"a":5,"a":{"b":{"c":1}}}', { "/a/b/c" })
      agrees('{"a":[1,{"b":2}],"x":{"a":3,"b":{"a":4}},"a":[2,{"b":[5]}]}', { "/a/1/b/0" })
      agrees('{"a":{"b":1,"b":{"c":2},"d":3},"a":{"b":{"c":4}}}', { "/a/b/c", "/a/d" })
      agrees('[{"a":1,"a":{"b":2}},{"a":{"b":3},"a":4}]', { "/0/a/b", "/1/a/b" })
      assert.same({ c = 2 }, D('{"a":{"b":1},"a":{"c":2}}', { pointer = "/a" }))
      assert.is_nil(D('{"a":{"b":1},"a":{"c":2}}', { pointer = "/a/b" }))
    end)

    it("on keys with escapes, '~', '/' and non-ASCII characters", function()
      local text = '{"a/b":1,"m~n":2,"\\u0061\\u002fc":3,"caf\\u00e9":4,"caf\195\169":5,"\\ud83d\\ude00":6,' ..
        '"q\\"\\\\":7,"":8,"~":9,"/":10,"~01":11,"\\/x":12,"tab\\t":13,"nul\\u0000":14}'
      agrees(text)
      assert.equal(3, D(text, { pointer = "/a~1c" }))
      assert.equal(5, D(text, { pointer = "/caf\195\169" })) -- last duplicate wins
      assert.equal(6, D(text, { pointer = "/\240\159\152\128" }))
      assert.equal(7, D(text, { pointer = '/q"\\' }))
      assert.equal(8, D(text, { pointer = "/" }))
      assert.equal(11, D(text, { pointer = "/~001" }))
      assert.equal(12, D(text, { pointer = "/~1x" }))
      assert.equal(14, D(text, { pointer = "/nul\0" }))
      assert.is_nil(D(text, { pointer = "/nul" }))
    end)

    it("on arrays: 0-based indexes; '-', leading zeros and other spellings select nothing", function()
      local text = '[10,[20,21],{"0":"zero","01":"z1","-":"dash"},[],{}]'
      agrees(text)
      assert.equal(10, D(text, { pointer = "/0" }))
      assert.equal(21, D(text, { pointer = "/1/1" }))
      assert.equal("zero", D(text, { pointer = "/2/0" }))
      assert.equal("z1", D(text, { pointer = "/2/01" }))
      assert.equal("dash", D(text, { pointer = "/2/-" }))
      assert.is_nil(D(text, { pointer = "/-" }))
      assert.is_nil(D(text, { pointer = "/01" }))
      assert.is_nil(D(text, { pointer = "/5" }))
      assert.is_true(core.isarray(D(text, { pointer = "/3" })))
      assert.is_false(core.isarray(D(text, { pointer = "/4" })))
    end)

    it("on scalars, empty containers and whitespace around everything", function()
      agrees('"abc"')
      agrees("  -12.5e1 ")
      agrees("null")
      agrees("true")
      agrees("[]")
      agrees("{}")
      agrees('\239\187\191 \r\n{ "a" :\t[ 1 , { "b" : [ ] } ] , "c" : { } }\n ')
      assert.equal("abc", D('"abc"', { pointer = "" }))
      assert.is_nil(D('"abc"', { pointer = "/a" }))
      assert.equal(core.null, D('{"a":null}', { pointer = "/a" }))
      assert.is_nil(D('{"a":null}', { pointer = "/a/b" }))
    end)

    it("on numbers: integer subtypes, floats, -0 and large values", function()
      local text = '[0,-0,1,-1,9223372036854775807,-9223372036854775808,9223372036854775808,' ..
        '1.5,-0.0,1e2,1E-2,123456789012345678901234567890,1e308,4.9e-324,0.1]'
      agrees(text)
      if is54 then
        assert.equal("integer", math.type(D(text, { pointer = "/4" })))
        assert.equal(math.maxinteger, D(text, { pointer = "/4" }))
        assert.equal("float", math.type(D(text, { pointer = "/6" })))
      end
      assert.equal(0.1, D(text, { pointer = "/14" }))
    end)

    it("on strings holding JSON: they are values, not stepped into", function()
      local text = '{"s":"{\\"z\\":[1,2]}"}'
      agrees(text, { "/s/z", "/s/z/0" })
      assert.equal('{"z":[1,2]}', D(text, { pointer = "/s" }))
      assert.is_nil(D(text, { pointer = "/s/z" }))
    end)

    it("on deep nesting, with pointers longer than the on-stack limit", function()
      local deep = nest('{"a":[', "]}", 60, '"end"')
      assert.is_true(agrees(deep) > 100)
      assert.equal("end", D(deep, { pointer = string.rep("/a/0", 60) }))
      local arrays = nest("[", "]", 999, "7")
      assert.equal(7, D(arrays, { pointer = string.rep("/0", 999) }))
      assert.is_nil(D(arrays, { pointer = string.rep("/0", 1000) }))
      assert.is_nil(D(arrays, { pointer = string.rep("/0", 500) .. "/1" }))
    end)

    it("on a 1 MB document, selecting a member near the end", function()
      local parts = {}
      for i = 1, 10000 do
        parts[i] = string.format('{"id":%d,"name":"n\\u00e9 %d","tags":["a","b"],"m":{"k":%d.5}}', i, i, i)
      end
      local text = "[" .. table.concat(parts, ",") .. "]"
      assert.is_true(#text > 500000)
      assert.equal(9999.5, D(text, { pointer = "/9998/m/k" }))
      assert.equal("n\195\169 10000", D(text, { pointer = "/9999/name" }))
      assert.is_nil(D(text, { pointer = "/10000" }))
      assert.is_nil(diff(core.pointer_get(D(text), "/4321"), D(text, { pointer = "/4321" })))
    end)

    it("records key order of the selected node only when asked", function()
      local text = '{"x":{"b":1,"a":2,"b":3}}'
      local v = D(text, { pointer = "/x" })
      assert.same({ "b", "a" }, core.getorder(v))
      assert.equal(3, v.b)
      assert.is_nil(core.getorder(D(text, { pointer = "/x", order = false })))
    end)
  end)

  describe("fails exactly like a full decode, wherever the error is", function()
    it("structural errors before, inside and after the selected node", function()
      local cases = {
        { "", "json:1:1: unexpected end of input, expected a value" },
        { "[1,", "json:1:4: unexpected end of input, expected a value" },
        { '{"a":1 "b":2}', "json:1:8: unexpected '\"', expected ',' or '}'" },
        { '{"a" 1}', "json:1:6: unexpected '1', expected ':'" },
        { "{1:2}", "json:1:2: unexpected '1', expected a string key or '}'" },
        { '{"a":1,2}', "json:1:8: unexpected '2', expected a string key" },
        { "[1,]", "json:1:3: trailing comma before ']'" },
        { '{"a":1 , }', "json:1:8: trailing comma before '}'" },
        { '{"a":1} 2', "json:1:9: unexpected '2', expected end of input" },
        { '{"a":{"b":1}}}', "json:1:14: unexpected '}', expected end of input" },
        { '{"a":{"b":1},"c":[1 2]}', "json:1:21: unexpected '2', expected ',' or ']'" },
        { '{"x":[1,2,],"a":{"b":1}}', "json:1:10: trailing comma before ']'" },
        { '{"a":{"b":1,}}', "json:1:12: trailing comma before '}'" },
        { '{"a":{"b":1},"a":{"b":}}', "json:1:23: unexpected '}', expected a value" },
        { '[[1],[2],[3]', "json:1:13: unexpected end of input, expected ',' or ']'" },
        { '{"a":1}\0', "json:1:8: unexpected U+0000, expected end of input" },
        { "\239\187\191", "json:1:1: unexpected end of input, expected a value" },
        { '[1,\r\n 2,\r\n  x]', "json:3:3: unexpected 'x', expected a value" },
      }
      for _, c in ipairs(cases) do assert.equal(c[2], fails_alike(c[1])) end
    end)

    it("bad literals, numbers and strings anywhere in the text", function()
      local cases = {
        { '{"a":1,"b":tru}', "json:1:12: invalid literal, expected true" },
        { '{"a":1,"b":[NaN]}', "json:1:13: NaN is not valid JSON" },
        { '{"a":-Infinity}', "json:1:6: Infinity is not valid JSON" },
        { '{"a":1,"b":01}', "json:1:12: leading zeros are not allowed" },
        { '{"a":1,"b":1.}', "json:1:14: unexpected '}', expected a digit after '.'" },
        { '{"a":1,"b":1e+}', "json:1:15: unexpected '}', expected a digit in the exponent" },
        { '{"a":1,"b":[1e400]}', "json:1:13: number out of range" },
        { '{"a":1,"b":-1e999999999}', "json:1:12: number out of range" },
        { '{"a":1,"b":"x\ny"}', "json:1:14: unexpected U+000A, control characters in strings must be escaped" },
        { '{"a":1,"b":"\\q"}', "json:1:14: unexpected 'q', expected one of \" \\ / b f n r t u after '\\'" },
        { '{"a":1,"b":"\\u12g4"}', "json:1:17: unexpected 'g', expected 4 hex digits after \\u" },
        { '{"a":1,"\\ud83d":2}', "json:1:9: unpaired UTF-16 surrogate in \\u escape" },
        { '{"a":1,"b":"\\ude00"}', "json:1:13: unpaired UTF-16 surrogate in \\u escape" },
        { '{"a":1,"b":"ok\255"}', "json:1:15: invalid UTF-8 in string" },
        { '{"a":1,"k\128":1}', "json:1:10: invalid UTF-8 in string" },
        { '{"a":"\237\160\128"}', "json:1:7: invalid UTF-8 in string" },
        { '{"a":1,"b":"abc', "json:1:12: unterminated string" },
        { '{"a":1,"b":\'x\'}', "json:1:12: unexpected ''', expected a value" },
      }
      for _, c in ipairs(cases) do assert.equal(c[2], fails_alike(c[1])) end
    end)

    it("numbers at the edges of the selecting pass's shortcut", function()
      for _, n in ipairs({ 299, 300, 301, 308, 309 }) do
        local big = "1" .. string.rep("0", n - 1)
        agrees("[" .. big .. "," .. big .. ".5,-" .. big .. ",0.000,-0,1.5e3,2E-2]")
      end
      assert.equal(1e308, D("[1" .. string.rep("0", 308) .. "]", { pointer = "/0" }))
      local huge = "1" .. string.rep("0", 309)
      assert.equal("json:1:7: number out of range", fails_alike('{"a":[' .. huge .. "]}"))
      assert.equal("json:1:6: number out of range", fails_alike('{"a":' .. huge .. ".5}"))
      assert.equal("json:1:8: leading zeros are not allowed", fails_alike('{"a":[-01]}'))
      assert.equal("json:1:7: leading zeros are not allowed", fails_alike('{"a":[00]}'))
      assert.equal("json:1:9: unexpected 'e', expected a digit after '.'", fails_alike('{"a":[1.e1]}'))
      assert.equal("json:1:8: unexpected ']', expected a digit after '-'", fails_alike('{"a":[-]}'))
      assert.equal("json:1:8: unexpected 'x', expected ',' or ']'", fails_alike('{"a":[1x]}'))
      assert.equal("json:1:9: unexpected ']', expected a digit in the exponent", fails_alike('{"a":[1e]}'))
    end)

    it("nesting limits, also in parts of the text the pointer does not visit", function()
      assert.equal("json:1:1001: nesting deeper than 1000", fails_alike(nest("[", "]", 1001)))
      assert.equal("json:1:5007: nesting deeper than 1000",
        fails_alike('{"a":1,"b":' .. nest('{"a":', "}", 1001, "1") .. "}"))
      assert.equal("json:1:14: nesting deeper than 3", fails_alike('{"a":1,"b":[[[1]]]}', { max_depth = 3 }))
      assert.equal("json:1:1: nesting deeper than 0", fails_alike("{}", { max_depth = 0 }))
      assert.equal(1, D('{"a":1,"b":[[1]]}', { pointer = "/a", max_depth = 3 }))
      assert.equal(5, D("5", { pointer = "", max_depth = 0 }))
    end)

    it("the Lua stack limit, where a building decode would reach it", function()
      -- LuaJIT lets a C function use 8000 stack slots, Lua 5.4 a million;
      -- an object level takes 3 slots with key order, 2 without. Where
      -- exactly a decode stops depends on the stack's state (Lua 5.4 keeps
      -- an overflowed stack at its error size until a collection), so two
      -- full decodes of the same text may already stop a few levels apart:
      -- only the message is compared.
      local limit = is54 and 1000000 or 8000
      for _, order in ipairs({ true, false }) do
        local n = math.floor(limit / (order and 3 or 2)) + 100
        local text = nest('{"a":', "}", n, "1")
        local aside = '{"a":1,"b":' .. text .. "}" -- the deep part is not selected
        for _, c in ipairs({ { text, false }, { text, "/a" }, { text, "/a/a/a" }, { aside, "/a" } }) do
          local v, msg, code = D(c[1], { max_depth = 10 * n, order = order, pointer = c[2] or nil })
          assert.is_nil(v)
          assert.matches("^json:1:%d+: nesting too deep for the Lua stack$", msg)
          assert.equal("json", code)
        end
      end
    end)
  end)

  describe("arguments", function()
    it("raises on a pointer that is not a string or is malformed", function()
      local function raises(opts, detail)
        local ok, err = pcall(D, "{}", opts)
        assert.is_false(ok)
        assert.equal("(" .. detail .. ")", err:sub(-#detail - 2))
      end
      raises({ pointer = 1 }, "pointer must be a string")
      raises({ pointer = "a" }, "pointer must be empty or start with '/'")
      raises({ pointer = "/a~2" }, "'~' in a pointer must be followed by '0' or '1'")
      raises({ pointer = "/a~" }, "'~' in a pointer must be followed by '0' or '1'")
      raises({ pointer = "a", order = 1 }, "order must be a boolean")
    end)
  end)
end)

describe("arazzo.core json scratch memory and string scanning", function()
  it("reuses one scratch per Lua state and replaces one left in use", function()
    local S = core._json_scratch
    assert(D('{"a":"b"}'))
    local first = S("peek")
    assert.is_not_nil(first)
    assert(D('{"a":"\\u00e9"}', { pointer = "/a" }))
    assert(core.json_encode({ a = core.array({ 1, 2 }) }))
    assert.equal(first, S("peek"))
    assert.equal(first, S("take"))   -- now busy for good, as after a raised error
    assert.equal("\195\169", D('{"a":"\\u00e9"}', { pointer = "/a" }))
    local second = S("peek")
    assert.is_not_nil(second)
    assert.are_not.equal(first, second)
    assert.equal('{"a":[1,2]}', core.json_encode({ a = core.array({ 1, 2 }) }))
    assert.same({ nil, "json:1:7: trailing comma before '}'", "json" }, { D('{"a":1,}') })
    assert.equal(second, S("peek"))
    -- large runs leave nothing behind that changes later results
    local big = string.rep("\\n", 20000)
    assert.equal(string.rep("\n", 20000), D('{"a":"' .. big .. '"}', { pointer = "/a" }))
    assert.equal(#big + 2, #core.json_encode(string.rep("\n", 20000)))
    assert.equal("x", D('{"a":"x"}', { pointer = "/a" }))
    assert.equal(second, S("peek"))
    local ok, err = pcall(S, "drop")
    assert.is_false(ok)
    assert.matches("expected 'peek' or 'take'", err)
  end)

  it("finds every special byte at every offset of a long string", function()
    local specials = {
      { '\\"', '"' }, { "\\\\", "\\" }, { "\\n", "\n" }, { "\\u0041", "A" },
      { "\195\169", "\195\169" }, { "\240\159\152\128", "\240\159\152\128" },
    }
    local bad = {
      { "\n", "control characters in strings must be escaped" }, { "\31", "control characters in strings must be escaped" },
      { "\128", "invalid UTF-8 in string" }, { "\255", "invalid UTF-8 in string" },
    }
    for off = 0, 19 do
      local pre = string.rep("a", off)
      for _, sp in ipairs(specials) do
        local text = '["' .. pre .. sp[1] .. 'bcdefghijklmnop"]'
        assert.equal(pre .. sp[2] .. "bcdefghijklmnop", D(text)[1])
        assert.equal(pre .. sp[2] .. "bcdefghijklmnop", D(text, { pointer = "/0" }))
      end
      for _, b in ipairs(bad) do
        local text = '["' .. pre .. b[1] .. 'bcdefghijklmnop"]'
        local _, err = D(text)
        assert.matches(b[2], err, 1, true)
        assert.matches(":1:" .. (off + 3) .. ": ", err, 1, true)
        assert.same({ D(text) }, { D(text, { pointer = "/0" }) })
      end
      assert.same({ nil, "json:1:2: unterminated string", "json" }, { D('["' .. pre .. 'bcdefghijklmnop') })
    end
  end)
end)

describe("arazzo.core arazzo_json_decode_at (C)", function()
  local A = core._json_decode_at

  it("returns the selected node and how many tokens applied", function()
    local text = '{"a":{"b":[1,{"c":"x"}]},"n":null,"s":"{\\"t\\":1}"}'
    assert.same({ "x", 4 }, { A(text, { "a", "b", "1", "c" }) })
    assert.same({ 1, 3 }, { A(text, { "a", "b", "0" }) })
    local whole, used = A(text, {})
    assert.equal(0, used)
    assert.is_nil(diff(D(text), whole))
  end)

  it("stops at the first token that cannot be applied", function()
    local text = '{"a":{"b":[1,{"c":"x"}]},"n":null,"s":"{\\"t\\":1}"}'
    assert.same({ nil, 1 }, { A(text, { "a", "x", "y" }) })   -- object lacks "x"
    assert.same({ nil, 2 }, { A(text, { "a", "b", "2" }) })   -- array too short
    assert.same({ nil, 2 }, { A(text, { "a", "b", "-" }) })
    assert.same({ nil, 2 }, { A(text, { "a", "b", "01" }) })
    assert.same({ nil, 0 }, { A(text, { "zz" }) })
    -- a scalar before the tokens run out is returned, for the caller to step into
    assert.same({ 1, 3 }, { A(text, { "a", "b", "0", "c" }) })
    assert.same({ core.null, 1 }, { A(text, { "n", "x" }) })
    assert.same({ '{"t":1}', 1 }, { A(text, { "s", "t" }) })
    assert.same({ "x", 4 }, { A(text, { "a", "b", "1", "c" }) })
    -- after a duplicate, the earlier subtree no longer counts
    assert.same({ 5, 1 }, { A('{"a":{"b":{"c":1}},"a":5}', { "a", "b", "c" }) })
  end)

  it("handles more tokens than fit on the C stack", function()
    local toks = {}
    for i = 1, 40 do toks[i] = "0" end
    local text = nest("[", "]", 40, "true")
    assert.same({ true, 40 }, { A(text, toks) })
    toks[41] = "x"
    assert.same({ true, 40 }, { A(text, toks) })
    toks[41], toks[20] = nil, "1"
    assert.same({ nil, 19 }, { A(text, toks) })
  end)

  it("fails like arazzo_json_decode: static message, 0-based offset", function()
    assert.same({ core._json_decode_raw('{"a":1,}') }, { A('{"a":1,}', { "a" }) })
    assert.same({ nil, "trailing comma before '}'", 6 }, { A('{"a":1,}', { "a" }) })
    assert.same({ nil, "nesting too deep", 1000 }, { A(nest("[", "]", 1001), { "0" }) })
  end)

  it("raises on tokens that are not strings", function()
    local ok, err = pcall(A, "[]", { 1 })
    assert.is_false(ok)
    assert.matches("tokens must be strings", err)
  end)
end)

describe("arazzo.expr stepping into an undecoded JSON body", function()
  local body = '{"id":"in_1","status":"open","amount_due":1234,"lines":{"data":[{"id":"il_1","amount":1000},' ..
    '{"id":"il_2","amount":234}]},"a/b":"slash","m~n":"tilde","":"empty","01":"zero-one","0":"zero",' ..
    '"tags":[],"meta":{},"note":null,"dup":1,"dup":{"x":2},"inner":"{\\"x\\":[1,{\\"y\\":\\"deep\\"}]}",' ..
    '"bad_inner":"{\\"x\\":","text":"plain","k\\u00e9":"accent","esc\\"q":"quote","length":"member",' ..
    '"items":[1,2,3]}'

  local function ctx(b) return { statusCode = 200, response = { header = {}, body = b } } end

  -- Evaluate src (compiled in mode) with the body as a string and as the
  -- decoded value; both must give the same results.
  local function both(src, mode, value_of)
    local e = assert(core.expr_compile(src, mode or "expression", { lenient = true }))
    local s = { e:eval(ctx(body), value_of and body or nil) }
    local decoded = D(body)
    local t = { e:eval(ctx(decoded), value_of and decoded or nil) }
    assert(#s == #t, src)
    assert(diff(t[1], s[1]) == nil, src .. ": " .. tostring(diff(t[1], s[1])))
    assert.equal(t[2], s[2])
    return s[1], s[2]
  end

  it("gives the same values and messages as the decoded body", function()
    local exprs = {
      "$response.body#/id", "$response.body#/lines/data/1/amount", "$response.body#/lines/data/1",
      "$response.body#/lines/data/2", "$response.body#/lines/data/-", "$response.body#/lines/data/01",
      "$response.body#/lines/data/2/id", "$response.body#/a~1b", "$response.body#/m~0n", "$response.body#/",
      "$response.body#/01", "$response.body#/0", "$response.body#/tags/0", "$response.body#/meta/x",
      "$response.body#/note", "$response.body#/note/x", "$response.body#/dup", "$response.body#/dup/x",
      "$response.body#/inner", "$response.body#/inner/x/1/y", "$response.body#/inner/x/5",
      "$response.body#/inner/x/1/y/z", "$response.body#/bad_inner/x", "$response.body#/text/x",
      "$response.body#/k\195\169", '$response.body#/esc"q', "$response.body#/id/x", "$response.body#/missing",
      "$response.body#/lines", "$response.body.lines.data.0.id", "$response.body.inner.x.1.y",
    }
    for _, src in ipairs(exprs) do both(src) end
    assert.same({ "il_2" }, { both("$response.body#/lines/data/1/id") })
    assert.same({ "deep" }, { both("$response.body#/inner/x/1/y") })
    assert.same({ 2 }, { both("$response.body#/dup/x") })
    assert.same({ nil, "$response.body#/lines/data/2/id: no value at '/lines/data/2'" },
      { both("$response.body#/lines/data/2/id") })
    assert.same({ nil, "$response.body#/id/x: no value at '/id/x'" }, { both("$response.body#/id/x") })
    assert.same({ nil, "$response.body#/inner/x/5: no value at '/inner/x/5'" }, { both("$response.body#/inner/x/5") })
    assert.same({ nil, "$response.body#/bad_inner/x: cannot look up '/bad_inner/x' in a string that is not JSON" },
      { both("$response.body#/bad_inner/x") })
    assert.same({ nil, "$response.body#/text/x: no value at '/text/x'" }, { both("$response.body#/text/x") })
  end)

  it("in conditions, templates and jsonpath-style conditions", function()
    assert.same({ true }, { both("$response.body#/status == 'open'", "condition") })
    assert.same({ true }, { both("$response.body.lines.data[1].amount == 234", "condition") })
    assert.same({ true }, { both("$response.body.inner.x[1].y == 'deep'", "condition") })
    assert.same({ "in_1/il_2/zero" },
      { both("{$response.body#/id}/{$response.body#/lines/data/1/id}/{$response.body#/0}", "template") })
    assert.same({ true }, { both("$.items.length == 3", "jscondition", true) })
    assert.same({ true }, { both("$.lines.data.length == 2", "jscondition", true) })
    assert.same({ true }, { both("$.lines.data[0].amount > 999", "jscondition", true) })
  end)

  it("rejects a body that is not JSON anywhere in the text", function()
    local msg = "$response.body#/status: cannot look up '/status' in a string that is not JSON"
    for _, bad in ipairs({ '{"status":"open"} x', '{"status":"open","a":tru}', '{"status":"open",}',
                           '{"status":"open","n":1e400}', '{"status":"open","s":"\255"}',
                           '{"status":"open","d":' .. nest("[", "]", 1001) .. "}" }) do
      local e = assert(core.expr_compile("$response.body#/status", "expression"))
      assert.same({ nil, msg }, { e:eval(ctx(bad)) })
    end
    local e = assert(core.expr_compile("$response.body#/status", "expression"))
    assert.same({ nil, "$response.body#/status: no value at '/status'" }, { e:eval(ctx("<xml/>")) })
    assert.same({ "open" }, { e:eval(ctx(' \n{"status":"open"}\t')) })
  end)

  it("follows pointers longer than one decoding run", function()
    local text = nest('{"k":', "}", 40, '"leaf"')
    local e = assert(core.expr_compile("$response.body#" .. string.rep("/k", 40), "expression"))
    assert.equal("leaf", e:eval(ctx(text)))
    e = assert(core.expr_compile("$response.body#" .. string.rep("/k", 41), "expression"))
    assert.same({ nil, "$response.body#" .. string.rep("/k", 41) .. ": no value at '" .. string.rep("/k", 41) .. "'" },
      { e:eval(ctx(text)) })
    e = assert(core.expr_compile("$response.body#" .. string.rep("/k", 20) .. "/j/k", "expression"))
    assert.same({ nil, "$response.body#" .. string.rep("/k", 20) .. "/j/k: no value at '" ..
      string.rep("/k", 20) .. "/j'" }, { e:eval(ctx(text)) })
  end)

  describe("through the root-member index of a body read many times", function()
    -- Bodies of 64 bytes and more whose root is an object are checked once
    -- and indexed; later reads of the same string use the index. The
    -- results must stay those of a full decode, read after read, while
    -- other bodies come and go from the cache (it keeps 4).
    local plain = body:gsub(',"k\\u00e9":"accent"', ""):gsub(',"esc\\"q":"quote"', "")
    assert(#plain < #body - 20 and not plain:find("\\u00e9"), "fixture: plain has no escaped keys")
    local POINTERS = { "/id", "/status", "/amount_due", "/lines/data/1/amount", "/lines/data/1", "/lines/data/2",
      "/lines/data/-", "/a~1b", "/m~0n", "/", "/01", "/0", "/tags/0", "/meta", "/meta/x", "/note", "/note/x", "/dup",
      "/dup/x", "/inner", "/inner/x/1/y", "/inner/x/5", "/bad_inner/x", "/text/x", "/id/x", "/missing", "/items/2",
      "/lines" }

    local function agree(text, n)
      local decoded = D(text)
      for _ = 1, n or 2 do
        for _, p in ipairs(POINTERS) do
          local e = assert(core.expr_compile("$response.body#" .. p, "expression"))
          local a = { e:eval(ctx(text)) }
          local b = { e:eval(ctx(decoded)) }
          assert(diff(b[1], a[1]) == nil, p .. ": " .. tostring(diff(b[1], a[1])))
          assert.equal(b[2], a[2], p)
        end
      end
    end

    it("gives a full decode's values and messages on every read", function()
      agree(plain, 3)
      agree(body, 2) -- escaped keys: the index is not used for this one
      agree(" \n\t" .. plain .. "\n ", 2)
    end)

    it("keeps the last duplicate of a root member, subtree and all", function()
      local text = '{"dup":{"x":1,"y":[1,2]},"pad":"' .. string.rep("p", 60) .. '","dup":{"x":2}}'
      local e = assert(core.expr_compile("$response.body#/dup/x", "expression"))
      local ey = assert(core.expr_compile("$response.body#/dup/y", "expression"))
      for _ = 1, 3 do
        assert.equal(2, e:eval(ctx(text)))
        assert.same({ nil, "$response.body#/dup/y: no value at '/dup/y'" }, { ey:eval(ctx(text)) })
      end
    end)

    it("stays right while bodies are evicted and come back, and for equal strings built apart", function()
      local texts = {}
      for i = 1, 7 do
        texts[i] = string.format('{"id":"in_%d","status":"s%d","pad":"%s","n":%d}', i, i, string.rep("x", 64), i)
      end
      local eid = assert(core.expr_compile("$response.body#/id", "expression"))
      local en = assert(core.expr_compile("$response.body#/n", "expression"))
      for round = 1, 4 do
        for i = 1, 7 do
          local j = (i * round) % 7 + 1
          assert.equal("in_" .. j, eid:eval(ctx(texts[j])))
          assert.equal(j, en:eval(ctx(texts[j])))
        end
      end
      local copy = table.concat({ texts[3]:sub(1, 10), texts[3]:sub(11) })
      assert.equal("in_3", eid:eval(ctx(copy)))
      assert.equal(3, en:eval(ctx(copy)))
    end)

    it("refuses a long body that is not JSON anywhere, read after read", function()
      local msg = "$response.body#/status: cannot look up '/status' in a string that is not JSON"
      local pad = string.rep("p", 80)
      local e = assert(core.expr_compile("$response.body#/status", "expression"))
      for _, bad in ipairs({ '{"status":"open","pad":"' .. pad .. '"} x', '{"status":"open","pad":"' .. pad .. '","a":tru}',
                             '{"status":"open","pad":"' .. pad .. '",}', '{"status":"open","pad":"' .. pad .. '"',
                             '{"status":"open","pad":"' .. pad .. '","d":' .. nest("[", "]", 1001) .. "}" }) do
        for _ = 1, 2 do assert.same({ nil, msg }, { e:eval(ctx(bad)) }) end
      end
    end)

    it("leaves array roots and short bodies to the plain path, with the same results", function()
      local arr = "[" .. plain .. "," .. plain .. "]"
      local e = assert(core.expr_compile("$response.body#/1/lines/data/0/id", "expression"))
      for _ = 1, 2 do assert.equal("il_1", e:eval(ctx(arr))) end
      local short = '{"id":"x","status":"open"}'
      local es = assert(core.expr_compile("$response.body#/status", "expression"))
      for _ = 1, 2 do assert.equal("open", es:eval(ctx(short))) end
    end)
  end)
end)
