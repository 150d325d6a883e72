-- jsonpath_spec.lua: core.jsonpath, JSONPath (RFC 9535) compile and evaluate.
-- The RFC's example documents are built as Lua tables (core.array marks
-- arrays; O{...} records member order so results are deterministic).
local core = require "arazzo.core"

local A, null = core.array, core.null

local function pack(...) return { n = select("#", ...), ... } end

-- O{"k1", v1, "k2", v2, ...}: an object with its member order recorded.
local function O(list)
  local t, keys = {}, {}
  for i = 1, #list, 2 do
    t[list[i]] = list[i + 1]
    keys[#keys + 1] = list[i]
  end
  core.setorder(t, keys)
  return t
end

local function jp(q, dialect)
  local p, err = core.jsonpath(q, dialect)
  assert(p, err)
  return p
end

-- Values and Normalized Paths of q on doc; also checks exists() agrees
-- and that both results are marked arrays.
local function check(q, doc, values, paths, dialect)
  local p = jp(q, dialect)
  local v, pa = p:query(doc), p:paths(doc)
  assert.is_true(core.isarray(v), q)
  assert.is_true(core.isarray(pa), q)
  assert.same(values, v, q)
  if paths then assert.same(paths, pa, q) end
  assert.equal(#values > 0, p:exists(doc), q)
end

local function syntax_error(q, msg, col, dialect)
  assert.same({ n = 4, nil, "jsonpath: " .. msg .. " at column " .. col, "jsonpath", col },
    pack(core.jsonpath(q, dialect)), q)
end

-- Figure 1: the bookstore.
local function bookstore()
  local function book(c, a, t, isbn, price)
    if isbn then
      return O { "category", c, "author", a, "title", t, "isbn", isbn, "price", price }
    end
    return O { "category", c, "author", a, "title", t, "price", price }
  end
  return O { "store", O {
    "book", A {
      book("reference", "Nigel Rees", "Sayings of the Century", nil, 8.95),
      book("fiction", "Evelyn Waugh", "Sword of Honour", nil, 12.99),
      book("fiction", "Herman Melville", "Moby Dick", "0-553-21311-3", 8.99),
      book("fiction", "J. R. R. Tolkien", "The Lord of the Rings", "0-395-19395-8", 22.99),
    },
    "bicycle", O { "color", "red", "price", 399 },
  } }
end

local function letters() return A { "a", "b", "c", "d", "e", "f", "g" } end

describe("arazzo.jsonpath", function()
  describe("API", function()
    it("compiles a query into an arazzo.jsonpath.Path whose tostring is the query", function()
      local p = jp("$.store.book[0]")
      assert.equal("userdata", type(p))
      assert.equal("arazzo.jsonpath.Path", getmetatable(p).__name)
      assert.equal("$.store.book[0]", tostring(p))
    end)

    it("returns nil, message, 'jsonpath', column for a bad query", function()
      syntax_error("$.", "expected '*' or a member name after '.', found end of query", 3)
    end)

    it("raises on bad arguments", function()
      assert.has_error(function() core.jsonpath() end)
      assert.has_error(function() core.jsonpath({}) end)
      local ok, err = pcall(core.jsonpath, "$", "xpath")
      assert.is_false(ok)
      assert.matches("dialect must be 'rfc9535' or 'goessner'", err, 1, true)
      local p = jp("$")
      ok, err = pcall(p.query, p)
      assert.is_false(ok)
      assert.matches("value expected (use core.null for JSON null)", err, 1, true)
      assert.has_error(function() p:paths(nil) end)
      assert.has_error(function() p.exists({}, {}) end)
    end)

    it("returns the selected values themselves, not copies", function()
      local doc = bookstore()
      assert.equal(doc.store.bicycle, jp("$.store.bicycle"):query(doc)[1])
    end)

    it("returns marked arrays, empty ones included, and booleans from exists", function()
      local p = jp("$.nothing")
      local v = p:query({})
      assert.is_true(core.isarray(v))
      assert.equal(0, #v)
      assert.is_false(p:exists({}))
      assert.is_true(jp("$"):exists(null))
      assert.same({ null }, jp("$"):query(null))
    end)

    it("can be applied to many values", function()
      local p = jp("$.a")
      assert.same({ 1 }, p:query({ a = 1 }))
      assert.same({ 2 }, p:query({ a = 2 }))
      assert.same({}, p:query({ b = 2 }))
    end)

    it("accepts any scalar as the query argument", function()
      assert.same({ "x" }, jp("$"):query("x"))
      assert.same({}, jp("$.a"):query("x"))
      assert.same({}, jp("$[0]"):query(true))
      assert.same({}, jp("$.*"):query(3))
    end)
  end)

  describe("RFC 9535 1.5 examples (bookstore)", function()
    local doc = bookstore()
    local books = doc.store.book

    it("$.store.book[*].author: the authors of all books", function()
      check("$.store.book[*].author", doc,
        { "Nigel Rees", "Evelyn Waugh", "Herman Melville", "J. R. R. Tolkien" },
        { "$['store']['book'][0]['author']", "$['store']['book'][1]['author']",
          "$['store']['book'][2]['author']", "$['store']['book'][3]['author']" })
    end)

    it("$..author: all authors", function()
      check("$..author", doc, { "Nigel Rees", "Evelyn Waugh", "Herman Melville", "J. R. R. Tolkien" })
    end)

    it("$.store.*: all things in the store", function()
      check("$.store.*", doc, { books, doc.store.bicycle }, { "$['store']['book']", "$['store']['bicycle']" })
    end)

    it("$.store..price: the prices of everything in the store", function()
      check("$.store..price", doc, { 8.95, 12.99, 8.99, 22.99, 399 },
        { "$['store']['book'][0]['price']", "$['store']['book'][1]['price']", "$['store']['book'][2]['price']",
          "$['store']['book'][3]['price']", "$['store']['bicycle']['price']" })
    end)

    it("$..book[2], $..book[2].author, $..book[2].publisher", function()
      check("$..book[2]", doc, { books[3] }, { "$['store']['book'][2]" })
      check("$..book[2].author", doc, { "Herman Melville" }, { "$['store']['book'][2]['author']" })
      check("$..book[2].publisher", doc, {}, {})
    end)

    it("$..book[-1]: the last book", function()
      check("$..book[-1]", doc, { books[4] }, { "$['store']['book'][3]" })
    end)

    it("$..book[0,1] and $..book[:2]: the first two books", function()
      check("$..book[0,1]", doc, { books[1], books[2] }, { "$['store']['book'][0]", "$['store']['book'][1]" })
      check("$..book[:2]", doc, { books[1], books[2] }, { "$['store']['book'][0]", "$['store']['book'][1]" })
    end)

    it("$..book[?@.isbn]: all books with an ISBN", function()
      check("$..book[?@.isbn]", doc, { books[3], books[4] })
    end)

    it("$..book[?@.price<10]: all books cheaper than 10", function()
      check("$..book[?@.price<10]", doc, { books[1], books[3] })
    end)

    it("$..*: all member values and array elements, parents first", function()
      local v = jp("$..*"):query(doc)
      local pa = jp("$..*"):paths(doc)
      assert.equal(27, #v)
      assert.same({ "$['store']", "$['store']['book']", "$['store']['bicycle']", "$['store']['book'][0]",
        "$['store']['book'][1]", "$['store']['book'][2]", "$['store']['book'][3]",
        "$['store']['book'][0]['category']" }, { pa[1], pa[2], pa[3], pa[4], pa[5], pa[6], pa[7], pa[8] })
      assert.equal("$['store']['bicycle']['price']", pa[27])
      assert.equal(399, v[27])
    end)
  end)

  describe("2.2 root identifier", function()
    it("$ selects the query argument (Table 3)", function()
      local doc = O { "k", "v" }
      check("$", doc, { doc }, { "$" })
    end)
  end)

  describe("2.3.1 name selector", function()
    local doc = O { "o", O { "j j", O { "k.k", 3 } }, "'", O { "@", 2 } }

    it("selects members by name (Table 5)", function()
      check("$.o['j j']", doc, { doc.o["j j"] }, { "$['o']['j j']" })
      check("$.o['j j']['k.k']", doc, { 3 }, { "$['o']['j j']['k.k']" })
      check('$.o["j j"]["k.k"]', doc, { 3 }, { "$['o']['j j']['k.k']" })
      check([=[$["'"]["@"]]=], doc, { 2 }, { [=[$['\'']['@']]=] })
    end)

    it("decodes every escape of Table 4 in both quote styles", function()
      local keys = { ["\b"] = [[\b]], ["\t"] = [[\t]], ["\n"] = [[\n]], ["\f"] = [[\f]], ["\r"] = [[\r]],
        ["/"] = [[\/]], ["\\"] = [[\\]], ["A"] = [[\u0041]], ["é"] = [[\u00E9]], ["ꯍ"] = [[\uabcd]],
        ["😀"] = [[\uD83D\uDE00]], ["\0"] = [[\u0000]] }
      for key, esc in pairs(keys) do
        local d = { [key] = "hit" }
        assert.same({ "hit" }, jp("$['" .. esc .. "']"):query(d), esc)
        assert.same({ "hit" }, jp('$["' .. esc .. '"]'):query(d), esc)
      end
      assert.same({ 1 }, jp([=[$["\""]]=]):query({ ['"'] = 1 }))
      assert.same({ 2 }, jp([=[$['\'']]=]):query({ ["'"] = 2 }))
      assert.same({ 3 }, jp([=[$['"']]=]):query({ ['"'] = 3 }))
      assert.same({ 4 }, jp([=[$["'"]]=]):query({ ["'"] = 4 }))
    end)

    it("compares names as exact byte strings (no normalization)", function()
      local doc2 = { ["é"] = 1, ["e\u{301}"] = 2 }
      assert.same({ 1 }, jp("$['é']"):query(doc2))
      assert.same({ 2 }, jp("$['e\u{301}']"):query(doc2))
      assert.same({ 3 }, jp("$.é"):query({ ["é"] = 3 }))
    end)

    it("selects nothing from arrays and primitives", function()
      check("$['0']", A { 1 }, {}, {})
      check("$.a", "text", {}, {})
      check("$.length", A { 1, 2 }, {}, {})
    end)

    it("reports bad strings with their column", function()
      syntax_error([=[$['\a']]=], [[invalid escape '\a' in string]], 4)
      syntax_error([=[$["\'"]]=], [[invalid escape '\'' in string]], 4)
      syntax_error([=[$['\"']]=], [[invalid escape '\"' in string]], 4)
      syntax_error([=[$['\u00G0']]=], [[invalid \u escape: expected 4 hexadecimal digits]], 4)
      syntax_error([=[$['\U0041']]=], [[invalid escape '\U' in string]], 4)
      syntax_error([=[$['\uDC00']]=], [[lone low surrogate in \u escape]], 4)
      syntax_error([=[$['\uD800']]=], [[high surrogate \u escape must be followed by a low surrogate]], 4)
      syntax_error([=[$['\uD800\u0041']]=], [[high surrogate \u escape must be followed by a low surrogate]], 4)
      syntax_error("$['a", "unterminated string", 3)
      syntax_error("$['a\\", "unterminated string", 5)
      syntax_error("$['a\nb']", "control character in string (it must be escaped)", 5)
      syntax_error("$['a\tb']", "control character in string (it must be escaped)", 5)
    end)
  end)

  describe("2.3.2 wildcard selector", function()
    local doc = O { "o", O { "j", 1, "k", 2 }, "a", A { 5, 3 } }

    it("selects all children (Table 6)", function()
      check("$[*]", doc, { doc.o, doc.a }, { "$['o']", "$['a']" })
      check("$.o[*]", doc, { 1, 2 }, { "$['o']['j']", "$['o']['k']" })
      check("$.o[*, *]", doc, { 1, 2, 1, 2 }, { "$['o']['j']", "$['o']['k']", "$['o']['j']", "$['o']['k']" })
      check("$.a[*]", doc, { 5, 3 }, { "$['a'][0]", "$['a'][1]" })
      check("$.*", doc, { doc.o, doc.a })
    end)

    it("selects nothing from primitives", function()
      check("$.a[0][*]", doc, {}, {})
      check("$.a[0].*", doc, {}, {})
    end)
  end)

  describe("2.3.3 index selector", function()
    local doc = A { "a", "b" }

    it("selects by zero-based and negative index (Table 7)", function()
      check("$[1]", doc, { "b" }, { "$[1]" })
      check("$[-2]", doc, { "a" }, { "$[0]" })
      check("$[0]", doc, { "a" }, { "$[0]" })
    end)

    it("selects nothing out of range or from non-arrays", function()
      check("$[2]", doc, {}, {})
      check("$[-3]", doc, {}, {})
      check("$[9007199254740991]", doc, {}, {})
      check("$[-9007199254740991]", doc, {}, {})
      check("$[0]", { a = 1 }, {}, {})
      check("$[0]", "ab", {}, {})
    end)

    it("refuses leading zeros, -0 and integers outside +-(2^53-1)", function()
      syntax_error("$[01]", "leading zeros are not allowed in numbers", 3)
      syntax_error("$[-01]", "leading zeros are not allowed in numbers", 3)
      syntax_error("$[-0]", "-0 is not a valid integer here", 3)
      syntax_error("$[9007199254740992]", "integer out of range (the limit is +-9007199254740991)", 3)
      syntax_error("$[-9007199254740992]", "integer out of range (the limit is +-9007199254740991)", 3)
      syntax_error("$[1.5]", "expected ',' or ']', found '.'", 4)
      syntax_error("$[-]", "expected a digit, found ']'", 4)
    end)
  end)

  describe("2.3.4 array slice selector", function()
    it("selects slices (Table 9)", function()
      local doc = letters()
      check("$[1:3]", doc, { "b", "c" }, { "$[1]", "$[2]" })
      check("$[5:]", doc, { "f", "g" }, { "$[5]", "$[6]" })
      check("$[1:5:2]", doc, { "b", "d" }, { "$[1]", "$[3]" })
      check("$[5:1:-2]", doc, { "f", "d" }, { "$[5]", "$[3]" })
      check("$[::-1]", doc, { "g", "f", "e", "d", "c", "b", "a" },
        { "$[6]", "$[5]", "$[4]", "$[3]", "$[2]", "$[1]", "$[0]" })
    end)

    it("selects nothing with step 0 or from non-arrays", function()
      check("$[::0]", letters(), {}, {})
      check("$[1:3:0]", letters(), {}, {})
      check("$[:]", { a = 1 }, {}, {})
      check("$[0:2]", "abc", {}, {})
    end)

    it("clamps huge bounds and steps", function()
      check("$[-9007199254740991:9007199254740991:9007199254740991]", letters(), { "a" })
      check("$[9007199254740991:-9007199254740991:-9007199254740991]", letters(), { "g" })
      check("$[-9007199254740991:]", letters(), { "a", "b", "c", "d", "e", "f", "g" })
    end)

    it("agrees with the normative pseudocode of 2.3.4.2.2 for every small case", function()
      local function reference(len, start, stop, step)
        step = step or 1
        if step == 0 then return {} end
        local function norm(i) return i >= 0 and i or len + i end
        start = start or (step >= 0 and 0 or len - 1)
        stop = stop or (step >= 0 and len or -len - 1)
        local ns, ne = norm(start), norm(stop)
        local out = {}
        if step >= 0 then
          local lower, upper = math.min(math.max(ns, 0), len), math.min(math.max(ne, 0), len)
          local i = lower
          while i < upper do out[#out + 1] = i; i = i + step end
        else
          local upper, lower = math.min(math.max(ns, -1), len - 1), math.min(math.max(ne, -1), len - 1)
          local i = upper
          while lower < i do out[#out + 1] = i; i = i + step end
        end
        return out
      end
      local bounds = { false, -7, -6, -3, -2, -1, 0, 1, 2, 3, 6, 7 }
      local steps = { false, -3, -2, -1, 0, 1, 2, 3 }
      local arrays = {}
      for len = 0, 5 do
        local t = {}
        for i = 1, len do t[i] = i - 1 end
        arrays[len] = A(t)
      end
      for _, s in ipairs(bounds) do
        for _, e in ipairs(bounds) do
          for _, st in ipairs(steps) do
            local q = "$[" .. (s and tostring(s) or "") .. ":" .. (e and tostring(e) or "")
              .. (st and (":" .. tostring(st)) or "") .. "]"
            local p = jp(q)
            for len = 0, 5 do
              assert.same(reference(len, s or nil, e or nil, st or nil), p:query(arrays[len]), q .. " len " .. len)
            end
          end
        end
      end
    end)

    it("allows white space around the colons", function()
      check("$[ 1 : 5 : 2 ]", letters(), { "b", "d" })
      check("$[1: :2]", letters(), { "b", "d", "f" })
      check("$[0 ::-1]", letters(), { "a" })
      check("$[1:2: ]", letters(), { "b" })
    end)

    it("refuses malformed slices", function()
      syntax_error("$[1:2:3:4]", "expected ',' or ']', found ':'", 8)
      syntax_error("$[:-0]", "-0 is not a valid integer here", 4)
      syntax_error("$[::-0]", "-0 is not a valid integer here", 5)
      syntax_error("$[0:01]", "leading zeros are not allowed in numbers", 5)
      syntax_error("$[0:9007199254740992]", "integer out of range (the limit is +-9007199254740991)", 5)
      syntax_error("$[::x]", "expected ',' or ']', found 'x'", 5)
    end)
  end)

  describe("2.3.5 filter selector", function()
    it("evaluates the comparisons of Table 11", function()
      local doc = O { "obj", O { "x", "y" }, "arr", A { 2, 3 } }
      local cases = {
        { "$.absent1 == $.absent2", true }, { "$.absent1 <= $.absent2", true },
        { "$.absent == 'g'", false }, { "$.absent1 != $.absent2", false },
        { "$.absent != 'g'", true }, { "1 <= 2", true }, { "1 > 2", false },
        { "13 == '13'", false }, { "'a' <= 'b'", true }, { "'a' > 'b'", false },
        { "$.obj == $.arr", false }, { "$.obj != $.arr", true },
        { "$.obj == $.obj", true }, { "$.obj != $.obj", false },
        { "$.arr == $.arr", true }, { "$.arr != $.arr", false },
        { "$.obj == 17", false }, { "$.obj != 17", true },
        { "$.obj <= $.arr", false }, { "$.obj < $.arr", false },
        { "$.obj <= $.obj", true }, { "$.arr <= $.arr", true },
        { "1 <= $.arr", false }, { "1 >= $.arr", false }, { "1 > $.arr", false }, { "1 < $.arr", false },
        { "true <= true", true }, { "true > true", false },
      }
      for _, c in ipairs(cases) do
        -- the filter runs once per child of the root (two children)
        assert.equal(c[2] and 2 or 0, #jp("$[?" .. c[1] .. "]"):query(doc), c[1])
      end
    end)

    local doc = O {
      "a", A { 3, 5, 1, 2, 4, 6, O { "b", "j" }, O { "b", "k" }, O { "b", {} }, O { "b", "kilo" } },
      "o", O { "p", 1, "q", 2, "r", 3, "s", 5, "t", O { "u", 6 } },
      "e", "f",
    }
    local a = doc.a

    it("selects with the queries of Table 12", function()
      check("$.a[?@.b == 'kilo']", doc, { a[10] }, { "$['a'][9]" })
      check("$.a[?(@.b == 'kilo')]", doc, { a[10] }, { "$['a'][9]" })
      check("$.a[?@>3.5]", doc, { 5, 4, 6 }, { "$['a'][1]", "$['a'][4]", "$['a'][5]" })
      check("$.a[?@.b]", doc, { a[7], a[8], a[9], a[10] }, { "$['a'][6]", "$['a'][7]", "$['a'][8]", "$['a'][9]" })
      check("$[?@.*]", doc, { doc.a, doc.o }, { "$['a']", "$['o']" })
      check("$[?@[?@.b]]", doc, { doc.a }, { "$['a']" })
      check("$.o[?@<3, ?@<3]", doc, { 1, 2, 1, 2 }, { "$['o']['p']", "$['o']['q']", "$['o']['p']", "$['o']['q']" })
      check('$.a[?@<2 || @.b == "k"]', doc, { 1, a[8] }, { "$['a'][2]", "$['a'][7]" })
      check('$.a[?match(@.b, "[jk]")]', doc, { a[7], a[8] }, { "$['a'][6]", "$['a'][7]" })
      check('$.a[?search(@.b, "[jk]")]', doc, { a[7], a[8], a[10] }, { "$['a'][6]", "$['a'][7]", "$['a'][9]" })
      check("$.o[?@>1 && @<4]", doc, { 2, 3 }, { "$['o']['q']", "$['o']['r']" })
      check("$.o[?@.u || @.x]", doc, { doc.o.t }, { "$['o']['t']" })
      check("$.a[?@.b == $.x]", doc, { 3, 5, 1, 2, 4, 6 },
        { "$['a'][0]", "$['a'][1]", "$['a'][2]", "$['a'][3]", "$['a'][4]", "$['a'][5]" })
      check("$.a[?@ == @]", doc, { 3, 5, 1, 2, 4, 6, a[7], a[8], a[9], a[10] })
    end)

    it("applies ! to tests and parenthesized expressions", function()
      check("$.a[?!@.b]", doc, { 3, 5, 1, 2, 4, 6 })
      check("$.a[?!(@.b == 'k' || @.b == 'j')]", doc, { 3, 5, 1, 2, 4, 6, a[9], a[10] })
      check("$.a[?!(!@.b)]", doc, { a[7], a[8], a[9], a[10] })
      check("$.a[? ! ( @.b ) ]", doc, { 3, 5, 1, 2, 4, 6 })
      syntax_error("$.a[?!!@.b]", "expected a query, a literal or a function call, found '!'", 7)
    end)

    it("binds && tighter than ||", function()
      check("$.a[?@ == 1 || @ == 2 && @ == 3]", doc, { 1 })
      check("$.a[?(@ == 1 || @ == 2) && @ == 2]", doc, { 2 })
    end)

    it("tests existence with non-singular and absolute queries", function()
      check("$.a[?$.e]", doc, a)
      check("$.a[?$.nope]", doc, {})
      check("$.o[?@..u]", doc, { doc.o.t })
      check("$[?@[1:]]", doc, { doc.a })
    end)

    it("selects nothing from primitives", function()
      check("$.e[?@ == 'f']", doc, {}, {})
    end)

    it("compares numbers by value across integers and floats", function()
      local nums = A { 1, 1.0, 2.5, 100, -0.0, 0, 9007199254740991 }
      check("$[?@ == 1]", nums, { 1, 1.0 })
      check("$[?@ == 1.0]", nums, { 1, 1.0 })
      check("$[?@ == 1e2]", nums, { 100 })
      check("$[?@ == 1E+2]", nums, { 100 })
      check("$[?@ == 25e-1]", nums, { 2.5 })
      check("$[?@ == -0]", nums, { -0.0, 0 })
      check("$[?@ > 2.25]", nums, { 2.5, 100, 9007199254740991 })
      check("$[?@ == 9007199254740991]", nums, { 9007199254740991 })
      check("$[?@ > -0.5 && @ < 0.5]", nums, { -0.0, 0 })
      if math.type then
        local big = A { math.maxinteger, 2 ^ 53 }
        check("$[?@ > 9007199254740991]", big, { math.maxinteger, 2 ^ 53 })
        check("$[?@ == $[1]]", A { 9007199254740993, 2 ^ 53 }, { 2 ^ 53 })
      end
    end)

    it("orders strings by Unicode scalar values", function()
      local strs = A { "", "a", "ab", "b", "z", "é", "😀" }
      check("$[?@ < 'b']", strs, { "", "a", "ab" })
      check("$[?@ > 'z']", strs, { "é", "😀" })
      check("$[?@ >= 'é']", strs, { "é", "😀" })
      check("$[?@ <= '']", strs, { "" })
    end)

    it("compares null, booleans and structured values by equality only", function()
      local vals = A { null, true, false, A { 1, 2 }, O { "a", 1 } }
      check("$[?@ == null]", vals, { null })
      check("$[?@ == false]", vals, { false })
      check("$[?@ != true]", vals, { null, false, vals[4], vals[5] })
      check("$[?@ < true]", vals, {})
      check("$[?@ <= null]", vals, { null })
    end)

    it("compares structured values deeply, whatever the member order", function()
      local d = O {
        "x", O { "a", A { 1, O { "p", null, "q", "s" } }, "b", 2 },
        "y", O { "b", 2, "a", A { 1.0, O { "q", "s", "p", null } } },
        "z", O { "b", 2, "a", A { 1, O { "q", "s" } } },
        "w", O { "b", 2, "a", A { 1, O { "q", "s", "p", null }, 3 } },
        "v", O { "b", 2, "a", A { 1, O { "q", "s", "p", null } }, "c", 3 },
        "u", O { "b", 2, "a", A { 1, O { "q", "s", "p", false } } },
      }
      check("$[?@ == $.x]", d, { d.x, d.y })
      check("$.x[?@ == $.y.a]", d, { d.x.a })
      check("$[?@ == {}]" == nil and "$" or "$[?@.a == $.z.a]", d, { d.z })
    end)

    it("compares arrays and objects of the data model: marked, unmarked, empty", function()
      local d = O { "m", A { 1, 2 }, "u", { 1, 2 }, "e", A {}, "o", {} }
      check("$[?@ == $.m]", d, { d.m, d.u })
      check("$[?@ == $.e]", d, { d.e })
      check("$[?@ == $.o]", d, { d.o })
    end)

    it("nests filters, each @ bound to its own filter", function()
      local d = A { O { "k", A { O { "v", 1 }, O { "v", 2 } } }, O { "k", A { O { "v", 3 } } } }
      check("$[?@.k[?@.v > 1]]", d, { d[1], d[2] })
      check("$[?@.k[?@.v > 2]]", d, { d[2] })
      check("$[?count(@.k[?@.v < 3]) == 2]", d, { d[1] })
    end)

    it("refuses ill-formed filters with their column", function()
      syntax_error("$[?]", "expected a query, a literal or a function call, found ']'", 4)
      syntax_error("$[?true]", "a literal cannot be a test by itself (compare it)", 4)
      syntax_error("$[?'a']", "a literal cannot be a test by itself (compare it)", 4)
      syntax_error("$[?@.a && 1]", "a literal cannot be a test by itself (compare it)", 11)
      syntax_error("$[?1 || @.a]", "a literal cannot be a test by itself (compare it)", 4)
      syntax_error("$[?@.* == 1]", "a non-singular query cannot be compared", 4)
      syntax_error("$[?1 == @.*]", "a non-singular query cannot be compared", 9)
      syntax_error("$[?@..a == 1]", "a non-singular query cannot be compared", 4)
      syntax_error("$[?@['a','b'] == 1]", "a non-singular query cannot be compared", 4)
      syntax_error("$[?@[0:1] == 1]", "a non-singular query cannot be compared", 4)
      syntax_error("$[?@[ 'a' ] == 1]", "a non-singular query (no blank space is allowed inside the brackets"
        .. " of a singular query) cannot be compared", 4)
      syntax_error("$[?length(@.a[0 ]) == 1]", "length() argument 1 must be a value (a literal, a singular query"
        .. " or a function value), not a non-singular query (no blank space is allowed inside the brackets"
        .. " of a singular query)", 11)
      syntax_error("$[?@.a = 1]", "'=' is not an operator (use '==')", 8)
      syntax_error("$[?@.a === 1]", "expected a query, a literal or a function call, found '='", 10)
      syntax_error("$[?(@.a) == 1]", "a parenthesized expression cannot be compared", 10)
      syntax_error("$[?!@.a == 1]", "a negated expression cannot be compared", 9)
      syntax_error("$[?!(@.a) == 1]", "a negated expression cannot be compared", 11)
      syntax_error("$[?@ == 'a' == 'b']", "expected ',' or ']', found '='", 13)
      syntax_error("$[?@.a & @.b]", "expected ',' or ']', found '&'", 8)
      syntax_error("$[?@.a ||]", "expected a query, a literal or a function call, found ']'", 10)
      syntax_error("$[?(@.a]", "expected ')', found ']'", 8)
      syntax_error("$[?foo]", "unknown name 'foo' (queries start with '@' or '$', functions need '(')", 4)
      syntax_error("$[?@.a == true1]", "unknown name 'true1' (queries start with '@' or '$', functions need '(')", 11)
      syntax_error("$[?@.a == True]", "expected a query, a literal or a function call, found 'T'", 11)
      syntax_error("$[?@ == \"a]", "unterminated string", 9)
    end)

    it("refuses malformed number literals", function()
      syntax_error("$[?@ == 01]", "leading zeros are not allowed in numbers", 9)
      syntax_error("$[?@ == -01]", "leading zeros are not allowed in numbers", 9)
      syntax_error("$[?@ == 1.]", "expected a digit after '.', found ']'", 11)
      syntax_error("$[?@ == 1e]", "expected a digit in the exponent, found ']'", 11)
      syntax_error("$[?@ == 1e+]", "expected a digit in the exponent, found ']'", 12)
      syntax_error("$[?@ == .5]", "expected a query, a literal or a function call, found '.'", 9)
      syntax_error("$[?@ == -]", "expected a digit, found ']'", 10)
      syntax_error("$[?@ == 9007199254740992]", "integer out of range (the limit is +-9007199254740991)", 9)
      syntax_error("$[?@ == -9007199254740992]", "integer out of range (the limit is +-9007199254740991)", 9)
    end)
  end)

  describe("2.4 function extensions", function()
    it("checks well-typedness as in Table 14", function()
      assert.is_truthy(core.jsonpath("$[?length(@) < 3]"))
      syntax_error("$[?length(@.*) < 3]", "length() argument 1 must be a value (a literal, a singular query or a"
        .. " function value), not a non-singular query", 11)
      assert.is_truthy(core.jsonpath("$[?count(@.*) == 1]"))
      syntax_error("$[?count(1) == 1]", "count() argument 1 must be a query, not a literal", 10)
      syntax_error("$[?count(foo(@.*)) == 1]", "unknown function 'foo'", 10)
      assert.is_truthy(core.jsonpath("$[?match(@.timezone, 'Europe/.*')]"))
      syntax_error("$[?match(@.timezone, 'Europe/.*') == true]",
        "match() returns a logical result, which cannot be compared", 4)
      assert.is_truthy(core.jsonpath('$[?value(@..color) == "red"]'))
      syntax_error("$[?value(@..color)]", "value() returns a value, which cannot be a test by itself (compare it)", 4)
      syntax_error("$[?bar(@.a)]", "unknown function 'bar'", 4)
      syntax_error("$[?bnl(@.*)]", "unknown function 'bnl'", 4)
      syntax_error("$[?blt(1==1)]", "unknown function 'blt'", 4)
      syntax_error("$[?bal(1)]", "unknown function 'bal'", 4)
    end)

    it("refuses other ill-typed or malformed calls", function()
      syntax_error("$[?length(@)]", "length() returns a value, which cannot be a test by itself (compare it)", 4)
      syntax_error("$[?count(@.*)]", "count() returns a value, which cannot be a test by itself (compare it)", 4)
      syntax_error("$[?search(@, 'a') == false]", "search() returns a logical result, which cannot be compared", 4)
      syntax_error("$[?length(1 == 1) == 1]", "length() argument 1 must be a value (a literal, a singular query or a"
        .. " function value), not a logical expression", 11)
      syntax_error("$[?length(match(@.a, 'x')) == 1]", "length() argument 1 must be a value (a literal, a singular"
        .. " query or a function value), not a logical function result", 11)
      syntax_error("$[?match(@.*, 'x')]", "match() argument 1 must be a value (a literal, a singular query or a"
        .. " function value), not a non-singular query", 10)
      syntax_error("$[?search(@.a, @..p)]", "search() argument 2 must be a value (a literal, a singular query or a"
        .. " function value), not a non-singular query", 16)
      syntax_error("$[?count(@.a && @.b) == 1]", "count() argument 1 must be a query, not a logical expression", 10)
      syntax_error("$[?value('x') == 1]", "value() argument 1 must be a query, not a literal", 10)
      syntax_error("$[?count(length(@)) == 1]", "count() argument 1 must be a query, not a function value", 10)
      syntax_error("$[?length(@.a, @.b) == 1]", "length() takes 1 argument, got 2", 4)
      syntax_error("$[?length() == 1]", "length() takes 1 argument, got 0", 4)
      syntax_error("$[?match(@.a)]", "match() takes 2 arguments, got 1", 4)
      syntax_error("$[?length(@.a]", "expected ',' or ')', found ']'", 14)
      syntax_error("$[?length(@.a,) == 1]", "expected a query, a literal or a function call, found ')'", 15)
      syntax_error("$[?length (@) == 1]",
        "unknown name 'length' (queries start with '@' or '$', functions need '(')", 4)
      syntax_error("$[?LENGTH(@) == 1]", "expected a query, a literal or a function call, found 'L'", 4)
      syntax_error("$[?true(1) == 0]", "unknown function 'true'", 4)
    end)

    it("length(): scalar values of strings, elements, members, else Nothing", function()
      local d = A { "abc", "é😀x", A { 1, 2, 3 }, O { "a", 1, "b", 2, "c", 3 }, 3, true, null, {}, A {}, "" }
      check("$[?length(@) == 3]", d, { d[1], d[2], d[3], d[4] })
      check("$[?length(@) == 0]", d, { d[8], d[9], "" })
      check("$[?length(@) == null]", d, {})
      check("$[?length(@.x) == length(@.y)]", A { 1 }, { 1 })
      check("$[?length('abcd') == 4]", A { 1 }, { 1 })
      check("$[?length(@) == length($[0])]", d, { d[1], d[2], d[3], d[4] })
    end)

    it("count(): the number of nodes, duplicates included", function()
      local d = A { A { 1, 2 }, A {}, O { "a", 1, "b", 2 }, 7 }
      check("$[?count(@.*) == 2]", d, { d[1], d[3] })
      check("$[?count(@.*) == 0]", d, { d[2], 7 })
      check("$[?count(@) == 1]", d, d)
      check("$[?count(@[0, 0, 0]) == 3]", d, { d[1] })
      check("$[?count($..*) == 8]", d, d)
      check("$[?count(@.nope) == 0]", d, d)
    end)

    it("value(): the value of a single node, else Nothing", function()
      local d = A { A { 1 }, A { 1, 1 }, A { 2 }, A {} }
      check("$[?value(@.*) == 1]", d, { d[1] })
      check("$[?value(@[*]) == value(@.nope)]", d, { d[2], d[4] })
      check("$[?value(@) == $[2]]", d, { d[3] })
      check("$[?value(@..v) == 'x']", A { O { "a", O { "v", "x" } }, O { "v", "x", "w", O { "v", "x" } } },
        { O { "a", O { "v", "x" } } })
    end)

    it("match() matches the whole string, search() any substring", function()
      local d = A { "abc", "xabcx", "ab", "a\nc", "a\rc", "a\tc", "a😀c", "ABC" }
      check("$[?match(@, 'a.c')]", d, { "abc", "a\tc", "a😀c" })
      check("$[?search(@, 'a.c')]", d, { "abc", "xabcx", "a\tc", "a😀c" })
      check("$[?match(@, 'a.c|xa.*')]", d, { "abc", "xabcx", "a\tc", "a😀c" })
      check("$[?match(@, 'a|ab')]", A { "ab", "a", "abc" }, { "ab", "a" })
      check("$[?match(@, '(a|ab)(c|bcd)')]", A { "abcd", "ac", "abc", "abcdx" }, { "abcd", "ac", "abc" })
      check("$[?match(@, '')]", A { "", "a" }, { "" })
      check("$[?search(@, '')]", A { "", "a" }, { "", "a" })
    end)

    it("keeps ^ and $ as anchors, as the RFC 9485 mappings and the CTS do", function()
      local d = A { "abc", "axc", "ab", "xab", "ab\n", "a$", "^a" }
      check("$[?match(@, '^ab.*')]", d, { "abc", "ab" })
      check("$[?match(@, '.*bc$')]", d, { "abc" })
      check("$[?search(@, '^ab')]", d, { "abc", "ab", "ab\n" })
      check("$[?search(@, 'ab$')]", d, { "ab", "xab" })
      check("$[?search(@, '[$^]')]", d, { "a$", "^a" })
      check("$[?match(@, 'ab$|x.*')]", d, { "ab", "xab" })
    end)

    it("reads I-Regexp: classes, escapes, quantifiers, categories", function()
      local d = A { "a$", "^a", "a", "aa", "aaa", "a.b", "a-b", "Ab", "é", "\n", "\\", "9", "_" }
      check([=[$[?match(@, 'a\\$')]]=], d, {})
      check("$[?match(@, 'a[$]')]", d, { "a$" })
      check("$[?match(@, 'a{2}')]", d, { "aa" })
      check("$[?match(@, 'a{2,}')]", d, { "aa", "aaa" })
      check("$[?match(@, 'a{1,2}')]", d, { "a", "aa" })
      check([=[$[?match(@, 'a\\.b')]]=], d, { "a.b" })
      check("$[?match(@, 'a[.-]b')]", d, { "a.b", "a-b" })
      check("$[?match(@, '[^a-z$^.\\\\-]+')]", d, { "é", "\n", "\\", "9", "_" })
      check([=[$[?match(@, '\\p{Lu}\\p{Ll}')]]=], d, { "Ab" })
      check([=[$[?match(@, '\\P{L}')]]=], d, { "\n", "\\", "9", "_" })
      check([=[$[?match(@, '[\\p{Nd}_]')]]=], d, { "9", "_" })
      check([=[$[?match(@, '\\n')]]=], d, { "\n" })
      check([=[$[?match(@, '\\\\')]]=], d, { "\\" })
      check([=[$[?match(@, '[\\n-\\r]')]]=], d, { "\n" })
      check("$[?match(@, '(a|b)+')]", d, { "a", "aa", "aaa" })
      check("$[?match(@, '(?:a)')]", d, {})
      check("$[?match(@, 'é')]", d, { "é" })
    end)

    it("treats an invalid I-Regexp as never matching, without an error", function()
      local d = A { "a", "aa", "1", "", "*" }
      local bad = { [=[\\d]=], "(?:a)", "a{2,1}", "[b-a]", "[]", "[^]", "a**", "*a", "a)", "(a", [=[\\w]=],
        "a{,3}", "]", "}", [=[\\p{Xx}]=], "a*?", [=[\\u0041]=], "(a)\\\\1", [=[\\/]=], "[a-\\\\p{L}]", "[--a]",
        "[a-b-c]", [=[\\]=], "a{1", "a{99999999999}" }
      for _, re in ipairs(bad) do
        check("$[?match(@, '" .. re .. "') || search(@, '" .. re .. "')]", d, {})
        check("$[?!match(@, '" .. re .. "')]", d, d)
      end
      check("$[?match(@, 1)]", d, {})
      check("$[?match(1, '1')]", d, {})
      check("$[?search(@, null)]", d, {})
      check("$[?search(@.x, 'a')]", d, {})
    end)

    it("compiles patterns that come from the data once per evaluation", function()
      local d = A { O { "s", "abc", "p", "a.c" }, O { "s", "abc", "p", "b" }, O { "s", "abc", "p", "(" },
        O { "s", "x", "p", 5 }, O { "s", 5, "p", "5" }, O { "s", "abc", "p", "b" } }
      check("$[?match(@.s, @.p)]", d, { d[1] })
      check("$[?search(@.s, @.p)]", d, { d[1], d[2], d[6] })
      check("$[?search(@.s, $[1].p)]", d, { d[1], d[2], d[3], d[6] })
    end)

    it("returns nil, message when the regex engine gives up", function()
      local d = A { string.rep("a", 40) .. "!", "(a+)+(b|c)" }
      assert.same({ n = 3, nil, "jsonpath: search(): match limit exceeded", "jsonpath" },
        pack(jp("$[?search(@, '(a+)+(b|c)')]"):query(d)))
      assert.same({ n = 3, nil, "jsonpath: match(): match limit exceeded", "jsonpath" },
        pack(jp("$[?match(@, $[1])]"):paths(d)))
      assert.same({ n = 3, nil, "jsonpath: match(): invalid subject: UTF-8 error: illegal byte (0xfe or 0xff)"
        .. " at offset 1", "jsonpath" }, pack(jp("$[?match(@, 'a')]"):exists(A { "a\255" })))
    end)
  end)

  describe("2.5 segments", function()
    it("child segments concatenate their selectors (Table 15)", function()
      local doc = letters()
      check("$[0, 3]", doc, { "a", "d" }, { "$[0]", "$[3]" })
      check("$[0:2, 5]", doc, { "a", "b", "f" }, { "$[0]", "$[1]", "$[5]" })
      check("$[0, 0]", doc, { "a", "a" }, { "$[0]", "$[0]" })
      check("$['x', 0, 'y']", doc, { "a" }, { "$[0]" })
    end)

    local doc = O { "o", O { "j", 1, "k", 2 }, "a", A { 5, 3, A { O { "j", 4 }, O { "k", 6 } } } }
    local a2 = doc.a[3]

    it("descendant segments visit parents before children, arrays in order (Table 16)", function()
      check("$..j", doc, { 1, 4 }, { "$['o']['j']", "$['a'][2][0]['j']" })
      check("$..[0]", doc, { 5, a2[1] }, { "$['a'][0]", "$['a'][2][0]" })
      local all_values = { doc.o, doc.a, 1, 2, 5, 3, a2, a2[1], a2[2], 4, 6 }
      local all_paths = { "$['o']", "$['a']", "$['o']['j']", "$['o']['k']", "$['a'][0]", "$['a'][1]",
        "$['a'][2]", "$['a'][2][0]", "$['a'][2][1]", "$['a'][2][0]['j']", "$['a'][2][1]['k']" }
      check("$..[*]", doc, all_values, all_paths)
      check("$..*", doc, all_values, all_paths)
      check("$..o", doc, { doc.o }, { "$['o']" })
      check("$.o..[*, *]", doc, { 1, 2, 1, 2 }, { "$['o']['j']", "$['o']['k']", "$['o']['j']", "$['o']['k']" })
      check("$.a..[0, 1]", doc, { 5, 3, a2[1], a2[2] }, { "$['a'][0]", "$['a'][1]", "$['a'][2][0]", "$['a'][2][1]" })
    end)

    it("descends with filters and slices", function()
      check("$..[?@ > 4]", doc, { 5, 6 }, { "$['a'][0]", "$['a'][2][1]['k']" })
      check("$..[1:]", doc, { 3, a2, a2[2] }, { "$['a'][1]", "$['a'][2]", "$['a'][2][1]" })
      check("$..['k','j']", doc, { 2, 1, 4, 6 })
    end)

    it("chains several segments after a descendant segment", function()
      check("$..[0].j", doc, { 4 }, { "$['a'][2][0]['j']" })
      check("$..*..k", doc, { 2, 6, 6, 6 })
    end)

    it("refuses a bare or malformed segment", function()
      syntax_error("$..", "expected '*', '[' or a member name after '..', found end of query", 4)
      syntax_error("$...a", "expected '*', '[' or a member name after '..', found '.'", 4)
      syntax_error("$.", "expected '*' or a member name after '.', found end of query", 3)
      syntax_error("$.1", "expected '*' or a member name after '.', found '1'", 3)
      syntax_error("$.['a']", "expected '*' or a member name after '.', found '['", 3)
      syntax_error("$[", "expected a selector (a name, '*', an index, a slice or a '?' filter), found end of query", 3)
      syntax_error("$[]", "expected a selector (a name, '*', an index, a slice or a '?' filter), found ']'", 3)
      syntax_error("$['a'", "expected ',' or ']', found end of query", 6)
      syntax_error("$['a',]", "expected a selector (a name, '*', an index, a slice or a '?' filter), found ']'", 7)
      syntax_error("$[a]", "expected a selector (a name, '*', an index, a slice or a '?' filter), found 'a'", 3)
      syntax_error("$x", "expected '.', '..', '[' or the end of the query, found 'x'", 2)
      syntax_error("$.a-b", "expected '.', '..', '[' or the end of the query, found '-'", 4)
      syntax_error("$[0]x", "expected '.', '..', '[' or the end of the query, found 'x'", 5)
      syntax_error("$[?@.a]]", "expected '.', '..', '[' or the end of the query, found ']'", 8)
    end)

    it("reads member-name shorthands with digits, underscores and non-ASCII", function()
      local d = O { "a1_b", 1, "_x", 2, "ñandú", 3, "日本", 4 }
      check("$.a1_b", d, { 1 })
      check("$._x", d, { 2 })
      check("$.ñandú", d, { 3 })
      check("$..日本", d, { 4 }, { "$['日本']" })
    end)
  end)

  describe("2.6 null", function()
    local doc = O { "a", null, "b", A { null }, "c", A { {} }, "null", 1 }

    it("treats null as a value like any other (Table 17)", function()
      check("$.a", doc, { null }, { "$['a']" })
      check("$.a[0]", doc, {}, {})
      check("$.a.d", doc, {}, {})
      check("$.b[0]", doc, { null }, { "$['b'][0]" })
      check("$.b[*]", doc, { null }, { "$['b'][0]" })
      check("$.b[?@]", doc, { null }, { "$['b'][0]" })
      check("$.b[?@==null]", doc, { null }, { "$['b'][0]" })
      check("$.c[?@.d==null]", doc, {}, {})
      check("$.null", doc, { 1 }, { "$['null']" })
    end)
  end)

  describe("2.7 normalized paths", function()
    it("produces the Normalized Paths of Table 18", function()
      check("$.a", { a = 1 }, { 1 }, { "$['a']" })
      local five = A { 10, 11, 12, 13, 14 }
      check("$[1]", five, { 11 }, { "$[1]" })
      check("$[-3]", five, { 12 }, { "$[2]" })
      check("$.a.b[1:2]", { a = { b = A { 0, 1, 2 } } }, { 1 }, { "$['a']['b'][1]" })
      check([=[$["\u000B"]]=], { ["\v"] = 1 }, { 1 }, { [=[$['\u000b']]=] })
      check([=[$["\u0061"]]=], { a = 1 }, { 1 }, { "$['a']" })
    end)

    it("escapes exactly the characters the grammar says, one way only", function()
      local key = "\b\f\n\r\t'\\\1\31\127\"/é😀 "
      check("$.*", { [key] = 1 }, { 1 },
        { [=[$['\b\f\n\r\t\'\\\u0001\u001f]=] .. "\127\"/é😀 ']" })
      check("$.*", { ["\0"] = 1 }, { 1 }, { [=[$['\u0000']]=] })
    end)

    it("round-trips: every Normalized Path selects exactly its node", function()
      local doc = O { "o", O { "j j", 1, "k'\n", A { 2, O { "\\", 3 } } }, "a", A { A { 4 } } }
      local values, paths = jp("$..*"):query(doc), jp("$..*"):paths(doc)
      for i, p in ipairs(paths) do
        assert.same({ values[i] }, jp(p):query(doc), p)
      end
    end)
  end)

  describe("white space", function()
    local doc = O { "a", A { O { "b", 1, "c", 2 }, O { "b", 2 } } }

    it("is allowed where the ABNF has S", function()
      check("$ .a", doc, { doc.a })
      check("$ \t\r\n['a'] [0]", doc, { doc.a[1] })
      check("$.a[ 0 , 1 ]", doc, { doc.a[1], doc.a[2] })
      check("$.a[? @.b == 1 ]", doc, { doc.a[1] })
      check("$.a[?@.b==1]", doc, { doc.a[1] })
      check("$.a[?( @.b == 2 )]", doc, { doc.a[2] })
      check("$.a[?! @.c]", doc, { doc.a[2] })
      check("$.a[?@.b&&@.c]", doc, { doc.a[1] })
      check("$.a[?@.b\n&&\t@.c]", doc, { doc.a[1] })
      check("$.a[?@.c||@.b==2]", doc, { doc.a[1], doc.a[2] })
      check("$.a[?count( @.* )==1]", doc, { doc.a[2] })
      check("$.a[?match( @.b , '2' )]", A {}, {})
      check("$.a[?@ .b == 1]", doc, { doc.a[1] })
      check("$.a[?@ ['b'] == 1]", doc, { doc.a[1] })
      check("$.a[?@[ 'b' ]]", doc, { doc.a[1], doc.a[2] })
    end)

    it("is refused elsewhere, with the column of the offending character", function()
      syntax_error(" $", "a query must start with '$'", 1)
      syntax_error("$ ", "trailing white space is not allowed", 2)
      syntax_error("$.a\n", "trailing white space is not allowed", 4)
      syntax_error("$ [0] ", "trailing white space is not allowed", 6)
      syntax_error("$. a", "expected '*' or a member name after '.', found white space", 3)
      syntax_error("$.. a", "expected '*', '[' or a member name after '..', found white space", 4)
      syntax_error("$[?length (@) == 1]",
        "unknown name 'length' (queries start with '@' or '$', functions need '(')", 4)
      syntax_error("$ x", "expected '.', '..', '[' or the end of the query, found 'x'", 3)
    end)
  end)

  describe("query text", function()
    it("must start with $", function()
      syntax_error("", "a query must start with '$'", 1)
      syntax_error("@.a", "a query must start with '$'", 1)
      syntax_error("a", "a query must start with '$'", 1)
    end)

    it("must be UTF-8", function()
      syntax_error("\255", "invalid UTF-8 in query", 1)
      syntax_error("$['a\192\128']", "invalid UTF-8 in query", 5)
      syntax_error("$['\237\160\128']", "invalid UTF-8 in query", 4)
    end)

    it("counts columns in characters", function()
      syntax_error("$['é' x]", "expected ',' or ']', found 'x'", 7)
      syntax_error("$.日本語.x-", "expected '.', '..', '[' or the end of the query, found '-'", 8)
    end)

    it("reports a non-printable character by its class", function()
      syntax_error("$\1", "expected '.', '..', '[' or the end of the query, found a control character", 2)
      syntax_error("$é", "expected '.', '..', '[' or the end of the query, found a non-ASCII character", 2)
    end)

    it("keeps NUL bytes in names; a raw NUL in a string must be escaped", function()
      check([=[$['a\u0000b']]=], { ["a\0b"] = 1, a = 2 }, { 1 }, { [=[$['a\u0000b']]=] })
      syntax_error("$['a\0b']", "control character in string (it must be escaped)", 5)
      syntax_error("$\0", "expected '.', '..', '[' or the end of the query, found a control character", 2)
    end)
  end)

  describe("limits", function()
    it("bounds the nesting of expressions in the parser", function()
      assert.is_truthy(core.jsonpath("$[?" .. string.rep("(", 63) .. "@" .. string.rep(")", 63) .. "]"))
      syntax_error("$[?" .. string.rep("(", 64) .. "@" .. string.rep(")", 64) .. "]",
        "expression nested too deeply (the limit is 64 levels)", 68)
      syntax_error("$" .. string.rep("[?@", 65) .. string.rep("]", 65),
        "expression nested too deeply (the limit is 64 levels)", 196)
      syntax_error("$[?" .. string.rep("!(", 30000), "expression nested too deeply (the limit is 64 levels)", 132)
      syntax_error("$[?" .. string.rep("length(", 9000),
        "expression nested too deeply (the limit is 64 levels)", 4 + 64 * 7)
    end)

    it("refuses queries longer than 64 KiB", function()
      assert.is_truthy(core.jsonpath("$" .. string.rep(".a", 32767) .. "b"))
      syntax_error("$" .. string.rep(".a", 32768), "query longer than 65536 bytes", 1)
    end)

    it("evaluates long flat queries", function()
      local p = jp("$" .. string.rep(".a", 5000))
      assert.same({}, p:query({ a = { a = 1 } }))
      local many = {}
      for i = 1, 3000 do many[i] = "'k" .. i .. "'" end
      assert.same({ 7 }, jp("$[" .. table.concat(many, ",") .. "]"):query({ k2999 = 7 }))
      local d = A { { x = 1 }, { x = 2 } }
      check("$[?" .. string.rep("@.x == 3 || ", 2000) .. "@.x == 1]", d, { d[1] })
    end)

    it("returns nil, message for values nested deeper than 1000 levels", function()
      local deep = { x = 1 }
      for _ = 1, 1500 do deep = A { deep } end
      assert.same({ n = 3, nil, "jsonpath: value nested deeper than 1000 levels (or cyclic)", "jsonpath" },
        pack(jp("$..x"):query(deep)))
      local ok = { x = 1 }
      for _ = 1, 400 do ok = A { ok } end
      check("$..x", ok, { 1 })
    end)

    it("stops on cyclic tables instead of looping", function()
      local t = O { "x", 1 }
      t.self = t
      assert.same({ n = 3, nil, "jsonpath: value nested deeper than 1000 levels (or cyclic)", "jsonpath" },
        pack(jp("$..x"):query(t)))
      assert.is_true(jp("$..x"):exists(t)) -- exists stops at the first node
      local p, q = {}, {}
      p.a, q.a = p, q
      assert.same({ n = 3, nil, "jsonpath: value nested deeper than 1000 levels (or cyclic)", "jsonpath" },
        pack(jp("$[?$.p == $.q]"):query(O { "p", p, "q", q })))
      check("$[?$.p == $.p]", O { "p", p }, { p })
    end)
  end)

  describe("data model", function()
    it("treats marked tables and non-empty sequences as arrays, other tables as objects", function()
      check("$[0]", { 10, 20 }, { 10 }, { "$[0]" })
      check("$.*", { 10, 20 }, { 10, 20 })
      check("$[0]", {}, {})
      check("$.*", {}, {})
      check("$[0]", A {}, {})
      check("$.*", { [1] = "x", a = "y" }, { "y" }, { "$['a']" })
    end)

    it("visits members in recorded order, then the rest sorted bytewise", function()
      local t = { b = 1, a = 2, c = 3, B = 4 }
      check("$.*", t, { 4, 2, 1, 3 }, { "$['B']", "$['a']", "$['b']", "$['c']" })
      core.setorder(t, { "c", "a" })
      check("$.*", t, { 3, 2, 4, 1 })
      check("$[?@ > 1]", t, { 3, 2, 4 })
    end)

    it("keeps that order whatever the recorded list holds (stale, repeated, non-string keys)", function()
      local function ordered(keys, t)
        core.setorder(t, keys)
        return t
      end
      -- exact list: iterated as recorded, by child and descendant segments
      check("$.*", ordered({ "c", "a", "b" }, { a = 1, b = 2, c = 3 }), { 3, 1, 2 })
      check("$..*", ordered({ "y", "x" }, { x = ordered({ "q", "p" }, { p = 1, q = 2 }), y = 3 }),
        { 3, { p = 1, q = 2 }, 2, 1 }, { "$['y']", "$['x']", "$['x']['q']", "$['x']['p']" })
      -- a key no longer in the object, a repeated key, a non-string entry
      check("$.*", ordered({ "c", "gone", "a", "b" }, { a = 1, b = 2, c = 3 }), { 3, 1, 2 })
      check("$.*", ordered({ "b", "b" }, { a = 1, b = 2 }), { 2, 1 }, { "$['b']", "$['a']" })
      check("$.*", ordered({ 1, "b" }, { a = 1, b = 2 }), { 2, 1 })
      check("$.*", ordered({ "b", "gone" }, { a = 1, b = 2 }), { 2, 1 })
      -- long keys repeated as different string objects (not interned on 5.4)
      local long = string.rep("k", 60)
      check("$.*", ordered({ long .. "2", table.concat({ long, "2" }) }, { [long .. "1"] = 1, [long .. "2"] = 2 }),
        { 2, 1 })
      -- long lists: 64 keys (iterated in place) and 65 keys (copied)
      for _, n in ipairs({ 64, 65 }) do
        local t, keys, want = {}, {}, {}
        for i = 1, n do
          t["k" .. i] = i
          keys[i] = "k" .. (n + 1 - i)
          want[i] = n + 1 - i
        end
        check("$.*", ordered(keys, t), want)
        keys[n] = "k" .. (n - 1) -- repeat one, drop "k1": it now comes last
        want[n] = nil
        want[#want + 1] = 1
        check("$.*", ordered(keys, t), want)
      end
    end)

    it("sorts the members of an object without recorded order bytewise, few or many", function()
      check("$.*", { ab = 1, a = 2, ["b\0"] = 3, b = 4, [""] = 5, B = 6, ["\xc3\xa9"] = 7, [2] = 8 },
        { 5, 6, 2, 1, 4, 3, 7 })
      check("$..*", { b = { d = 1, c = 2 }, a = 3 }, { 3, { d = 1, c = 2 }, 2, 1 },
        { "$['a']", "$['b']", "$['b']['c']", "$['b']['d']" })
      for _, n in ipairs({ 64, 65 }) do
        local t, want = {}, {}
        for i = 1, n do t[string.format("k%03d", n + 1 - i)] = i end
        for i = 1, n do want[i] = n + 1 - i end
        check("$.*", t, want)
      end
    end)

    it("reads a hole in a marked array as null", function()
      local holes = A { 1 }
      holes[3] = 3
      local v = jp("$[*]"):query(holes)
      assert.equal(1, v[1])
      assert.equal(#v, #jp("$[*]"):paths(holes))
    end)

    it("keeps integers exact", function()
      local r = jp("$[0]"):query(A { 9007199254740993 })
      assert.equal(9007199254740993, r[1])
      if math.type then
        assert.equal("integer", math.type(r[1]))
        assert.equal("integer", math.type(jp("$.a.length", "goessner"):query({ a = A { 1 } })[1]))
      end
    end)
  end)

  describe("goessner dialect", function()
    local doc = bookstore()
    local books = doc.store.book

    it("accepts script-style filters", function()
      check("$..book[?(@.price < 10)]", doc, { books[1], books[3] }, nil, "goessner")
      check("$..book[?(@.isbn)]", doc, { books[3], books[4] }, nil, "goessner")
      check("$..book[?(@.category === 'fiction' && @.price !== 8.99)]", doc, { books[2], books[4] }, nil, "goessner")
      check("$..book[?(@.price < 10)]", doc, { books[1], books[3] }, nil, "draft-goessner-dispatch-jsonpath-00")
    end)

    it("reads .length of arrays and strings, and still selects a member named length", function()
      check("$.store.book.length", doc, { 4 }, { "$['store']['book']['length']" }, "goessner")
      check("$..book[?(@.title.length > 15)]", doc, { books[1], books[4] }, nil, "goessner")
      check("$.o.length", { o = { length = "member" } }, { "member" }, nil, "goessner")
      check("$[?(@.length == 2)]", A { A { 1, 2 }, "ab", "abc", { length = 2 } },
        { A { 1, 2 }, "ab", { length = 2 } }, nil, "goessner")
      check("$..length", { a = A { 1 } }, {}, nil, "goessner")
      check("$.store.book.length", doc, {}, {})
    end)

    it("supports the script index (@.length-N)", function()
      check("$..book[(@.length-1)]", doc, { books[4] }, { "$['store']['book'][3]" }, "goessner")
      check("$..book[( @.length - 4 )]", doc, { books[1] }, nil, "goessner")
      check("$..book[(@.length-5)]", doc, {}, nil, "goessner")
      check("$..book[(@.length)]", doc, {}, nil, "goessner")
      check("$..book[(@.length+0), 0]", doc, { books[1] }, nil, "goessner")
    end)

    it("refuses other script expressions clearly", function()
      syntax_error("$..book[(@.length/2)]", "unsupported script expression (only (@.length-N) is supported)", 9,
        "goessner")
      syntax_error("$..book[(1+1)]", "unsupported script expression (only (@.length-N) is supported)", 9,
        "goessner")
      syntax_error("$[?(@.price * 2 > 10)]", "expected ')', found '*'", 13, "goessner")
      syntax_error("$[(@.length-1)]", "expected a selector (a name, '*', an index, a slice or a '?' filter),"
        .. " found '('", 3)
    end)
  end)
end)
