-- yaml_spec.lua: core.yaml_load / core.yaml_events (src/yaml.c).
local core = require "arazzo.core"
local helpers = require "helpers"

local null = core.null
local has_int = math.type ~= nil -- Lua 5.3+: integer subtype

local function load(src, opts) return core.yaml_load(src, "t.yaml", opts) end

-- Assert that src fails with exactly msg (chunk "t.yaml").
local function fails(src, msg, opts)
  local v, err, code = core.yaml_load(src, "t.yaml", opts)
  assert.is_nil(v)
  assert.equal(msg, err)
  assert.equal("yaml", code)
end

local function is_int(v, n)
  assert.equal("number", type(v))
  assert.equal(n, v)
  if has_int then assert.equal("integer", math.type(v)) end
end

local function is_float(v, n)
  assert.equal("number", type(v))
  if n ~= n then assert.is_true(v ~= v) else assert.equal(n, v) end
  if has_int then assert.equal("float", math.type(v)) end
end

describe("arazzo.core yaml", function()
  describe("core schema", function()
    -- plain text -> expected value (a function checks numbers)
    local cases = {
      { "~", null }, { "null", null }, { "Null", null }, { "NULL", null },
      { "true", true }, { "True", true }, { "TRUE", true },
      { "false", false }, { "False", false }, { "FALSE", false },
      { "yes", "yes" }, { "no", "no" }, { "on", "on" }, { "off", "off" }, { "y", "y" }, { "n", "n" },
      { "Yes", "Yes" }, { "nULL", "nULL" }, { "tRUE", "tRUE" }, { "nil", "nil" },
      { "0", 0, "int" }, { "12", 12, "int" }, { "-12", -12, "int" }, { "+12", 12, "int" },
      { "007", 7, "int" }, { "0o17", 15, "int" }, { "0o0", 0, "int" }, { "0x1F", 31, "int" },
      { "0xff", 255, "int" }, { "0x0", 0, "int" },
      { "0o8", "0o8" }, { "0x", "0x" }, { "0xG", "0xG" }, { "-0x1F", "-0x1F" }, { "+0o7", "+0o7" },
      { "0O17", "0O17" }, { "0X1F", "0X1F" }, { "1_000", "1_000" }, { "0b101", "0b101" },
      { "1.5", 1.5, "float" }, { "-1.5", -1.5, "float" }, { ".5", 0.5, "float" }, { "1.", 1.0, "float" },
      { "1e3", 1000.0, "float" }, { "1E-3", 0.001, "float" }, { "+1.5e+2", 150.0, "float" },
      { "-.5", -0.5, "float" }, { "0.1", 0.1, "float" }, { "-0.5e-3", -0.0005, "float" },
      { ".inf", math.huge, "float" }, { ".Inf", math.huge, "float" }, { ".INF", math.huge, "float" },
      { "+.inf", math.huge, "float" }, { "-.inf", -math.huge, "float" }, { "-.Inf", -math.huge, "float" },
      { ".nan", 0 / 0, "float" }, { ".NaN", 0 / 0, "float" }, { ".NAN", 0 / 0, "float" },
      { "1.2.3", "1.2.3" }, { "e3", "e3" }, { ".", "." }, { "1e", "1e" }, { "1e+", "1e+" },
      { "inf", "inf" }, { "NaN", "NaN" }, { "-.nan", "-.nan" }, { ".iNf", ".iNf" }, { "+", "+" },
      { "1 2", "1 2" }, { "12abc", "12abc" }, { ".5.", ".5." },
    }
    for _, c in ipairs(cases) do
      it("resolves plain " .. c[1] .. " and keeps its quoted twins strings", function()
        local v = assert(load("p: " .. c[1] .. "\nsq: '" .. c[1] .. "'\ndq: \"" .. c[1] .. "\"\n"))
        if c[3] == "int" then
          is_int(v.p, c[2])
        elseif c[3] == "float" then
          is_float(v.p, c[2])
        else
          assert.equal(c[2], v.p)
        end
        assert.equal(c[1], v.sq)
        assert.equal(c[1], v.dq)
      end)
    end

    it("loads an empty plain scalar as null, in maps and sequences", function()
      local v = assert(load("a:\nb: ~\nc: [~, null, '']\nd:\n  -\n  - x\n"))
      assert.equal(null, v.a)
      assert.equal(null, v.b)
      assert.equal(3, #v.c)
      assert.equal(null, v.c[1])
      assert.equal(null, v.c[2])
      assert.equal("", v.c[3])
      assert.equal(2, #v.d)
      assert.equal(null, v.d[1])
      assert.equal("x", v.d[2])
    end)

    it("keeps block scalars strings", function()
      local v = assert(load("a: |\n  12\nb: >-\n  true\n  x\n"))
      assert.equal("12\n", v.a)
      assert.equal("true x", v.b)
    end)
  end)

  describe("integers", function()
    it("loads 2^63-1 and -2^63 exactly", function()
      local v = assert(load("max: 9223372036854775807\nmin: -9223372036854775808\nh: 0x7FFFFFFFFFFFFFFF\n"))
      if has_int then
        is_int(v.max, math.maxinteger)
        is_int(v.min, math.mininteger)
        is_int(v.h, math.maxinteger)
      else
        assert.equal(2 ^ 63, v.max) -- LuaJIT: the nearest double
        assert.equal(-2 ^ 63, v.min)
      end
    end)

    it("loads integers beyond int64 as the nearest float", function()
      local v = assert(load("a: 9223372036854775808\nb: -9223372036854775809\n" ..
        "c: 0x10000000000000000\nd: 0o2000000000000000000000\ne: 123456789012345678901234567890\n"))
      is_float(v.a, 2 ^ 63)
      is_float(v.b, -2 ^ 63)
      is_float(v.c, 2 ^ 64)
      is_float(v.d, 2 ^ 64)
      is_float(v.e, 1.2345678901234568e29)
    end)

    it("keeps 1717459200000 and 2^53+1 exact", function()
      local v = assert(load("[1717459200000, 9007199254740993]"))
      is_int(v[1], 1717459200000)
      if has_int then is_int(v[2], 9007199254740993) end
    end)
  end)

  describe("tags", function()
    it("honours !!str !!int !!float !!bool !!null", function()
      local v = assert(load("- !!str 12\n- !!int '12'\n- !!float 1\n- !!bool \"true\"\n- !!null ''\n" ..
        "- !!str true\n- !!float .inf\n- !!int 0x10\n- !!float 0o10\n- !!null ~\n"))
      assert.equal("12", v[1])
      is_int(v[2], 12)
      is_float(v[3], 1.0)
      assert.equal(true, v[4])
      assert.equal(null, v[5])
      assert.equal("true", v[6])
      is_float(v[7], math.huge)
      is_int(v[8], 16)
      is_float(v[9], 8.0)
      assert.equal(null, v[10])
    end)

    it("treats the non-specific ! as string and ignores other tags", function()
      local v = assert(load("a: ! 12\nb: !custom 12\nc: !custom [1]\nd: !!map {x: 1}\ne: !custom '7'\n"))
      assert.equal("12", v.a)
      is_int(v.b, 12)
      is_int(v.c[1], 1)
      is_int(v.d.x, 1)
      assert.equal("7", v.e)
    end)

    it("rejects scalars that do not fit their tag", function()
      fails("a: !!int abc", "t.yaml:1:4: invalid !!int value 'abc'")
      fails("a: !!int 1.5", "t.yaml:1:4: invalid !!int value '1.5'")
      fails("a: !!float x", "t.yaml:1:4: invalid !!float value 'x'")
      fails("a: !!bool yes", "t.yaml:1:4: invalid !!bool value 'yes'")
      fails("a: !!null 0", "t.yaml:1:4: invalid !!null value '0'")
      fails("!!int x: 1", "t.yaml:1:1: invalid !!int value 'x'")
    end)

    it("rejects scalar tags on collections", function()
      fails("a: !!str [1]", "t.yaml:1:4: tag !!str cannot apply to a sequence")
      fails("a: !!int {b: 1}", "t.yaml:1:4: tag !!int cannot apply to a mapping")
    end)
  end)

  describe("collections", function()
    it("keeps [] an array and {} an object", function()
      local v = assert(load("a: []\nb: {}\nc: [[], {}]\n"))
      assert.is_true(core.isarray(v.a))
      assert.equal(core.array_mt, getmetatable(v.a))
      assert.is_nil(next(v.a))
      assert.is_false(core.isarray(v.b))
      assert.is_nil(getmetatable(v.b))
      assert.is_nil(next(v.b))
      assert.is_true(core.isarray(v.c[1]))
      assert.is_false(core.isarray(v.c[2]))
      assert.equal(core.array_mt, getmetatable(v.c))
    end)

    it("records mapping key order, and skips it with order = false", function()
      local src = "zeta: 1\nalpha: 2\nmid: {y: 1, x: 2}\n"
      local v = assert(load(src))
      assert.same({ "zeta", "alpha", "mid" }, core.getorder(v))
      assert.same({ "y", "x" }, core.getorder(v.mid))
      local w, pos = assert(load(src, { order = false, positions = true }))
      assert.is_nil(core.getorder(w))
      assert.is_nil(core.getorder(w.mid))
      is_int(w.alpha, 2)
      assert.equal("3:13", pos[w.mid].x)
    end)

    it("makes every mapping key a string, even 1, true and null", function()
      local v = assert(load("1: a\ntrue: b\n~: c\nnull: d\n1.5: e\n'q': f\n0x1F: g\n\"\": h\n"))
      assert.same({ "1", "true", "~", "null", "1.5", "q", "0x1F", "" }, core.getorder(v))
      assert.equal("a", v["1"])
      assert.equal("b", v["true"])
      assert.equal("c", v["~"])
      assert.equal("h", v[""])
      assert.is_nil(rawget(v, 1))
      assert.is_nil(rawget(v, true))
    end)

    it("loads a top-level scalar, and empty input as null", function()
      assert.equal("hello", load("hello"))
      is_int(load("42"), 42)
      assert.equal(null, load(""))
      assert.equal(null, load("# only a comment\n"))
      assert.equal(null, load("---\n...\n"))
      assert.equal(null, load("   \n\n"))
      is_int(load("--- 5\n...\n"), 5)
    end)

    it("loads a long sequence and a wide mapping across flush chunks", function()
      local items, keys = {}, {}
      for i = 1, 3000 do items[i] = tostring(i) end
      for i = 1, 700 do keys[i] = "k" .. i .. ": " .. i end
      local src = "s: [" .. table.concat(items, ", ") .. "]\nm:\n  " .. table.concat(keys, "\n  ") .. "\n"
      local v, pos = assert(load(src, { positions = true }))
      assert.equal(3000, #v.s)
      for i = 1, 3000 do is_int(v.s[i], i) end
      local order = core.getorder(v.m)
      assert.equal(700, #order)
      for i = 1, 700 do
        assert.equal("k" .. i, order[i])
        is_int(v.m["k" .. i], i)
        assert.equal((i + 2) .. ":3", pos[v.m]["k" .. i])
      end
      assert.equal("1:5", pos[v.s][1])
      assert.equal("1:" .. (5 + #table.concat(items, ", ", 1, 2999) + 2), pos[v.s][3000])
    end)
  end)

  describe("anchors and aliases", function()
    it("shares the very same table for an alias", function()
      local v = assert(load("a: &x {k: [1]}\nb: *x\nc: [*x, *x]\n"))
      assert.is_true(rawequal(v.a, v.b))
      assert.is_true(rawequal(v.a, v.c[1]))
      assert.is_true(rawequal(v.a, v.c[2]))
      assert.is_true(rawequal(v.a.k, v.b.k))
    end)

    it("aliases scalars and lets a later anchor replace an earlier one", function()
      local v = assert(load("a: &x 1\nb: *x\nc: &x two\nd: *x\n"))
      is_int(v.b, 1)
      assert.equal("two", v.d)
    end)

    it("uses an aliased scalar's text as a key", function()
      local v = assert(load("a: &k 10\n*k : ten\n"))
      assert.equal("ten", v["10"])
      fails("a: &k [1]\n*k : x\n", "t.yaml:2:1: mapping key must be a scalar")
    end)

    it("lets an inner anchor of the same name win after the outer one closes", function()
      local v = assert(load("a: &x [&x 5]\nb: *x\n"))
      is_int(v.b, 5)
    end)

    it("rejects unknown and recursive aliases", function()
      fails("a: *nope", "t.yaml:1:4: unknown alias 'nope'")
      fails("a: &x {b: *x}", "t.yaml:1:11: recursive alias 'x' (inside its own anchor)")
      fails("a: &x [1, [*x]]", "t.yaml:1:12: recursive alias 'x' (inside its own anchor)")
    end)
  end)

  describe("merge keys", function()
    it("copies keys the mapping does not define", function()
      local v = assert(load("base: &b {x: 1, y: 2, z: 3}\nd:\n  y: 20\n  <<: *b\n  z: 30\n"))
      is_int(v.d.x, 1)
      is_int(v.d.y, 20)
      is_int(v.d.z, 30)
      assert.is_nil(rawget(v.d, "<<"))
      assert.same({ "y", "z", "x" }, core.getorder(v.d))
      assert.same({ "x", "y", "z" }, core.getorder(v.base))
      is_int(v.base.y, 2)
    end)

    it("merges a list of mappings, earlier ones first", function()
      local v = assert(load("a: &a {p: a1, q: a2}\nb: &b {q: b2, r: b3}\nc:\n  <<: [*a, *b]\n  s: c4\n"))
      assert.equal("a1", v.c.p)
      assert.equal("a2", v.c.q)
      assert.equal("b3", v.c.r)
      assert.equal("c4", v.c.s)
      assert.same({ "s", "p", "q", "r" }, core.getorder(v.c))
    end)

    it("merges an inline mapping and gives merged keys their source positions", function()
      local v, pos = assert(load("m:\n  <<: {k: 1}\n  j: 2\n", { positions = true }))
      is_int(v.m.k, 1)
      assert.equal("2:8", pos[v.m].k)
      assert.equal("3:3", pos[v.m].j)
    end)

    it("treats a quoted << as an ordinary key", function()
      local v = assert(load("'<<': {a: 1}\n"))
      is_int(v["<<"].a, 1)
    end)

    it("rejects bad merge values and a repeated <<", function()
      fails("<<: 1", "t.yaml:1:5: merge value must be a mapping or a sequence of mappings")
      fails("a: {<<: [1]}", "t.yaml:1:9: merge value must be a mapping or a sequence of mappings")
      fails("x: &x [1]\na:\n  <<: *x", "t.yaml:3:7: merge value must be a mapping or a sequence of mappings")
      fails("a:\n  <<: {b: 1}\n  <<: {c: 1}", "t.yaml:3:3: duplicate key '<<'")
    end)
  end)

  describe("positions", function()
    it("maps containers to their own and their members' positions", function()
      local v, pos = assert(load("a:\n  b: 1\n  c:\n    - x\n    - {d: 2}\n", { positions = true }))
      assert.equal("k", getmetatable(pos).__mode)
      assert.equal("1:1", pos[v][0])
      assert.equal("1:1", pos[v].a)
      assert.equal("2:3", pos[v.a][0])
      assert.equal("2:3", pos[v.a].b)
      assert.equal("3:3", pos[v.a].c)
      assert.equal("4:5", pos[v.a.c][0])
      assert.equal("4:7", pos[v.a.c][1])
      assert.equal("5:7", pos[v.a.c][2])
      assert.equal("5:7", pos[v.a.c[2]][0])
      assert.equal("5:8", pos[v.a.c[2]].d)
    end)

    it("covers empty collections and flow style", function()
      local v, pos = assert(load('{"a": [], "b": {}, "c": [1, [2]]}', { positions = true }))
      assert.equal("1:1", pos[v][0])
      assert.equal("1:7", pos[v.a][0])
      assert.equal("1:16", pos[v.b][0])
      assert.equal("1:11", pos[v].b)
      assert.equal("1:25", pos[v.c][0])
      assert.equal("1:26", pos[v.c][1])
      assert.equal("1:29", pos[v.c][2])
      assert.equal("1:30", pos[v.c[2]][1])
    end)

    it("counts columns in characters and survives CRLF and a BOM", function()
      local v, pos = assert(load("\239\187\191\"\195\169\195\169\": [1, 2]\r\nb: x\r\n", { positions = true }))
      assert.equal("1:7", pos[v["\195\169\195\169"]][0])
      assert.equal("1:11", pos[v["\195\169\195\169"]][2])
      assert.equal("2:1", pos[v].b)
    end)

    it("returns one value unless positions are asked for", function()
      assert.equal(1, select("#", load("a: 1")))
      assert.equal(2, select("#", load("a: 1", { positions = true })))
      local pos = select(2, load("scalar", { positions = true }))
      assert.is_nil(next(pos))
    end)
  end)

  describe("JSON input", function()
    it("decodes \\u escapes, surrogate pairs and \\/", function()
      local v = assert(load('{"a": "x\\/y", "b": "\\u00e9\\u20AC", "c": "\\uD83D\\uDE00!\\ud83d\\ude00"}'))
      assert.equal("x/y", v.a)
      assert.equal("\195\169\226\130\172", v.b)
      assert.equal("\240\159\152\128!\240\159\152\128", v.c)
    end)

    it("decodes every JSON escape", function()
      local v = assert(load('{"e": "\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0041", "": 1, "z": -0.0}'))
      assert.equal('" \\ / \b \f \n \r \t A', v.e)
      is_int(v[""], 1)
      is_float(v.z, 0.0)
      assert.equal(-math.huge, 1 / v.z)
    end)

    it("reports positions after a surrogate pair in the input's columns", function()
      local src = '{"a": "\\uD83D\\uDE00", "b": [1, "\\uD83D\\uDE00\\uD83D\\uDE00", 2]}'
      local v, pos = assert(load(src, { positions = true }))
      assert.equal("1:23", pos[v].b)
      assert.equal("1:28", pos[v.b][0])
      assert.equal("1:29", pos[v.b][1])
      assert.equal("1:32", pos[v.b][2])
      assert.equal("1:60", pos[v.b][3])
      fails('["\\uD83D\\uDE00", @]', "t.yaml:1:18: found character that cannot start any token " ..
        "(while scanning for the next token at 1:18)")
    end)

    it("leaves the text of a pair outside double quotes alone", function()
      local v = assert(load("a: '\\uD83D\\uDE00'\nb: x\\uD83D\\uDE00\nc: \"\\uD83D\\uDE00\"\nd: |\n  \\uD83D\\uDE00\n"))
      assert.equal("\\uD83D\\uDE00", v.a)
      assert.equal("x\\uD83D\\uDE00", v.b)
      assert.equal("\240\159\152\128", v.c)
      assert.equal("\\uD83D\\uDE00\n", v.d)
      local w = assert(load('a: "\\\\uD83D\\\\uDE00"\nb: "\\\\\\uD83D\\uDE00"'))
      assert.equal("\\uD83D\\uDE00", w.a) -- escaped backslashes: no pair
      assert.equal("\\\240\159\152\128", w.b) -- an escaped backslash, then a pair
    end)

    it("accepts tabs between tokens and around the value", function()
      local v = assert(load('\t{"a":\t[1,\t2],\n\t"b" :\t"c"}\t\n\t\n'))
      is_int(v.a[2], 2)
      assert.equal("c", v.b)
      assert.same({ "a", "b" }, core.getorder(v))
      assert.equal("x", load('\t"x"\t'))
      is_int(load("\t[7]\n\t")[1], 7)
    end)

    it("loads top-level scalars and JSON numbers", function()
      assert.equal("abc", load('"abc"'))
      is_int(load("-0"), 0)
      is_float(load("-0.5e-3"), -0.0005)
      is_float(load("1E+2"), 100.0)
      assert.equal(true, load("true"))
      assert.equal(null, load("null"))
    end)

    it("loads long single lines", function()
      local long = string.rep("x", 200000)
      local v = assert(load('["' .. long .. '", {"a": 1}]'))
      assert.equal(long, v[1])
      local nums = {}
      for i = 1, 50000 do nums[i] = i end
      local w = assert(load("[" .. table.concat(nums, ",") .. "]"))
      assert.equal(50000, #w)
      is_int(w[50000], 50000)
    end)

    it("gives precise errors where JSON and YAML disagree", function()
      fails('{"a": "\\uD83D"}', "t.yaml:1:10: found invalid Unicode character escape code " ..
        "(while parsing a quoted scalar at 1:7)")
      fails('{"' .. string.rep("k", 1100) .. '": 1}',
        "t.yaml:1:1104: a mapping key and its ':' must be on one line, within 1024 characters")
      fails('{"a"\n: 1}', "t.yaml:2:1: a mapping key and its ':' must be on one line, within 1024 characters")
      fails('{"a": 1, "a": 2}', "t.yaml:1:10: duplicate key 'a'")
      fails('{"a": "\\uD83D\\uDE00"', "t.yaml:2:1: did not find expected ',' or '}' " ..
        "(while parsing a flow mapping at 1:1)")
    end)
  end)

  describe("bytes", function()
    it("keeps NUL bytes in values and keys", function()
      local v = assert(load('a: "x\\0y"\nb: "\\u0000"\n"k\\0": 1\n'))
      assert.equal("x\0y", v.a)
      assert.equal(3, #v.a)
      assert.equal("\0", v.b)
      is_int(v["k\0"], 1)
      assert.same({ "a", "b", "k\0" }, core.getorder(v))
    end)

    it("rejects raw control bytes and invalid UTF-8 with their position", function()
      fails('a: "x\0y"', "t.yaml:1:6: control characters are not allowed (0x00)")
      fails('a: "\255"', "t.yaml:1:5: invalid leading UTF-8 octet (0xFF)")
      fails('a: "\195"', "t.yaml:1:6: invalid trailing UTF-8 octet (0x22)")
      fails('a: b\nc: "\1"', "t.yaml:2:5: control characters are not allowed (0x01)")
    end)
  end)

  describe("malformed input", function()
    local bad = {
      { "a: b: c", "t.yaml:1:5: mapping values are not allowed in this context" },
      { "a: [1, 2", "t.yaml:2:1: did not find expected ',' or ']' (while parsing a flow sequence at 1:4)" },
      { "a:\n  - 1\n - 2", "t.yaml:3:2: did not find expected key (while parsing a block mapping at 1:1)" },
      { "{a: 1", "t.yaml:2:1: did not find expected ',' or '}' (while parsing a flow mapping at 1:1)" },
      { '"abc', "t.yaml:1:5: found unexpected end of stream (while scanning a quoted scalar at 1:1)" },
      { "a: 'x", "t.yaml:1:6: found unexpected end of stream (while scanning a quoted scalar at 1:4)" },
      { "a: @b", "t.yaml:1:4: found character that cannot start any token " ..
        "(while scanning for the next token at 1:4)" },
      { 'key: "\\q"', "t.yaml:1:7: found unknown escape character (while parsing a quoted scalar at 1:6)" },
      { 'a: "\\u12"', "t.yaml:1:7: did not find expected hexdecimal number " ..
        "(while parsing a quoted scalar at 1:4)" },
      { "- a\nb: 1", "t.yaml:2:1: did not find expected '-' indicator " ..
        "(while parsing a block collection at 1:1)" },
      { "a: b\n- c", "t.yaml:2:1: did not find expected key (while parsing a block mapping at 1:1)" },
      { "a: b\n  c: d", "t.yaml:2:4: mapping values are not allowed in this context" },
      { "a: [1]]", "t.yaml:1:7: did not find expected key (while parsing a block mapping at 1:1)" },
      { "]", "t.yaml:1:1: did not find expected node content (while parsing a block node at 1:1)" },
      { "- [\n- b", "t.yaml:2:1: did not find expected node content (while parsing a flow node at 2:1)" },
      { "\tkey: v", "t.yaml:1:1: found character that cannot start any token " ..
        "(while scanning for the next token at 1:1)" },
      { "a:\n\t- b", "t.yaml:2:1: found character that cannot start any token " ..
        "(while scanning for the next token at 2:1)" },
      { "%YAML 2.0\n---\na", "t.yaml:1:1: found incompatible YAML document" },
      { "? [a]\n: 1", "t.yaml:1:3: mapping key must be a scalar" },
      { "[a]: 1", "t.yaml:1:1: mapping key must be a scalar" },
      { "{[a]: 1}", "t.yaml:1:2: mapping key must be a scalar" },
      { "a: 1\na: 2", "t.yaml:2:1: duplicate key 'a'" },
      { "{a: 1, b: 2, a: 3}", "t.yaml:1:14: duplicate key 'a'" },
      { "? a\n? a", "t.yaml:2:3: duplicate key 'a'" },
      { "1: x\n\"1\": y", "t.yaml:2:1: duplicate key '1'" },
      { "&a a: &b b\n*a : 1", "t.yaml:2:1: duplicate key 'a'" },
      { "a: 1\n---\nb: 2", "t.yaml:2:1: more than one document in the stream" },
      { "--- a\n--- b\n", "t.yaml:2:1: more than one document in the stream" },
    }
    for i, c in ipairs(bad) do
      it(("reports case %d (%s) exactly"):format(i, (c[1]:gsub("\n", "\\n"):gsub("\t", "\\t"))), function()
        fails(c[1], c[2])
      end)
    end

    it("reports a duplicate past the first flush chunk at the second key", function()
      local keys = {}
      for i = 1, 300 do keys[i] = "k" .. i .. ": 1" end
      keys[301] = "k7: 2"
      fails(table.concat(keys, "\n"), "t.yaml:301:1: duplicate key 'k7'")
      keys[301] = "k299: 2"
      fails(table.concat(keys, "\n"), "t.yaml:301:1: duplicate key 'k299'")
    end)

    it("shortens long names in messages", function()
      local k = string.rep("n", 100)
      fails(k .. ": 1\n" .. k .. ": 2", "t.yaml:2:1: duplicate key '" .. string.rep("n", 64) .. "...'")
    end)

    it("uses the chunk name, 'yaml' by default", function()
      local v, err, code = core.yaml_load("a: b: c")
      assert.is_nil(v)
      assert.equal("yaml:1:5: mapping values are not allowed in this context", err)
      assert.equal("yaml", code)
      local _, err2 = core.yaml_load("a: b: c", "doc.yaml")
      assert.equal("doc.yaml:1:5: mapping values are not allowed in this context", err2)
    end)
  end)

  describe("limits", function()
    it("allows 1000 levels and rejects 1001 at the offending node", function()
      local ok = assert(load(string.rep("[", 1000) .. string.rep("]", 1000)))
      assert.is_true(core.isarray(ok))
      fails(string.rep("[", 1001) .. string.rep("]", 1001),
        "t.yaml:1:1001: nesting deeper than 1000 levels (max_depth)")
    end)

    it("reaches 1000 levels with positions and order on", function()
      local v, pos = assert(load(string.rep("{a: ", 1000) .. "1" .. string.rep("}", 1000), { positions = true }))
      for _ = 1, 999 do v = v.a end
      is_int(v.a, 1)
      assert.equal("1:3997", pos[v][0])
      assert.equal("1:3998", pos[v].a)
    end)

    it("reports a document too deep for the Lua stack instead of crashing", function()
      local src = string.rep("[", 5000) .. string.rep("]", 5000)
      if jit then -- a LuaJIT C function may use about 8000 stack slots
        local v, err, code = load(src, { max_depth = 10000, positions = true })
        assert.is_nil(v)
        assert.matches("^t%.yaml:1:%d+: document too deeply nested for the Lua stack$", err)
        assert.equal("yaml", code)
      else
        local v = assert(load(src, { max_depth = 10000, positions = true }))
        assert.is_true(core.isarray(v[1]))
      end
    end)

    it("honours max_depth in block style", function()
      assert(load("a:\n  b:\n    c: 1", { max_depth = 3 }))
      fails("a:\n  b:\n    c: 1", "t.yaml:3:5: nesting deeper than 2 levels (max_depth)", { max_depth = 2 })
      fails("[1]", "t.yaml:1:1: nesting deeper than 0 levels (max_depth)", { max_depth = 0 })
      is_int(load("7", { max_depth = 0 }), 7)
    end)

    it("stays within the Lua stack for deep documents with many siblings", function()
      local parts = {}
      local sib = {}
      for i = 1, 60 do sib[i] = "k" .. i .. ": " .. i end
      local prefix = "{" .. table.concat(sib, ", ") .. ", z: "
      for i = 1, 200 do parts[i] = prefix end -- 120 pending slots per level
      local src = table.concat(parts) .. "1" .. string.rep("}", 200)
      local v = assert(load(src, { positions = true }))
      local d = 0
      while type(v) == "table" do
        is_int(v.k60, 60)
        v = v.z
        d = d + 1
      end
      assert.equal(200, d)
      local seqs = string.rep("[" .. string.rep("1, ", 100), 200) .. "2" .. string.rep("]", 200)
      assert(load(seqs, { positions = true }))
    end)

    it("counts nodes after alias expansion", function()
      -- root, key a, [1,2,3] (4), key b, alias to 4 nodes: 11
      assert(load("a: &a [1,2,3]\nb: *a", { max_nodes = 11 }))
      fails("a: &a [1,2,3]\nb: *a", "t.yaml:2:4: more than 10 nodes after alias expansion (max_nodes)",
        { max_nodes = 10 })
    end)

    it("stops a billion laughs", function()
      local lines = { 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]' }
      local names = "abcdefghi"
      for i = 2, 9 do
        local p, n = names:sub(i - 1, i - 1), names:sub(i, i)
        lines[i] = n .. ": &" .. n .. " [" .. string.rep("*" .. p, 9, ",") .. "]"
      end
      -- g closes at 6,053,451 nodes; h's first alias adds 5,380,840
      fails(table.concat(lines, "\n"),
        "t.yaml:8:8: more than 10000000 nodes after alias expansion (max_nodes)")
      local v = assert(load(table.concat(lines, "\n", 1, 6)))
      assert.is_true(rawequal(v.f[1], v.e))
    end)
  end)

  describe("arguments", function()
    it("raises on bad argument types and unknown options", function()
      assert.has_error(function() core.yaml_load() end)
      assert.has_error(function() core.yaml_load({}) end)
      assert.has_error(function() core.yaml_load("a", "c", 5) end)
      assert.has_error(function() core.yaml_load("a", "c", { colour = true }) end,
        "yaml_load: unknown option 'colour'")
      assert.has_error(function() core.yaml_load("a", "c", { positions = 1 }) end,
        "yaml_load: option 'positions' must be a boolean")
      assert.has_error(function() core.yaml_load("a", "c", { max_depth = -1 }) end,
        "yaml_load: option 'max_depth' must be a non-negative integer")
      assert.has_error(function() core.yaml_load("a", "c", { max_nodes = 1.5 }) end,
        "yaml_load: option 'max_nodes' must be a non-negative integer")
      assert.has_error(function() core.yaml_events() end)
    end)
  end)

  describe("yaml_events", function()
    it("counts libyaml events without building values", function()
      -- stream start, document start, mapping start, 2 scalars, mapping end, document end, stream end
      assert.equal(8, core.yaml_events("a: 1"))
      assert.equal(2, core.yaml_events(""))
    end)

    it("returns nil, message, 'yaml' on a syntax error", function()
      local n, err, code = core.yaml_events("a: b: c")
      assert.is_nil(n)
      assert.equal("yaml:1:5: mapping values are not allowed in this context", err)
      assert.equal("yaml", code)
    end)
  end)

  describe("lifetime", function()
    it("frees its parser on errors and success alike", function()
      for _ = 1, 200 do
        assert.is_nil((core.yaml_load("a: [1, {b: *x}]")))
        assert(core.yaml_load("a: [1, {b: 2}]", nil, { positions = true }))
      end
      collectgarbage()
      collectgarbage()
    end)

    it("keeps positions weakly", function()
      local pos = select(2, load("a: {b: 1}", { positions = true }))
      collectgarbage()
      collectgarbage()
      assert.is_nil(next(pos))
    end)
  end)

  describe("shared documents", function()
    -- Files under ../shared (ARAZZO_SHARED): a visible pending test when absent.
    local function with_shared(rel, name, fn)
      local p = helpers.shared(rel)
      if p then
        it(name, function() fn(p) end)
      else
        pending(name .. " (" .. helpers.skip_reason(rel) .. ")")
      end
    end

    with_shared("providers/large/stripe-spec3.yaml", "loads the 4 MB Stripe description", function(p)
      local text = helpers.readfile(p)
      local v = assert(core.yaml_load(text, "stripe-spec3.yaml", { order = false }))
      assert.equal("Stripe API", v.info.title)
      assert.equal("3.0.0", v.openapi)
      assert.equal("2023-08-16", v.info.version)
      assert.equal("PostInvoices", v.paths["/v1/invoices"].post.operationId)
      assert.equal("GetCustomers", v.paths["/v1/customers"].get.operationId)
      local w, pos = assert(core.yaml_load(text, "stripe-spec3.yaml", { positions = true }))
      assert.equal("Stripe API", w.info.title)
      assert.is_string(pos[w.paths]["/v1/invoices"])
      assert.is_true(#core.getorder(w.paths) > 300)
    end)

    with_shared("providers/stripe-invoice-api-openapi.yml", "loads the Stripe invoice provider", function(p)
      local v = assert(core.yaml_load(helpers.readfile(p), "stripe-invoice-api-openapi.yml"))
      assert.equal("postInvoices", v.paths["/v1/invoices"].post.operationId)
      assert.equal("postInvoicesInvoiceFinalize", v.paths["/v1/invoices/{invoice}/finalize"].post.operationId)
    end)

    with_shared("providers/amberflo-metering-openapi.yaml", "loads the Amberflo provider", function(p)
      local v = assert(core.yaml_load(helpers.readfile(p), "amberflo-metering-openapi.yaml"))
      assert.equal("Amberflo Metering API", v.info.title)
      assert.equal("3.0.3", v.openapi)
      assert.equal("ingestMeterEvents", v.paths["/ingest"].post.operationId)
    end)
  end)
end)
