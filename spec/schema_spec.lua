-- luacheck: max line length 160
-- schema_spec.lua: JSON Schema 2020-12 validation of workflow inputs.
local core = require "arazzo.core"
local schema = require "arazzo.schema"

local A, null = core.array, core.null
local is54 = math.type ~= nil

-- A small regex engine for tests: Lua patterns stand in for ECMA ones (the
-- patterns used below mean the same in both). "BAD" is refused at compile
-- time and "ERR" fails at match time, like an engine hitting a limit.
local function lua_regex(p)
  if p == "BAD" then return nil, "unbalanced group at offset 0" end
  return {
    test = function(_, s)
      if p == "ERR" then return nil, "match limit exceeded" end
      return s:find(p) ~= nil
    end,
  }
end

local function compile(s, opts)
  local v, errs = schema.compile(s, opts)
  if not v then error("unexpected compile error: " .. errs[1].path .. ": " .. errs[1].message, 2) end
  return v
end

local function lines(errs)
  local t = {}
  for i, e in ipairs(errs) do t[i] = e.path .. ": " .. e.message end
  return t
end

local function fails(s, value, expected, opts)
  local ok, errs = compile(s, opts):validate(value)
  assert.is_false(ok)
  assert.same(expected, lines(errs))
  return errs
end

local function passes(s, value, opts)
  local ok, errs = compile(s, opts):validate(value)
  assert.is_true(ok, errs and table.concat(lines(errs), "\n"))
  assert.is_nil(errs)
end

local function compile_fails(s, expected, opts)
  local v, errs = schema.compile(s, opts)
  assert.is_nil(v)
  assert.same(expected, lines(errs))
  return errs
end

describe("arazzo.schema", function()
  describe("compile", function()
    it("returns a validator with validate and defaults", function()
      local v = compile({ type = "object" })
      assert.equal("function", type(v.validate))
      assert.equal("function", type(v.defaults))
      assert.is_true(v:validate({}))
    end)

    it("raises on programmer errors", function()
      assert.has_error(function() schema.compile() end,
        "bad argument #1 to 'compile' (schema expected, got no value)")
      assert.has_error(function() schema.compile({}, 5) end,
        "bad argument #2 to 'compile' (table expected, got number)")
      assert.has_error(function() schema.compile({}, { reslove = print }) end,
        "bad argument #2 to 'compile' (unknown option 'reslove')")
      assert.has_error(function() schema.compile({}, { resolve = "x" }) end,
        "bad argument #2 to 'compile' (option 'resolve': function expected, got string)")
      assert.has_error(function() schema.compile({}, { max_errors = 0 }) end,
        "bad argument #2 to 'compile' (option 'max_errors': positive integer expected)")
      assert.has_error(function() schema.compile({}, { max_depth = 1.5 }) end,
        "bad argument #2 to 'compile' (option 'max_depth': positive integer expected)")
      assert.has_error(function() schema.compile({}, { max_depth = 1001 }) end,
        "bad argument #2 to 'compile' (option 'max_depth': at most 1000)")
    end)

    it("raises when a method is called without a validator", function()
      local v = compile({})
      assert.has_error(function() v.validate({}, 1) end,
        "bad self to 'validate' (arazzo.schema.Validator expected, got table)")
      assert.has_error(function() v.defaults(nil) end,
        "bad self to 'defaults' (arazzo.schema.Validator expected, got nil)")
    end)

    it("accepts boolean schemas", function()
      passes(true, 5)
      passes(true, null)
      fails(false, 5, { "inputs: no value is allowed here (false schema)" })
    end)

    it("rejects a root that is not a schema", function()
      local errs = compile_fails(5, { ": expected a schema (object or boolean), got integer 5" })
      assert.same({ path = "", message = "expected a schema (object or boolean), got integer 5" }, errs[1])
      compile_fails("object", { ': expected a schema (object or boolean), got string "object"' })
      compile_fails(null, { ": expected a schema (object or boolean), got null" })
      compile_fails(A(), { ": expected a schema (object or boolean), got array" })
      compile_fails({ [1] = "a", x = 1 }, { ": expected a schema (object or boolean), got table with non-string key 1" })
    end)

    it("reports unknown type names with a suggestion", function()
      local errs = compile_fails({ properties = { amount = { type = "strng" } } },
        { 'properties.amount.type: unknown type "strng" (did you mean "string"?)' })
      assert.same({ path = "properties.amount.type", message = 'unknown type "strng" (did you mean "string"?)' }, errs[1])
      compile_fails({ type = "date" },
        { 'type: unknown type "date" (expected one of null, boolean, object, array, number, integer, string)' })
      compile_fails({ type = A { "string", "nul", 5, "string" } }, {
        'type[1]: unknown type "nul" (did you mean "null"?)',
        "type[2]: expected a type name, got integer 5",
        'type[3]: duplicate type "string"',
      })
      compile_fails({ type = A() }, { "type: expected a type name or a non-empty array of type names, got array" })
      compile_fails({ type = true }, { "type: expected a type name or a non-empty array of type names, got boolean true" })
    end)

    it("rejects wrong-typed keyword values", function()
      compile_fails({
        minimum = "a", exclusiveMinimum = true, maximum = null, multipleOf = 0,
        minLength = -1, maxLength = 1.5, minItems = "3", maxProperties = true,
        uniqueItems = "yes", required = "x", properties = A { 1 },
        additionalProperties = 5, allOf = A(), anyOf = {}, oneOf = "x",
        items = A { { type = "string" } }, enum = "x", dependentRequired = A { "a" },
        minContains = -2, maxContains = "1",
      }, {
        "additionalProperties: expected a schema (object or boolean), got integer 5",
        "allOf: expected a non-empty array of schemas, got array",
        "anyOf: expected a non-empty array of schemas, got object",
        "dependentRequired: expected an object of string arrays, got array",
        'enum: expected an array, got string "x"',
        "exclusiveMinimum: expected a number, got boolean true",
        "items: expected a schema (object or boolean), got array (2020-12 writes tuples as prefixItems)",
        "maxContains: expected a non-negative integer, got string \"1\"",
        "maxLength: expected a non-negative integer, got float 1.5",
        "maxProperties: expected a non-negative integer, got boolean true",
        "maximum: expected a number, got null",
        'minContains: expected a non-negative integer, got integer -2',
        'minItems: expected a non-negative integer, got string "3"',
        "minLength: expected a non-negative integer, got integer -1",
        'minimum: expected a number, got string "a"',
        "multipleOf: expected a number greater than 0, got integer 0",
        'oneOf: expected a non-empty array of schemas, got string "x"',
        "properties: expected an object of schemas, got array",
        'required: expected an array of strings, got string "x"',
        'uniqueItems: expected a boolean, got string "yes"',
      })
    end)

    it("checks the entries of required and dependentRequired", function()
      compile_fails({ required = A { "a", 2, "a" }, dependentRequired = { a = A { "b", true }, c = "d" } }, {
        "dependentRequired.a[1]: expected a string, got boolean true",
        'dependentRequired.c: expected an array of strings, got string "d"',
        "required[1]: expected a string, got integer 2",
        'required[2]: duplicate entry "a"',
      })
    end)

    it("accepts integral floats where a count is expected", function()
      passes({ minLength = 2.0 }, "ab")
      fails({ minLength = 2.0 }, "a", { "inputs: expected at least 2 characters, got 1" })
    end)

    it("accepts annotations and checks their types", function()
      passes({
        title = "t", description = "d", default = 5, examples = A { 1 }, format = "email",
        deprecated = false, readOnly = true, writeOnly = false, ["$comment"] = "c",
        ["$schema"] = "https://json-schema.org/draft/2020-12/schema", ["$id"] = "urn:x",
        ["$anchor"] = "top",
      }, "not an email: format is an annotation")
      compile_fails({ title = 5, deprecated = "no", examples = {}, format = true, ["$anchor"] = "1x" }, {
        '$anchor: invalid anchor name "1x"',
        'deprecated: expected a boolean, got string "no"',
        "examples: expected an array, got object",
        "format: expected a string, got boolean true",
        "title: expected a string, got integer 5",
      })
    end)

    it("accepts unknown keywords", function()
      passes({ ["x-internal"] = { anything = 1 }, nullable = true, foo = "bar", type = "string" }, "s")
    end)

    it("refuses keywords whose assertions it would otherwise skip", function()
      compile_fails({
        unevaluatedProperties = false, unevaluatedItems = false, ["$dynamicRef"] = "#x",
        dependencies = {}, additionalItems = false, ["$recursiveRef"] = "#",
      }, {
        "$dynamicRef: $dynamicRef is not supported",
        "$recursiveRef: $recursiveRef is not a 2020-12 keyword and is not supported",
        "additionalItems: additionalItems is not a 2020-12 keyword (use prefixItems and items)",
        "dependencies: dependencies is not a 2020-12 keyword (use dependentRequired or dependentSchemas)",
        "unevaluatedItems: unevaluatedItems is not supported",
        "unevaluatedProperties: unevaluatedProperties is not supported",
      })
    end)

    it("needs a regex engine for pattern and patternProperties", function()
      local errs = compile_fails({ properties = { code = { pattern = "^[A-Z]+$" } }, patternProperties = { ["^x_"] = true } }, {
        'patternProperties["^x_"]: no regex engine',
        "properties.code.pattern: no regex engine",
      })
      assert.same({ path = "properties.code.pattern", message = "no regex engine" }, errs[2])
      compile_fails({ pattern = "BAD" }, { 'pattern: invalid pattern "BAD": unbalanced group at offset 0' },
        { regex = lua_regex })
      compile_fails({ pattern = 5 }, { "pattern: expected a string, got integer 5" }, { regex = lua_regex })
    end)

    it("compiles each pattern once", function()
      local calls = 0
      local function counting(p) calls = calls + 1 return lua_regex(p) end
      compile({ properties = { a = { pattern = "^a" }, b = { pattern = "^a" } }, patternProperties = { ["^a"] = true } },
        { regex = counting })
      assert.equal(1, calls)
    end)

    it("collects all compile errors, sorted by path", function()
      compile_fails({
        properties = { b = { type = "x" }, a = { minimum = "1" } },
        allOf = A { { type = "y" }, { maxItems = -1 } },
      }, {
        'allOf[0].type: unknown type "y" (expected one of null, boolean, object, array, number, integer, string)',
        "allOf[1].maxItems: expected a non-negative integer, got integer -1",
        'properties.a.minimum: expected a number, got string "1"',
        'properties.b.type: unknown type "x" (expected one of null, boolean, object, array, number, integer, string)',
      })
    end)

    it("bounds the number of compile errors", function()
      local props = {}
      for i = 1, 10 do props["p" .. i] = { type = "bad" } end
      local v, errs = schema.compile({ properties = props }, { max_errors = 3 })
      assert.is_nil(v)
      assert.equal(3, #errs)
      assert.is_true(errs.truncated)
    end)

    it("bounds schema nesting", function()
      local s = { type = "object" }
      for _ = 1, 4 do s = { properties = { a = s } } end
      compile_fails(s, { "properties.a.properties.a.properties.a.properties.a: schema nested deeper than 3 levels" },
        { max_depth = 3 })
      local deep = {}
      local cur = deep
      for _ = 1, 150 do cur.items = {}; cur = cur.items end
      local v, errs = schema.compile(deep)
      assert.is_nil(v)
      assert.equal(1, #errs)
      assert.equal("schema nested deeper than 100 levels", errs[1].message)
    end)

    it("reports a cyclic schema table that never descends into the value", function()
      local s = {}
      s.allOf = A { s }
      compile_fails(s, { ": $ref cycle without progress: (root) -> (root)" })
      local t = { type = "object" }
      t.properties = { child = t }
      passes(t, { child = { child = {} } })
    end)
  end)

  describe("$ref", function()
    it("follows local pointers into $defs", function()
      local s = {
        ["$defs"] = { amount = { type = "integer", minimum = 0 } },
        properties = { total = { ["$ref"] = "#/$defs/amount" } },
      }
      passes(s, { total = 5 })
      fails(s, { total = -1 }, { "inputs.total: expected >= 0, got -1" })
    end)

    it("decodes ~0, ~1 and percent escapes in pointers", function()
      local s = {
        ["$defs"] = { ["a/b"] = { type = "integer" }, ["c~d"] = { type = "string" }, ["e f"] = { type = "boolean" } },
        properties = {
          x = { ["$ref"] = "#/$defs/a~1b" }, y = { ["$ref"] = "#/$defs/c~0d" }, z = { ["$ref"] = "#/$defs/e%20f" },
        },
      }
      passes(s, { x = 1, y = "s", z = true })
      fails(s, { x = "1", y = 2, z = null }, {
        "inputs.x: expected integer, got string",
        "inputs.y: expected string, got integer 2",
        "inputs.z: expected boolean, got null",
      })
    end)

    it("follows pointers through arrays and to the root", function()
      local s = { prefixItems = A { { type = "integer" }, { ["$ref"] = "#/prefixItems/0" } } }
      passes(s, A { 1, 2 })
      fails(s, A { 1, "2" }, { "inputs[1]: expected integer, got string" })
      local tree = { type = "object", properties = { kids = { type = "array", items = { ["$ref"] = "#" } } } }
      passes(tree, { kids = A { { kids = A { {} } } } })
      fails(tree, { kids = A { { kids = A { 5 } } } }, { "inputs.kids[0].kids[0]: expected object, got integer 5" })
    end)

    it("resolves #anchor references", function()
      local s = { ["$defs"] = { c = { ["$anchor"] = "cents", type = "integer" } }, items = { ["$ref"] = "#cents" } }
      passes(s, A { 1, 2 })
      fails(s, A { 1, 2.5 }, { "inputs[1]: expected integer, got float 2.5" })
      compile_fails({ ["$defs"] = { a = { ["$anchor"] = "x" }, b = { ["$anchor"] = "x" } } },
        { '$defs.b.$anchor: duplicate anchor "x"' })
    end)

    it("applies keywords beside $ref", function()
      local s = { ["$defs"] = { list = { type = "array" } }, ["$ref"] = "#/$defs/list", maxItems = 1 }
      passes(s, A { 1 })
      fails(s, A { 1, 2 }, { "inputs: expected at most 1 item, got 2" })
      fails(s, "x", { "inputs: expected array, got string" })
    end)

    it("reports dangling and malformed references", function()
      compile_fails({ properties = { a = { ["$ref"] = "#/$defs/nope" } } },
        { "properties.a.$ref: unresolved $ref \"#/$defs/nope\"" })
      compile_fails({ ["$ref"] = "#/$defs/a~2" }, { '$ref: invalid escape in JSON pointer token "a~2" in $ref "#/$defs/a~2"' })
      compile_fails({ ["$ref"] = "#/a%zz" }, { '$ref: invalid percent-encoding in $ref "#/a%zz"' })
      compile_fails({ ["$ref"] = "other.json" }, { '$ref: unresolved $ref "other.json"' })
      compile_fails({ ["$ref"] = 5 }, { "$ref: expected a string, got integer 5" })
      compile_fails({ required = A { "a" }, ["$ref"] = "#/required" },
        { '$ref: $ref "#/required" does not point to a schema (array)' })
    end)

    it("refuses local references inside a subschema with its own $id", function()
      compile_fails({ properties = { a = { ["$id"] = "urn:a", ["$defs"] = { x = true }, items = { ["$ref"] = "#/$defs/x" } } } },
        { 'properties.a.items.$ref: $ref "#/$defs/x" inside a subschema with its own $id is not supported' })
      passes({ ["$id"] = "urn:root", ["$defs"] = { x = { type = "string" } }, items = { ["$ref"] = "#/$defs/x" } }, A { "s" })
      passes({ properties = { a = { ["$id"] = "urn:a", type = "string" } } }, { a = "s" })
    end)

    it("reports $ref cycles without progress", function()
      compile_fails({ ["$ref"] = "#" }, { ": $ref cycle without progress: (root) -> (root)" })
      compile_fails({
        ["$defs"] = { a = { ["$ref"] = "#/$defs/b" }, b = { anyOf = A { { ["$ref"] = "#/$defs/a" }, { type = "string" } } } },
        properties = { x = { ["$ref"] = "#/$defs/a" } },
      }, { "$defs.a: $ref cycle without progress: $defs.a -> $defs.b -> $defs.b.anyOf[0] -> $defs.a" })
      compile_fails({ ["not"] = { ["if"] = { ["$ref"] = "#" }, ["then"] = true } },
        { ": $ref cycle without progress: (root) -> not -> not.if -> (root)" })
    end)

    it("rejects chains of references too long to ever evaluate", function()
      local function chain(n, last)
        local defs = {}
        for i = 1, n do defs["d" .. i] = { ["$ref"] = "#/$defs/d" .. (i + 1) } end
        defs["d" .. (n + 1)] = last
        return { ["$defs"] = defs, ["$ref"] = "#/$defs/d1" }
      end
      compile_fails(chain(1100, { type = "integer" }), { ": chain of $ref and in-place applicators longer than 1000 levels" })
      local v, errs = schema.compile(chain(10000, { type = "integer" }))
      assert.is_nil(v)
      assert.same({ ": chain of $ref and in-place applicators longer than 1000 levels" }, lines(errs))
      assert.is_true(compile(chain(900, { type = "integer" })):validate(1))
    end)

    it("bounds evaluation that nests references at every level of the value", function()
      local defs = {}
      for i = 1, 600 do defs["d" .. i] = { ["$ref"] = "#/$defs/d" .. (i + 1) } end
      defs.d601 = { properties = { a = { ["$ref"] = "#" }, n = { default = 1 } } }
      local v = compile({ ["$defs"] = defs, ["$ref"] = "#/$defs/d1" })
      assert.is_true(v:validate({}))
      local ok, errs = v:validate({ a = { a = {} } })
      assert.is_false(ok)
      assert.same({ "inputs.a: schema evaluation nested deeper than 1000 levels" }, lines(errs))
      assert.same({ n = 1 }, v:defaults({}))
      assert.same({ nil, "inputs: schema evaluation nested deeper than 1000 levels" }, { v:defaults({ a = {} }) })
    end)

    it("stops defaults that would expand without end", function()
      local v = compile({ properties = { a = { ["$ref"] = "#", default = {} } } })
      assert.is_true(v:validate({ a = { a = {} } }))
      assert.same({ nil, "inputs: value nested deeper than 100 levels" }, { v:defaults({}) })
    end)

    describe("with opts.resolve", function()
      local components = {
        customer = { type = "object", required = A { "id" }, properties = { id = { type = "string" } } },
        money = {
          ["$defs"] = { cents = { type = "integer", minimum = 0 } },
          properties = { amount = { ["$ref"] = "#/$defs/cents" }, currency = { ["$ref"] = "#/components/inputs/currency" } },
        },
        currency = { enum = A { "usd", "eur" } },
        broken = { properties = { a = { type = "strng" } } },
        never = false,
      }
      local calls
      local function resolve(ref)
        calls[ref] = (calls[ref] or 0) + 1
        local key = ref:match("^#/components/inputs/(.+)$")
        if key and components[key] ~= nil then return components[key] end
        return nil, "no such component"
      end
      before_each(function() calls = {} end)

      it("resolves references into components", function()
        local s = {
          type = "object",
          properties = {
            customer = { ["$ref"] = "#/components/inputs/customer" },
            payer = { ["$ref"] = "#/components/inputs/customer" },
          },
        }
        local v = compile(s, { resolve = resolve })
        assert.same({ ["#/components/inputs/customer"] = 1 }, calls)
        assert.is_true(v:validate({ customer = { id = "c1" }, payer = { id = "c2" } }))
        local ok, errs = v:validate({ customer = {}, payer = { id = 5 } })
        assert.is_false(ok)
        assert.same({ "inputs.customer.id: required property is missing", "inputs.payer.id: expected string, got integer 5" },
          lines(errs))
      end)

      it("tries local pointers first, then the resolver, from inside resolved schemas too", function()
        local v = compile({ ["$ref"] = "#/components/inputs/money" }, { resolve = resolve })
        assert.is_true(v:validate({ amount = 5, currency = "usd" }))
        local ok, errs = v:validate({ amount = -5, currency = "gbp" })
        assert.is_false(ok)
        assert.same({ "inputs.amount: expected >= 0, got -5", 'inputs.currency: expected one of "usd", "eur", got string' },
          lines(errs))
        assert.is_nil(calls["#/$defs/cents"])
      end)

      it("accepts a boolean schema from the resolver", function()
        local v = compile({ properties = { x = { ["$ref"] = "#/components/inputs/never" } } }, { resolve = resolve })
        assert.is_true(v:validate({}))
        local ok, errs = v:validate({ x = 1 })
        assert.is_false(ok)
        assert.same({ "inputs.x: no value is allowed here (false schema)" }, lines(errs))
      end)

      it("reports the resolver's message and errors inside resolved schemas", function()
        compile_fails({ ["$ref"] = "#/components/inputs/nope" },
          { '$ref: unresolved $ref "#/components/inputs/nope": no such component' }, { resolve = resolve })
        local errs = compile_fails({ properties = { b = { ["$ref"] = "#/components/inputs/broken" } } },
          { 'properties.a.type: unknown type "strng" (did you mean "string"?)' }, { resolve = resolve })
        assert.equal("#/components/inputs/broken", errs[1].ref)
      end)

      it("passes other references to the resolver unchanged", function()
        local seen
        local v = compile({ ["$ref"] = "https://example.com/s.json#/x" }, {
          resolve = function(ref) seen = ref return { type = "integer" } end,
        })
        assert.equal("https://example.com/s.json#/x", seen)
        assert.is_true(v:validate(3))
      end)
    end)
  end)

  describe("type", function()
    it("tells the seven JSON types apart", function()
      local values = {
        null = null, boolean = false, object = {}, array = A(), number = 1.5, integer = 7, string = "s",
      }
      local kinds = { "null", "boolean", "object", "array", "number", "integer", "string" }
      for _, t in ipairs(kinds) do
        local v = compile({ type = t })
        for _, k in ipairs(kinds) do
          local ok = v:validate(values[k])
          local want = k == t or (t == "number" and k == "integer")
          assert.equal(want, ok, t .. " vs " .. k)
        end
      end
    end)

    it("describes the value it got", function()
      fails({ type = "object" }, A(), { "inputs: expected object, got array" })
      fails({ type = "array" }, {}, { "inputs: expected array, got object" })
      fails({ type = "string" }, true, { "inputs: expected string, got boolean true" })
      fails({ type = "string" }, null, { "inputs: expected string, got null" })
      fails({ type = "boolean" }, 0, { "inputs: expected boolean, got integer 0" })
      fails({ type = "null" }, A { 1 }, { "inputs: expected null, got array" })
    end)

    it("accepts a list of types", function()
      local s = { type = A { "string", "null" } }
      passes(s, "a")
      passes(s, null)
      fails(s, 5, { "inputs: expected string or null, got integer 5" })
      fails({ type = A { "string", "integer", "null" } }, 1.5, { "inputs: expected string, integer or null, got float 1.5" })
    end)

    it("takes integer as a Lua integer or an integral float", function()
      passes({ type = "integer" }, 3)
      passes({ type = "integer" }, 3.0)
      passes({ type = "integer" }, -0.0)
      passes({ type = "integer" }, 1e20)
      fails({ type = "integer" }, 12.5, { "inputs: expected integer, got float 12.5" })
      if is54 then
        assert.equal("integer", math.type(3))
        fails({ type = "string" }, 3.0, { "inputs: expected string, got float 3.0" })
        passes({ type = "integer" }, math.maxinteger)
      else
        fails({ type = "string" }, 3.0, { "inputs: expected string, got integer 3" })
      end
    end)

    it("never takes a string as a number", function()
      fails({ type = "number" }, "12", { "inputs: expected number, got string" })
      fails({ type = "integer" }, "12", { "inputs: expected integer, got string" })
    end)
  end)

  describe("values that are not JSON", function()
    it("fail wherever a schema reaches them", function()
      fails({ type = "number" }, 0 / 0, { "inputs: not a JSON value (float nan)" })
      fails({}, math.huge, { "inputs: not a JSON value (float inf)" })
      fails(true, -math.huge, { "inputs: not a JSON value (float -inf)" })
      fails({ properties = { f = {} } }, { f = print }, { "inputs.f: not a JSON value (function)" })
      fails({}, io.stdout, { "inputs: not a JSON value (userdata)" })
      fails({}, { 1, x = 2 }, { "inputs: not a JSON value (table with non-string key 1)" })
      fails({}, { [true] = 1 }, { "inputs: not a JSON value (table with non-string key boolean true)" })
      fails({ type = "object" }, nil, { "inputs: value is missing (nil)" })
    end)

    it("are not looked for where no schema goes", function()
      passes({ properties = { a = { type = "string" } } }, { a = "x", b = print })
    end)
  end)

  describe("enum and const", function()
    it("enum compares deeply, with 1 equal to 1.0", function()
      local s = { enum = A { "usd", 1, null, A { 1, 2 }, { a = A { true } } } }
      passes(s, "usd")
      passes(s, 1.0)
      passes(s, null)
      passes(s, A { 1.0, 2 })
      passes(s, { a = A { true } })
      fails(s, "USD", { 'inputs: expected one of "usd", 1, null, [1, 2], {"a": [true]}, got string' })
      fails(s, A { 2, 1 }, { 'inputs: expected one of "usd", 1, null, [1, 2], {"a": [true]}, got array' })
      fails(s, { a = A { true }, b = 1 }, { 'inputs: expected one of "usd", 1, null, [1, 2], {"a": [true]}, got object' })
      fails({ enum = A { 1 } }, true, { "inputs: expected one of 1, got boolean true" })
    end)

    it("tells an empty array from an empty object", function()
      passes({ const = A() }, A())
      fails({ const = A() }, {}, { "inputs: expected [], got object" })
      fails({ const = {} }, A(), { "inputs: expected {}, got array" })
    end)

    it("lists at most ten enum values", function()
      local vals = {}
      for i = 1, 12 do vals[i] = i end
      fails({ enum = A(vals) }, 0, { "inputs: expected one of 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ..., got integer 0" })
    end)

    it("an empty enum accepts nothing", function()
      fails({ enum = A() }, 1, { "inputs: expected no value at all (empty enum), got integer 1" })
    end)

    it("const compares deeply, ignoring key order", function()
      local c = { b = 1, a = A { "x", null } }
      core.setorder(c, { "b", "a" })
      local s = { const = c }
      local v = { a = A { "x", null }, b = 1.0 }
      core.setorder(v, { "a", "b" })
      passes(s, v)
      fails(s, { a = A { "x" }, b = 1 }, { 'inputs: expected {"b": 1, "a": ["x", null]}, got object' })
      fails({ const = 5 }, 6, { "inputs: expected 5, got integer 6" })
      fails({ const = "live" }, "test", { 'inputs: expected "live", got string' })
      passes({ const = false }, false)
      fails({ const = false }, null, { "inputs: expected false, got null" })
    end)

    it("keeps large integers exact", function()
      if is54 then
        passes({ const = 9007199254740993 }, 9007199254740993)
        fails({ const = 9007199254740993 }, 9007199254740992, { "inputs: expected 9007199254740993, got integer 9007199254740992" })
        fails({ const = 9007199254740993 }, 2.0 ^ 53, { "inputs: expected 9007199254740993, got float 9007199254740992.0" })
      else
        passes({ const = 2 ^ 53 }, 2 ^ 53)
      end
    end)

    it("rejects enum and const values that are not JSON", function()
      compile_fails({ enum = A { 1, print }, const = print }, {
        "const: not a JSON value (function)",
        "enum[1]: not a JSON value (function)",
      })
    end)

    it("never echoes input strings", function()
      local ok, errs = compile({ properties = { key = { enum = A { "test" } }, n = { type = "integer" } } })
        :validate({ key = "sk_live_SECRET", n = "SECRET2" })
      assert.is_false(ok)
      for _, e in ipairs(errs) do assert.is_nil(e.message:find("SECRET")) end
    end)
  end)

  describe("numbers", function()
    it("minimum and maximum are inclusive", function()
      local s = { minimum = 1, maximum = 10 }
      passes(s, 1)
      passes(s, 10)
      passes(s, 5.5)
      fails(s, 0, { "inputs: expected >= 1, got 0" })
      fails(s, 10.5, { "inputs: expected <= 10, got 10.5" })
      passes(s, "not a number")
    end)

    it("exclusiveMinimum and exclusiveMaximum are exclusive numbers", function()
      local s = { exclusiveMinimum = 0, exclusiveMaximum = 1.5 }
      passes(s, 1)
      fails(s, 0, { "inputs: expected > 0, got 0" })
      fails(s, 1.5, { "inputs: expected < 1.5, got 1.5" })
    end)

    it("reports every bound that fails", function()
      fails({ minimum = 5, exclusiveMinimum = 5 }, 4, { "inputs: expected >= 5, got 4", "inputs: expected > 5, got 4" })
    end)

    it("compares large integers exactly", function()
      if is54 then
        fails({ maximum = math.maxinteger - 1 }, math.maxinteger,
          { "inputs: expected <= 9223372036854775806, got 9223372036854775807" })
        passes({ minimum = 2 ^ 53 }, 9007199254740993)
      end
    end)

    it("multipleOf is exact for integers", function()
      passes({ multipleOf = 3 }, 9)
      passes({ multipleOf = 3 }, -9)
      passes({ multipleOf = 3 }, 0)
      fails({ multipleOf = 3 }, 10, { "inputs: expected a multiple of 3, got 10" })
      if is54 then
        passes({ multipleOf = 7 }, 9223372036854775800)
        fails({ multipleOf = 7 }, 9223372036854775801,
          { "inputs: expected a multiple of 7, got 9223372036854775801" })
        passes({ multipleOf = 2 }, math.mininteger)
      end
      passes({ multipleOf = 2 }, 4.0)
      fails({ multipleOf = 2.0 }, 3, { "inputs: expected a multiple of " .. (is54 and "2.0" or "2") .. ", got 3" })
    end)

    it("multipleOf uses the decimal values as written", function()
      passes({ multipleOf = 0.01 }, 19.99)
      passes({ multipleOf = 0.01 }, 0.07)
      passes({ multipleOf = 0.0001 }, 0.0075)
      passes({ multipleOf = 1.5 }, 4.5)
      passes({ multipleOf = 0.5 }, 3)
      passes({ multipleOf = 0.7 }, 7e300)
      passes({ multipleOf = 1e-300 }, 3e-300)
      fails({ multipleOf = 0.01 }, 1.005, { "inputs: expected a multiple of 0.01, got 1.005" })
      fails({ multipleOf = 0.1 }, 0.1 + 0.2, { "inputs: expected a multiple of 0.1, got 0.30000000000000004" })
      fails({ multipleOf = 1.5 }, 4, { "inputs: expected a multiple of 1.5, got 4" })
      fails({ multipleOf = 0.5 }, 1e-300, { "inputs: expected a multiple of 0.5, got 1e-300" })
    end)

    it("multipleOf handles divisors with 15 to 17 significant digits", function()
      passes({ multipleOf = 0.123456789012345 }, 0.24691357802469)
      fails({ multipleOf = 0.123456789012345 }, 0.24691357802468,
        { "inputs: expected a multiple of 0.123456789012345, got 0.24691357802468" })
      passes({ multipleOf = 0.5 }, 1234567890123.5)
      if is54 then -- exact integers beyond 2^53 exist only on 5.4
        passes({ multipleOf = 12345678901234567 }, 24691357802469134)
        fails({ multipleOf = 12345678901234567 }, 24691357802469136,
          { "inputs: expected a multiple of 12345678901234567, got 24691357802469136" })
        assert.is_false(schema._multiple_of(1.5, 1234567890123456789))
      end
    end)
  end)

  describe("strings", function()
    it("counts lengths in code points", function()
      local s = { minLength = 2, maxLength = 5 }
      passes(s, "héllo")
      passes(s, "日本")
      passes(s, "😀😀")
      fails(s, "é", { "inputs: expected at least 2 characters, got 1" })
      fails(s, "héllo!", { "inputs: expected at most 5 characters, got 6" })
      fails({ minLength = 1 }, "", { "inputs: expected at least 1 character, got 0" })
      passes(s, 12)
    end)

    it("rejects invalid UTF-8 where lengths are checked", function()
      local s = { maxLength = 10 }
      fails(s, "\255", { "inputs: invalid UTF-8 at byte 1" })
      fails(s, "ab\192\128", { "inputs: invalid UTF-8 at byte 3" })
      fails(s, "a\237\160\128", { "inputs: invalid UTF-8 at byte 2" })
      fails(s, "\244\144\128\128", { "inputs: invalid UTF-8 at byte 1" })
      fails(s, "\226\130", { "inputs: invalid UTF-8 at byte 1" })
      passes(s, "\244\143\191\191")
      passes(s, "a\0b")
    end)

    it("counts the same way with and without the utf8 library", function()
      local count = schema._utf8_count
      assert.equal(5, count("héllo"))
      assert.equal(1, count("\240\159\152\128"))
      assert.equal(3, count("a\0b"))
      assert.same({ nil, 3 }, { count("ab\192\128") })
      assert.same({ nil, 2 }, { count("a\237\160\128") })
      assert.same({ nil, 1 }, { count("\244\144\128\128") })
      assert.same({ nil, 1 }, { count("\226\130") })
      assert.same({ nil, 1 }, { count("\128") })
    end)

    it("pattern searches through opts.regex", function()
      local s = { pattern = "^[a-z]+$" }
      passes(s, "abc", { regex = lua_regex })
      fails(s, "aBc", { 'inputs: does not match pattern "^[a-z]+$"' }, { regex = lua_regex })
      passes({ pattern = "b" }, "abc", { regex = lua_regex })
      passes(s, 5, { regex = lua_regex })
    end)

    it("reports a regex engine failure at match time", function()
      fails({ pattern = "ERR" }, "x", { 'inputs: cannot match pattern "ERR": match limit exceeded' }, { regex = lua_regex })
    end)
  end)

  describe("arrays", function()
    it("items applies to every item", function()
      local s = { type = "array", items = { type = "integer" } }
      passes(s, A())
      passes(s, A { 1, 2 })
      passes(s, { 1, 2 })
      fails(s, A { 1, "2", 3.5 }, { "inputs[1]: expected integer, got string", "inputs[2]: expected integer, got float 3.5" })
    end)

    it("prefixItems applies by position and items to the rest", function()
      local s = { prefixItems = A { { type = "string" }, { type = "integer" } }, items = { type = "boolean" } }
      passes(s, A { "a" })
      passes(s, A { "a", 1, true, false })
      fails(s, A { 1, "a", null }, {
        "inputs[0]: expected string, got integer 1",
        "inputs[1]: expected integer, got string",
        "inputs[2]: expected boolean, got null",
      })
      fails({ prefixItems = A { true }, items = false }, A { 1, 2 }, { "inputs[1]: no items allowed beyond the 1 item of prefixItems" })
      fails({ items = false }, A { 1 }, { "inputs[0]: no items allowed (items is false)" })
      passes({ prefixItems = A { { type = "string" } } }, A { "a", 2 })
    end)

    it("minItems and maxItems count items", function()
      local s = { minItems = 1, maxItems = 2 }
      passes(s, A { 1 })
      fails(s, A(), { "inputs: expected at least 1 item, got 0" })
      fails(s, A { 1, 2, 3 }, { "inputs: expected at most 2 items, got 3" })
      passes(s, {})
    end)

    it("uniqueItems compares deeply", function()
      local s = { uniqueItems = true }
      passes(s, A { 1, "1", A { 1 }, { a = 1 }, A(), {} })
      fails(s, A { 1, 2, 1.0, 2 }, { "inputs: items [0] and [2] are equal", "inputs: items [1] and [3] are equal" })
      fails(s, A { { a = 1, b = A { 2 } }, { b = A { 2.0 }, a = 1 } }, { "inputs: items [0] and [1] are equal" })
      passes({ uniqueItems = false }, A { 1, 1 })
    end)

    it("contains counts matching items", function()
      local s = { contains = { type = "integer" } }
      passes(s, A { "a", 1 })
      fails(s, A { "a", "b" }, { "inputs: expected at least 1 item matching contains, got 0" })
      fails(s, A(), { "inputs: expected at least 1 item matching contains, got 0" })
      local m = { contains = { type = "integer" }, minContains = 2, maxContains = 3 }
      passes(m, A { 1, 2, "x" })
      fails(m, A { 1, "x" }, { "inputs: expected at least 2 items matching contains, got 1" })
      fails(m, A { 1, 2, 3, 4 }, { "inputs: expected at most 3 items matching contains, got 4" })
      passes({ contains = { type = "integer" }, minContains = 0 }, A { "x" })
      passes({ minContains = 5 }, A())
    end)
  end)

  describe("objects", function()
    it("names a missing required property by its path", function()
      local errs = fails({ type = "object", required = A { "customer", "amount" } }, { amount = 5 },
        { "inputs.customer: required property is missing" })
      assert.same({ path = "inputs.customer", message = "required property is missing" }, errs[1])
      passes({ required = A { "a" } }, { a = null })
      passes({ required = A { "a" } }, "not an object")
    end)

    it("properties apply to present properties", function()
      local s = { properties = { a = { type = "string" }, b = { type = "integer" } } }
      passes(s, {})
      passes(s, { a = "x", c = true })
      fails(s, { a = 1, b = "x" }, { "inputs.a: expected string, got integer 1", "inputs.b: expected integer, got string" })
      fails({ properties = { x = false } }, { x = 1 }, { "inputs.x: no value is allowed here (false schema)" })
    end)

    it("additionalProperties applies to properties not otherwise named", function()
      local s = { properties = { a = true }, patternProperties = { ["^x_"] = { type = "string" } }, additionalProperties = false }
      local o = { regex = lua_regex }
      passes(s, { a = 1, x_b = "s" }, o)
      fails(s, { a = 1, x_b = 2, c = 3, d = 4 }, {
        "inputs.c: additional property is not allowed",
        "inputs.d: additional property is not allowed",
        "inputs.x_b: expected string, got integer 2",
      }, o)
      fails({ additionalProperties = { type = "integer" } }, { n = 1, s = "x" }, { "inputs.s: expected integer, got string" })
    end)

    it("patternProperties applies every matching pattern", function()
      local s = { patternProperties = { ["^s"] = { type = "string" }, ["x$"] = { minLength = 2 } } }
      local o = { regex = lua_regex }
      passes(s, { sx = "ab", other = 1 }, o)
      fails(s, { sx = "a", s = 1 }, { "inputs.s: expected string, got integer 1", "inputs.sx: expected at least 2 characters, got 1" }, o)
      fails({ patternProperties = { ERR = true } }, { k = 1 }, { 'inputs.k: cannot match pattern "ERR": match limit exceeded' }, o)
    end)

    it("propertyNames validates each key", function()
      local s = { propertyNames = { maxLength = 3 } }
      passes(s, { abc = 1 })
      fails(s, { abcd = 1, ok = 2 }, { "inputs.abcd: invalid property name: expected at most 3 characters, got 4" })
      fails({ propertyNames = { pattern = "^[a-z]+$" } }, { ["Bad Key"] = 1 },
        { 'inputs["Bad Key"]: invalid property name: does not match pattern "^[a-z]+$"' }, { regex = lua_regex })
    end)

    it("minProperties and maxProperties count properties", function()
      local s = { minProperties = 1, maxProperties = 2 }
      passes(s, { a = 1 })
      fails(s, {}, { "inputs: expected at least 1 property, got 0" })
      fails(s, { a = 1, b = 2, c = 3 }, { "inputs: expected at most 2 properties, got 3" })
      fails({ minProperties = 2 }, { a = 1 }, { "inputs: expected at least 2 properties, got 1" })
    end)

    it("dependentRequired requires properties when another is present", function()
      local s = { dependentRequired = { card = A { "cvc", "expiry" } } }
      passes(s, {})
      passes(s, { card = "x", cvc = 1, expiry = 2 })
      fails(s, { card = "x" }, {
        'inputs.cvc: required property is missing (required when "card" is present)',
        'inputs.expiry: required property is missing (required when "card" is present)',
      })
    end)

    it("dependentSchemas applies a schema when a property is present", function()
      local s = { dependentSchemas = { card = { required = A { "cvc" } } } }
      passes(s, { other = 1 })
      fails(s, { card = 1 }, { "inputs.cvc: required property is missing" })
    end)

    it("quotes keys that are not plain names in paths", function()
      fails({ properties = { ["first name"] = { type = "string" }, ['q"k'] = { type = "string" }, ["a.b"] = { type = "string" } } },
        { ["first name"] = 1, ['q"k'] = 2, ["a.b"] = 3 }, {
          'inputs["a.b"]: expected string, got integer 3',
          'inputs["first name"]: expected string, got integer 1',
          'inputs["q\\"k"]: expected string, got integer 2',
        })
    end)
  end)

  describe("applicators", function()
    it("allOf reports the errors of every branch", function()
      local s = { allOf = A { { type = "integer" }, { minimum = 10 } } }
      passes(s, 10)
      fails(s, 5.5, { "inputs: expected integer, got float 5.5", "inputs: expected >= 10, got 5.5" })
    end)

    it("anyOf needs one branch and says why each failed", function()
      local s = { anyOf = A { { type = "string" }, { type = "object", required = A { "id" } } } }
      passes(s, "x")
      passes(s, { id = 1 })
      fails(s, 5, { "inputs: matches none of the anyOf schemas (anyOf[0]: expected string, got integer 5; anyOf[1]: expected object, got integer 5)" })
      fails(s, {}, { "inputs: matches none of the anyOf schemas (anyOf[0]: expected string, got object; anyOf[1]: inputs.id: required property is missing)" })
    end)

    it("oneOf needs exactly one branch", function()
      local s = { oneOf = A { { type = "integer" }, { minimum = 2 } } }
      passes(s, 1)
      passes(s, 2.5)
      fails(s, 3, { "inputs: matches more than one of the oneOf schemas (oneOf[0], oneOf[1])" })
      fails(s, 1.5, { "inputs: matches none of the oneOf schemas (oneOf[0]: expected integer, got float 1.5; oneOf[1]: expected >= 2, got 1.5)" })
    end)

    it("not inverts", function()
      passes({ ["not"] = { type = "null" } }, 1)
      fails({ ["not"] = { type = "null" } }, null, { "inputs: must not match the schema in not" })
      fails({ ["not"] = true }, 1, { "inputs: must not match the schema in not" })
    end)

    it("if/then/else picks a branch", function()
      local s = {
        ["if"] = { properties = { country = { const = "US" } }, required = A { "country" } },
        ["then"] = { required = A { "zip" } },
        ["else"] = { required = A { "postcode" } },
      }
      passes(s, { country = "US", zip = "1" })
      passes(s, { country = "FR", postcode = "1" })
      fails(s, { country = "US" }, { "inputs.zip: required property is missing" })
      fails(s, {}, { "inputs.postcode: required property is missing" })
      passes({ ["if"] = false }, 1)
      passes({ ["then"] = false }, 1)
      fails({ ["if"] = true, ["then"] = false }, 1, { "inputs: no value is allowed here (false schema)" })
    end)
  end)

  describe("error lists", function()
    it("collects all errors sorted by path, indexes numerically", function()
      local items = {}
      for i = 1, 12 do items[i] = { price = (i == 3 or i == 11) and 1.5 or i } end
      local s = {
        type = "object", required = A { "customer" },
        properties = { items = { items = { properties = { price = { type = "integer" } } } }, amount = { type = "integer" } },
      }
      fails(s, { items = A(items), amount = "1" }, {
        "inputs.amount: expected integer, got string",
        "inputs.customer: required property is missing",
        "inputs.items[2].price: expected integer, got float 1.5",
        "inputs.items[10].price: expected integer, got float 1.5",
      })
    end)

    it("puts errors on a value before errors inside it", function()
      fails({ minProperties = 3, properties = { a = { type = "string" } } }, { a = 1 },
        { "inputs: expected at least 3 properties, got 1", "inputs.a: expected string, got integer 1" })
    end)

    it("stops at max_errors and says so", function()
      local vals = {}
      for i = 1, 150 do vals[i] = "x" end
      local v = compile({ items = { type = "integer" } })
      local ok, errs = v:validate(A(vals))
      assert.is_false(ok)
      assert.equal(100, #errs)
      assert.is_true(errs.truncated)
      local v3 = compile({ items = { type = "integer" } }, { max_errors = 3 })
      ok, errs = v3:validate(A(vals))
      assert.is_false(ok)
      assert.same({ "inputs[0]: expected integer, got string", "inputs[1]: expected integer, got string",
        "inputs[2]: expected integer, got string" }, lines(errs))
      ok, errs = v3:validate(A { "a" })
      assert.is_false(ok)
      assert.is_nil(errs.truncated)
    end)

    it("uses opts.path as the prefix", function()
      fails({ properties = { a = { type = "string" } } }, { a = 1 }, { "workflows[0].inputs.a: expected string, got integer 1" },
        { path = "workflows[0].inputs" })
      fails({ properties = { a = { type = "string" } }, items = true }, { a = 1 }, { "a: expected string, got integer 1" }, { path = "" })
      fails({ type = "string" }, 1, { ": expected string, got integer 1" }, { path = "" })
    end)

    it("gives the same answer on every call", function()
      local v = compile({ properties = { a = { anyOf = A { { type = "string" }, { type = "null" } } } } })
      local _, e1 = v:validate({ a = 1 })
      local _, e2 = v:validate({ a = 1 })
      assert.same(e1, e2)
      assert.is_true(v:validate({ a = "x" }))
    end)
  end)

  describe("depth", function()
    it("bounds value nesting", function()
      local s = { properties = { a = { ["$ref"] = "#" } } }
      local x = {}
      local cur = x
      for _ = 1, 5 do cur.a = {}; cur = cur.a end
      fails(s, x, { "inputs.a.a.a.a: value nested deeper than 3 levels" }, { max_depth = 3 })
      passes(s, x)
    end)

    it("stops on cyclic values", function()
      local x = {}
      x.a = x
      local ok, errs = compile({ properties = { a = { ["$ref"] = "#" } } }):validate(x)
      assert.is_false(ok)
      assert.equal(1, #errs)
      assert.equal("value nested deeper than 100 levels", errs[1].message)
      ok, errs = compile({ const = {} }):validate(x)
      assert.is_false(ok)
      assert.same({ "inputs: value nested deeper than 100 levels" }, lines(errs))
      ok, errs = compile({ enum = A { 1 } }):validate(x)
      assert.is_false(ok)
      assert.same({ "inputs: value nested deeper than 100 levels" }, lines(errs))
      ok, errs = compile({ uniqueItems = true }):validate(A { x, 1, x })
      assert.is_false(ok)
      assert.same({ "inputs[0]: value nested deeper than 100 levels", "inputs[2]: value nested deeper than 100 levels" },
        lines(errs))
    end)

    it("compares values up to the nesting bound and no further", function()
      local s = { properties = { a = { uniqueItems = true, const = A { A { 1 } } } } }
      passes(s, { a = A { A { 1 } } }, { max_depth = 3 })
      fails(s, { a = A { A { A { 1 } } } }, {
        "inputs.a: value nested deeper than 3 levels",
        "inputs.a[0]: value nested deeper than 3 levels",
      }, { max_depth = 3 })
    end)

    it("reports values that are not JSON inside compared values", function()
      fails({ const = A { 1 } }, A { print }, { "inputs: not a JSON value (function)" })
      fails({ uniqueItems = true }, A { A { print } }, { "inputs[0]: not a JSON value (function)" })
    end)
  end)

  describe("defaults", function()
    local s = {
      type = "object",
      ["$defs"] = { currency = { type = "string", default = "usd" } },
      properties = {
        amount = { type = "integer" },
        currency = { ["$ref"] = "#/$defs/currency" },
        retries = { allOf = A { { default = 3 } } },
        options = { type = "object", default = {}, properties = { live = { default = false } } },
        lines = { type = "array", items = { properties = { qty = { default = 1 } } } },
        note = { anyOf = A { { default = "x" } } },
        tags = { default = A() },
      },
    }

    it("fills absent properties with copies of their defaults", function()
      local v = compile(s)
      local input = { amount = 5, lines = A { { qty = 2 }, {} } }
      local out = v:defaults(input)
      assert.same({
        amount = 5, currency = "usd", retries = 3, options = { live = false },
        lines = A { { qty = 2 }, { qty = 1 } }, tags = A(),
      }, out)
      assert.is_nil(input.currency)
      assert.is_nil(input.lines[2].qty)
      assert.equal(core.array_mt, getmetatable(out.tags))
      assert.equal(core.array_mt, getmetatable(out.lines))
      out.options.live = true
      assert.is_nil(s.properties.options.default.live)
      assert.is_true(v:validate(out))
    end)

    it("keeps present values, null included", function()
      local out = compile(s):defaults({ currency = "eur", retries = null })
      assert.equal("eur", out.currency)
      assert.equal(null, out.retries)
    end)

    it("appends defaulted keys to the recorded key order", function()
      local input = { amount = 5 }
      core.setorder(input, { "amount" })
      local out = compile({ properties = { amount = {}, b = { default = 1 }, a = { default = 2 } } }):defaults(input)
      assert.same({ "amount", "a", "b" }, core.getorder(out))
      assert.same({ "amount" }, core.getorder(input))
    end)

    it("uses the root default for a missing value", function()
      assert.same({ x = 1 }, compile({ default = { x = 1 } }):defaults(nil))
      assert.is_nil(compile({}):defaults(nil))
      assert.equal(5, compile({}):defaults(5))
    end)

    it("refuses values nested too deep", function()
      local x = {}
      x.a = x
      assert.same({ nil, "inputs: value nested deeper than 100 levels" }, { compile({}):defaults(x) })
    end)
  end)

  describe("a billing workflow's inputs", function()
    local inputs = {
      type = "object",
      required = A { "meterApiName", "customerId", "usageValue", "stripeCustomer", "amount", "currency" },
      properties = {
        meterApiName = { type = "string" }, customerId = { type = "string" }, usageValue = { type = "number" },
        stripeCustomer = { type = "string" }, invoiceId = { type = "string" }, amount = { type = "integer" },
        currency = { type = "string" },
      },
    }

    it("accepts good inputs and names every bad one", function()
      local v = compile(inputs)
      assert.is_true(v:validate({
        meterApiName = "api-calls", customerId = "c-1", usageValue = 12.5, stripeCustomer = "cus_1",
        amount = 1234, currency = "usd",
      }))
      local ok, errs = v:validate({ meterApiName = "api-calls", usageValue = "12", amount = 12.34, currency = "usd" })
      assert.is_false(ok)
      assert.same({
        "inputs.amount: expected integer, got float 12.34",
        "inputs.customerId: required property is missing",
        "inputs.stripeCustomer: required property is missing",
        "inputs.usageValue: expected number, got string",
      }, lines(errs))
    end)
  end)

  describe("the fast path for flat object schemas", function()
    -- The fast path only accepts; whatever it does not accept goes through
    -- the full validation. `minProperties: 0` changes nothing but turns the
    -- fast path off, so each pair must agree on every value.
    local function pair(s)
      local slow = {}
      for k, v in pairs(s) do slow[k] = v end
      slow.minProperties = 0
      return compile(s), compile(slow)
    end
    local SCHEMAS = {
      { type = "object", properties = { s = { type = "string" }, n = { type = "number" }, i = { type = "integer" },
        b = { type = "boolean", description = "d" } }, required = A { "s" }, title = "t" },
      { type = "object", properties = { i = { type = "integer", format = "int64" } } },
      { type = "object" },
    }
    local VALUES = {
      { s = "x" }, { s = "x", n = 1.5, i = 3, b = true }, { s = "x", i = 3.0 }, { s = "x", i = 3.5 },
      { s = "x", n = 0 / 0 }, { s = "x", n = math.huge }, { s = "x", n = -math.huge }, { s = "x", i = 2 ^ 63 },
      { s = 1 }, { s = null }, { s = "x", b = "true" }, { s = "x", b = null }, { n = 1 }, {}, { s = "x", extra = {} },
      { s = "x", extra = print }, { s = "x", [1] = "y" }, { "x" }, A {}, A { 1 }, "text", 5, null, true,
      { s = "x", i = "1" }, { s = "x", n = "1" }, { s = "x", i = 9007199254740993 }, { i = 1 }, { i = 0.5 },
    }
    it("agrees with the full validation on every value", function()
      for si, s in ipairs(SCHEMAS) do
        local fast, slow = pair(s)
        for vi, v in ipairs(VALUES) do
          local ok1, e1 = fast:validate(v)
          local ok2, e2 = slow:validate(v)
          assert.are.equal(ok2, ok1, string.format("schema %d, value %d", si, vi))
          if not ok1 then assert.same(lines(e2), lines(e1)) end
        end
      end
    end)

    it("rejects what the full validation rejects, with its messages", function()
      fails({ type = "object", properties = { usageValue = { type = "number" } }, required = A { "usageValue" } },
        { usageValue = "12" }, { "inputs.usageValue: expected number, got string" })
      fails({ type = "object", properties = { amount = { type = "integer" } } }, { amount = 12.5 },
        { "inputs.amount: expected integer, got float 12.5" })
      fails({ type = "object", required = A { "a" } }, A {}, { "inputs: expected object, got array" })
    end)
  end)
end)
