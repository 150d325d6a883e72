-- step_spec.lua: the run-time helpers core.render_template, core.eval_outputs
-- and core.eval_conds, each against what the Lua it replaces would give:
-- JSON and form encoding of the same values, e:eval per expression.
local core = require "arazzo.core"

local function E(src, mode) return assert(core.expr_compile(src, mode or "expression")) end

describe("arazzo.core step helpers", function()
  local ctx = { inputs = { s = 'a "q" & b=c', n = 42, f = 1.5, t = true, no = false, z = core.null,
    arr = core.array({ 1 }), obj = { k = "v" }, u = "caf\195\169" }, statusCode = 201 }

  describe("render_template", function()
    it("fills JSON slots with the JSON encoding of each scalar", function()
      local lits = { '{"s":', ',"n":', ',"f":', ',"t":', ',"z":', ',"u":', "}" }
      local exprs = { E "$inputs.s", E "$inputs.n", E "$inputs.f", E "$inputs.t", E "$inputs.z", E "$inputs.u" }
      local text = core.render_template("json", lits, exprs, ctx)
      local want = { '{"s":', core.json_encode(ctx.inputs.s), ',"n":42,"f":1.5,"t":true,"z":null,"u":',
        core.json_encode(ctx.inputs.u), "}" }
      assert.equal(table.concat(want), text)
      assert.same({ s = ctx.inputs.s, n = 42, f = 1.5, t = true, z = core.null, u = ctx.inputs.u }, core.json_decode(text))
    end)

    it("fills form slots as core.form_encode writes values", function()
      local lits = { "a=", "&b=", "&c=", "&d=", "&e=", "" }
      local exprs = { E "$inputs.s", E "$inputs.n", E "$inputs.f", E "$inputs.no", E "$inputs.z" }
      local text = core.render_template("form", lits, exprs, ctx)
      local payload = core.setorder({ a = ctx.inputs.s, b = 42, c = 1.5, d = false, e = core.null }, { "a", "b", "c", "d", "e" })
      assert.equal(core.form_encode(payload), text)
      assert.equal("a=a+%22q%22+%26+b%3Dc&b=42&c=1.5&d=false&e=", text)
    end)

    it("gives nil for a missing value, a table, or a value that does not encode", function()
      for _, src in ipairs({ "$inputs.missing", "$inputs.arr", "$inputs.obj", "$steps.none.outputs.x" }) do
        assert.is_nil(core.render_template("json", { "[", "]" }, { E(src) }, ctx), src)
        assert.is_nil(core.render_template("form", { "a=", "" }, { E(src) }, ctx), src)
      end
      local bad = { inputs = { nan = 0 / 0, fn = print } }
      assert.is_nil(core.render_template("json", { "", "" }, { E "$inputs.nan" }, bad))
      assert.is_nil(core.render_template("form", { "", "" }, { E "$inputs.nan" }, bad))
      assert.is_nil(core.render_template("json", { "", "" }, { E "$inputs.fn" }, bad))
      assert.equal("[]", core.render_template("json", { "[]" }, {}, ctx))
    end)

    it("raises on bad arguments", function()
      assert.has_error(function() core.render_template("xml", { "" }, {}, ctx) end)
      assert.has_error(function() core.render_template("json", { "", "" }, {}, ctx) end)
      assert.has_error(function() core.render_template("json", { 1, "" }, { E "$inputs.n" }, ctx) end)
      assert.has_error(function() core.render_template("json", { "", "" }, { "$inputs.n" }, ctx) end)
      assert.has_error(function() core.render_template("json", { "" }, {}, nil) end)
    end)
  end)

  describe("eval_outputs", function()
    it("evaluates every expression, records evaluation order when asked, lists the missing ones", function()
      local names = { "zeta", "alpha", "gone", "mid" }
      local exprs = { E "$inputs.n", E "$statusCode", E "$inputs.nothing", E "$inputs.obj" }
      local out, missing = core.eval_outputs(names, exprs, ctx, true)
      assert.same({ zeta = 42, alpha = 201, mid = { k = "v" } }, out)
      assert.same({ "zeta", "alpha", "mid" }, core.getorder(out))
      assert.equal("gone", missing[1])
      assert.equal(select(2, exprs[3]:eval(ctx)), missing[2])
      assert.equal(2, #missing)
      local out2, missing2 = core.eval_outputs({ "b", "a" }, { E "$inputs.n", E "$inputs.s" }, ctx, false)
      assert.is_nil(core.getorder(out2))
      assert.is_nil(missing2)
      assert.same({ "a", "b" }, core.keys(out2))
      local one = core.eval_outputs({ "x" }, { E "$inputs.n" }, ctx, true)
      assert.is_nil(core.getorder(one)) -- one key: nothing to order
      assert.same({}, core.eval_outputs({}, {}, ctx, true))
    end)

    it("raises on bad arguments", function()
      assert.has_error(function() core.eval_outputs({ "a" }, {}, ctx) end)
      assert.has_error(function() core.eval_outputs({ 1 }, { E "$inputs.n" }, ctx) end)
      assert.has_error(function() core.eval_outputs({ "a" }, { E "$inputs.n" }, "ctx") end)
    end)
  end)

  describe("eval_conds", function()
    it("is true when every condition is, else names the first that is not, with its note", function()
      assert.same({ true }, { core.eval_conds({ E("$statusCode == 201", "condition"), E("$inputs.t", "condition") }, ctx) })
      local c2 = E("$inputs.n > 100", "condition")
      local c3 = E("$response.body#/status == 'open'", "condition")
      assert.same({ false, 2 }, { core.eval_conds({ E("$statusCode == 201", "condition"), c2, c3 }, ctx) })
      local ok, i, note = core.eval_conds({ c3 }, ctx)
      assert.is_false(ok)
      assert.equal(1, i)
      assert.equal(select(2, c3:eval(ctx)), note)
      assert.same({ true }, { core.eval_conds({}, ctx) })
      -- a value that is not boolean true does not pass
      assert.same({ false, 1 }, { core.eval_conds({ E("$inputs.no", "condition") }, ctx) })
    end)
  end)
end)

describe("arazzo.core.build_request", function()
  local ctx = { inputs = { id = "a b", n = 3 } }

  it("builds the wire request: path, query, headers, cookies, body, auth", function()
    local k = { method = "POST", url = "http://h/v1/{id}/x", ct = "application/json",
      params = { { "id", "path", E "$inputs.id", nil }, { "n", "query", E "$inputs.n", nil },
        { "q", "query", false, "lit" }, { "X-A", "header", false, "1" }, { "c", "cookie", false, "v" } },
      body = { kind = "json", lits = { '{"n":', "}" }, exprs = { E "$inputs.n" } } }
    local w = core.build_request(k, ctx, { "Authorization", "Bearer t", "x-a", "no" }, 9)
    assert.same({ method = "POST", url = "http://h/v1/a%20b/x?n=3&q=lit", body = '{"n":3}', timeout = 9,
      headers = { ["X-A"] = "1", Cookie = "c=v", ["Content-Type"] = "application/json", Authorization = "Bearer t" } }, w)
  end)

  it("gives nil for anything the Lua path must report or decide", function()
    local base = { method = "GET", url = "http://h/{id}", params = { { "id", "path", E "$inputs.id", nil } } }
    assert.is_table(core.build_request(base, ctx, nil, 1))
    assert.is_nil(core.build_request(base, { inputs = {} }, nil, 1)) -- missing value
    local left = { method = "GET", url = "http://h/{id}/{other}", params = base.params }
    assert.is_nil(core.build_request(left, ctx, nil, 1)) -- a placeholder left
    local absent = { method = "GET", url = "http://h/", params = base.params }
    assert.is_nil(core.build_request(absent, ctx, nil, 1)) -- no such placeholder
    local crlf = { method = "GET", url = "http://h/", params = { { "X", "header", false, "a\r\nb" } } }
    assert.is_nil(core.build_request(crlf, ctx, nil, 1)) -- serialization refuses it
    local tbl = { method = "POST", url = "http://h/", params = {},
      body = { kind = "json", lits = { "", "" }, exprs = { E "$inputs" } } }
    assert.is_nil(core.build_request(tbl, ctx, nil, 1)) -- a table in a body slot
  end)

  it("raises on bad arguments", function()
    assert.has_error(function() core.build_request(nil, ctx) end)
    assert.has_error(function() core.build_request({ url = 1, params = {} }, ctx) end)
    assert.has_error(function() core.build_request({ url = "u" }, ctx) end)
    assert.has_error(function() core.build_request({ url = "u", params = {} }, nil) end)
  end)
end)
