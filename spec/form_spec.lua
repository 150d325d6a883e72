-- form_spec.lua: application/x-www-form-urlencoded bodies (core.form_encode,
-- core.form_decode) and multipart/form-data bodies (core.multipart_encode).
local core = require "arazzo.core"

local function obj(keys, values)
  local t = {}
  for i, k in ipairs(keys) do t[k] = values[i] end
  return core.setorder(t, keys)
end

local function fails(expected_msg, expected_code, ...)
  local v, msg, code = ...
  assert.equal(3, select("#", ...))
  assert.is_nil(v)
  assert.equal(expected_msg, msg)
  assert.equal(expected_code, code)
end

describe("arazzo.form form_encode", function()
  it("encodes a flat Stripe body in key order", function()
    local body = obj({ "customer", "currency", "auto_advance" }, { "cus_123", "usd", false })
    assert.equal("customer=cus_123&currency=usd&auto_advance=false", core.form_encode(body))
  end)

  it("sorts keys without a recorded order bytewise", function()
    assert.equal("a=1&b=2&c=3", core.form_encode({ c = 3, a = 1, b = 2 }))
  end)

  it("encodes nested objects in bracket form, brackets escaped by default", function()
    local body = obj({ "customer", "metadata" }, { "cus_123", obj({ "order_id", "note" }, { 6735, "rush job" }) })
    assert.equal("customer=cus_123&metadata%5Border_id%5D=6735&metadata%5Bnote%5D=rush+job", core.form_encode(body))
    assert.equal("customer=cus_123&metadata[order_id]=6735&metadata[note]=rush+job",
      core.form_encode(body, { raw_brackets = true }))
  end)

  it("indexes arrays of objects the way Stripe expects", function()
    local body = obj({ "customer", "items" }, { "cus_123", {
      obj({ "price", "quantity" }, { "price_1", 2 }),
      obj({ "price", "quantity" }, { "price_2", 1 }),
    } })
    assert.equal("customer=cus_123&items[0][price]=price_1&items[0][quantity]=2"
      .. "&items[1][price]=price_2&items[1][quantity]=1", core.form_encode(body, { raw_brackets = true }))
    assert.equal("customer=cus_123&items%5B0%5D%5Bprice%5D=price_1&items%5B0%5D%5Bquantity%5D=2"
      .. "&items%5B1%5D%5Bprice%5D=price_2&items%5B1%5D%5Bquantity%5D=1", core.form_encode(body))
  end)

  it("supports the brackets and repeat array styles", function()
    local body = obj({ "expand", "lines" }, { { "customer", "lines.data" }, { obj({ "p" }, { "a" }) } })
    assert.equal("expand[0]=customer&expand[1]=lines.data&lines[0][p]=a",
      core.form_encode(body, { raw_brackets = true, arrays = "indexed" }))
    assert.equal("expand[]=customer&expand[]=lines.data&lines[][p]=a",
      core.form_encode(body, { raw_brackets = true, arrays = "brackets" }))
    assert.equal("expand%5B%5D=customer&expand%5B%5D=lines.data&lines%5B%5D%5Bp%5D=a",
      core.form_encode(body, { arrays = "brackets" }))
    assert.equal("expand=customer&expand=lines.data&lines[p]=a",
      core.form_encode(body, { raw_brackets = true, arrays = "repeat" }))
  end)

  it("encodes bytes per the WHATWG urlencoded serializer", function()
    local printable = " !\"#$%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"
    local expected = "+%21%22%23%24%25%26%27%28%29*%2B%2C-.%2F09%3A%3B%3C%3D%3E%3F%40AZ%5B%5C%5D%5E_%60az%7B%7C%7D%7E"
    assert.equal("k=" .. expected, core.form_encode({ k = printable }))
    assert.equal(expected .. "=v", core.form_encode({ [printable] = "v" }))
    assert.equal("k=%00%0D%0A%7F%FF", core.form_encode({ k = "\0\r\n\127\255" }))
  end)

  it("encodes unicode as UTF-8 escapes", function()
    assert.equal("description=Caf%C3%A9+%E2%80%93+10%25+off+%F0%9F%8E%89",
      core.form_encode({ description = "Café – 10% off 🎉" }))
  end)

  it("escapes brackets inside key text even with raw_brackets", function()
    local body = { m = obj({ "a[b]", "c d" }, { 1, 2 }) }
    assert.equal("m[a%5Bb%5D]=1&m[c+d]=2", core.form_encode(body, { raw_brackets = true }))
  end)

  it("writes booleans as words, integers exactly and floats shortest", function()
    local body = obj({ "t", "f", "i", "neg", "x", "half", "tenth", "third" },
      { true, false, 1234, -5, 3.0, 0.5, 0.1, 1 / 3 })
    assert.equal("t=true&f=false&i=1234&neg=-5&x=3&half=0.5&tenth=0.1&third=0.3333333333333333",
      core.form_encode(body))
    if math.type then
      assert.equal("n=9007199254740993", core.form_encode({ n = 9007199254740993 }))
      assert.equal("n=-9223372036854775808", core.form_encode({ n = math.mininteger }))
    end
    assert.equal("amount_due=1717459200000", core.form_encode({ amount_due = 1717459200000 }))
  end)

  it("writes null as an empty value (how Stripe unsets a field)", function()
    local body = obj({ "description", "metadata" }, { core.null, obj({ "old" }, { core.null }) })
    assert.equal("description=&metadata[old]=", core.form_encode(body, { raw_brackets = true }))
  end)

  it("omits empty arrays and objects unless empty = 'blank'", function()
    local body = obj({ "a", "items", "metadata", "z" }, { 1, core.array(), {}, 2 })
    assert.equal("a=1&z=2", core.form_encode(body))
    assert.equal("a=1&z=2", core.form_encode(body, { empty = "omit" }))
    assert.equal("a=1&items=&metadata=&z=2", core.form_encode(body, { empty = "blank" }))
    assert.equal("m[x]=", core.form_encode({ m = { x = {} } }, { empty = "blank", raw_brackets = true }))
    assert.equal("", core.form_encode({}))
    assert.equal("", core.form_encode({}, { empty = "blank" }))
  end)

  it("keeps NUL bytes in keys and values", function()
    assert.equal("a%00b=c%00d", core.form_encode({ ["a\0b"] = "c\0d" }))
  end)

  it("accepts 32 levels of nesting and refuses 33", function()
    local function nest(levels)
      local root = {}
      local t = root
      for _ = 2, levels do
        t.a = {}
        t = t.a
      end
      t.v = 1
      return root
    end
    local ok = core.form_encode(nest(32), { raw_brackets = true })
    assert.equal("a" .. string.rep("[a]", 30) .. "[v]=1", ok)
    fails("form: nesting deeper than 32 at 'a" .. string.rep("[a]", 31) .. "'", "form", core.form_encode(nest(33)))
  end)

  it("refuses cycles, naming the key path", function()
    local t = { name = "x" }
    t.meta = { back = t }
    fails("form: cycle at 'meta[back]'", "form", core.form_encode(t))
    local shared = { v = 1 }
    assert.equal("a[v]=1&b[v]=1", core.form_encode({ a = shared, b = shared }, { raw_brackets = true }))
  end)

  it("refuses functions, userdata and NaN, naming the key path", function()
    fails("form: cannot encode a function at 'metadata[fn]'", "form",
      core.form_encode({ metadata = { fn = print } }))
    fails("form: cannot encode a userdata at 'f'", "form", core.form_encode({ f = io.stdout }))
    fails("form: cannot encode a thread at 'items[1]'", "form",
      core.form_encode({ items = { 1, coroutine.create(print) } }))
    fails("form: cannot encode NaN or infinity at 'x[y]'", "form", core.form_encode({ x = { y = 0 / 0 } }))
    fails("form: cannot encode NaN or infinity at 'x'", "form", core.form_encode({ x = -math.huge }))
  end)

  it("refuses non-string keys in objects instead of dropping them", function()
    fails("form: non-string key in object at 'm'", "form", core.form_encode({ m = { [1] = "a", x = "b" } }))
    fails("form: non-string key in object at ''", "form", core.form_encode({ [true] = 1 }))
  end)

  it("requires an object at the top level", function()
    fails("form: top-level value must be an object, got array", "form", core.form_encode({ "a", "b" }))
    fails("form: top-level value must be an object, got array", "form", core.form_encode(core.array()))
    fails("form: top-level value must be an object, got string", "form", core.form_encode("a=b"))
    fails("form: top-level value must be an object, got nil", "form", core.form_encode(nil))
    fails("form: top-level value must be an object, got null", "form", core.form_encode(core.null))
  end)

  it("raises on unknown options and bad option values", function()
    assert.has_error(function() core.form_encode({}, { array = "indexed" }) end, "unknown form option 'array'")
    assert.has_error(function() core.form_encode({}, { arrays = "csv" }) end,
      "bad argument #2 to 'form_encode' (arrays must be 'indexed', 'brackets' or 'repeat')")
    assert.has_error(function() core.form_encode({}, { empty = "null" }) end,
      "bad argument #2 to 'form_encode' (empty must be 'omit' or 'blank')")
    assert.has_error(function() core.form_encode({}, { raw_brackets = "yes" }) end,
      "bad argument #2 to 'form_encode' (raw_brackets must be a boolean)")
    assert.has_error(function() core.form_encode({}, "raw") end)
  end)
end)

describe("arazzo.form form_decode", function()
  it("returns name/value pairs in order", function()
    local pairs_ = core.form_decode("customer=cus_123&currency=usd&auto_advance=false")
    assert.same({ { "customer", "cus_123" }, { "currency", "usd" }, { "auto_advance", "false" } }, pairs_)
    assert.is_true(core.isarray(pairs_))
  end)

  it("decodes plus as space and percent escapes, keeps repeats and empty names", function()
    assert.same({ { "metadata[note]", "rush job" }, { "a", "1" }, { "a", "2" } },
      core.form_decode("metadata%5Bnote%5D=rush+job&a=1&a=2"))
    assert.same({ { "flag", "" }, { "", "v" }, { "a", "b=c" }, { "x", "" } },
      core.form_decode("flag&=v&a=b=c&x="))
    assert.same({ { "k", "Café 🎉" } }, core.form_decode("k=Caf%C3%A9+%F0%9F%8E%89"))
    assert.same({ { "k", "a\0b" } }, core.form_decode("k=a%00b"))
  end)

  it("skips empty sequences and returns an empty array for ''", function()
    assert.same({ { "a", "1" }, { "b", "2" } }, core.form_decode("&&a=1&&b=2&"))
    local empty = core.form_decode("")
    assert.same({}, empty)
    assert.is_true(core.isarray(empty))
  end)

  it("round-trips what form_encode writes", function()
    local value = "Café – 10% off &= +"
    local decoded = core.form_decode(core.form_encode({ ["k[x]"] = value }))
    assert.same({ { "k[x]", value } }, decoded)
  end)

  it("returns nil, msg, 'form' on a bad escape with its position", function()
    fails("form: bad percent escape at position 3", "form", core.form_decode("a=%zz"))
    fails("form: bad percent escape at position 2", "form", core.form_decode("a%2=1"))
    fails("form: bad percent escape at position 6", "form", core.form_decode("x=1&b%=2"))
    fails("form: bad percent escape at position 7", "form", core.form_decode("x=1&b=%g"))
  end)

  it("raises on a non-string argument", function()
    assert.has_error(function() core.form_decode({}) end)
  end)
end)

describe("arazzo.form multipart_encode", function()
  local B = "----arazzo7MA4YWxkTrZu0gW"

  it("writes one text part per key in order, ending with the close delimiter", function()
    local body = obj({ "purpose", "count", "live", "note" }, { "dispute_evidence", 3, true, core.null })
    assert.equal(table.concat({
      "--" .. B, 'Content-Disposition: form-data; name="purpose"', "", "dispute_evidence",
      "--" .. B, 'Content-Disposition: form-data; name="count"', "", "3",
      "--" .. B, 'Content-Disposition: form-data; name="live"', "", "true",
      "--" .. B, 'Content-Disposition: form-data; name="note"', "", "",
      "--" .. B .. "--", "",
    }, "\r\n"), core.multipart_encode(body, B))
  end)

  it("writes file parts with filename and content type, bytes untouched", function()
    local data = "line1\r\nline2\0\255"
    local body = obj({ "file", "raw", "blob" }, {
      { filename = "a.txt", content_type = "text/plain", data = data },
      { content_type = "application/xml", data = "<x/>" },
      { filename = "b.bin", data = "\1\2" },
    })
    assert.equal(table.concat({
      "--" .. B, 'Content-Disposition: form-data; name="file"; filename="a.txt"', "Content-Type: text/plain", "", data,
      "--" .. B, 'Content-Disposition: form-data; name="raw"', "Content-Type: application/xml", "", "<x/>",
      "--" .. B, 'Content-Disposition: form-data; name="blob"; filename="b.bin"',
      "Content-Type: application/octet-stream", "", "\1\2",
      "--" .. B .. "--", "",
    }, "\r\n"), core.multipart_encode(body, B))
  end)

  it("repeats the part name for each array element", function()
    local body = { tags = { "a", { filename = "f.txt", data = "F" } } }
    assert.equal(table.concat({
      "--" .. B, 'Content-Disposition: form-data; name="tags"', "", "a",
      "--" .. B, 'Content-Disposition: form-data; name="tags"; filename="f.txt"',
      "Content-Type: application/octet-stream", "", "F",
      "--" .. B .. "--", "",
    }, "\r\n"), core.multipart_encode(body, B))
    assert.equal("--" .. B .. "--\r\n", core.multipart_encode({ tags = core.array() }, B))
    assert.equal("--" .. B .. "--\r\n", core.multipart_encode({}, B))
  end)

  it("reads file tables without calling metamethods", function()
    local file = setmetatable({ data = "d" }, { __index = function() error("metamethod called") end })
    assert.equal(table.concat({
      "--" .. B, 'Content-Disposition: form-data; name="f"', "Content-Type: application/octet-stream", "", "d",
      "--" .. B .. "--", "",
    }, "\r\n"), core.multipart_encode({ f = file }, B))
  end)

  it("escapes quote, CR, LF and NUL in names and filenames, keeps UTF-8", function()
    local body = { ['a"b\r\n\0é'] = { filename = 'x"y.txt', data = "d" } }
    assert.equal(table.concat({
      "--" .. B, 'Content-Disposition: form-data; name="a%22b%0D%0A%00é"; filename="x%22y.txt"',
      "Content-Type: application/octet-stream", "", "d", "--" .. B .. "--", "",
    }, "\r\n"), core.multipart_encode(body, B))
  end)

  it("writes other tables as JSON parts", function()
    if core.json_encode == nil then
      pending("JSON parts need arazzo_json_encode_value from json.c (branch h/json, not merged yet)")
      return
    end
    local body = obj({ "meta" }, { obj({ "a", "b" }, { 1, core.array() }) })
    assert.equal(table.concat({
      "--" .. B, 'Content-Disposition: form-data; name="meta"', "Content-Type: application/json", "",
      '{"a":1,"b":[]}', "--" .. B .. "--", "",
    }, "\r\n"), core.multipart_encode(body, B))
  end)

  it("passes JSON encoding errors on, naming the part", function()
    if core.json_encode == nil then
      pending("JSON parts need arazzo_json_encode_value from json.c (branch h/json, not merged yet)")
      return
    end
    local cyclic = {}
    cyclic.self = cyclic
    local nan = { a = { b = 0 / 0 } }
    fails("multipart: part 'meta': " .. select(2, core.json_encode(cyclic)), "form",
      core.multipart_encode({ meta = cyclic }, B))
    fails("multipart: part 'meta': " .. select(2, core.json_encode(nan)), "form",
      core.multipart_encode({ meta = nan }, B))
    local body = core.multipart_encode({ meta = { 1, { k = 2 } } }, B)
    assert.equal(table.concat({
      "--" .. B, 'Content-Disposition: form-data; name="meta"', "", "1",
      "--" .. B, 'Content-Disposition: form-data; name="meta"', "Content-Type: application/json", "", '{"k":2}',
      "--" .. B .. "--", "",
    }, "\r\n"), body)
  end)

  it("rejects a boundary that occurs in the data", function()
    fails("multipart: boundary occurs in the data of part 'file'", "form",
      core.multipart_encode({ file = { data = "x\r\n--" .. B .. "\r\ny" } }, B))
    fails("multipart: boundary occurs in the data of part 'text'", "form",
      core.multipart_encode({ text = "..." .. B }, B))
    assert.is_string(core.multipart_encode({ text = B:sub(2) }, B))
  end)

  it("refuses values it cannot encode, naming the part", function()
    fails("multipart: part 'f': cannot encode function", "form", core.multipart_encode({ f = print }, B))
    fails("multipart: part 'n': cannot encode NaN or infinity", "form", core.multipart_encode({ n = 0 / 0 }, B))
    fails("multipart: part 'f': content_type contains CR, LF or NUL", "form",
      core.multipart_encode({ f = { data = "x", content_type = "text/plain\r\nX-Evil: 1" } }, B))
    fails("multipart: part 'f': content_type contains CR, LF or NUL", "form",
      core.multipart_encode({ f = { data = "x", content_type = "text/plain\0" } }, B))
    fails("multipart: non-string key in object", "form", core.multipart_encode({ [1] = "a", x = "b" }, B))
    fails("multipart: top-level value must be an object, got array", "form", core.multipart_encode({ "a" }, B))
    fails("multipart: top-level value must be an object, got string", "form", core.multipart_encode("a", B))
  end)

  it("raises on a boundary RFC 2046 does not allow", function()
    assert.has_error(function() core.multipart_encode({}, "") end)
    assert.has_error(function() core.multipart_encode({}, string.rep("a", 71)) end)
    assert.has_error(function() core.multipart_encode({}, "abc ") end)
    assert.has_error(function() core.multipart_encode({}, "a@b") end)
    assert.has_error(function() core.multipart_encode({}, "a\r\nb") end)
    assert.has_error(function() core.multipart_encode({}) end)
    assert.is_string(core.multipart_encode({}, string.rep("a", 70)))
    assert.is_string(core.multipart_encode({}, "a'()+_,-./:=? b"))
  end)
end)

describe("arazzo.form properties (seeded random inputs)", function()
  it("form_decode(form_encode({k = s})) gives back k and s for arbitrary bytes", function()
    math.randomseed(424242)
    for _ = 1, 1000 do
      local key, val = {}, {}
      for i = 1, math.random(1, 12) do key[i] = string.char(math.random(0, 255)) end
      for i = 1, math.random(0, 24) do val[i] = string.char(math.random(0, 255)) end
      local k, v = table.concat(key), table.concat(val)
      local body = core.form_encode({ [k] = v })
      assert.is_nil(body:gsub("%%%x%x", ""):find("[^%w%*%-%._%+=]"))
      assert.same({ { k, v } }, core.form_decode(body))
    end
  end)
end)
