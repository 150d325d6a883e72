-- expr_spec.lua: runtime expressions, templates and conditions
-- (core.expr_compile and the arazzo.expr.Expr methods).
local core = require "arazzo.core"
local helpers = require "helpers"

local null = core.null

-- A hand-built evaluation context with the layout of doc/INTERNALS.md.
local function context()
  return {
    url = "https://api.stripe.test/v1/invoices/in_1/finalize",
    method = "POST",
    statusCode = 200,
    request = {
      header = { ["content-type"] = "application/x-www-form-urlencoded", ["x-request-id"] = "r-1" },
      query = { limit = "10", expand = core.array({ "lines", "customer" }), ["expand[]"] = "lines" },
      path = { invoice = "in_1" },
      body = { customer = "cus_1", amount = 1234 },
    },
    response = {
      header = { ["content-type"] = "application/json", location = "/v1/invoices/in_1" },
      body = {
        id = "in_1", status = "open", amount_due = 1234, paid = false, total = 12.5,
        lines = { data = core.array({ { id = "il_1", amount = 1000 }, { id = "il_2", amount = 234 } }) },
        ["a/b"] = "slash", ["m~n"] = "tilde", [""] = "empty", ["01"] = "zero-one", ["0"] = "zero",
        tags = core.array({}), meta = {}, note = null, length = "member",
      },
    },
    inputs = {
      amount = 1234, currency = "usd", token = "tok_123", ["dotted.key"] = "whole",
      nested = { deep = { x = 1 } }, zero = 0, nothing = null, flag = true, ratio = 0.25,
      ["page[size]"] = 50, filter = { status = "open" }, ["$top"] = 3,
    },
    outputs = { ingestStatus = 200 },
    steps = {
      ["add-invoice-item"] = { outputs = { draftInvoiceId = "in_1", invoiceStatus = "draft",
                                           items = core.array({ { id = "ii_1" } }) } },
      ["no-outputs"] = {},
    },
    workflows = { ["meter-usage"] = { inputs = { customerId = "c1" }, outputs = { total = 5 } } },
    sourceDescriptions = {
      stripeInvoiceApi = { name = "stripeInvoiceApi", url = "https://x.test/openapi.yml", type = "openapi" },
    },
    components = { parameters = { page = { name = "page", ["in"] = "query", value = 1 } } },
  }
end

local function compile(text, mode, opts)
  local e, msg = core.expr_compile(text, mode or "expression", opts)
  assert(e, msg)
  return e
end

-- Evaluate text compiled in mode against ctx (default: a fresh context()).
local function ev(text, mode, ctx, value, opts)
  return compile(text, mode, opts):eval(ctx or context(), value)
end

local function cond(text, ctx, value)
  return ev(text, "condition", ctx, value)
end

-- Compile text that must fail; returns message and column after checking
-- the fixed shape nil, message, "expr", column.
local function bad(text, mode, opts)
  local e, msg, code, col = core.expr_compile(text, mode or "expression", opts)
  assert.is_nil(e)
  assert.equal("expr", code)
  assert.equal("number", type(col))
  assert.truthy(msg:find(" at column " .. col .. "$"), msg)
  return msg, col
end

describe("arazzo.expr", function()
  describe("expr_compile arguments", function()
    it("raises on a non-string text, an unknown mode or option", function()
      assert.has_error(function() core.expr_compile(nil, "expression") end)
      assert.has_error(function() core.expr_compile({}, "expression") end)
      assert.has_error(function() core.expr_compile("$url", "sql") end)
      assert.has_error(function() core.expr_compile("$url") end)
      assert.has_error(function() core.expr_compile("$url", "value", 5) end)
      assert.has_error(function() core.expr_compile("$url", "value", { strict = true }) end,
        "bad argument #3 to 'expr_compile' (unknown option 'strict')")
      assert.has_error(function() core.expr_compile("$url", "value", { lenient = "yes" }) end,
        "bad argument #3 to 'expr_compile' (option 'lenient' must be a boolean)")
    end)

    it("returns a userdata that reports its kind and source", function()
      local e = compile("$inputs.amount")
      assert.equal("userdata", type(e))
      assert.equal("expression", e:kind())
      assert.equal("$inputs.amount", e:source())
      assert.equal("$inputs.amount", tostring(e))
      assert.is_false(e:lenient())
      assert.equal("template", compile("a {$url}", "template"):kind())
      assert.equal("condition", compile("$statusCode == 200", "condition"):kind())
      assert.equal("jscondition", compile("$.a == 1", "jscondition"):kind())
    end)

    it("raises when a method gets something else than an Expr", function()
      local e = compile("$url")
      assert.has_error(function() e.eval({}, {}) end)
      assert.has_error(function() e.kind(io.stdout) end)
      assert.has_error(function() e.eval(io.stdout, {}) end)
      assert.has_error(function() e.eval(null, {}) end)
      assert.has_error(function() e.eval(compile, {}) end)
      assert.has_error(function() e.refs(nil) end)
    end)

    it("raises when eval gets a non-table context", function()
      local e = compile("$url")
      assert.has_error(function() e:eval() end)
      assert.has_error(function() e:eval("ctx") end)
      assert.has_error(function() compile("$statusCode == 200", "condition"):eval(200) end)
    end)

    it("rejects programs of more than 65536 parts", function()
      assert.same({ "expression has more than 65536 parts at column 524281", 524281 },
        { bad("true" .. string.rep(" && true", 70000), "condition") })
      assert.same({ "expression has more than 65536 parts at column 16", 16 },
        { bad("$response.body#" .. string.rep("/a", 70000)) })
      assert.is_true(cond("true" .. string.rep(" && true", 60000)))
    end)

    it("rejects texts longer than 1 MiB", function()
      local msg, col = bad("$inputs." .. string.rep("a", 1048577))
      assert.equal("text longer than 1048576 bytes at column 1", msg)
      assert.equal(1, col)
    end)
  end)

  describe("sources", function()
    it("evaluates $url, $method and $statusCode", function()
      assert.equal("https://api.stripe.test/v1/invoices/in_1/finalize", ev("$url"))
      assert.equal("POST", ev("$method"))
      assert.equal(200, ev("$statusCode"))
      if math.type then assert.equal("integer", math.type(ev("$statusCode"))) end
    end)

    it("looks headers up lower-cased, whatever the case written", function()
      assert.equal("application/json", ev("$response.header.Content-Type"))
      assert.equal("application/json", ev("$response.header.content-type"))
      assert.equal("/v1/invoices/in_1", ev("$response.header.LOCATION"))
      assert.equal("r-1", ev("$request.header.X-Request-ID"))
    end)

    it("evaluates request query, path and body", function()
      assert.equal("10", ev("$request.query.limit"))
      assert.equal("lines", ev("$request.query.expand[]"))
      assert.equal("customer", ev("$request.query.expand#/1"))
      assert.equal("in_1", ev("$request.path.invoice"))
      assert.equal(1234, ev("$request.body#/amount"))
      local c = context()
      assert.equal(c.request.body, ev("$request.body", nil, c))
    end)

    it("keeps the type of the referenced value", function()
      local c = context()
      assert.equal(c.response.body, ev("$response.body", nil, c))
      assert.equal(1234, ev("$response.body#/amount_due"))
      if math.type then assert.equal("integer", math.type(ev("$response.body#/amount_due"))) end
      assert.equal(12.5, ev("$response.body#/total"))
      assert.equal(false, ev("$response.body#/paid"))
      assert.equal(null, ev("$response.body#/note"))
      assert.equal(null, ev("$inputs.nothing"))
    end)

    it("evaluates inputs, outputs, steps and workflows", function()
      assert.equal(1234, ev("$inputs.amount"))
      assert.equal(200, ev("$outputs.ingestStatus"))
      assert.equal("in_1", ev("$steps.add-invoice-item.outputs.draftInvoiceId"))
      assert.equal("ii_1", ev("$steps.add-invoice-item.outputs.items#/0/id"))
      assert.equal("c1", ev("$workflows.meter-usage.inputs.customerId"))
      assert.equal(5, ev("$workflows.meter-usage.outputs.total"))
      assert.equal(3, ev("$inputs.$top"))
    end)

    it("evaluates source descriptions and components", function()
      local c = context()
      assert.equal("https://x.test/openapi.yml", ev("$sourceDescriptions.stripeInvoiceApi.url"))
      assert.equal(c.sourceDescriptions.stripeInvoiceApi, ev("$sourceDescriptions.stripeInvoiceApi", nil, c))
      assert.equal(c.components.parameters.page, ev("$components.parameters.page", nil, c))
    end)

    it("names the missing piece precisely", function()
      local cases = {
        { "$inputs.amountx", "$inputs.amountx: not set" },
        { "$outputs.total", "$outputs.total: not set" },
        { "$steps.add-invoice-item.outputs.draftInvoice",
          "$steps.add-invoice-item.outputs.draftInvoice: no output 'draftInvoice'" },
        { "$steps.finalize.outputs.id", "$steps.finalize.outputs.id: step 'finalize' has not run" },
        { "$steps.no-outputs.outputs.id", "$steps.no-outputs.outputs.id: step 'no-outputs' has no outputs" },
        { "$workflows.other.outputs.x", "$workflows.other.outputs.x: workflow 'other' has not run" },
        { "$workflows.meter-usage.inputs.x", "$workflows.meter-usage.inputs.x: no input 'x'" },
        { "$workflows.meter-usage.outputs.x", "$workflows.meter-usage.outputs.x: no output 'x'" },
        { "$response.header.Retry-After", "$response.header.Retry-After: no header 'Retry-After'" },
        { "$request.query.page", "$request.query.page: no query parameter 'page'" },
        { "$request.path.id", "$request.path.id: no path parameter 'id'" },
        { "$response.body#/lines/data/2/id", "$response.body#/lines/data/2/id: no value at '/lines/data/2'" },
        { "$response.body#/id/x", "$response.body#/id/x: no value at '/id/x'" },
        { "$response.body#/status/0", "$response.body#/status/0: no value at '/status/0'" },
        { "$sourceDescriptions.petstore.url", "$sourceDescriptions.petstore.url: no source description 'petstore'" },
        { "$sourceDescriptions.stripeInvoiceApi.servers",
          "$sourceDescriptions.stripeInvoiceApi.servers: no field 'servers'" },
        { "$components.parameters.limit", "$components.parameters.limit: no component 'parameters.limit'" },
        { "$components.successActions.done", "$components.successActions.done: no component 'successActions.done'" },
      }
      for _, case in ipairs(cases) do
        local v, msg = ev(case[1])
        assert.is_nil(v)
        assert.equal(case[2], msg)
      end
    end)

    it("reports an absent part of the context", function()
      local cases = {
        { "$statusCode", "$statusCode: not set" },
        { "$url", "$url: not set" },
        { "$method", "$method: not set" },
        { "$response.body", "$response.body: no response" },
        { "$request.header.accept", "$request.header.accept: no request" },
        { "$inputs.amount", "$inputs.amount: not set" },
        { "$components.inputs.x", "$components.inputs.x: no components" },
        { "$steps.a.outputs.b", "$steps.a.outputs.b: step 'a' has not run" },
      }
      for _, case in ipairs(cases) do
        local v, msg = ev(case[1], nil, {})
        assert.is_nil(v)
        assert.equal(case[2], msg)
      end
      local v, msg = ev("$response.body", nil, { response = { header = {} } })
      assert.is_nil(v)
      assert.equal("$response.body: no body", msg)
    end)

    it("treats parts of the context with the wrong type as missing", function()
      local c = { inputs = "x", steps = { a = null }, response = { body = 5, header = true } }
      assert.same({ nil, "$inputs.a: not set" }, { ev("$inputs.a", nil, c) })
      assert.same({ nil, "$steps.a.outputs.b: step 'a' has no outputs" }, { ev("$steps.a.outputs.b", nil, c) })
      assert.same({ nil, "$response.body#/a: no value at '/a'" }, { ev("$response.body#/a", nil, c) })
      assert.same({ nil, "$response.header.x: no header 'x'" }, { ev("$response.header.x", nil, c) })
    end)

    it("never calls metamethods on the context", function()
      local trap = setmetatable({}, {
        __index = function() error("metamethod called") end,
        __len = function() error("metamethod called") end,
      })
      local c = { inputs = trap, response = { body = setmetatable({ items = trap }, getmetatable(trap)) } }
      assert.same({ nil, "$inputs.a: not set" }, { ev("$inputs.a", nil, c) })
      assert.same({ nil, "$response.body#/items/0: no value at '/items/0'" }, { ev("$response.body#/items/0", nil, c) })
      assert.same({ false, "$inputs.a: not set" }, { cond("$inputs.a == 1", c) })
      assert.same({ nil, "$inputs.a: not set" }, { ev("x {$inputs.a}", "template", c) })
    end)
  end)

  describe("JSON pointers", function()
    it("decodes ~0 and ~1 and selects array elements by index", function()
      assert.equal("slash", ev("$response.body#/a~1b"))
      assert.equal("tilde", ev("$response.body#/m~0n"))
      assert.equal("il_2", ev("$response.body#/lines/data/1/id"))
      assert.equal("empty", ev("$response.body#/"))
      local c = context()
      assert.equal(c.response.body, ev("$response.body#", nil, c))
    end)

    it("looks up object members named like indexes as strings", function()
      assert.equal("zero", ev("$response.body#/0"))
      assert.equal("zero-one", ev("$response.body#/01"))
      assert.same({ nil, "$response.body#/lines/data/01: no value at '/lines/data/01'" },
        { ev("$response.body#/lines/data/01") })
      assert.same({ nil, "$response.body#/lines/data/-: no value at '/lines/data/-'" },
        { ev("$response.body#/lines/data/-") })
    end)

    it("agrees with core.pointer_get", function()
      local c = context()
      for _, p in ipairs({ "", "/", "/id", "/a~1b", "/m~0n", "/lines/data/0/amount", "/lines/data/2",
                           "/tags", "/tags/0", "/meta", "/01", "/0", "/note", "/paid/x" }) do
        local want = core.pointer_get(c.response.body, p)
        local got = ev("$response.body#" .. p, nil, c)
        assert.equal(want, got)
      end
    end)

    it("validates pointers at compile time", function()
      assert.same({ "a JSON pointer must be empty or start with '/' at column 16", 16 },
        { bad("$response.body#id") })
      assert.same({ "'~' in a JSON pointer must be followed by '0' or '1' at column 18", 18 },
        { bad("$response.body#/a~2") })
      assert.same({ "'~' in a JSON pointer must be followed by '0' or '1' at column 19", 19 },
        { bad("$inputs.amount#/ab~") })
    end)

    it("reports the pointer of a reference", function()
      local r = compile("$steps.s.outputs.o#/a~1b/0"):refs()[1]
      assert.equal("/a~1b/0", r.pointer)
    end)
  end)

  describe("lenient names", function()
    it("reads a dotted name as one key first, then walks its parts", function()
      local e = compile("$inputs.dotted.key")
      assert.equal("whole", e:eval(context()))
      assert.is_true(e:lenient())
      assert.equal(1, ev("$inputs.nested.deep.x"))
      assert.same({ nil, "$inputs.nested.deep.y: not set" }, { ev("$inputs.nested.deep.y") })
      assert.same({ "ii_1" }, { ev("$steps.add-invoice-item.outputs.items.0.id") })
    end)

    it("walks bracketed names seen in real documents", function()
      assert.equal(50, ev("$inputs.page[size]"))
      assert.equal("open", ev("$inputs.filter[status]"))
      assert.equal("ii_1", ev("$steps.add-invoice-item.outputs.items[0].id"))
      assert.is_true(compile("$inputs.page[size]"):lenient())
    end)

    it("resolves the 1.0.0 form $steps.<id>.<name> to outputs", function()
      local e = compile("$steps.add-invoice-item.draftInvoiceId")
      assert.equal("in_1", e:eval(context()))
      assert.is_true(e:lenient())
      assert.same({ source = "steps", id = "add-invoice-item", field = "outputs", name = "draftInvoiceId",
                    column = 1, lenient = true }, e:refs()[1])
    end)

    it("reads $inputs alone as the whole inputs object", function()
      local c = context()
      local e = compile("$inputs")
      assert.equal(c.inputs, e:eval(c))
      assert.is_true(e:lenient())
    end)

    it("reads dotted access into a body", function()
      local e = compile("$response.body.lines.data.1.id")
      assert.equal("il_2", e:eval(context()))
      assert.is_true(e:lenient())
      assert.same({ nil, "$response.body.idx: no value at '.idx'" }, { ev("$response.body.idx") })
    end)

    it("does not flag the strict forms", function()
      for _, t in ipairs({ "$inputs.amount", "$steps.a.outputs.b#/c", "$response.body#/a.b",
                           "$workflows.w.outputs.x", "$components.parameters.page" }) do
        assert.is_false(compile(t):lenient(), t)
      end
      assert.is_false(compile('$response.body#/status == "open"', "condition"):lenient())
    end)
  end)

  describe("refs", function()
    it("lists every reference with its parts and column", function()
      local e = compile("$statusCode == 200 && $response.header.X-Id != null || " ..
        "$workflows.w.inputs.n#/a > $sourceDescriptions.api.url", "condition")
      assert.same({
        { source = "statusCode", column = 1 },
        { source = "response", field = "header", name = "X-Id", column = 23 },
        { source = "workflows", id = "w", field = "inputs", name = "n", pointer = "/a", column = 56 },
        { source = "sourceDescriptions", id = "api", name = "url", column = 83 },
      }, e:refs())
    end)

    it("covers every source", function()
      local function ref(t) return compile(t):refs()[1] end
      assert.same({ source = "url", column = 1 }, ref("$url"))
      assert.same({ source = "method", column = 1 }, ref("$method"))
      assert.same({ source = "request", field = "query", name = "q", column = 1 }, ref("$request.query.q"))
      assert.same({ source = "request", field = "path", name = "p", column = 1 }, ref("$request.path.p"))
      assert.same({ source = "response", field = "body", column = 1 }, ref("$response.body"))
      assert.same({ source = "inputs", name = "a", column = 1 }, ref("$inputs.a"))
      assert.same({ source = "outputs", name = "a", pointer = "/x", column = 1 }, ref("$outputs.a#/x"))
      assert.same({ source = "steps", id = "s", field = "outputs", name = "o", column = 1 },
        ref("$steps.s.outputs.o"))
      assert.same({ source = "sourceDescriptions", id = "api", column = 1 }, ref("$sourceDescriptions.api"))
      assert.same({ source = "sourceDescriptions", id = "api", name = "getPet", column = 1 },
        ref("$sourceDescriptions.api.getPet"))
      assert.same({ source = "components", field = "failureActions", name = "retry.a", column = 1 },
        ref("$components.failureActions.retry.a"))
    end)

    it("counts columns in characters and returns a fresh table each call", function()
      local e = compile("é {$inputs.a} ü {$steps.s.outputs.o}", "template")
      local r = e:refs()
      assert.equal(4, r[1].column)
      assert.equal(18, r[2].column)
      r[1].source = "changed"
      assert.equal("inputs", e:refs()[1].source)
      assert.same({}, compile("plain", "value"):refs())
      assert.same({}, compile("$.a == 1", "jscondition"):refs())
    end)
  end)

  describe("templates", function()
    it("keeps every brace that does not open {$ as text", function()
      local c = context()
      assert.equal('{"amount": 1234, "currency": "usd"}',
        ev('{"amount": {$inputs.amount}, "currency": "{$inputs.currency}"}', "template", c))
      assert.equal("{}{ $x}$", ev("{}{ $x}$", "value"))
      assert.equal("{}{ $x}$", ev("{}{ $x}$", "template"))
      assert.equal("plain {text}", ev("plain {text}", "template"))
    end)

    it("fills XML and form-encoded text", function()
      assert.equal("<order><amount>1234</amount><cur>usd</cur></order>",
        ev("<order><amount>{$inputs.amount}</amount><cur>{$inputs.currency}</cur></order>", "template"))
      assert.equal("customer=cus_1&amount=1234&paid=false",
        ev("customer={$request.body#/customer}&amount={$inputs.amount}&paid={$response.body#/paid}", "template"))
    end)

    it("renders each type as text", function()
      local c = { inputs = { i = 42, f = 0.1, big = 1e300, b = true, n = null, s = "x y", neg = -7, whole = 3.0 } }
      assert.equal("42|0.1|1e+300|true|null|x y|-7|3",
        ev("{$inputs.i}|{$inputs.f}|{$inputs.big}|{$inputs.b}|{$inputs.n}|{$inputs.s}|{$inputs.neg}|{$inputs.whole}",
          "template", c))
    end)

    it("renders tables as compact JSON", function()
      local c = { inputs = { list = core.array({ 1, "a", true, null }), obj = { k = "v" }, empty = core.array({}) } }
      assert.equal('items=[1,"a",true,null] obj={"k":"v"} e=[]',
        ev("items={$inputs.list} obj={$inputs.obj} e={$inputs.empty}", "template", c))
    end)

    it("fails with the missing reference named", function()
      assert.same({ nil, "$inputs.nope: not set" }, { ev("a {$inputs.nope} b", "template") })
    end)

    it("refuses values that have no text form", function()
      local c = { inputs = { f = print, nan = 0 / 0 } }
      assert.same({ nil, "$inputs.f: cannot render this value as text" }, { ev("{$inputs.f}", "template", c) })
      assert.same({ nil, "$inputs.nan: not a finite number" }, { ev("{$inputs.nan}", "template", c) })
    end)

    it("joins many parts", function()
      local parts, want = {}, {}
      for i = 1, 100 do
        parts[#parts + 1] = "<" .. i .. ">{$inputs.amount}"
        want[#want + 1] = "<" .. i .. ">1234"
      end
      assert.equal(table.concat(want), ev(table.concat(parts), "template"))
      assert.equal("", ev("", "template"))
    end)

    it("substitutes bare references only when lenient", function()
      local e = compile("Bearer $inputs.token", "template", { lenient = true })
      assert.equal("Bearer tok_123", e:eval(context()))
      assert.is_true(e:lenient())
      assert.equal("Bearer $inputs.token", ev("Bearer $inputs.token", "template"))
      assert.is_false(compile("Bearer $inputs.token", "template"):lenient())
    end)

    it("ends a bare reference where the name cannot continue", function()
      local o = { lenient = true }
      assert.equal("refs/heads/usd.", ev("refs/heads/$inputs.currency.", "template", nil, nil, o))
      assert.equal('"usd", (1234); [usd] in_1}', ev('"$inputs.currency", ($inputs.amount); [$inputs.currency] ' ..
        "$response.body#/id}", "template", nil, nil, o))
      assert.equal("a=usd&b=1234", ev("a=$inputs.currency&b=$inputs.amount", "template", nil, nil, o))
      assert.equal("$5 fee, $inputs, $inputsx.a, $statusCodes, US$", ev("$5 fee, $inputs, $inputsx.a, $statusCodes, US$",
        "template", nil, nil, o))
      assert.equal("code 200!", ev("code $statusCode!", "template", nil, nil, o))
    end)

    it("reports an unterminated or invalid {$ at its column", function()
      assert.same({ "unterminated '{$' (missing '}') at column 3", 3 }, { bad("a {$inputs.x", "template") })
      assert.same({ "expected '}' to close the '{$' at column 1 at column 11", 11 }, { bad("{$inputs.x y}", "template") })
      assert.same({ "unknown source '$input' at column 5", 5 }, { bad("ab {$input.x}", "template") })
      assert.same({ "expected a name after '$inputs.' at column 10", 10 }, { bad("{$inputs.}", "template") })
      assert.same({ "expected a source name after '$' at column 3", 3 }, { bad("{$ x}", "value") })
    end)
  end)

  describe("value classification", function()
    it("tells expressions, templates and literals apart", function()
      assert.equal("expression", compile("$inputs.amount", "value"):kind())
      assert.equal("template", compile("{$inputs.amount}", "value"):kind())
      assert.equal("template", compile("id-{$inputs.amount}", "value"):kind())
      assert.equal("literal", compile("hello", "value"):kind())
      assert.equal("literal", compile("", "value"):kind())
      assert.equal("literal", compile("$5 fee", "value"):kind())
      assert.equal("literal", compile("$expand", "value"):kind())
      assert.equal("literal", compile("Bearer $inputs.token", "value"):kind())
      assert.equal("template", compile("Bearer $inputs.token", "value", { lenient = true }):kind())
      assert.equal("literal", compile("no refs here", "value", { lenient = true }):kind())
    end)

    it("keeps the type of a whole expression and renders a template as text", function()
      assert.equal(1234, ev("$inputs.amount", "value"))
      assert.equal("1234", ev("{$inputs.amount}", "value"))
      assert.equal("$5 fee", ev("$5 fee", "value"))
    end)

    it("rejects a known source that is not one valid expression", function()
      assert.same({ "unexpected whitespace at column 15", 15 }, { bad("$inputs.amount now", "value") })
      assert.same({ "expected '.outputs.<name>' after '$steps.a' at column 9", 9 }, { bad("$steps.a", "value") })
    end)

    it("still reports errors inside {$...} of a value", function()
      assert.same({ "unknown source '$foo' at column 4", 4 }, { bad("x {$foo}", "value") })
      assert.same({ "expected a source name after '$' at column 10", 10 }, { bad("{}{ $x}{$", "value") })
    end)

    it("falls back to a lenient template when a whole expression has trailing text", function()
      local e = compile("$inputs.currency and $inputs.amount", "value", { lenient = true })
      assert.equal("template", e:kind())
      assert.equal("usd and 1234", e:eval(context()))
    end)
  end)

  describe("conditions", function()
    it("compares numbers across integer and float", function()
      assert.is_true(cond("$statusCode == 200"))
      assert.is_true(cond("$statusCode == 200.0"))
      assert.is_true(cond("$statusCode != 201"))
      assert.is_true(cond("$statusCode >= 200 && $statusCode < 300"))
      assert.is_true(cond("$statusCode <= 200 && $statusCode > 199.5"))
      assert.is_false(cond("$statusCode > 200"))
      assert.is_true(cond("$response.body#/total > 12 && $response.body#/total < 13"))
      assert.is_true(cond("-1 < 0 && 1e3 == 1000 && 2.5E-1 == 0.25 && -0 == 0"))
      if math.type then -- LuaJIT numbers are doubles: integers past 2^53 are not exact there
        assert.is_true(cond("9007199254740993 > 9007199254740992"))
        assert.is_true(cond("9223372036854775807 > 9223372036854775806"))
        assert.is_true(cond("$inputs.big == '9007199254740993'", { inputs = { big = 9007199254740993 } }))
        assert.is_false(cond("$inputs.big == '9007199254740992'", { inputs = { big = 9007199254740993 } }))
        assert.is_false(cond("$inputs.big == 9007199254740992.0", { inputs = { big = 9007199254740993 } }))
      end
      assert.is_true(cond("99999999999999999999 > 1"))
    end)

    it("gives the same answers on the fast path as on the general one", function()
      local values = { 200, 200.0, 200.5, 199, 201, "200", " 200", "abc", true, null, {}, -0.0 }
      local ops = { "==", "!=", "<", "<=", ">", ">=" }
      for _, v in ipairs(values) do
        for _, op in ipairs(ops) do
          local fast = compile("$response.body " .. op .. " 200", "condition")
          local slow = compile("$response.body " .. op .. " $inputs.n", "condition")
          local c = { response = { body = v }, inputs = { n = 200 } }
          local a, b = fast:eval(c), slow:eval(c)
          assert.equal(b, a, tostring(v) .. " " .. op)
        end
      end
      assert.same({ false, "$statusCode: not set" }, { cond("$statusCode == 200", {}) })
      assert.same({ false, "cannot compare a string with a number using '>=' at column 13" },
        { cond("$statusCode >= 200", { statusCode = "x" }) })
    end)

    it("converts numeric strings compared with numbers", function()
      assert.is_true(cond("'200' == 200"))
      assert.is_true(cond("200 == '200'"))
      assert.is_true(cond("$request.query.limit == 10"))
      assert.is_true(cond("$request.query.limit < 11"))
      assert.is_true(cond("'1.5e1' == 15"))
      assert.is_true(cond("'-3' < 0"))
      assert.is_false(cond("'0x10' == 16"))
      assert.is_false(cond("' 200' == 200"))
      assert.is_false(cond("'200abc' == 200"))
      assert.is_true(cond("'200abc' != 200"))
    end)

    it("compares strings case-insensitively", function()
      assert.is_true(cond("'Available' == 'available'"))
      assert.is_true(cond("$response.body#/status == 'OPEN'"))
      assert.is_true(cond('$response.body#/status == "Open"'))
      assert.is_false(cond("$response.body#/status != 'oPeN'"))
      assert.is_true(cond("'abc' < 'ABD'"))
      assert.is_true(cond("'B' > 'a'"))
      assert.is_true(cond("'a' <= 'A' && 'a' >= 'A'"))
      assert.is_true(cond("'ab' < 'abc'"))
      assert.is_true(cond("'10' < '9'"))
      assert.is_false(cond("'straße' == 'STRASSE'"))
    end)

    it("compares booleans with booleans and the strings true/false", function()
      assert.is_true(cond("$response.body#/paid == false"))
      assert.is_true(cond("$inputs.flag == true"))
      assert.is_true(cond("$inputs.flag == 'TRUE'"))
      assert.is_true(cond("'False' == false"))
      assert.is_false(cond("$inputs.flag == 'yes'"))
      assert.is_false(cond("$inputs.flag == 1"))
      assert.is_false(cond("true > false"))
    end)

    it("applies the null rules", function()
      assert.is_true(cond("null == null"))
      assert.is_false(cond("null != null"))
      assert.is_true(cond("$response.body#/note == null"))
      assert.is_true(cond("$response.body#/missing == null"))
      assert.is_true(cond("$response.body#/id != null"))
      assert.is_true(cond("null != $response.body#/id"))
      assert.is_false(cond("$response.body#/missing != null"))
      assert.is_false(cond("$response.body#/missing == 0"))
      assert.is_false(cond("$response.body#/missing < 1"))
      assert.is_false(cond("$response.body#/missing >= 1"))
      assert.is_false(cond("null <= null"))
      assert.is_false(cond("$inputs.zero == null"))
      assert.is_false(cond("'' == null"))
    end)

    it("compares objects and arrays by deep equality", function()
      local c = context()
      c.inputs.a = { x = core.array({ 1, 2, { y = "Z" } }), n = null }
      c.inputs.b = { x = core.array({ 1.0, "2", { y = "z" } }), n = null }
      c.inputs.c = { x = core.array({ 1, 2 }), n = null }
      c.inputs.d = { x = core.array({ 1, 2, { y = "z" } }) }
      c.inputs.arr = core.array({})
      c.inputs.obj = {}
      assert.is_true(cond("$inputs.a == $inputs.b", c))
      assert.is_false(cond("$inputs.a == $inputs.c", c))
      assert.is_true(cond("$inputs.a != $inputs.c", c))
      assert.is_false(cond("$inputs.a == $inputs.d", c))
      assert.is_false(cond("$inputs.arr == $inputs.obj", c))
      assert.is_true(cond("$inputs.arr == $response.body#/tags", c))
      assert.is_true(cond("$inputs.obj == $response.body#/meta", c))
      assert.is_true(cond("$inputs.a == $inputs.a", c))
      assert.is_false(cond("$inputs.a < $inputs.b", c))
    end)

    it("stops comparing structures nested too deeply", function()
      local function nest(n)
        local t = {}
        for _ = 1, n do t = { t } end
        return t
      end
      local c = { inputs = { a = nest(150), b = nest(150), x = nest(300), y = nest(300) } }
      assert.is_true(cond("$inputs.a == $inputs.b", c))
      assert.same({ false, "values nested deeper than 200 levels compared with '==' at column 11" },
        { cond("$inputs.x == $inputs.y", c) })
      local cyc = {}
      cyc.self = cyc
      local cyc2 = {}
      cyc2.self = cyc2
      assert.is_false((cond("$inputs.p == $inputs.q", { inputs = { p = cyc, q = cyc2 } })))
    end)

    it("treats a bare operand as true only when it is boolean true", function()
      assert.is_true(cond("$inputs.flag"))
      assert.is_false(cond("$response.body#/paid"))
      assert.is_false(cond("$inputs.amount"))
      assert.is_false(cond("'true'"))
      assert.is_false(cond("$response.body#/missing"))
      assert.is_true(cond("true"))
      assert.is_false(cond("false"))
      assert.is_false(cond("null"))
      assert.is_false(cond("1"))
    end)

    it("negates with ! as not-true", function()
      assert.is_true(cond("!$response.body#/paid"))
      assert.is_true(cond("!$inputs.amount"))
      assert.is_true(cond("!$response.body#/missing"))
      assert.is_false(cond("!$inputs.flag"))
      assert.is_true(cond("!!$inputs.flag"))
      assert.is_true(cond("!($statusCode == 404)"))
      assert.is_true(cond("!false == true"))
    end)

    it("gives ! > relational > equality > && > || precedence", function()
      assert.is_true(cond("true || false && false"))
      assert.is_false(cond("(true || false) && false"))
      assert.is_true(cond("false && true || true"))
      assert.is_true(cond("1 < 2 == true"))
      assert.is_true(cond("2 > 1 == 3 > 2"))
      assert.is_false(cond("!true == true"))
      assert.is_true(cond("!(true == false)"))
      assert.is_true(cond("$statusCode == 200 || $statusCode == 404 && false"))
      assert.is_true(cond("((($statusCode == 200)))"))
      assert.is_true(cond("1 == 1 == true"))
    end)

    it("short-circuits && and ||", function()
      assert.same({ false }, { cond("$statusCode == 500 && $inputs.nope == 1") })
      assert.same({ true }, { cond("$statusCode == 200 || $inputs.nope == 1") })
      assert.same({ false, "$inputs.nope: not set" }, { cond("$statusCode == 200 && $inputs.nope == 1") })
    end)

    it("indexes and accesses members after a reference", function()
      assert.is_true(cond("$response.body.lines.data[1].id == 'il_2'"))
      assert.is_true(cond("$response.body.lines.data[0]['amount'] == 1000"))
      assert.is_true(cond('$response.body["a/b"] == "slash"'))
      assert.is_true(cond("$response.body#/lines/data/1/id == 'IL_2'"))
      assert.is_true(cond("$steps.add-invoice-item.outputs.items[0].id == 'ii_1'"))
      assert.is_true(cond("$response.body.lines.data[2] == null"))
      assert.is_true(cond("$response.body[0] == 'zero'"))
      assert.is_true(cond("$response.header.content-type=='application/json'"))
      assert.is_true(cond("$response.body#/status=='open'&&$statusCode==200"))
    end)

    it("reads string escapes", function()
      assert.is_true(cond("'it''s' == \"it's\""))
      assert.is_true(cond([["say \"hi\"" == 'say "hi"']]))
      assert.is_true(cond([["a\\b" == 'a\b']]))
      assert.is_true(cond([["a\nb" == 'a\nb']]))
      assert.is_true(cond("'' == \"\""))
    end)

    it("explains a false caused by a missing value or a type mismatch", function()
      assert.same({ false, "$response.body#/state: no value at '/state'" },
        { cond("$response.body#/state == 'open'") })
      assert.same({ false, "cannot compare a string with a number using '>' at column 24" },
        { cond("$response.body#/status > 5") })
      assert.same({ false, "cannot compare an object with a string using '==' at column 16" },
        { cond("$response.body == 'x'") })
      assert.same({ false, "cannot compare an array with a boolean using '==' at column 28" },
        { cond("$response.body#/lines/data == true") })
      assert.same({ false, "$inputs.amount is a number, not a boolean" }, { cond("$inputs.amount") })
      assert.same({ false, "$inputs.x: not set" }, { cond("$inputs.x") })
      assert.same({ false }, { cond("$statusCode == 201") })
      assert.same({ false }, { cond("'a' == 'b'") })
      assert.same({ false }, { cond("!($inputs.x == null)") })
      assert.same({ false }, { cond("($inputs.x == 1 || true) && false") })
      assert.same({ true }, { cond("$inputs.x == null") })
    end)

    it("decodes a string body that a pointer steps into", function()
      local c = { response = { body = '{"status":"open","n":[1,2]}' } }
      assert.is_true(cond("$response.body#/status == 'open'", c))
      assert.equal(2, ev("$response.body#/n/1", nil, c))
      assert.is_true(cond("$response.body.n[0] == 1", c))
      c.response.body = '  [{"id": 7}]'
      assert.equal(7, ev("$response.body#/0/id", nil, c))
      c.response.body = '{"status": '
      assert.same({ nil, "$response.body#/status: cannot look up '/status' in a string that is not JSON" },
        { ev("$response.body#/status", nil, c) })
      assert.same({ false, "$response.body#/status: cannot look up '/status' in a string that is not JSON" },
        { cond("$response.body#/status == 'open'", c) })
      c.response.body = "<xml/>"
      assert.same({ nil, "$response.body#/status: no value at '/status'" }, { ev("$response.body#/status", nil, c) })
    end)

    it("evaluates the seed workflow's conditions", function()
      local c = { statusCode = 200, response = { body = { id = "in_1", status = "open", amount_due = 1234 } } }
      assert.is_true(cond("$statusCode == 200", c))
      assert.is_true(cond('$response.body#/status == "open"', c))
      c.response.body.status = "draft"
      assert.is_false(cond('$response.body#/status == "open"', c))
    end)

    it("always returns a boolean, whatever the data", function()
      local weird = { inputs = { f = print, co = coroutine.create(print), u = io.stdout, t = {}, n = 0 / 0 } }
      for _, t in ipairs({ "$inputs.f == $inputs.f", "$inputs.co < 1", "$inputs.u == null", "$inputs.t > $inputs.t",
                           "$inputs.n == $inputs.n", "$inputs.n < 1", "$inputs.f", "!$inputs.u" }) do
        local r = cond(t, weird)
        assert.equal("boolean", type(r), t)
      end
      assert.is_false((cond("$inputs.n == $inputs.n", weird)))
      assert.is_true((cond("$inputs.n != $inputs.n", weird)))
    end)

    it("evaluates long && and || chains without deep recursion", function()
      local parts = {}
      for i = 1, 5000 do parts[i] = "$statusCode == 200" end
      assert.is_true(cond(table.concat(parts, " && ")))
      parts[5000] = "$statusCode == 201"
      assert.is_false(cond(table.concat(parts, " && ")))
      for i = 1, 4999 do parts[i] = "$statusCode == 201" end
      parts[5000] = "$statusCode == 200"
      assert.is_true(cond(table.concat(parts, " || ")))
    end)

    it("allows 200 levels of nesting and rejects more", function()
      assert.is_true(cond(string.rep("(", 200) .. "true" .. string.rep(")", 200)))
      assert.is_true(cond(string.rep("!", 200) .. "true"))
      assert.same({ "nesting deeper than 200 levels at column 201", 201 },
        { bad(string.rep("(", 201) .. "true" .. string.rep(")", 201), "condition") })
      assert.same({ "nesting deeper than 200 levels at column 201", 201 },
        { bad(string.rep("!", 201) .. "true", "condition") })
      assert.is_true(cond("true" .. string.rep(" == true", 200)))
      local chain = "1" .. string.rep(" == 1", 201)
      assert.same({ "nesting deeper than 200 levels at column 1003", 1003 }, { bad(chain, "condition") })
    end)
  end)

  describe("syntax errors", function()
    local cases = {
      -- text, mode, message, column
      { "", "expression", "empty expression", 1 },
      { " $url", "expression", "a runtime expression must start with '$'", 1 },
      { "$url ", "expression", "unexpected whitespace", 5 },
      { "$", "expression", "expected a source name after '$'", 2 },
      { "$foo.bar", "expression", "unknown source '$foo'", 1 },
      { "$5 fee", "expression", "unknown source '$5'", 1 },
      { "$inputs.", "expression", "expected a name after '$inputs.'", 9 },
      { "$outputs", "value", nil, nil },
      { "$inputs.a b", "expression", "unexpected whitespace", 10 },
      { "$inputs.a?", "expression", "unexpected character '?'", 10 },
      { "$steps", "expression", "expected '.' after '$steps'", 7 },
      { "$steps.", "expression", "expected a step id after '$steps.'", 8 },
      { "$steps.a.outputs", "expression", "expected an output name after '.outputs.'", 17 },
      { "$steps.a.outputs.", "expression", "expected an output name after '.outputs.'", 18 },
      { "$steps.a.", "expression", "expected 'outputs.<name>' after '$steps.a.'", 10 },
      { "$workflows.w.x", "expression", "expected 'inputs.<name>' or 'outputs.<name>' after '$workflows.w.'", 14 },
      { "$workflows.w", "expression", "expected '.inputs.<name>' or '.outputs.<name>' after '$workflows.w'", 13 },
      { "$request.cookie.a", "expression", "expected 'header', 'query', 'path' or 'body' after '$request.'", 10 },
      { "$response", "expression", "expected '.' after '$response'", 10 },
      { "$response.header.", "expression", "expected a header name after '$response.header.'", 18 },
      { "$response.header", "expression", "expected '.' after '$response.header'", 17 },
      { "$request.query.", "expression", "expected a parameter name after '$request.query.'", 16 },
      { "$response.body.", "expression", "unexpected character '.'", 15 },
      { "$response.body#x", "expression", "a JSON pointer must be empty or start with '/'", 16 },
      { "$statusCode#/a", "expression", "unexpected character '#'", 12 },
      { "$components.schemas.a", "expression",
        "expected 'parameters', 'successActions', 'failureActions' or 'inputs' after '$components.'", 13 },
      { "$components.parameters", "expression", "expected a component name after '$components.parameters.'", 23 },
      { "$sourceDescriptions.", "expression", "expected a source description name after '$sourceDescriptions.'", 21 },
      { "$sourceDescriptions.api.", "expression", "expected a field after '$sourceDescriptions.api.'", 25 },
      { "$url\1", "expression", "unexpected byte 0x01", 5 },
      { "", "condition", "empty condition", 1 },
      { "   ", "condition", "empty condition", 1 },
      { "$statusCode = 200", "condition", "unknown operator '=' (use '==')", 13 },
      { "$statusCode === 200", "condition", "unknown operator '===' (use '==')", 13 },
      { "$statusCode <> 200", "condition", "unknown operator '<>' (use '!=')", 13 },
      { "$statusCode !== 200", "condition", "unknown operator '!==' (use '!=')", 13 },
      { "$statusCode => 200", "condition", "unknown operator '=>' (use '>=')", 13 },
      { "$statusCode =< 200", "condition", "unknown operator '=<' (use '<=')", 13 },
      { "$statusCode == 200 & true", "condition", "unknown operator '&' (use '&&')", 20 },
      { "$statusCode == 200 | true", "condition", "unknown operator '|' (use '||')", 20 },
      { "$response.body#/s == 'open", "condition", "unterminated string", 22 },
      { '$response.body#/s == "open', "condition", "unterminated string", 22 },
      { '"a\\"', "condition", "unterminated string", 1 },
      { "($statusCode == 200", "condition", "unbalanced parentheses: '(' is never closed", 1 },
      { "(($statusCode == 200)", "condition", "unbalanced parentheses: '(' is never closed", 1 },
      { "$statusCode == 200)", "condition", "unbalanced parentheses: unexpected ')'", 19 },
      { "()", "condition", "expected an operand", 2 },
      { "$statusCode ==", "condition", "expected an operand", 15 },
      { "== 200", "condition", "expected an operand", 1 },
      { "$statusCode == 200 &&", "condition", "expected an operand", 22 },
      { "!", "condition", "expected an operand", 2 },
      { "$statusCode == 200 foo", "condition", "unexpected 'foo'", 20 },
      { "$statusCode 200", "condition", "unexpected '200'", 13 },
      { "status == open", "condition", "unexpected 'status' (strings must be quoted)", 1 },
      { "$statusCode == True", "condition", "unexpected 'True' (strings must be quoted)", 16 },
      { "$statusCode == 01", "condition", "invalid number '01'", 16 },
      { "$statusCode == 2.", "condition", "invalid number '2.'", 16 },
      { "$statusCode == 1e", "condition", "invalid number '1e'", 16 },
      { "$statusCode == 200abc", "condition", "invalid number '200abc'", 16 },
      { "$statusCode == - 1", "condition", "invalid number '-'", 16 },
      { "$foo == 1", "condition", "unknown source '$foo'", 1 },
      { "$.a == 1", "condition", "expected a source name after '$'", 2 },
      { "$response.body. == 1", "condition", "expected a member name after '.'", 16 },
      { "$response.body[x] == 1", "condition", "expected an index or a quoted key after '['", 16 },
      { "$response.body[-1] == 1", "condition", "expected an index or a quoted key after '['", 16 },
      { "$response.body[0 == 1", "condition", "expected ']'", 17 },
      { "$response.body[01] == 1", "condition", "invalid index '01'", 16 },
      { "$statusCode == 200 , 1", "condition", "unexpected character ','", 20 },
      { "{$statusCode == 401}", "condition", "unexpected character '{'", 1 },
      { "$.groups[?(@.name == 'x')]", "jscondition", "expected an index or a quoted key after '['", 10 },
      { "$..a == 1", "jscondition", "expected a member name after '.'", 3 },
      { "é == $x", "condition", "unexpected byte 0xc3", 1 },
      { "'é' == $x", "condition", "unknown source '$x'", 8 },
    }

    it("has at least 25 cases", function()
      assert.is_true(#cases >= 25)
    end)

    for _, case in ipairs(cases) do
      local text, mode, want, col = case[1], case[2], case[3], case[4]
      if want then
        it(("rejects %q (%s) at column %d"):format(text, mode, col), function()
          local msg, got = bad(text, mode)
          assert.equal(want .. " at column " .. col, msg)
          assert.equal(col, got)
        end)
      end
    end

    it("accepts $outputs alone as the whole outputs object", function()
      assert.equal(context().outputs.ingestStatus, ev("$outputs", "value").ingestStatus)
    end)
  end)

  describe("jsonpath-style conditions", function()
    local body = {
      success = true, ok = true, status = "queued", valid = false, publishDate = null,
      items = core.array({ "a", "b" }), empty = core.array({}), name = "Orca",
      results = core.array({ { flagged = false, value = "x" } }), result = { value = "usd", length = 3 },
      text = "héllo",
    }
    local function js(text, value)
      return ev(text, "jscondition", context(), value == nil and body or value)
    end

    it("evaluates the forms seen in real documents", function()
      assert.is_true(js("$.success == true"))
      assert.is_true(js("$.ok == true"))
      assert.is_true(js("$.items.length > 0"))
      assert.is_true(js("$.empty.length == 0"))
      assert.is_true(js("$.results[0].flagged == false"))
      assert.is_false(js("$.results[0].flagged == true"))
      assert.is_true(js('$.status == "queued" || $.status == "running"'))
      assert.is_true(js('$.status == "validating_files" || $.status == "queued" || $.status == "running"'))
      assert.is_false(js('$.status != "queued"'))
      assert.is_true(js("$.valid == false"))
      assert.is_true(js("$.publishDate == null"))
      assert.is_false(js("$.publishDate != null"))
      assert.is_true(js("$.name == 'Orca'"))
      assert.is_true(js("$.length == 2", core.array({ 1, 2 })))
      assert.is_true(js("$.length == 0", core.array({})))
    end)

    it("mixes $ paths with runtime expressions", function()
      assert.is_true(js("$.result.value == $inputs.currency"))
      assert.is_true(js("$statusCode == 200 && $.success"))
    end)

    it("supports $, $['a'], $[0] and member names", function()
      assert.is_true(js("$['status'] == 'queued'"))
      assert.is_true(js("$[1] == 'b'", core.array({ "a", "b" })))
      assert.is_true(js("$ == 5", 5))
      assert.is_true(js("$ != null"))
      assert.is_true(js("$.results[0]['value'] == 'X'"))
    end)

    it("prefers a member named length and counts characters of strings", function()
      assert.is_true(js("$.result.length == 3"))
      assert.is_true(js("$.text.length == 5"))
      assert.is_true(js("$.status.length == 6"))
      assert.same({ false, "$.success.length: no value at '.success.length'" }, { js("$.success.length > 0") })
    end)

    it("treats a missing context value as null", function()
      assert.same({ false, "$.a: no context value" }, { ev("$.a == 1", "jscondition", context()) })
      assert.is_true(ev("$ == null", "jscondition", context()))
    end)

    it("is flagged lenient", function()
      assert.is_true(compile("$.a == 1", "jscondition"):lenient())
      assert.is_false(compile("$statusCode == 200", "jscondition"):lenient())
    end)

    it("leaves .length alone in simple conditions", function()
      assert.same({ false, "$response.body.tags.length: no value at '.tags.length'" },
        { cond("$response.body.tags.length == 0") })
    end)
  end)

  -- Unquote a YAML or JSON scalar as written after "condition:" on one line.
  local function scalar(v)
    v = v:gsub(",%s*$", ""):gsub("%s+$", "")
    if v:sub(1, 1) == '"' and v:sub(-1) == '"' then
      return (v:sub(2, -2):gsub("\\(.)", "%1"))
    elseif v:sub(1, 1) == "'" and v:sub(-1) == "'" then
      return (v:sub(2, -2):gsub("''", "'"))
    end
    return (v:gsub("%s+#.*$", ""))
  end

  -- ../shared/corpus (ARAZZO_SHARED overrides where ../shared is).
  local corpus = helpers.shared("corpus")
  local corpus_test = corpus and it or function(name) pending(name .. " (skipped: ../shared/corpus is absent)") end
  corpus_test("compiles every condition of the real-world corpus", function()
    local seen, total, failed = {}, 0, {}
    local p = assert(io.popen("grep -rhE '^[[:space:]-]*\"?condition\"?[[:space:]]*:' '" .. corpus .. "'"))
    for line in p:lines() do
      local text = scalar(line:match(':%s*(.*)$'))
      if text:sub(1, 1) == "$" and not seen[text] then
        seen[text] = true
        total = total + 1
        local mode = text:match("^%$[%.%[]") and "jscondition" or "condition"
        local e, msg = core.expr_compile(text, mode)
        -- RFC 9535 filters belong to the jsonpath engine, not this language.
        if not e and not text:find("[?(", 1, true) then failed[#failed + 1] = text .. ": " .. msg end
      end
    end
    p:close()
    assert.is_true(total > 60, "only " .. total .. " conditions found")
    assert.same({}, failed)
  end)
end)

describe("arazzo.core expressions: lenient forms from real documents", function()
  local ctx = { response = { body = { access_token = "x", a = { b = 2 } }, header = { location = "/next" } } }

  it("reads '#name' as '#/name' in lenient mode only", function()
    local e = assert(core.expr_compile("$response.body#access_token", "expression", { lenient = true }))
    assert.is_true(e:lenient())
    assert.equal("x", e:eval(ctx))
    assert.equal(2, assert(core.expr_compile("$response.body#a/b", "expression", { lenient = true })):eval(ctx))
    assert.same({ nil, "a JSON pointer must be empty or start with '/' at column 16", "expr", 16 },
      { core.expr_compile("$response.body#access_token", "expression") })
  end)

  it("reads '$response.headers.X' as '$response.header.X' in lenient mode only", function()
    local e = assert(core.expr_compile("$response.headers.Location", "expression", { lenient = true }))
    assert.is_true(e:lenient())
    assert.equal("/next", e:eval(ctx))
    assert.same({ nil, "expected 'header', 'query', 'path' or 'body' after '$response.' at column 11", "expr", 11 },
      { core.expr_compile("$response.headers.Location", "expression") })
  end)
end)
