-- Workflow execution semantics, driven through a scripted transport so every
-- request on the wire and every control-flow decision can be asserted.
local arazzo = require "arazzo"

local HEAD = [[
arazzo: 1.0.1
info: {title: runner tests, version: '1'}
sourceDescriptions:
  - name: api
    url: ./api.openapi.yaml
]]

local function load(workflows, extra)
  local text = HEAD .. (extra or "") .. "workflows:\n" .. workflows
  local doc, err = arazzo.load(text, { name = "run.yaml", base = "spec/fixtures/run" })
  assert(doc, err)
  return doc
end

local function wf(workflows, extra)
  local doc = load(workflows, extra)
  return doc.workflows[1], doc
end

local function json_response(status, body, headers)
  local h = { ["content-type"] = "application/json" }
  for k, v in pairs(headers or {}) do h[k] = v end
  return { status = status, headers = h, body = body }
end

-- routes: ["METHOD /path"] = response | {response, response, ...} (served in
-- turn, the last one repeated) | function(request, n) -> response
local function fake(routes)
  local log, seen = {}, {}
  local function transport(req)
    log[#log + 1] = req
    local path = req.url:match("^https?://[^/]+(/[^?]*)") or req.url
    local key = req.method .. " " .. path
    local r = routes[key]
    seen[key] = (seen[key] or 0) + 1
    if type(r) == "function" then return r(req, seen[key]) end
    if type(r) == "table" and r[1] then return r[math.min(seen[key], #r)] end
    return r or { status = 404, headers = {}, body = "no route " .. key }
  end
  return transport, log
end

local AUTH = { api = { api_key = "k-123", username = "sk_test_1", token = "tok" } }

local function run(w, inputs, routes, opts)
  local transport, log = fake(routes)
  opts = opts or {}
  opts.transport = transport
  opts.auth = opts.auth or AUTH
  opts.sleep = opts.sleep or function() end
  return w:run(inputs, opts), log
end

describe("workflow:run", function()
  describe("inputs", function()
    local w = wf([[
  - workflowId: w
    inputs:
      type: object
      required: [id, qty]
      properties:
        id: {type: string, minLength: 2}
        qty: {type: integer, minimum: 1}
        mode: {enum: [fast, slow]}
    steps:
      - stepId: get
        operationId: getItem
        parameters: [{name: id, in: path, value: $inputs.id}]
]])

    it("are validated against the workflow's schema before any request", function()
      local r, log = run(w, { id = "x", qty = 1.5, mode = "warp" }, {})
      assert.is_false(r.ok)
      assert.equal("inputs", r.error.code)
      assert.equal(0, #log)
      assert.equal("workflow 'w': inputs.id: expected at least 2 characters, got 1; inputs.mode: "
        .. "expected one of \"fast\", \"slow\", got string; inputs.qty: expected integer, got float 1.5", r.error.message)
    end)

    it("name a missing required input", function()
      local r = run(w, { id = "ab" }, {})
      assert.equal("workflow 'w': inputs.qty: required property is missing", r.error.message)
    end)

    it("pass when valid", function()
      local r, log = run(w, { id = "ab", qty = 2 }, { ["GET /v1/items/ab"] = json_response(200, "{}") })
      assert.is_true(r.ok, r.error and r.error.message)
      assert.equal(1, #log)
    end)
  end)

  describe("parameters", function()
    it("serialize path, query, header and cookie values with their OpenAPI styles", function()
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: list
        operationId: listItems
        parameters:
          - {name: limit, in: query, value: 10}
          - {name: tags, in: query, value: [a b, "c/d"]}
          - {name: filter, in: query, value: {status: open, tier: 2}}
          - {name: X-Trace, in: header, value: 'run-{$inputs.n}'}
          - {name: session, in: cookie, value: s1}
]])
      local r, log = run(w, { n = 7 }, { ["GET /v1/items"] = json_response(200, "[]") })
      assert.is_true(r.ok, r.error and r.error.message)
      assert.equal("http://api.test/v1/items?limit=10&tags=a%20b,c%2Fd&filter%5Bstatus%5D=open&filter%5Btier%5D=2", log[1].url)
      assert.equal("run-7", log[1].headers["X-Trace"])
      assert.equal("session=s1", log[1].headers.Cookie)
      assert.equal("k-123", log[1].headers["X-Key"])
      assert.is_nil(log[1].body)
    end)

    it("percent-encode path values and use the declared label style", function()
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: a
        operationId: getItem
        parameters: [{name: id, in: path, value: 'a/b c?'}]
      - stepId: b
        operationId: getLabel
        parameters: [{name: id, in: path, value: [1, 2]}]
]])
      local _, log = run(w, {}, { ["GET /v1/items/a%2Fb%20c%3F"] = json_response(200, "{}"),
        ["GET /v1/labels/.1.2"] = json_response(200, "{}") })
      assert.equal("http://api.test/v1/items/a%2Fb%20c%3F", log[1].url)
      assert.equal("http://api.test/v1/labels/.1.2", log[2].url)
    end)

    it("merge workflow-level parameters, the step's winning, and resolve component references", function()
      local w = wf([[
  - workflowId: w
    parameters:
      - {name: limit, in: query, value: 1}
      - {name: X-Trace, in: header, value: wf}
    steps:
      - stepId: list
        operationId: listItems
        parameters:
          - {name: limit, in: query, value: 2}
          - reference: $components.parameters.sess
            value: override
]], [[
components:
  parameters:
    sess: {name: session, in: cookie, value: default}
]])
      local _, log = run(w, {}, { ["GET /v1/items"] = json_response(200, "[]") })
      assert.equal("http://api.test/v1/items?limit=2", log[1].url)
      assert.equal("wf", log[1].headers["X-Trace"])
      assert.equal("session=override", log[1].headers.Cookie)
    end)

    it("build the same request in one C call as the Lua path does, value after value", function()
      -- Without hooks a plain step's request comes from core.build_request;
      -- a no-op before_request hook sends it through the Lua assembly. Both
      -- must put the same URL, headers and body on the wire, and fail alike.
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: list
        operationId: listItems
        parameters:
          - {name: limit, in: query, value: $inputs.v}
          - {name: tags, in: query, value: [a b, $inputs.v]}
          - {name: X-Trace, in: header, value: 'run-{$inputs.v}'}
          - {name: X-Raw, in: header, value: $inputs.v}
          - {name: session, in: cookie, value: $inputs.v}
          - {name: other, in: cookie, value: c2}
      - stepId: get
        operationId: getItem
        parameters: [{name: id, in: path, value: $inputs.v}]
      - stepId: label
        operationId: getLabel
        parameters: [{name: id, in: path, value: $inputs.list}]
      - stepId: charge
        operationId: createCharge
        parameters: [{name: Authorization, in: header, value: $inputs.v}]
        requestBody: {contentType: application/x-www-form-urlencoded, payload: {amount: $inputs.v, note: fixed}}
]])
      local ok_routes = function() return json_response(200, "{}") end
      local routes = setmetatable({}, { __index = function() return ok_routes end })
      local noop = { before_request = function() end }
      local VALUES = { "plain", "a/b c?&=#%", "", 0, -7, 1.5, true, false, arazzo.null, "caf\195\169",
        "\r\nX-Evil: 1", { 1, 2 }, { k = "v" }, arazzo.array({}) }
      for i, v in ipairs(VALUES) do
        for _, list in ipairs({ arazzo.array({ 1, "x y" }), "scalar" }) do
          local r1, fast = run(w, { v = v, list = list }, routes)
          local r2, slow = run(w, { v = v, list = list }, routes, { hooks = noop })
          assert.equal(r2.ok, r1.ok, "value " .. i)
          if not r1.ok then assert.same(r2.error, r1.error, "value " .. i) end
          assert.equal(#slow, #fast, "value " .. i)
          for j = 1, #slow do
            assert.equal(slow[j].url, fast[j].url, "value " .. i .. " request " .. j)
            assert.same(slow[j].headers, fast[j].headers, "value " .. i .. " request " .. j)
            assert.equal(slow[j].body, fast[j].body, "value " .. i .. " request " .. j)
            assert.equal(slow[j].method, fast[j].method)
            assert.equal(slow[j].timeout, fast[j].timeout)
          end
        end
      end
      local _, log = run(w, { v = "x y", list = arazzo.array({ 1, 2 }) }, routes)
      assert.equal("http://api.test/v1/items?limit=x%20y&tags=a%20b,x%20y", log[1].url)
      assert.same({ ["X-Trace"] = "run-x y", ["X-Raw"] = "x y", Cookie = "session=x%20y; other=c2", ["X-Key"] = "k-123" },
        log[1].headers)
      assert.equal("http://api.test/v1/labels/.1.2", log[3].url)
      -- a step's own Authorization header wins over the credentials
      assert.equal("x y", log[4].headers.Authorization)
      assert.equal("amount=x+y&note=fixed", log[4].body)
    end)

    it("fail the step when a value is missing: nothing undefined reaches the wire", function()
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: get
        operationId: getItem
        parameters: [{name: id, in: path, value: $inputs.id}]
]])
      local r, log = run(w, {}, {})
      assert.is_false(r.ok)
      assert.equal(0, #log)
      assert.equal("expression", r.error.code)
      assert.equal("get", r.error.step)
      assert.equal("parameter 'id' (in path): $inputs.id: not set", r.error.message)
    end)

    it("fail the step when a header value holds CR or LF", function()
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: list
        operationId: listItems
        parameters: [{name: X-Trace, in: header, value: $inputs.v}]
]])
      local r, log = run(w, { v = "a\r\nX-Evil: 1" }, {})
      assert.is_false(r.ok)
      assert.equal(0, #log)
      assert.matches("CR, LF or NUL", r.error.message)
    end)
  end)

  describe("request bodies", function()
    it("send JSON with exact integers and keys in document order", function()
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: create
        operationId: createItem
        requestBody:
          payload:
            zeta: $inputs.big
            alpha: [1, 2.5, true, null]
            mid: {b: '', a: []}
            when: 1717459200000
]])
      -- LuaJIT numbers are doubles: its exact range ends at 2^53
      local big, text = math.maxinteger or 9007199254740992, math.maxinteger and "9223372036854775807" or "9007199254740992"
      local r, log = run(w, { big = big }, { ["POST /v1/items"] = json_response(201, '{"id": 1}') })
      assert.is_true(r.ok, r.error and r.error.message)
      assert.equal('{"zeta":' .. text .. ',"alpha":[1,2.5,true,null],"mid":{"b":"","a":[]},"when":1717459200000}',
        log[1].body)
      assert.equal("application/json", log[1].headers["Content-Type"])
    end)

    it("render JSON and form payloads from their fast templates with the structured path's exact bytes", function()
      -- Without hooks or $request a structured payload is rendered from
      -- literal text and expression slots; a no-op before_request hook
      -- makes the runner build and encode the payload value instead. The
      -- two must agree byte for byte on every value, and fall back alike.
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: json
        operationId: createItem
        requestBody:
          payload:
            - id: $inputs.v
              const: {b: 'x "y"', a: [1, 2.5, null]}
              nested: {deep: [$inputs.v, 7, $inputs.w]}
            - tail: $inputs.w
      - stepId: form
        operationId: createCharge
        requestBody:
          contentType: application/x-www-form-urlencoded
          payload: {customer: $inputs.v, "a key&=": $inputs.w, flag: false, n: 12, none: null, meta: {a: 1, b: [x]}}
]])
      local huge = math.maxinteger or 2 ^ 53
      local VALUES = { "plain", 'quote " and \\ back', "tab\tnew\nline", "caf\195\169 \226\130\172", "sp ace&x=y+z%/~*-._",
        "", "\127del", 0, -1, 42, huge, -huge, 2 ^ 53, 2 ^ 53 + 2, 1.5, 0.1, 1e300, -0.0, true, false, arazzo.null,
        { 1, 2 }, { k = "v" }, arazzo.array({}) }
      local routes = { ["POST /v1/items"] = json_response(201, "{}"), ["POST /v1/charges"] = json_response(200, "{}") }
      local noop = { before_request = function() end }
      for i, v in ipairs(VALUES) do
        for _, wv in ipairs({ "w", 3 }) do
          local r1, fast = run(w, { v = v, w = wv }, routes)
          local r2, slow = run(w, { v = v, w = wv }, routes, { hooks = noop })
          assert.equal(r2.ok, r1.ok, "value " .. i)
          assert.equal(#slow, #fast, "value " .. i)
          for j = 1, #slow do
            assert.equal(slow[j].body, fast[j].body, "value " .. i .. " request " .. j)
            assert.equal(slow[j].headers["Content-Type"], fast[j].headers["Content-Type"])
          end
          if not r1.ok then assert.same(r2.error, r1.error) end
        end
      end
      local _, log = run(w, { v = "in_1", w = 2 }, routes)
      assert.equal('[{"id":"in_1","const":{"b":"x \\"y\\"","a":[1,2.5,null]},"nested":{"deep":["in_1",7,2]}},{"tail":2}]',
        log[1].body)
      assert.equal("customer=in_1&a+key%26%3D=2&flag=false&n=12&none=&meta%5Ba%5D=1&meta%5Bb%5D%5B0%5D=x", log[2].body)
      -- a missing value: the same error, or with missing = "omit" the same omission
      local r1, l1 = run(w, { w = 1 }, routes)
      local r2 = run(w, { w = 1 }, routes, { hooks = noop })
      assert.equal("expression", r1.error.code)
      assert.same(r2.error, r1.error)
      assert.equal(0, #l1)
      local o1, lo1 = run(w, { w = 1 }, routes, { missing = "omit" })
      local o2, lo2 = run(w, { w = 1 }, routes, { missing = "omit", hooks = noop })
      assert.equal(o2.ok, o1.ok)
      assert.equal(lo2[1] and lo2[1].body, lo1[1] and lo1[1].body)
    end)

    it("send form bodies with bracket nesting and true/false", function()
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: charge
        operationId: createCharge
        requestBody:
          contentType: application/x-www-form-urlencoded
          payload:
            customer: $inputs.customer
            amount: 1250
            capture: false
            metadata: {order: 'A&B', note: x y}
            items: [{price: p_1}, {price: p_2}]
]])
      local _, log = run(w, { customer = "cus_1" }, { ["POST /v1/charges"] = json_response(200, "{}") })
      assert.equal("customer=cus_1&amount=1250&capture=false&metadata%5Border%5D=A%26B&metadata%5Bnote%5D=x+y"
        .. "&items%5B0%5D%5Bprice%5D=p_1&items%5B1%5D%5Bprice%5D=p_2", log[1].body)
      assert.equal("application/x-www-form-urlencoded", log[1].headers["Content-Type"])
    end)

    it("fill JSON text templates JSON-aware, unquoting a lone placeholder that holds an array", function()
      local w = wf([==[
  - workflowId: w
    steps:
      - stepId: create
        operationId: createItem
        requestBody:
          contentType: application/json
          payload: '{"name": "{$inputs.name}", "tags": "{$inputs.tags}", "note": "hi {$inputs.name}!", "n": {$inputs.n}}'
]==])
      local _, log = run(w, { name = 'say "hi"', tags = arazzo.array({ "a", "b" }), n = 3 },
        { ["POST /v1/items"] = json_response(201, "{}") })
      assert.equal('{"name": "say \\"hi\\"", "tags": ["a","b"], "note": "hi say \\"hi\\"!", "n": 3}', log[1].body)
    end)

    it("apply replacements after the payload is evaluated", function()
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: create
        operationId: createItem
        requestBody:
          payload: {item: {name: old, size: 1}}
          replacements:
            - {target: /item/name, value: $inputs.name}
            - {target: /item/color, value: red}
]])
      local _, log = run(w, { name = "new" }, { ["POST /v1/items"] = json_response(201, "{}") })
      assert.equal('{"item":{"name":"new","size":1,"color":"red"}}', log[1].body)
    end)

    it("fail the step when a replacement target's parent does not exist", function()
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: create
        operationId: createItem
        requestBody:
          payload: {item: {}}
          replacements: [{target: /nope/name, value: x}]
]])
      local r, log = run(w, {}, {})
      assert.equal(0, #log)
      assert.equal("requestBody: replacement '/nope/name': target '/nope/name': 'nope' does not exist", r.error.message)
    end)

    it("send text and multipart bodies", function()
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: text
        operationId: putItemText
        parameters: [{name: id, in: path, value: '1'}]
        requestBody: {payload: 'qty={$inputs.n}'}
      - stepId: up
        operationId: upload
        requestBody:
          payload: {name: doc, size: 3}
]])
      local _, log = run(w, { n = 4 }, { ["PUT /v1/items/1"] = json_response(200, "{}"),
        ["POST /v1/uploads"] = json_response(200, "{}") })
      assert.equal("qty=4", log[1].body)
      assert.equal("text/plain", log[1].headers["Content-Type"])
      local ct = log[2].headers["Content-Type"]
      local boundary = ct:match("^multipart/form%-data; boundary=(.+)$")
      assert.is_string(boundary)
      assert.equal("--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\ndoc\r\n--" .. boundary
        .. "\r\nContent-Disposition: form-data; name=\"size\"\r\n\r\n3\r\n--" .. boundary .. "--\r\n", log[2].body)
    end)
  end)

  describe("criteria", function()
    local function one(criteria, extra)
      return wf([[
  - workflowId: w
    steps:
      - stepId: get
        operationId: getItem
        parameters: [{name: id, in: path, value: '1'}]
        successCriteria:
]] .. criteria .. (extra or ""))
    end
    local body = '{"status": "Open", "items": [{"id": 7}], "n": 3}'

    it("simple conditions compare case-insensitively, against pointers and accessors", function()
      local w = one([[
          - condition: $statusCode == 200
          - condition: $response.body#/status == 'open'
          - condition: $response.body.items[0].id == 7 && $response.body#/n >= 3
          - condition: $response.header.X-Rate == '10'
]])
      local r = run(w, {}, { ["GET /v1/items/1"] = json_response(200, body, { ["x-rate"] = "10" }) })
      assert.is_true(r.ok, r.error and r.error.message)
    end)

    it("a failing criterion fails the step with the condition in the message", function()
      local w = one("          - condition: $response.body#/status == 'closed'\n")
      local r = run(w, {}, { ["GET /v1/items/1"] = json_response(200, body) })
      assert.is_false(r.ok)
      assert.equal("criteria", r.error.code)
      assert.equal("success criteria not met: $response.body#/status == 'closed' (status 200)", r.error.message)
    end)

    it("regex, jsonpath and xpath criteria apply to their context", function()
      local w = one([[
          - {context: $statusCode, condition: '^2\d\d$', type: regex}
          - {context: $response.body, condition: '$.items[?@.id == 7]', type: jsonpath}
          - {context: $response.body, condition: '$[?count(@.items[*]) == 1]', type: jsonpath}
          - {context: $response.body, condition: '$[?@.status == "Open"]', type: jsonpath}
          - context: $response.body
            condition: $.items[?(@.id == 7)]
            type: {type: jsonpath, version: draft-goessner-dispatch-jsonpath-00}
]])
      local r = run(w, {}, { ["GET /v1/items/1"] = json_response(200, body) })
      assert.is_true(r.ok, r.error and r.error.message)
      local wx = one("          - {context: $response.body, condition: '/order/status = \"open\"', type: xpath}\n")
      local rx = run(wx, {}, { ["GET /v1/items/1"] = { status = 200, headers = { ["content-type"] = "application/xml" },
        body = "<order><status>open</status></order>" } })
      assert.is_true(rx.ok, rx.error and rx.error.message)
      local ry = run(wx, {}, { ["GET /v1/items/1"] = { status = 200, headers = {}, body = "<order><status>x</status></order>" } })
      assert.is_false(ry.ok)
    end)

    it("a root filter tests an object context itself (as the spec's examples assume)", function()
      local w = one("          - {context: $response.body, condition: '$[?@.access_token]', type: jsonpath}\n")
      assert.is_true((run(w, {}, { ["GET /v1/items/1"] = json_response(200, '{"access_token": "t"}') })).ok)
      assert.is_false((run(w, {}, { ["GET /v1/items/1"] = json_response(200, '{"error": "denied"}') })).ok)
      -- note: RFC 9535 makes `@.access_token != null` true when the member is
      -- absent (Nothing is not null), so the oauth example's check always passes
      -- on an array context the RFC semantics apply unchanged
      local wa = one("          - {context: $response.body, condition: '$[?@.id == 2]', type: jsonpath}\n")
      assert.is_true((run(wa, {}, { ["GET /v1/items/1"] = json_response(200, '[{"id": 1}, {"id": 2}]') })).ok)
      assert.is_false((run(wa, {}, { ["GET /v1/items/1"] = json_response(200, '[{"id": 1}]') })).ok)
      -- an object context is tested itself
      assert.is_true((run(wa, {}, { ["GET /v1/items/1"] = json_response(200, '{"id": 2}') })).ok)
    end)

    it("JavaScript-style JSONPath comparisons pass in lenient mode", function()
      local w = one([[
          - {context: $response.body, condition: '$.items.length > 0', type: jsonpath}
          - {context: $response.body, condition: '$.status == "Open"', type: jsonpath}
]])
      assert.is_true((run(w, {}, { ["GET /v1/items/1"] = json_response(200, body) })).ok)
      assert.is_false((run(w, {}, { ["GET /v1/items/1"] = json_response(200, '{"items": [], "status": "Open"}') })).ok)
    end)

    it("without successCriteria a step succeeds exactly on 2xx", function()
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: get
        operationId: getItem
        parameters: [{name: id, in: path, value: '1'}]
]])
      assert.is_true((run(w, {}, { ["GET /v1/items/1"] = json_response(204, "") })).ok)
      local r = run(w, {}, { ["GET /v1/items/1"] = json_response(302, "") })
      assert.is_false(r.ok)
      assert.equal("success criteria not met: default: a status in 200-299 (status 302)", r.error.message)
    end)
  end)

  describe("actions", function()
    it("goto loops back until a condition ends the workflow, bounded by max_steps", function()
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: poll
        operationId: getItem
        parameters: [{name: id, in: path, value: job}]
        onSuccess:
          - name: done
            type: end
            criteria: [{condition: $response.body#/state == 'done'}]
          - name: again
            type: goto
            stepId: poll
      - stepId: never
        operationId: getItem
        parameters: [{name: id, in: path, value: nope}]
    outputs:
      state: $steps.poll.outputs.state
]])
      local routes = { ["GET /v1/items/job"] = { json_response(200, '{"state":"queued"}'), json_response(200, '{"state":"running"}'),
        json_response(200, '{"state":"done"}') } }
      local r, log = run(w, {}, routes)
      assert.is_true(r.ok, r.error and r.error.message)
      assert.equal(3, #log)
      assert.equal(3, r.steps.poll.runs)
      assert.is_nil(r.steps.never)
      local stuck = { ["GET /v1/items/job"] = json_response(200, '{"state":"queued"}') }
      local r2, log2 = run(w, {}, stuck, { max_steps = 5 })
      assert.is_false(r2.ok)
      assert.equal("limit", r2.error.code)
      assert.equal(5, #log2)
    end)

    it("retry honours retryLimit (retries, not attempts), then falls through to later actions", function()
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: get
        operationId: getItem
        parameters: [{name: id, in: path, value: '1'}]
        successCriteria: [{condition: $statusCode == 200}]
        onFailure:
          - {name: again, type: retry, retryAfter: 0.25, retryLimit: 2, criteria: [{condition: $statusCode == 503}]}
          - {name: give-up, type: end}
]])
      local waits = {}
      local r, log = run(w, {}, { ["GET /v1/items/1"] = json_response(503, "{}") },
        { sleep = function(s) waits[#waits + 1] = s end })
      assert.equal(3, #log)
      assert.same({ 0.25, 0.25 }, waits)
      assert.is_false(r.ok)
      assert.matches("ended by failure action 'give%-up'", r.error.message)
      local r2, log2 = run(w, {}, { ["GET /v1/items/1"] = { json_response(503, "{}"), json_response(200, "{}") } })
      assert.is_true(r2.ok)
      assert.equal(2, #log2)
      assert.equal(2, r2.steps.get.attempts)
    end)

    it("retry without retryLimit retries once, and an HTTP Retry-After header wins", function()
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: get
        operationId: getItem
        parameters: [{name: id, in: path, value: '1'}]
        successCriteria: [{condition: $statusCode == 200}]
        onFailure: [{name: again, type: retry, retryAfter: 5}]
]])
      local waits = {}
      local r, log = run(w, {}, { ["GET /v1/items/1"] = json_response(429, "{}", { ["retry-after"] = "2" }) },
        { sleep = function(s) waits[#waits + 1] = s end })
      assert.equal(2, #log)
      assert.same({ 2 }, waits)
      assert.is_false(r.ok)
      local r2 = run(w, {}, { ["GET /v1/items/1"] = json_response(429, "{}", { ["retry-after"] = "3600" }) })
      assert.equal("retry", r2.error.code)
      assert.equal("retry wait of 3600s exceeds opts.max_retry_wait (60s)", r2.error.message)
    end)

    it("reads Retry-After as delta-seconds or an HTTP date", function()
      local runner = require "arazzo.runner"
      assert.equal(784111777, runner.http_date("Sun, 06 Nov 1994 08:49:37 GMT"))
      assert.is_nil(runner.http_date("Sunday, 06-Nov-94 08:49:37 GMT"))
      assert.equal(120, runner.retry_after_seconds(" 120 "))
      assert.equal(0, runner.retry_after_seconds("Sun, 06 Nov 1994 08:49:37 GMT")) -- in the past
      local soon = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 30)
      local secs = runner.retry_after_seconds(soon)
      assert.is_true(secs > 25 and secs <= 30, tostring(secs))
      assert.is_nil(runner.retry_after_seconds("soon"))
      assert.is_nil(runner.retry_after_seconds("-5"))
    end)

    it("retry with a stepId runs that step first (a token refresh), then the failed step again", function()
      local w = wf([[
  - workflowId: w
    steps:
      - stepId: get
        operationId: getItem
        parameters: [{name: id, in: path, value: '1'}]
        successCriteria: [{condition: $statusCode == 200}]
        onSuccess: [{name: stop, type: end}]
        onFailure: [{name: refresh, type: retry, stepId: login, criteria: [{condition: $statusCode == 401}]}]
      - stepId: login
        operationId: getItem
        parameters: [{name: id, in: path, value: login}]
]])
      local r, log = run(w, {}, { ["GET /v1/items/1"] = { json_response(401, "{}"), json_response(200, "{}") },
        ["GET /v1/items/login"] = json_response(200, "{}") })
      assert.is_true(r.ok, r.error and r.error.message)
      assert.same({ "http://api.test/v1/items/1", "http://api.test/v1/items/login", "http://api.test/v1/items/1" },
        { log[1].url, log[2].url, log[3].url })
    end)

    it("step actions come before workflow actions, and reusable actions resolve", function()
      local w = wf([[
  - workflowId: w
    successActions:
      - {name: finish, type: end}
    failureActions:
      - reference: $components.failureActions.stop
    steps:
      - stepId: a
        operationId: getItem
        parameters: [{name: id, in: path, value: a}]
        onSuccess: [{name: skip, type: goto, stepId: c}]
      - stepId: b
        operationId: getItem
        parameters: [{name: id, in: path, value: b}]
      - stepId: c
        operationId: getItem
        parameters: [{name: id, in: path, value: c}]
      - stepId: d
        operationId: getItem
        parameters: [{name: id, in: path, value: d}]
]], [[
components:
  failureActions:
    stop: {name: stop, type: end}
]])
      local r, log = run(w, {}, { ["GET /v1/items/a"] = json_response(200, "{}"), ["GET /v1/items/c"] = json_response(200, "{}") })
      assert.is_true(r.ok)
      assert.equal(2, #log) -- a, then goto c, whose workflow success action ends the run
      assert.equal("http://api.test/v1/items/c", log[2].url)
      local r2 = run(w, {}, { ["GET /v1/items/a"] = json_response(500, "{}") })
      assert.is_false(r2.ok)
      assert.matches("ended by failure action 'stop'", r2.error.message)
    end)

    it("goto a workflow transfers control one way", function()
      local doc = load([[
  - workflowId: main
    steps:
      - stepId: a
        operationId: getItem
        parameters: [{name: id, in: path, value: a}]
        onSuccess: [{name: away, type: goto, workflowId: other}]
      - stepId: b
        operationId: getItem
        parameters: [{name: id, in: path, value: b}]
  - workflowId: other
    steps:
      - stepId: x
        operationId: getItem
        parameters: [{name: id, in: path, value: x}]
    outputs: {went: $steps.x.outputs.v}
]])
      local w = doc:workflow("main")
      local r, log = run(w, {}, { ["GET /v1/items/a"] = json_response(200, "{}"), ["GET /v1/items/x"] = json_response(200, "{}") })
      assert.is_true(r.ok)
      assert.equal(2, #log)
      assert.equal("other", r.transferred_to)
    end)
  end)

  describe("nested workflows, dependsOn and outputs", function()
    local doc = load([[
  - workflowId: outer
    dependsOn: [setup]
    steps:
      - stepId: call
        workflowId: inner
        parameters: [{name: id, value: $workflows.setup.outputs.id}]
        successCriteria: [{condition: $statusCode == 200}]
        outputs:
          name: $outputs.name
          viaWorkflows: $workflows.inner.outputs.name
    outputs:
      name: $steps.call.outputs.name
      both: $steps.call.outputs.viaWorkflows
  - workflowId: inner
    inputs: {type: object, required: [id], properties: {id: {type: string}}}
    steps:
      - stepId: get
        operationId: getItem
        parameters: [{name: id, in: path, value: $inputs.id}]
        outputs: {name: $response.body#/name}
    outputs:
      name: $steps.get.outputs.name
  - workflowId: setup
    steps:
      - stepId: make
        operationId: createItem
        requestBody: {payload: {}}
        outputs: {id: $response.body#/id}
    outputs: {id: $steps.make.outputs.id}
]])

    it("run dependencies first, map parameters to inputs and expose $outputs", function()
      local r, log = run(doc:workflow("outer"), {}, { ["POST /v1/items"] = json_response(201, '{"id":"i9"}'),
        ["GET /v1/items/i9"] = json_response(200, '{"name":"Rex"}') })
      assert.is_true(r.ok, r.error and r.error.message)
      assert.equal(2, #log)
      assert.same({ name = "Rex", both = "Rex" }, r.outputs)
    end)

    it("fail the caller when a dependency fails", function()
      local r, log = run(doc:workflow("outer"), {}, { ["POST /v1/items"] = json_response(500, "{}") })
      assert.is_false(r.ok)
      assert.equal("dependency", r.error.code)
      assert.equal(1, #log)
    end)

    it("validate a nested workflow's inputs", function()
      local r = run(doc:workflow("outer"), {}, { ["POST /v1/items"] = json_response(201, '{"id": 5}') })
      assert.is_false(r.ok)
      assert.equal("inputs", r.error.code)
      assert.matches("inputs.id: expected string, got integer 5", r.error.message, 1, true)
    end)
  end)

  describe("hooks", function()
    local w = wf([[
  - workflowId: w
    steps:
      - stepId: create
        operationId: createItem
        requestBody:
          payload: {name: a}
        outputs: {id: $response.body#/id}
]])

    it("before_request may rewrite payload, headers and parameters", function()
      local r, log = run(w, {}, { ["POST /v1/items"] = json_response(201, '{"id": 1}') }, { hooks = {
        before_request = function(step, req)
          assert.equal("create", step.id)
          req.payload.name = "b"
          req.payload.extra = true
          req.headers["X-Hook"] = "1"
        end } })
      assert.is_true(r.ok)
      assert.same({ name = "b", extra = true }, arazzo.json.decode(log[1].body))
      assert.equal("1", log[1].headers["X-Hook"])
    end)

    it("after_response sees the response and success can override the verdict", function()
      local seen
      local r = run(w, {}, { ["POST /v1/items"] = json_response(500, '{"id": 1}') }, { hooks = {
        after_response = function(_, res) seen = res.status end,
        success = function(_, _, passed) assert.is_false(passed) return true end } })
      assert.equal(500, seen)
      assert.is_true(r.ok)
      assert.same({ id = 1 }, r.steps.create.outputs)
    end)

    it("a hook that raises fails its step with code 'hook' and run() does not raise", function()
      local r = run(w, {}, {}, { hooks = { before_request = function() error("boom") end } })
      assert.is_false(r.ok)
      assert.equal("hook", r.error.code)
      assert.matches("before_request hook: .*boom", r.error.message)
    end)

    it("hooks must be functions (a programmer error raises)", function()
      assert.has_error(function() w:run({}, { hooks = { before_request = 1 } }) end,
        "run: hook 'before_request' must be a function, got number")
      assert.has_error(function() w:run({}, { hook = {} }) end, "run: unknown option 'hook'")
    end)

    it("sees every change to a reused options table and its hooks (the configuration is remembered)", function()
      local transport, log = fake({ ["POST /v1/items"] = json_response(201, '{"id": 1}') })
      local calls = {}
      local hooks = {}
      local opts = { transport = transport, auth = AUTH, hooks = hooks, timeout = 5 }
      assert.is_true(w:run({}, opts).ok)
      assert.equal(5, log[1].timeout)
      opts.timeout = 7 -- a field changed
      hooks.after_response = function() calls[#calls + 1] = "after" end -- a hook added to the same table
      assert.is_true(w:run({}, opts).ok)
      assert.equal(7, log[2].timeout)
      assert.same({ "after" }, calls)
      hooks.after_response = nil -- and removed
      hooks.success = function() return false end
      local r = w:run({}, opts)
      assert.is_false(r.ok)
      assert.same({ "after" }, calls)
      hooks.success = nil
      opts.timeout = nil -- a field removed: the default again
      assert.is_true(w:run({}, opts).ok)
      assert.equal(30, log[#log].timeout)
      opts.colour = "red" -- a bad field added later still raises
      assert.has_error(function() w:run({}, opts) end, "run: unknown option 'colour'")
      opts.colour = nil
      hooks.before = function() end
      assert.has_error(function() w:run({}, opts) end,
        "run: unknown hook 'before' (before_request, after_response, success)")
      hooks.before = nil
      opts.missing = "sometimes"
      assert.has_error(function() w:run({}, opts) end, 'run: option \'missing\' must be "error" or "omit"')
    end)
  end)

  describe("auth", function()
    local w = wf([[
  - workflowId: w
    steps:
      - stepId: charge
        operationId: createCharge
        requestBody: {contentType: application/x-www-form-urlencoded, payload: {a: 1}}
]])

    it("uses the first security alternative the credentials satisfy (basic, then bearer)", function()
      local _, log = run(w, {}, { ["POST /v1/charges"] = json_response(200, "{}") },
        { auth = { api = { username = "sk_test_1" } } })
      assert.equal("Basic c2tfdGVzdF8xOg==", log[1].headers.Authorization)
      local _, log2 = run(w, {}, { ["POST /v1/charges"] = json_response(200, "{}") }, { auth = { api = { token = "t" } } })
      assert.equal("Bearer t", log2[1].headers.Authorization)
    end)

    it("decides again when the same credentials table changes between runs (the decision is remembered)", function()
      local creds = { api = { token = "t1" } }
      local routes = { ["POST /v1/charges"] = json_response(200, "{}") }
      local _, l1 = run(w, {}, routes, { auth = creds })
      local _, l2 = run(w, {}, routes, { auth = creds })
      assert.equal("Bearer t1", l1[1].headers.Authorization)
      assert.equal("Bearer t1", l2[1].headers.Authorization)
      creds.api.token = "t2" -- a refreshed token, same tables
      local _, l3 = run(w, {}, routes, { auth = creds })
      assert.equal("Bearer t2", l3[1].headers.Authorization)
      creds.api.username = "sk_test_9" -- a field added: basic comes first now
      local _, l4 = run(w, {}, routes, { auth = creds })
      assert.equal("Basic c2tfdGVzdF85Og==", l4[1].headers.Authorization)
      creds.api.username = nil -- and removed again
      local _, l5 = run(w, {}, routes, { auth = creds })
      assert.equal("Bearer t2", l5[1].headers.Authorization)
      creds.api.token = "bad\r\nX-Evil: 1" -- checked again, refused
      local r6, l6 = run(w, {}, routes, { auth = creds })
      assert.equal("auth", r6.error.code)
      assert.equal(0, #l6)
      -- per-scheme credentials one level down are compared too
      local per = { api = { bearerAuth = { token = "s1" } } }
      local _, l7 = run(w, {}, routes, { auth = per })
      per.api.bearerAuth.token = "s2"
      local _, l8 = run(w, {}, routes, { auth = per })
      assert.equal("Bearer s1", l7[1].headers.Authorization)
      assert.equal("Bearer s2", l8[1].headers.Authorization)
    end)

    it("lets a header parameter named like the credential's header win, in any case", function()
      local wh = wf([[
  - workflowId: w
    steps:
      - stepId: charge
        operationId: createCharge
        parameters: [{name: authorization, in: header, value: Bearer mine}]
        requestBody: {contentType: application/x-www-form-urlencoded, payload: {a: 1}}
]])
      local _, log = run(wh, {}, { ["POST /v1/charges"] = json_response(200, "{}") }, { auth = { api = { token = "t" } } })
      assert.equal("Bearer mine", log[1].headers.authorization)
      assert.is_nil(log[1].headers.Authorization)
    end)

    it("fails the step when credentials satisfy no scheme, and sends nothing without credentials", function()
      local r, log = run(w, {}, {}, { auth = { api = { api_key = "x" } } })
      assert.equal("auth", r.error.code)
      assert.equal(0, #log)
      local r2, log2 = run(w, {}, { ["POST /v1/charges"] = json_response(401, "{}") }, { auth = {} })
      assert.is_nil(log2[1].headers.Authorization)
      assert.equal("criteria", r2.error.code)
    end)

    it("adds idempotency keys that stay the same across retries of a step", function()
      local wr = wf([[
  - workflowId: w
    steps:
      - stepId: charge
        operationId: createCharge
        requestBody: {contentType: application/x-www-form-urlencoded, payload: {a: 1}}
        onFailure: [{name: again, type: retry, retryLimit: 1}]
]])
      local _, log = run(wr, {}, { ["POST /v1/charges"] = { json_response(500, "{}"), json_response(200, "{}") } },
        { idempotency = true, run_id = "r1" })
      assert.equal("r1-w-charge-1", log[1].headers["Idempotency-Key"])
      assert.equal("r1-w-charge-1", log[2].headers["Idempotency-Key"])
    end)
  end)

  describe("missing values with missing = \"omit\"", function()
    it("leave out optional parameters and body members, in objects and JSON text templates", function()
      local w = wf([==[
  - workflowId: w
    steps:
      - stepId: a
        operationId: createItem
        parameters: [{name: X-Trace, in: header, value: $inputs.trace}]
        requestBody: {payload: {name: x, qty: $inputs.qty, note: 'n={$inputs.qty}'}}
      - stepId: b
        operationId: createItem
        requestBody:
          contentType: application/json
          payload: '{"name": "y", "uri": "{$inputs.uri}", "label": "see {$inputs.uri}", "n": 1}'
]==])
      local r, log = run(w, {}, { ["POST /v1/items"] = json_response(201, "{}") }, { missing = "omit" })
      assert.is_true(r.ok, r.error and r.error.message)
      assert.is_nil(log[1].headers["X-Trace"])
      -- a template with a missing part is missing as a whole
      assert.equal('{"name":"x"}', log[1].body)
      assert.equal('{"name":"y","n":1}', log[2].body)
      -- with every value present the template text is sent as written
      local _, log2 = run(w, { qty = 2, uri = "u" }, { ["POST /v1/items"] = json_response(201, "{}") }, { missing = "omit" })
      assert.equal('{"name":"x","qty":2,"note":"n=2"}', log2[1].body)
      assert.equal('{"name": "y", "uri": "u", "label": "see u", "n": 1}', log2[2].body)
      -- and by default a missing value fails the step
      local r3, log3 = run(w, {}, {})
      assert.equal("expression", r3.error.code)
      assert.equal(0, #log3)
    end)
  end)

  describe("nested workflows with the same step ids", function()
    it("keep each workflow's step records and idempotency keys apart", function()
      local doc = load([[
  - workflowId: outer
    steps:
      - stepId: pay
        workflowId: inner
      - stepId: charge
        operationId: createCharge
        requestBody: {contentType: application/x-www-form-urlencoded, payload: {who: outer}}
  - workflowId: inner
    steps:
      - stepId: charge
        operationId: createCharge
        requestBody: {contentType: application/x-www-form-urlencoded, payload: {who: inner}}
]])
      local r, log = run(doc:workflow("outer"), {}, { ["POST /v1/charges"] = json_response(200, "{}") },
        { idempotency = true, run_id = "r" })
      assert.is_true(r.ok, r.error and r.error.message)
      assert.equal("r-inner-charge-1", log[1].headers["Idempotency-Key"])
      assert.equal("r-outer-charge-1", log[2].headers["Idempotency-Key"])
      assert.equal("outer", r.steps.charge.workflow)
      assert.equal("inner", r.workflows.inner.steps.charge.workflow)
      assert.equal(3, #r.history)
    end)
  end)

  describe("lenient mode", function()
    local text = [[
  - workflowId: w
    steps:
      - stepId: list
        operationId: listItems
        parameters: [{name: X-Trace, in: header, value: 'Bearer $inputs.token'}]
        successCriteria: [{context: $response.body, condition: '$.items.length > 0', type: jsonpath}]
]]
    it("interpolates bare references and evaluates JavaScript-style conditions, with warnings", function()
      local w, doc = wf(text)
      assert.equal(2, #doc.warnings)
      local r, log = run(w, { token = "t1" }, { ["GET /v1/items"] = json_response(200, '{"items": [1]}') })
      assert.is_true(r.ok, r.error and r.error.message)
      assert.equal("Bearer t1", log[1].headers["X-Trace"])
    end)

    it("is off with lenient = false: the condition is an error, the bare reference literal text", function()
      local doc, err = arazzo.load(HEAD .. "workflows:\n" .. text, { name = "run.yaml", base = "spec/fixtures/run",
        lenient = false })
      assert.is_nil(doc)
      assert.matches("run.yaml:12:53: workflows[0].steps[0].successCriteria[0].condition: jsonpath: ", err, 1, true)
      assert.matches("allowed only in lenient mode", err, 1, true)
      local strict = assert(arazzo.load(HEAD .. "workflows:\n" .. text:gsub("\n        successCriteria[^\n]*", ""),
        { name = "run.yaml", base = "spec/fixtures/run", lenient = false }))
      assert.matches("strict mode sends it as literal text", strict.warnings[1], 1, true)
      local _, log = run(strict.workflows[1], { token = "t1" }, { ["GET /v1/items"] = json_response(200, "{}") })
      assert.equal("Bearer $inputs.token", log[1].headers["X-Trace"])
    end)
  end)

  describe("results", function()
    local w = wf([[
  - workflowId: w
    steps:
      - stepId: get
        operationId: getItem
        parameters: [{name: id, in: path, value: '1'}]
        outputs: {status: $statusCode, body: $response.body}
    outputs: {status: $steps.get.outputs.status, id: $steps.get.outputs.body#/id}
]])

    it("carry outputs, per-step records and timing", function()
      local r = run(w, {}, { ["GET /v1/items/1"] = json_response(200, '{"id": 12345678901234567}') })
      assert.is_true(r.ok)
      assert.equal(200, r.outputs.status)
      assert.equal(12345678901234567, r.outputs.id)
      if math.type then assert.equal("integer", math.type(r.outputs.id)) end
      local s = r.steps.get
      assert.is_true(s.ok)
      assert.equal(200, s.status_code)
      assert.equal(1, s.attempts)
      assert.is_number(s.ms)
      assert.equal(1, r.requests)
    end)

    it("report transport failures as data, never raising", function()
      local r = w:run({}, { transport = function() return nil, "connection refused", "connect" end, auth = AUTH })
      assert.is_false(r.ok)
      assert.equal("connect", r.error.code)
      assert.equal("connection refused", r.error.message)
      local r2 = w:run({}, { transport = function() error("kaput") end, auth = AUTH })
      assert.equal("transport", r2.error.code)
    end)

    it("let a transport yield through run() inside a coroutine", function()
      local co = coroutine.wrap(function()
        return w:run({}, { auth = AUTH, transport = function(req)
          local res = coroutine.yield(req.url)
          return res
        end })
      end)
      assert.equal("http://api.test/v1/items/1", co())
      local r = co(json_response(200, '{"id": 1}'))
      assert.is_true(r.ok)
      assert.equal(1, r.outputs.id)
    end)

    it("raise on programmer errors only", function()
      assert.has_error(function() w:run(5) end, "bad argument #1 to 'run' (table expected, got number)")
      assert.has_error(function() w:run({}, { timeout = "5" }) end, "run: option 'timeout' must be a number, got string")
    end)
  end)
end)
