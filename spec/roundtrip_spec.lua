-- Values survive YAML load -> JSON encode -> JSON decode -> JSON encode
-- unchanged: exact integers, [] vs {}, null, unicode and key order.
local arazzo = require "arazzo"
local core = require "arazzo.core"

describe("round trips through YAML and JSON", function()
  local yaml = [[
zeta: 9223372036854775807
alpha: -9223372036854775808
beta: 2.5
empty_list: []
empty_map: {}
nothing: null
text: "gr\u00fc\u00df \U0001F600 \"q\" /"
nested: {b: [1, {y: 2, x: 1}], a: true}
]]

  it("keeps every value and the key order", function()
    local v = assert(core.yaml_load(yaml))
    local first = assert(arazzo.json.encode(v))
    if math.type then
      assert.equal('{"zeta":9223372036854775807,"alpha":-9223372036854775808,"beta":2.5,"empty_list":[],'
        .. '"empty_map":{},"nothing":null,"text":"grüß 😀 \\"q\\" /","nested":{"b":[1,{"y":2,"x":1}],"a":true}}', first)
    end
    local again = assert(arazzo.json.encode(assert(arazzo.json.decode(first))))
    assert.equal(first, again)
  end)

  it("keeps [] and {} apart and null as arazzo.null", function()
    local v = assert(arazzo.json.decode('{"a": [], "b": {}, "c": null, "d": [null]}'))
    assert.is_true(core.isarray(v.a))
    assert.is_false(core.isarray(v.b))
    assert.equal(arazzo.null, v.c)
    assert.equal(arazzo.null, v.d[1])
    assert.equal('{"a":[],"b":{},"c":null,"d":[null]}', arazzo.json.encode(v))
  end)

  it("decodes integral numbers as integers", function()
    local v = assert(arazzo.json.decode('{"amount_due": 1234, "big": 12345678901234567}'))
    assert.equal(1234, v.amount_due)
    if math.type then
      assert.equal("integer", math.type(v.amount_due))
      assert.equal(12345678901234567, v.big)
      assert.equal('{"amount_due":1234,"big":12345678901234567}', arazzo.json.encode(v))
    end
  end)
end)
