-- sandbox_spec.lua: the provider sandbox (tools/sandbox.py, scripts/sandbox.sh) and the demo's
-- OpenAPI descriptions. The sandbox runs on ephemeral 127.0.0.1 ports and is driven with the
-- curl command-line tool; responses are decoded with a private lua-cjson instance.
local helpers = require "helpers"
local cjson = require("cjson").new()

local ROOT = helpers.root
local SCRIPT = ROOT .. "/scripts/sandbox.sh"
local AKEY, SKEY = "amb_sandbox_key", "sk_test_sandbox"
local CLOCK = 1717459200

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Run a shell command; returns its output (stdout and stderr) and exit status. The tools it
--- runs (curl, python3) are not under test, so an ASan LD_PRELOAD is not passed on to them.
local function sh(cmd)
  local p = assert(io.popen("unset LD_PRELOAD ASAN_OPTIONS; (" .. cmd .. ") 2>&1; echo \"__rc=$?\""))
  local out = p:read("*a")
  p:close()
  local text, rc = out:match("^(.-)__rc=(%d+)%s*$")
  return text, tonumber(rc)
end

--- Parse KEY=VALUE lines.
local function kv(text)
  local t = {}
  for k, v in text:gmatch("([%w_]+)=([^\n]*)") do t[k] = v end
  return t
end

local function tmp()
  return helpers.tmpname()
end

--- True while pid names a live process (a zombie left for an init that does not reap is dead).
local function alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "rb")
  if not f then return false end
  local st = f:read("*a")
  f:close()
  return st:match("^%d+ %b() (%u)") ~= "Z"
end

--- One HTTP request through curl. opts: method, url, headers (list of "Name: value"),
--- body (string, sent as is), user ("key:" for basic auth), extra (list of curl args).
--- Returns { status, headers = {[lower name] = value}, body, json }.
local function http(opts)
  local hdr, out = tmp(), tmp()
  local args = { "curl", "-sS", "--max-time 30", "-o", q(out), "-D", q(hdr), "-w", q("%{http_code}"),
                 "-X", opts.method or "GET" }
  for _, h in ipairs(opts.headers or {}) do
    args[#args + 1] = "-H " .. q(h)
  end
  local bodyf
  if opts.body then
    bodyf = tmp()
    helpers.writefile(bodyf, opts.body)
    args[#args + 1] = "--data-binary @" .. q(bodyf)
  end
  if opts.user then args[#args + 1] = "-u " .. q(opts.user) end
  for _, a in ipairs(opts.extra or {}) do args[#args + 1] = a end
  args[#args + 1] = q(opts.url)
  local text, rc = sh(table.concat(args, " "))
  assert(rc == 0, "curl failed: " .. text)
  local res = { status = tonumber(text:match("(%d%d%d)%s*$")), headers = {} }
  for line in helpers.readfile(hdr):gmatch("[^\r\n]+") do
    if line:match("^HTTP/") then
      res.headers = {}
    else
      local k, v = line:match("^([^:]+):%s*(.-)%s*$")
      if k then res.headers[k:lower()] = v end
    end
  end
  res.body = helpers.readfile(out)
  if (res.headers["content-type"] or ""):match("^application/json") then
    res.json = cjson.decode(res.body)
  end
  os.remove(hdr); os.remove(out)
  if bodyf then os.remove(bodyf) end
  return res
end

local sandbox = {}

local function amberflo(body, headers)
  return http({ method = "POST", url = sandbox.AMBERFLO_URL .. "/ingest", body = body,
                headers = headers or { "X-API-KEY: " .. AKEY, "Content-Type: application/json" } })
end

--- A Stripe call with bearer auth; form is the raw body text.
local function stripe(method, path, form, headers)
  local h = { "Authorization: Bearer " .. SKEY }
  for _, x in ipairs(headers or {}) do h[#h + 1] = x end
  return http({ method = method, url = sandbox.STRIPE_URL .. path, body = form, headers = h })
end

local function state()
  return http({ url = sandbox.STRIPE_URL .. "/__sandbox/state" }).json
end

local function stripe_err(res, status, etype, code, param, message)
  assert.are.equal(status, res.status)
  local e = res.json.error
  assert.are.equal(etype, e.type)
  assert.are.equal(code, e.code)
  assert.are.equal(param, e.param)
  if message then assert.are.equal(message, e.message) end
end

local EV = '{"customerId":"acme","meterApiName":"api-calls","meterValue":3,' ..
           '"meterTimeInMillis":1717459200000}'

describe("sandbox", function()
  setup(function()
    sandbox.run = tmp()
    local out, rc = sh(q(SCRIPT) .. " start --run-dir " .. q(sandbox.run) ..
                       " --amberflo-port 0 --stripe-port 0 --lifetime 900 --clock " .. CLOCK)
    assert(rc == 0, out)
    sandbox.start_output = out
    for k, v in pairs(kv(out)) do sandbox[k] = v end
  end)

  teardown(function()
    local out, rc = sh(q(SCRIPT) .. " stop --run-dir " .. q(sandbox.run))
    assert(rc == 0, out)
    assert.are.equal("sandbox: stopped (pid " .. sandbox.SANDBOX_PID .. ")\n", out)
    assert.is_false(alive(sandbox.SANDBOX_PID))
    sh("rm -rf " .. q(sandbox.run))
  end)

  before_each(function()
    assert.are.equal(200, http({ method = "POST", url = sandbox.AMBERFLO_URL .. "/__sandbox/reset" }).status)
  end)

  describe("process", function()
    it("prints both base URLs and the PID once the ports listen", function()
      assert.matches("^AMBERFLO_URL=http://127%.0%.0%.1:%d+\nSTRIPE_URL=http://127%.0%.0%.1:%d+\n" ..
                     "SANDBOX_PID=%d+\n$", sandbox.start_output)
      assert.are_not.equal(sandbox.AMBERFLO_URL, sandbox.STRIPE_URL)
      assert.are.equal(sandbox.SANDBOX_PID, helpers.readfile(sandbox.run .. "/sandbox.pid"):match("%d+"))
      assert.is_true(alive(sandbox.SANDBOX_PID))
    end)

    it("status reports the running instance; a second start in the same run dir is refused", function()
      local out, rc = sh(q(SCRIPT) .. " status --run-dir " .. q(sandbox.run))
      assert.are.equal(0, rc)
      assert.are.equal("sandbox: running (pid " .. sandbox.SANDBOX_PID .. ", run dir " .. sandbox.run ..
                       ")\n" .. sandbox.start_output, out)
      out, rc = sh(q(SCRIPT) .. " start --run-dir " .. q(sandbox.run))
      assert.are.equal(1, rc)
      assert.are.equal("sandbox: already running (pid " .. sandbox.SANDBOX_PID .. ", run dir " ..
                       sandbox.run .. ")\n", out)
    end)

    it("rejects an unknown command and options on stop", function()
      local out, rc = sh(q(SCRIPT) .. " restart")
      assert.are.equal(2, rc)
      assert.matches("^usage: scripts/sandbox.sh start|stop|status", out)
      out, rc = sh(q(SCRIPT) .. " stop --run-dir " .. q(sandbox.run) .. " --stripe-port 1")
      assert.are.equal(2, rc)
      assert.are.equal("sandbox: stop takes only --run-dir\n", out)
    end)

    it("keeps connections alive and always sends Content-Length", function()
      local url = sandbox.STRIPE_URL .. "/__sandbox/state"
      local out, rc = sh("curl -s --max-time 30 -o /dev/null -o /dev/null -w " .. q("%{num_connects}\\n") ..
                         " " .. q(url) .. " " .. q(url))
      assert.are.equal(0, rc)
      assert.are.equal("1\n0\n", out)
      local res = http({ url = url })
      assert.are.equal(tostring(#res.body), res.headers["content-length"])
      assert.are.equal("application/json", res.headers["content-type"])
    end)

    it("answers an unknown route with each provider's 404 shape", function()
      local a = http({ url = sandbox.AMBERFLO_URL .. "/meter-definition" })
      assert.are.equal(404, a.status)
      assert.are.same({ message = "no route for GET /meter-definition", code = "NOT_FOUND" }, a.json)
      local s = stripe("GET", "/v1/customers")
      stripe_err(s, 404, "invalid_request_error", nil, nil,
                 "Unrecognized request URL (GET: /v1/customers). Please see https://stripe.com/docs " ..
                 "or we can help at https://support.stripe.com/.")
      s = stripe("DELETE", "/v1/invoices/in_sbx_0001")
      assert.are.equal(404, s.status)
      assert.matches("^Unrecognized request URL %(DELETE: /v1/invoices/in_sbx_0001%)", s.json.error.message)
    end)

    it("answers other methods with the JSON 404 and HEAD without a body", function()
      local res = http({ method = "PUT", url = sandbox.AMBERFLO_URL .. "/ingest" })
      assert.are.same({ message = "no route for PUT /ingest", code = "NOT_FOUND" }, res.json)
      local out, rc = sh("curl -sS --max-time 30 -I " .. q(sandbox.AMBERFLO_URL .. "/ingest"))
      assert.are.equal(0, rc, out)
      local len = out:match("Content%-Length: (%d+)")
      assert.matches("^HTTP/1%.1 404 Not Found\r\n", out)
      assert.are.equal(#'{"message": "no route for HEAD /ingest", "code": "NOT_FOUND"}', tonumber(len))
      assert.matches("\r\n\r\n$", out)
    end)

    it("refuses a body over 1 MiB with 413 and accepts one at the limit", function()
      local big = string.rep("a", 1048577)
      local res = amberflo(big)
      assert.are.equal(413, res.status)
      assert.are.same({ message = "request body is larger than 1048576 bytes", code = "PAYLOAD_TOO_LARGE" }, res.json)
      res = amberflo("[" .. EV .. "]" .. string.rep(" ", 1048576 - #EV - 2))
      assert.are.equal(200, res.status)
    end)

    it("decodes a chunked request body", function()
      local res = http({ method = "POST", url = sandbox.AMBERFLO_URL .. "/ingest", body = "[" .. EV .. "]",
                         headers = { "X-API-KEY: " .. AKEY, "Content-Type: application/json",
                                     "Transfer-Encoding: chunked" } })
      assert.are.equal(200, res.status)
      assert.are.equal(1, #state().amberflo.events)
    end)

    it("returns the whole state and clears it on reset", function()
      assert.are.equal(200, amberflo("[" .. EV .. "]").status)
      assert.are.equal(200, stripe("POST", "/v1/invoices", "customer=cus_a").status)
      local s = state()
      assert.are.equal(1, #s.amberflo.events)
      assert.are.equal("in_sbx_0001", s.stripe.invoices[1].id)
      assert.are.same({ service = "stripe", method = "POST", path = "/v1/invoices", status = 200 },
                      s.requests[2])
      local r = http({ method = "POST", url = sandbox.STRIPE_URL .. "/__sandbox/reset" })
      assert.are.same({ reset = true }, r.json)
      s = state()
      assert.are.same({}, s.amberflo.events)
      assert.are.same({}, s.stripe.invoices)
      assert.are.equal("in_sbx_0001", stripe("POST", "/v1/invoices", "customer=cus_a").json.id)
    end)

    it("logs one line per request with method, path and status, and no secret", function()
      amberflo("[" .. EV .. "]")
      amberflo("[" .. EV .. "]", { "X-API-KEY: amb_wrong_secret", "Content-Type: application/json" })
      http({ method = "POST", url = sandbox.STRIPE_URL .. "/v1/invoices?x=sk_query_secret",
             user = "sk_test_wrong_secret:", body = "customer=cus_a" })
      local log = helpers.readfile(sandbox.run .. "/sandbox.log")
      assert.matches("sandbox amberflo POST /ingest 200\nsandbox amberflo POST /ingest 401\n" ..
                     "sandbox stripe POST /v1/invoices 401\n$", log)
      for line in log:gmatch("[^\n]+") do
        assert.matches("^sandbox (%l+) (%u+) (/%S*) (%d%d%d)$", line)
      end
      for _, secret in ipairs({ AKEY, SKEY, "amb_wrong_secret", "sk_test_wrong_secret", "sk_query_secret" }) do
        assert.is_nil(log:find(secret, 1, true))
      end
    end)
  end)

  describe("Amberflo POST /ingest", function()
    it("accepts an array of meter records and stores exact integer timestamps", function()
      local res = amberflo('[' .. EV .. ',{"customerId":"acme","meterApiName":"gb","meterValue":0.25,' ..
                           '"meterTimeInMillis":1717459200001,"uniqueId":"u1","dimensions":{"region":"eu"}}]')
      assert.are.equal(200, res.status)
      assert.are.equal('"OK"', res.body)
      assert.are.equal("OK", res.json)
      local raw = http({ url = sandbox.AMBERFLO_URL .. "/__sandbox/state" }).body
      assert.matches('"meterTimeInMillis": 1717459200001,', raw, 1, true)
      local ev = state().amberflo.events
      assert.are.equal(2, #ev)
      assert.are.same({ region = "eu" }, ev[2].dimensions)
      assert.are.equal(0.25, ev[2].meterValue)
      assert.are.equal("u1", ev[2].uniqueId)
    end)

    it("accepts a single record object", function()
      assert.are.equal(200, amberflo(EV).status)
      assert.are.equal("acme", state().amberflo.events[1].customerId)
    end)

    it("requires the configured X-API-KEY", function()
      local res = amberflo("[" .. EV .. "]", { "Content-Type: application/json" })
      assert.are.equal(401, res.status)
      assert.are.same({ message = "missing X-API-KEY header", code = "UNAUTHORIZED" }, res.json)
      res = amberflo("[" .. EV .. "]", { "X-API-KEY: nope", "Content-Type: application/json" })
      assert.are.equal(401, res.status)
      assert.are.same({ message = "invalid API key", code = "UNAUTHORIZED" }, res.json)
      res = amberflo("[" .. EV .. "]", { "X-API-KEY;", "Content-Type: application/json" })
      assert.are.equal(401, res.status)
      assert.are.same({}, state().amberflo.events)
      res = amberflo("[" .. EV .. "]", { "x-api-key: " .. AKEY, "Content-Type: application/json" })
      assert.are.equal(200, res.status)
    end)

    it("requires Content-Type application/json", function()
      local res = amberflo("[" .. EV .. "]", { "X-API-KEY: " .. AKEY, "Content-Type: text/plain" })
      assert.are.equal(400, res.status)
      assert.are.same({ message = "Content-Type must be application/json, got text/plain", code = "BAD_REQUEST" },
                      res.json)
      res = amberflo("[" .. EV .. "]", { "X-API-KEY: " .. AKEY, "Content-Type: application/json; charset=utf-8" })
      assert.are.equal(200, res.status)
    end)

    it("reports invalid JSON with its line and column", function()
      local res = amberflo('[{"customerId": }]')
      assert.are.equal(400, res.status)
      assert.are.equal("invalid JSON at line 1 column 17: Expecting value", res.json.message)
      res = amberflo('[\n' .. EV .. ',\n]')
      assert.are.equal("invalid JSON at line 3 column 1: Expecting value", res.json.message)
    end)

    local function bad_time(text)
      return amberflo("[" .. EV .. ',{"customerId":"acme","meterApiName":"api-calls","meterValue":1,' ..
                      '"meterTimeInMillis":' .. text .. "}]")
    end

    it("accepts an integer meterTimeInMillis", function()
      assert.are.equal(200, bad_time("1717459200000").status)
      assert.are.equal(2, #state().amberflo.events)
    end)

    for _, case in ipairs({ { "1.7174592e12", "1.7174592e12" }, { "1717459200000.0", "1717459200000.0" },
                            { "17174592e5", "17174592e5" }, { '"1717459200000"', "a string" },
                            { "null", "null" } }) do
      it("rejects meterTimeInMillis " .. case[1] .. " naming the record index", function()
        local res = bad_time(case[1])
        assert.are.equal(400, res.status)
        assert.are.same({ code = "BAD_REQUEST", message = "body[1].meterTimeInMillis: must be an exact " ..
                          "integer (milliseconds since the epoch, no fraction or exponent), got " .. case[2] },
                        res.json)
        assert.are.same({}, state().amberflo.events)
      end)
    end

    it("rejects negative and out-of-range timestamps", function()
      assert.are.equal("body[1].meterTimeInMillis: out of range, got -1", bad_time("-1").json.message)
      assert.are.equal("body[1].meterTimeInMillis: out of range, got 9223372036854775808",
                       bad_time("9223372036854775808").json.message)
      local huge = string.rep("9", 5000)
      assert.are.equal("body[1].meterTimeInMillis: out of range, got " .. huge, bad_time(huge).json.message)
    end)

    for _, case in ipairs({
      { '[{"meterApiName":"m","meterValue":1,"meterTimeInMillis":1}]',
        "body[0].customerId: required field is missing" },
      { '[{"customerId":"c","meterValue":1,"meterTimeInMillis":1}]',
        "body[0].meterApiName: required field is missing" },
      { '[{"customerId":7,"meterApiName":"m","meterValue":1,"meterTimeInMillis":1}]',
        "body[0].customerId: must be a non-empty string, got 7" },
      { '[{"customerId":"","meterApiName":"m","meterValue":1,"meterTimeInMillis":1}]',
        "body[0].customerId: must be a non-empty string, got a string" },
      { '[{"customerId":"c","meterApiName":"m","meterValue":"1","meterTimeInMillis":1}]',
        "body[0].meterValue: must be a finite number, got a string" },
      { '[{"customerId":"c","meterApiName":"m","meterValue":true,"meterTimeInMillis":1}]',
        "body[0].meterValue: must be a finite number, got a boolean" },
      { '[{"customerId":"c","meterApiName":"m","meterValue":1e999,"meterTimeInMillis":1}]',
        "body[0].meterValue: must be a finite number, got 1e999" },
      { '[{"customerId":"c","meterApiName":"m","meterValue":1,"meterTimeInMillis":1,"dimensions":{"a":1}}]',
        "body[0].dimensions.a: must be a string, got 1" },
      { '[{"customerId":"c","meterApiName":"m","meterValue":1,"meterTimeInMillis":1,"dimensions":[]}]',
        "body[0].dimensions: must be an object, got an array" },
      { '[{"customerId":"c","meterApiName":"m","meterValue":1,"meterTimeInMillis":1,"uniqueId":5}]',
        "body[0].uniqueId: must be a non-empty string, got 5" },
      { '[{"customerId":"c","meterApiName":"m","meterValue":1,"meterTimeInMillis":1,"value":2}]',
        "body[0].value: unknown field" },
      { '{"customerId":"c","meterApiName":"m","meterValue":1}', "body.meterTimeInMillis: required field is missing" },
      { '[' .. EV .. ',"x"]', "body[1]: must be an object, got a string" },
      { '[]', "body: the array holds no meter records" },
      { '42', "body: must be a meter record object or an array of them, got 42" },
      { '[{"customerId":"c","meterApiName":"m","meterValue":NaN,"meterTimeInMillis":1}]', "NaN is not valid JSON" },
      { '[{"customerId":"c","customerId":"d","meterApiName":"m","meterValue":1,"meterTimeInMillis":1}]',
        "duplicate object key 'customerId'" },
      { '', "invalid JSON at line 1 column 1: Expecting value" },
      { '["\255"]', "body is not valid UTF-8 (byte 2)" },
      { string.rep("[", 100000) .. string.rep("]", 100000), "body: JSON nested too deeply" },
    }) do
      it("rejects " .. case[2], function()
        local res = amberflo(case[1])
        assert.are.equal(400, res.status)
        assert.are.same({ code = "BAD_REQUEST", message = case[2] }, res.json)
        assert.are.same({}, state().amberflo.events)
      end)
    end

    it("counts a repeated uniqueId once", function()
      local rec = '{"customerId":"c","meterApiName":"m","meterValue":1,"meterTimeInMillis":1,"uniqueId":"evt-1"}'
      assert.are.equal(200, amberflo("[" .. rec .. "," .. rec .. "]").status)
      assert.are.equal(200, amberflo(rec).status)
      local s = state().amberflo
      assert.are.equal(1, #s.events)
      assert.are.equal(2, s.duplicates)
      assert.are.equal(2, s.ingest_requests)
    end)

    it("only accepts POST on /ingest", function()
      local res = http({ url = sandbox.AMBERFLO_URL .. "/ingest", headers = { "X-API-KEY: " .. AKEY } })
      assert.are.equal(404, res.status)
      assert.are.same({ message = "no route for GET /ingest", code = "NOT_FOUND" }, res.json)
    end)
  end)

  describe("Stripe authentication", function()
    local function create(headers, user)
      return http({ method = "POST", url = sandbox.STRIPE_URL .. "/v1/invoices", body = "customer=cus_a",
                    headers = headers, user = user })
    end

    it("rejects a request without a key in Stripe's error shape", function()
      local res = create({})
      stripe_err(res, 401, "invalid_request_error", nil, nil,
                 "You did not provide an API key. You need to provide your API key in the Authorization " ..
                 "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').")
      assert.are.equal('Basic realm="Stripe"', res.headers["www-authenticate"])
      assert.are.same({}, state().stripe.invoices)
    end)

    it("accepts the key as a bearer token and rejects a wrong one, redacted", function()
      assert.are.equal(200, create({ "Authorization: Bearer " .. SKEY }).status)
      local res = create({ "Authorization: Bearer sk_test_0123456789abcdef" })
      stripe_err(res, 401, "invalid_request_error", nil, nil, "Invalid API Key provided: sk_test_************cdef")
      res = create({ "Authorization: Bearer short" })
      stripe_err(res, 401, "invalid_request_error", nil, nil, "Invalid API Key provided: *****")
      assert.are.equal(1, #state().stripe.invoices)
    end)

    it("accepts basic auth with the key as user name (base64 or raw) and rejects a wrong one", function()
      assert.are.equal(200, create(nil, SKEY .. ":").status)
      assert.are.equal(200, create({ "Authorization: Basic " .. SKEY }).status)
      local res = create(nil, "sk_test_sandbox_wrong:")
      stripe_err(res, 401, "invalid_request_error", nil, nil, "Invalid API Key provided: sk_test_*********rong")
      res = create(nil, "sk_test_sandboy:")
      stripe_err(res, 401, "invalid_request_error", nil, nil, "Invalid API Key provided: sk_test_*******")
      assert.are.equal(2, #state().stripe.invoices)
    end)

    it("rejects another scheme", function()
      local res = create({ "Authorization: Token " .. SKEY })
      stripe_err(res, 401, "invalid_request_error", nil, nil,
                 "Invalid Authorization header: use 'Bearer <secret key>' or Basic auth with the secret key " ..
                 "as the user name.")
    end)
  end)

  describe("Stripe form bodies", function()
    it("creates a draft invoice from a form body", function()
      local res = stripe("POST", "/v1/invoices", "customer=cus_a&currency=usd&auto_advance=false")
      assert.are.equal(200, res.status)
      local inv = res.json
      assert.are.equal("in_sbx_0001", inv.id)
      assert.are.equal("invoice", inv.object)
      assert.are.equal("draft", inv.status)
      assert.are.equal("cus_a", inv.customer)
      assert.are.equal("usd", inv.currency)
      assert.are.equal(false, inv.auto_advance)
      assert.are.equal(0, inv.amount_due)
      assert.are.equal(CLOCK, inv.created)
      assert.are.equal(cjson.null, inv.number)
      assert.are.same({}, inv.lines.data)
      assert.are.equal("req_sbx_0001", res.headers["request-id"])
    end)

    it("requires application/x-www-form-urlencoded", function()
      local res = stripe("POST", "/v1/invoices", '{"customer":"cus_a"}', { "Content-Type: application/json" })
      stripe_err(res, 400, "invalid_request_error", nil, nil,
                 "Invalid request: unsupported Content-Type application/json. Send application/x-www-form-urlencoded.")
      res = stripe("POST", "/v1/invoices", "customer=cus_a",
                   { "Content-Type: application/x-www-form-urlencoded; charset=utf-8" })
      assert.are.equal(200, res.status)
    end)

    it("rejects an unknown parameter with parameter_unknown", function()
      stripe_err(stripe("POST", "/v1/invoices", "customer=cus_a&customr=x"), 400, "invalid_request_error",
                 "parameter_unknown", "customr", "Received unknown parameter: customr")
      local res = stripe("POST", "/v1/invoices", "customer=cus_a&items[0][price]=p&items%5B1%5D%5Bprice%5D=q")
      stripe_err(res, 400, "invalid_request_error", "parameter_unknown", "items", "Received unknown parameter: items")
      assert.are.equal("https://stripe.com/docs/error-codes/parameter-unknown", res.json.error.doc_url)
    end)

    it("rejects a missing required parameter with parameter_missing", function()
      stripe_err(stripe("POST", "/v1/invoices", "currency=usd"), 400, "invalid_request_error",
                 "parameter_missing", "customer", "Missing required param: customer.")
      stripe_err(stripe("POST", "/v1/invoices", nil), 400, "invalid_request_error",
                 "parameter_missing", "customer", "Missing required param: customer.")
      stripe_err(stripe("POST", "/v1/invoices", "customer="), 400, "invalid_request_error",
                 "parameter_invalid_empty", "customer")
    end)

    it("accepts only true and false as booleans", function()
      assert.are.equal(true, stripe("POST", "/v1/invoices", "customer=c&auto_advance=true").json.auto_advance)
      for _, v in ipairs({ "False", "1", "yes" }) do
        stripe_err(stripe("POST", "/v1/invoices", "customer=c&auto_advance=" .. v), 400,
                   "invalid_request_error", nil, "auto_advance", "Invalid boolean: " .. v)
      end
    end)

    it("checks enumerations", function()
      assert.are.equal(200, stripe("POST", "/v1/invoices", "customer=c&pending_invoice_items_behavior=include").status)
      stripe_err(stripe("POST", "/v1/invoices", "customer=c&pending_invoice_items_behavior=all"), 400,
                 "invalid_request_error", nil, "pending_invoice_items_behavior",
                 "Invalid pending_invoice_items_behavior: must be one of exclude, include")
      stripe_err(stripe("POST", "/v1/invoices", "customer=c&collection_method=cash"), 400,
                 "invalid_request_error", nil, "collection_method",
                 "Invalid collection_method: must be one of charge_automatically, send_invoice")
    end)

    it("parses metadata in raw and percent-encoded bracket form", function()
      local res = stripe("POST", "/v1/invoices",
                         "customer=c&metadata[run]=r+1&metadata%5Bmeter%5D=api%2Dcalls&description=a+b%26c")
      assert.are.equal(200, res.status)
      assert.are.same({ run = "r 1", meter = "api-calls" }, res.json.metadata)
      assert.are.equal("a b&c", res.json.description)
    end)

    for _, case in ipairs({
      { "customer=c&metadata=x", "metadata", "Invalid hash: 'metadata' must be given as metadata[key]=value" },
      { "customer=c&metadata[a][b]=1", "metadata[a]", "Invalid metadata[a]: metadata values must be strings" },
      { "customer=c&metadata[a]b=1", nil, "Invalid parameter name: 'metadata[a]b'" },
      { "customer=c&metadata[a=1", nil, "Invalid parameter name: 'metadata[a'" },
      { "customer=c&customer=d", "customer", "Parameter 'customer' was given more than once" },
      { "customer=c&metadata[a]=1&metadata[a][b]=2", "metadata",
        "Invalid parameter 'metadata[a][b]': 'metadata[a]' is already a single value" },
      { "customer=c&metadata[]=1&metadata[x]=2", "metadata",
        "Invalid parameter 'metadata[x]': it mixes array and object forms" },
      { "customer=%zz", nil, "Invalid form encoding in 'customer': malformed percent-escape" },
      { "customer=%ff", nil, "Invalid form encoding in 'customer': percent-escapes do not decode to UTF-8" },
      { "customer=c&auto_advance", nil, "Invalid form encoding: 'auto_advance' has no '='" },
      { "customer[x]=c", "customer", "Invalid string: 'customer' must be a single value, not a hash or array" },
      { "customer=c&a[b][c][d][e][f]=1", "a", "Parameter 'a[b][c][d][e][f]' is nested too deeply" },
    }) do
      it("rejects the form " .. case[1], function()
        stripe_err(stripe("POST", "/v1/invoices", case[1]), 400, "invalid_request_error", nil, case[2], case[3])
        assert.are.same({}, state().stripe.invoices)
      end)
    end

    it("refuses parameters in the query string of a POST", function()
      stripe_err(stripe("POST", "/v1/invoices?customer=c", ""), 400, "invalid_request_error", nil, nil,
                 "Send POST parameters in the request body, not in the query string")
    end)

    it("requires days_until_due exactly when collection_method is send_invoice", function()
      local res = stripe("POST", "/v1/invoices", "customer=c&collection_method=send_invoice&days_until_due=30")
      assert.are.equal(200, res.status)
      assert.are.equal(30, res.json.days_until_due)
      res = stripe("POST", "/v1/invoices/in_sbx_0001/finalize")
      assert.are.equal(CLOCK + 30 * 86400, res.json.due_date)
      stripe_err(stripe("POST", "/v1/invoices", "customer=c&collection_method=send_invoice"), 400,
                 "invalid_request_error", "parameter_missing", "days_until_due",
                 "Missing required param: days_until_due.")
      stripe_err(stripe("POST", "/v1/invoices", "customer=c&days_until_due=30"), 400, "invalid_request_error",
                 nil, "days_until_due", "Invalid days_until_due: only allowed when collection_method is send_invoice")
    end)
  end)

  describe("Stripe invoice items", function()
    local function draft(form)
      return stripe("POST", "/v1/invoices", form or "customer=cus_a&currency=usd").json
    end

    it("adds an item to a draft invoice and bills its amount on finalize", function()
      local inv = draft()
      local res = stripe("POST", "/v1/invoiceitems", "customer=cus_a&invoice=" .. inv.id ..
                         "&amount=1234&currency=usd&description=api-calls&metadata[meter]=api-calls")
      assert.are.equal(200, res.status)
      local it = res.json
      assert.are.equal("ii_sbx_0001", it.id)
      assert.are.equal("invoiceitem", it.object)
      assert.are.equal(1234, it.amount)
      assert.are.equal(inv.id, it.invoice)
      assert.are.same({ meter = "api-calls" }, it.metadata)
      assert.are.equal(1234, stripe("GET", "/v1/invoices/" .. inv.id).json.amount_due)
      res = stripe("POST", "/v1/invoices/" .. inv.id .. "/finalize")
      assert.are.equal(200, res.status)
      assert.are.equal("open", res.json.status)
      assert.are.equal(1234, res.json.amount_due)
      assert.are.equal(1234, res.json.total)
      assert.are.equal("SBX-0001", res.json.number)
      assert.are.equal(CLOCK, res.json.status_transitions.finalized_at)
      assert.are.equal("ii_sbx_0001", res.json.lines.data[1].invoice_item)
      assert.matches('"amount_due": 1234,', res.body, 1, true)
    end)

    it("sums several items, credits included, and keeps large amounts exact", function()
      local inv = draft()
      for _, amount in ipairs({ "123456789012345", "-45", "1000" }) do
        assert.are.equal(200, stripe("POST", "/v1/invoiceitems",
                         "customer=cus_a&currency=usd&invoice=" .. inv.id .. "&amount=" .. amount).status)
      end
      local res = stripe("POST", "/v1/invoices/" .. inv.id .. "/finalize")
      assert.matches('"amount_due": 123456789013300,', res.body, 1, true)
      assert.are.equal(3, res.json.lines.total_count)
    end)

    it("computes amount from unit_amount and quantity", function()
      local inv = draft()
      local res = stripe("POST", "/v1/invoiceitems", "customer=cus_a&currency=usd&invoice=" .. inv.id ..
                         "&unit_amount=250&quantity=3")
      assert.are.equal(750, res.json.amount)
      assert.are.equal(3, res.json.quantity)
      assert.are.equal(250, res.json.unit_amount)
      assert.are.equal(1, stripe("POST", "/v1/invoiceitems", "customer=cus_a&currency=usd&unit_amount=5").json.quantity)
    end)

    for _, case in ipairs({
      { "amount=12.5", "parameter_invalid_integer", "amount", "Invalid integer: 12.5" },
      { "amount=1e3", "parameter_invalid_integer", "amount", "Invalid integer: 1e3" },
      { "amount=%2B5", "parameter_invalid_integer", "amount", "Invalid integer: +5" },
      { "amount=9223372036854775808", "parameter_invalid_integer", "amount", "Invalid integer: 9223372036854775808" },
      { "amount=" .. string.rep("1",
        5000), "parameter_invalid_integer", "amount", "Invalid integer: " .. string.rep("1", 5000) },
      { "amount=", "parameter_invalid_empty", "amount" },
      { "unit_amount=5&quantity=-1", nil, "quantity", "Invalid quantity: must be between 0 and 1000000000" },
      { "amount=5&unit_amount=5", "parameters_exclusive", "amount",
        "You may only specify one of these parameters: amount, unit_amount." },
      { "amount=5&quantity=2", "parameters_exclusive", "quantity",
        "You may only specify one of these parameters: amount, quantity." },
      { "description=x", "parameter_missing", "amount", "Missing required param: amount." },
      { "amount=5&currency=us", nil, "currency", "Invalid currency: us", true },
    }) do
      it("rejects an item with " .. case[1]:sub(1, 40), function()
        local form = "customer=cus_a&" .. case[1]
        if not case[5] then form = form .. "&currency=usd" end
        stripe_err(stripe("POST", "/v1/invoiceitems", form), 400, "invalid_request_error", case[2], case[3], case[4])
        assert.are.same({}, state().stripe.invoiceitems)
      end)
    end

    it("requires customer and currency", function()
      stripe_err(stripe("POST", "/v1/invoiceitems", "amount=5&currency=usd"), 400, "invalid_request_error",
                 "parameter_missing", "customer", "Missing required param: customer.")
      stripe_err(stripe("POST", "/v1/invoiceitems", "customer=c&amount=5"), 400, "invalid_request_error",
                 "parameter_missing", "currency", "Missing required param: currency.")
    end)

    it("refuses an unknown invoice, another customer's or currency's invoice", function()
      stripe_err(stripe("POST", "/v1/invoiceitems", "customer=cus_a&currency=usd&amount=5&invoice=in_nope"), 400,
                 "invalid_request_error", "resource_missing", "invoice", "No such invoice: 'in_nope'")
      local inv = draft()
      stripe_err(stripe("POST", "/v1/invoiceitems", "customer=cus_b&currency=usd&amount=5&invoice=" .. inv.id), 400,
                 "invalid_request_error", nil, "customer",
                 "The invoice item's customer (cus_b) must match the customer of invoice 'in_sbx_0001' (cus_a).")
      stripe_err(stripe("POST", "/v1/invoiceitems", "customer=cus_a&currency=eur&amount=5&invoice=" .. inv.id), 400,
                 "invalid_request_error", nil, "currency",
                 "The invoice item's currency (eur) must match the currency of invoice 'in_sbx_0001' (usd).")
      assert.are.same({}, state().stripe.invoiceitems)
    end)

    it("refuses an item on a finalized invoice", function()
      local inv = draft()
      assert.are.equal(200, stripe("POST", "/v1/invoices/" .. inv.id .. "/finalize").status)
      stripe_err(stripe("POST", "/v1/invoiceitems", "customer=cus_a&currency=usd&amount=5&invoice=" .. inv.id), 400,
                 "invalid_request_error", "invoice_not_editable", "invoice",
                 "You can only add invoice items to draft invoices; invoice 'in_sbx_0001' is open.")
      assert.are.equal(0, stripe("GET", "/v1/invoices/" .. inv.id).json.amount_due)
    end)

    it("leaves an item without invoice pending until an invoice includes it", function()
      local it = stripe("POST", "/v1/invoiceitems", "customer=cus_a&currency=usd&amount=700").json
      assert.are.equal(cjson.null, it.invoice)
      stripe("POST", "/v1/invoiceitems", "customer=cus_a&currency=eur&amount=9")
      stripe("POST", "/v1/invoiceitems", "customer=cus_b&currency=usd&amount=9")
      assert.are.equal(0, draft("customer=cus_a&currency=usd").amount_due)
      local inv = draft("customer=cus_a&currency=usd&pending_invoice_items_behavior=include")
      assert.are.equal(700, inv.amount_due)
      assert.are.equal(it.id, inv.lines.data[1].invoice_item)
      assert.are.equal(0, draft("customer=cus_a&currency=usd&pending_invoice_items_behavior=include").amount_due)
    end)

    it("lists items newest first, filtered by invoice, pending and limit", function()
      local inv = draft()
      stripe("POST", "/v1/invoiceitems", "customer=cus_a&currency=usd&amount=1&invoice=" .. inv.id)
      stripe("POST", "/v1/invoiceitems", "customer=cus_a&currency=usd&amount=2")
      stripe("POST", "/v1/invoiceitems", "customer=cus_a&currency=usd&amount=3&invoice=" .. inv.id)
      local res = stripe("GET", "/v1/invoiceitems?invoice=" .. inv.id)
      assert.are.equal(200, res.status)
      assert.are.equal("list", res.json.object)
      assert.are.equal("ii_sbx_0003", res.json.data[1].id)
      assert.are.equal("ii_sbx_0001", res.json.data[2].id)
      assert.are.equal(2, #res.json.data)
      assert.are.equal(false, res.json.has_more)
      res = stripe("GET", "/v1/invoiceitems?pending=true")
      assert.are.equal(1, #res.json.data)
      assert.are.equal(2, res.json.data[1].amount)
      res = stripe("GET", "/v1/invoiceitems?limit=2")
      assert.are.equal(2, #res.json.data)
      assert.are.equal(true, res.json.has_more)
    end)

    it("checks list parameters", function()
      stripe_err(stripe("GET", "/v1/invoiceitems?invoice=in_nope"), 400, "invalid_request_error",
                 "resource_missing", "invoice", "No such invoice: 'in_nope'")
      stripe_err(stripe("GET", "/v1/invoiceitems?limit=0"), 400, "invalid_request_error", nil, "limit",
                 "Invalid limit: must be between 1 and 100")
      stripe_err(stripe("GET", "/v1/invoiceitems?expand[]=data.invoice"), 400, "invalid_request_error",
                 "parameter_unknown", "expand")
    end)
  end)

  describe("Stripe finalize and retrieve", function()
    it("finalizes an empty draft to open with amount_due 0 (the seed workflow)", function()
      local inv = stripe("POST", "/v1/invoices", "customer=cus_a&currency=usd&auto_advance=false").json
      local res = stripe("POST", "/v1/invoices/" .. inv.id .. "/finalize")
      assert.are.equal(200, res.status)
      assert.are.equal("open", res.json.status)
      assert.are.equal(0, res.json.amount_due)
      assert.are.equal("open", stripe("GET", "/v1/invoices/" .. inv.id).json.status)
    end)

    it("refuses to finalize twice", function()
      local inv = stripe("POST", "/v1/invoices", "customer=cus_a").json
      assert.are.equal(200, stripe("POST", "/v1/invoices/" .. inv.id .. "/finalize").status)
      local res = stripe("POST", "/v1/invoices/" .. inv.id .. "/finalize")
      stripe_err(res, 400, "invalid_request_error", "invoice_not_editable", nil,
                 "This invoice is already finalized, you can't re-finalize a non-draft invoice.")
      assert.are.equal("SBX-0001", stripe("GET", "/v1/invoices/" .. inv.id).json.number)
    end)

    it("answers 404 resource_missing for an unknown invoice", function()
      stripe_err(stripe("POST", "/v1/invoices/in_nope/finalize"), 404, "invalid_request_error",
                 "resource_missing", "id", "No such invoice: 'in_nope'")
      stripe_err(stripe("GET", "/v1/invoices/in_nope"), 404, "invalid_request_error",
                 "resource_missing", "id", "No such invoice: 'in_nope'")
      stripe_err(stripe("GET", "/v1/invoices/in%20nope"), 404, "invalid_request_error",
                 "resource_missing", "id", "No such invoice: 'in nope'")
    end)

    it("checks finalize parameters", function()
      local inv = stripe("POST", "/v1/invoices", "customer=cus_a&auto_advance=false").json
      stripe_err(stripe("POST", "/v1/invoices/" .. inv.id .. "/finalize", "auto_advance=maybe"), 400,
                 "invalid_request_error", nil, "auto_advance", "Invalid boolean: maybe")
      stripe_err(stripe("POST", "/v1/invoices/" .. inv.id .. "/finalize", "expand[]=lines"), 400,
                 "invalid_request_error", "parameter_unknown", "expand")
      local res = stripe("POST", "/v1/invoices/" .. inv.id .. "/finalize", "auto_advance=true")
      assert.are.equal(true, res.json.auto_advance)
    end)

    it("gives deterministic ids per process and after a reset", function()
      assert.are.equal("in_sbx_0001", stripe("POST", "/v1/invoices", "customer=c").json.id)
      assert.are.equal("in_sbx_0002", stripe("POST", "/v1/invoices", "customer=c").json.id)
      assert.are.equal("ii_sbx_0001", stripe("POST", "/v1/invoiceitems", "customer=c&currency=usd&amount=1").json.id)
    end)
  end)

  describe("Stripe Idempotency-Key", function()
    local function create(key, form)
      return stripe("POST", "/v1/invoices", form or "customer=cus_a", { "Idempotency-Key: " .. key })
    end

    it("replays the first response for the same key, method, path and body", function()
      local first = create("k1")
      assert.are.equal(200, first.status)
      assert.are.equal("k1", first.headers["idempotency-key"])
      assert.is_nil(first.headers["idempotent-replayed"])
      stripe("POST", "/v1/invoiceitems", "customer=cus_a&currency=usd&amount=5&invoice=" .. first.json.id)
      local again = create("k1")
      assert.are.equal(200, again.status)
      assert.are.equal("true", again.headers["idempotent-replayed"])
      assert.are.equal(first.headers["request-id"], again.headers["original-request"])
      assert.are.equal(first.body, again.body)
      assert.are.equal(1, #state().stripe.invoices)
    end)

    it("refuses the same key with a different body or path", function()
      assert.are.equal(200, create("k2").status)
      local msg = "Keys for idempotent requests can only be used with the same parameters they were first " ..
                  "used with. Try using a key other than 'k2' if you meant to execute a different request."
      stripe_err(create("k2", "customer=cus_b"), 400, "idempotency_error", nil, nil, msg)
      stripe_err(stripe("POST", "/v1/invoiceitems", "customer=cus_a", { "Idempotency-Key: k2" }), 400,
                 "idempotency_error", nil, nil, msg)
      assert.are.equal(1, #state().stripe.invoices)
    end)

    it("does not save a response that failed parameter validation", function()
      stripe_err(create("k3", "customer=cus_a&bogus=1"), 400, "invalid_request_error", "parameter_unknown", "bogus")
      local res = create("k3")
      assert.are.equal(200, res.status)
      assert.is_nil(res.headers["idempotent-replayed"])
    end)

    it("saves an error raised while executing and replays it", function()
      local inv = stripe("POST", "/v1/invoices", "customer=cus_a").json
      stripe("POST", "/v1/invoices/" .. inv.id .. "/finalize")
      local k = { "Idempotency-Key: k4" }
      local first = stripe("POST", "/v1/invoices/" .. inv.id .. "/finalize", nil, k)
      assert.are.equal(400, first.status)
      local again = stripe("POST", "/v1/invoices/" .. inv.id .. "/finalize", nil, k)
      assert.are.equal(400, again.status)
      assert.are.equal("true", again.headers["idempotent-replayed"])
      assert.are.equal(first.body, again.body)
    end)

    it("refuses a key longer than 255 characters", function()
      stripe_err(create(string.rep("k", 256)), 400, "idempotency_error", nil, nil,
                 "Invalid Idempotency-Key: send one key of 1 to 255 characters")
      assert.are.equal(200, create(string.rep("k", 255)).status)
    end)
  end)

  describe("billing flows end to end", function()
    it("runs the seed: ingest, draft invoice, finalize to open", function()
      assert.are.equal(200, amberflo("[" .. EV .. "]").status)
      local inv = stripe("POST", "/v1/invoices", "customer=cus_a&currency=usd&auto_advance=false").json
      local fin = stripe("POST", "/v1/invoices/" .. inv.id .. "/finalize").json
      assert.are.equal("open", fin.status)
      assert.are.equal(inv.id, fin.id)
      local s = state()
      assert.are.equal(1, #s.amberflo.events)
      assert.are.equal("open", s.stripe.invoices[1].status)
    end)
  end)
end)

describe("scripts/sandbox.sh", function()
  it("starts with a state dir, dumps state.json, stops by PID and reports not running", function()
    local run, st = tmp(), tmp()
    local out, rc = sh(q(SCRIPT) .. " start --run-dir " .. q(run) .. " --state-dir " .. q(st) ..
                       " --amberflo-port 0 --stripe-port 0 --stripe-zero-paid --stripe-key sk_test_other" ..
                       " --lifetime 120")
    assert.are.equal(0, rc, out)
    local env = kv(out)
    local ok, err = pcall(function()
      local res = http({ method = "POST", url = env.STRIPE_URL .. "/v1/invoices", body = "customer=c",
                         user = "sk_test_other:" })
      assert.are.equal(200, res.status)
      res = http({ method = "POST", url = env.STRIPE_URL .. "/v1/invoices/" .. res.json.id .. "/finalize",
                   headers = { "Authorization: Bearer sk_test_other" } })
      assert.are.equal("paid", res.json.status)
      assert.are.equal(true, res.json.paid)
      local dumped = cjson.decode(helpers.readfile(st .. "/state.json"))
      assert.are.equal("paid", dumped.stripe.invoices[1].status)
    end)
    local sout, src = sh(q(SCRIPT) .. " stop --run-dir " .. q(run))
    assert(ok, err)
    assert.are.equal(0, src)
    assert.are.equal("sandbox: stopped (pid " .. env.SANDBOX_PID .. ")\n", sout)
    assert.is_false(alive(env.SANDBOX_PID))
    out, rc = sh(q(SCRIPT) .. " status --run-dir " .. q(run))
    assert.are.equal(3, rc)
    assert.are.equal("sandbox: not running\n", out)
    out, rc = sh(q(SCRIPT) .. " stop --run-dir " .. q(run))
    assert.are.equal(0, rc)
    assert.are.equal("sandbox: not running\n", out)
    assert.matches("sandbox: stopped\n$", helpers.readfile(run .. "/sandbox.log"))
    sh("rm -rf " .. q(run) .. " " .. q(st))
  end)

  it("exits by itself when its --lifetime is over", function()
    local run = tmp()
    local out, rc = sh(q(SCRIPT) .. " start --run-dir " .. q(run) ..
                       " --amberflo-port 0 --stripe-port 0 --lifetime 0.5")
    assert.are.equal(0, rc, out)
    local pid = kv(out).SANDBOX_PID
    local waited = 0
    while alive(pid) and waited < 50 do
      sh("sleep 0.1")
      waited = waited + 1
    end
    assert.is_false(alive(pid))
    assert.matches("sandbox: lifetime of 0.5 s is over\nsandbox: stopped\n$",
                   helpers.readfile(run .. "/sandbox.log"))
    out, rc = sh(q(SCRIPT) .. " status --run-dir " .. q(run))
    assert.are.equal(3, rc, out)
    sh("rm -rf " .. q(run))
  end)

  it("fails to start when a port is taken, naming the cause", function()
    local run1, run2 = tmp(), tmp()
    local out, rc = sh(q(SCRIPT) .. " start --run-dir " .. q(run1) ..
                       " --amberflo-port 0 --stripe-port 0 --lifetime 120")
    assert.are.equal(0, rc, out)
    local env = kv(out)
    local port = env.STRIPE_URL:match(":(%d+)$")
    local out2, rc2 = sh(q(SCRIPT) .. " start --run-dir " .. q(run2) ..
                         " --lifetime 120 --amberflo-port 0 --stripe-port " .. port)
    sh(q(SCRIPT) .. " stop --run-dir " .. q(run1))
    assert.are.equal(1, rc2)
    assert.matches("sandbox: did not start; last lines of .-sandbox%.log:\nsandbox: cannot listen on " ..
                   "127%.0%.0%.1: %[Errno 98%] Address already in use\n$", out2)
    local _, rc3 = sh(q(SCRIPT) .. " status --run-dir " .. q(run2))
    assert.are.equal(3, rc3)
    sh("rm -rf " .. q(run1) .. " " .. q(run2))
  end)
end)

--- Run a Python check; returns "skip" when python3 lacks a module, else output and status.
local function python(modules, code)
  local _, rc = sh("python3 -c " .. q("import " .. modules))
  if rc ~= 0 then return "skip" end
  local f = tmp()
  helpers.writefile(f, code)
  local out, prc = sh("cd " .. q(ROOT) .. " && python3 " .. q(f))
  os.remove(f)
  return out, prc
end

local STRUCTURE = [[
import yaml
a = yaml.safe_load(open("examples/billing/openapi/amberflo-metering.yaml"))
s = yaml.safe_load(open("examples/billing/openapi/stripe-invoicing.yaml"))
assert a["openapi"] == "3.1.0" and s["openapi"] == "3.1.0"
assert a["servers"][0]["url"] == "https://app.amberflo.io"
assert s["servers"][0]["url"] == "https://api.stripe.com"
ops = lambda d: {op["operationId"]: (m, p) for p, item in d["paths"].items()
                 for m, op in item.items() if m != "parameters"}
assert ops(a) == {"ingestMeterEvents": ("post", "/ingest")}, ops(a)
assert ops(s) == {"postInvoices": ("post", "/v1/invoices"),
                  "getInvoicesInvoice": ("get", "/v1/invoices/{invoice}"),
                  "postInvoicesInvoiceFinalize": ("post", "/v1/invoices/{invoice}/finalize"),
                  "getInvoiceitems": ("get", "/v1/invoiceitems"),
                  "postInvoiceitems": ("post", "/v1/invoiceitems")}, ops(s)
assert a["components"]["securitySchemes"] == {"ApiKeyAuth": {"type": "apiKey", "in": "header",
    "name": "X-API-KEY", "description": a["components"]["securitySchemes"]["ApiKeyAuth"]["description"]}}
ss = s["components"]["securitySchemes"]
assert (ss["basicAuth"]["type"], ss["basicAuth"]["scheme"]) == ("http", "basic")
assert (ss["bearerAuth"]["type"], ss["bearerAuth"]["scheme"]) == ("http", "bearer")
assert s["security"] == [{"basicAuth": []}, {"bearerAuth": []}]
for p, m in (("/v1/invoices", "post"), ("/v1/invoiceitems", "post")):
    form = s["paths"][p][m]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert form["encoding"]["metadata"] == {"style": "deepObject", "explode": True}
inv = s["components"]["schemas"]["invoice"]
for k in ("id", "object", "status", "customer", "currency", "amount_due", "total", "lines"):
    assert k in inv["properties"] and k in inv["required"], k
body = a["paths"]["/ingest"]["post"]["requestBody"]["content"]["application/json"]["schema"]
assert len(body["oneOf"]) == 2
rec = a["components"]["schemas"]["MeterRecord"]
assert rec["properties"]["meterTimeInMillis"]["type"] == "integer"
print("ok")
]]

local CONFORMANCE = [[
import json, sys, yaml, jsonschema
docs = {"amberflo": yaml.safe_load(open("examples/billing/openapi/amberflo-metering.yaml")),
        "stripe": yaml.safe_load(open("examples/billing/openapi/stripe-invoicing.yaml"))}
bad = 0
for line in open(sys.argv[1]):
    service, ref, text = line.rstrip("\n").split("\t", 2)
    schema = {"$ref": ref, "components": docs[service]["components"]}
    for err in jsonschema.Draft202012Validator(schema).iter_errors(json.loads(text)):
        bad += 1
        print(service, ref, list(err.absolute_path), err.message)
print("ok" if not bad else "fail")
]]

describe("OpenAPI descriptions", function()
  it("declare the operations, servers, security schemes and form encodings the examples use", function()
    local out, rc = python("yaml", STRUCTURE)
    if out == "skip" then return pending("python3 has no yaml module") end
    assert.are.equal(0, rc, out)
    assert.are.equal("ok\n", out)
  end)

  it("are valid OpenAPI 3.1 (openapi-spec-validator)", function()
    local out, rc = python("yaml, openapi_spec_validator", [[
import yaml
from openapi_spec_validator import validate
for f in ("amberflo-metering.yaml", "stripe-invoicing.yaml"):
    validate(yaml.safe_load(open("examples/billing/openapi/" + f)))
print("ok")
]])
    if out == "skip" then return pending("python3 has no openapi_spec_validator module") end
    assert.are.equal(0, rc, out)
    assert.are.equal("ok\n", out)
  end)

  it("match what the sandbox answers (jsonschema)", function()
    local _, have = sh("python3 -c " .. q("import yaml, jsonschema"))
    if have ~= 0 then return pending("python3 has no yaml or jsonschema module") end
    local run = tmp()
    local out, rc = sh(q(SCRIPT) .. " start --run-dir " .. q(run) ..
                       " --amberflo-port 0 --stripe-port 0 --lifetime 120")
    assert.are.equal(0, rc, out)
    sandbox.AMBERFLO_URL, sandbox.STRIPE_URL = kv(out).AMBERFLO_URL, kv(out).STRIPE_URL
    local ok, err = pcall(function()
      local lines = {}
      local function add(service, ref, res)
        lines[#lines + 1] = service .. "\t#/components/" .. ref .. "\t" .. res.body:gsub("\n", " ")
      end
      add("amberflo", "schemas/MeterRecordBatch", { body = "[" .. EV .. "]" })
      add("amberflo", "schemas/Error", amberflo("[]"))
      local inv = stripe("POST", "/v1/invoices", "customer=cus_a&metadata[k]=v")
      add("stripe", "schemas/invoice", inv)
      add("stripe", "schemas/invoiceitem", stripe("POST", "/v1/invoiceitems",
          "customer=cus_a&currency=usd&amount=5&description=d&invoice=" .. inv.json.id))
      add("stripe", "schemas/invoiceitem", stripe("POST", "/v1/invoiceitems", "customer=cus_a&currency=usd&amount=5"))
      add("stripe", "schemas/invoice", stripe("POST", "/v1/invoices/" .. inv.json.id .. "/finalize"))
      add("stripe", "schemas/invoice", stripe("GET", "/v1/invoices/" .. inv.json.id))
      add("stripe", "schemas/invoiceitem_list", stripe("GET", "/v1/invoiceitems"))
      add("stripe", "schemas/error", stripe("POST", "/v1/invoices", "amount=1.5"))
      add("stripe", "schemas/error", stripe("GET", "/v1/invoices/in_nope"))
      local f = tmp()
      helpers.writefile(f, table.concat(lines, "\n") .. "\n")
      local pf = tmp()
      helpers.writefile(pf, CONFORMANCE)
      local res, prc = sh("cd " .. q(ROOT) .. " && python3 " .. q(pf) .. " " .. q(f))
      os.remove(f); os.remove(pf)
      assert.are.equal(0, prc, res)
      assert.are.equal("ok\n", res)
    end)
    sh(q(SCRIPT) .. " stop --run-dir " .. q(run))
    sh("rm -rf " .. q(run))
    assert(ok, err)
  end)
end)
