-- http_spec.lua: core.http_client / client:request against the loopback test
-- server (spec/support/testserver.py). No test talks to anything but 127.0.0.1.
local core = require "arazzo.core"
local server = require "support.server"
local cjson = require "cjson" -- only to read the echo server's JSON replies

local SCRIPT = "spec/support/testserver.py"

--- Decode an /echo reply; asserts it is one.
local function echo(res, err)
  assert(res, err)
  assert.equal(200, res.status)
  return cjson.decode(res.body)
end

--- Values of request header name (case-insensitive) seen by the echo server.
local function seen(e, name)
  local out = {}
  for _, kv in ipairs(e.headers) do
    if kv[1]:lower() == name:lower() then out[#out + 1] = kv[2] end
  end
  return out
end

--- Wall-clock seconds, better than os.time when available (LuaJIT/5.4 both
--- lack one; use the date command once per call instead).
local function now()
  local p = io.popen("date +%s.%N")
  local t = tonumber(p:read("*l"))
  p:close()
  return t
end

--- Run a Lua snippet in a child interpreter (same VM kind, same cpath) with
--- extra environment assignments; returns its stdout.
local function child(env, code)
  local lua = rawget(_G, "jit") and "luajit" or "lua5.4"
  local pre = "package.cpath = " .. string.format("%q", package.cpath) .. "; "
  local cmd = "env -u http_proxy -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY -u no_proxy -u NO_PROXY "
    .. env .. " " .. lua .. " -e " .. server.quote(pre .. code) .. " 2>&1"
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end

describe("arazzo.http", function()
  local srv
  setup(function() srv = server.start(SCRIPT) end)
  teardown(function() server.stop(srv) end)

  describe("http_version", function()
    it("returns the libcurl version and the full version text", function()
      local v, full = core.http_version()
      assert.matches("^%d+%.%d+%.%d+", v)
      assert.matches("^libcurl/" .. v:gsub("%.", "%%."), full)
    end)
  end)

  describe("http_client options", function()
    it("accepts no options, an empty table and every documented option", function()
      assert.equal("userdata", type(core.http_client()))
      assert.equal("userdata", type(core.http_client({})))
      local c = core.http_client { user_agent = "ua/1", max_body = 10, connect_timeout = 1,
        max_redirects = 2, verify = true, ca_file = "/dev/null", proxy = "" }
      assert.matches("^arazzo%.http%.Client: ", tostring(c))
    end)

    it("raises on unknown options and bad values", function()
      assert.has_error(function() core.http_client { max_bodyy = 1 } end,
        "http_client: unknown option 'max_bodyy'")
      assert.has_error(function() core.http_client { max_body = 0 } end,
        "http_client: max_body: integer from 1 to 2^40 expected")
      assert.has_error(function() core.http_client { max_body = 1.5 } end,
        "http_client: max_body: integer from 1 to 2^40 expected")
      assert.has_error(function() core.http_client { max_redirects = -1 } end,
        "http_client: max_redirects: integer from 0 to 1000 expected")
      assert.has_error(function() core.http_client { connect_timeout = 0 } end,
        "http_client: connect_timeout: seconds must be > 0 and <= 2592000")
      assert.has_error(function() core.http_client { connect_timeout = "1" } end,
        "http_client: connect_timeout: number expected, got string")
      assert.has_error(function() core.http_client { verify = 1 } end,
        "http_client: verify: boolean expected, got number")
      assert.has_error(function() core.http_client { user_agent = "a\r\nX-Evil: 1" } end,
        "http_client: user_agent: contains CR, LF or NUL")
      assert.has_error(function() core.http_client { proxy = 1 } end,
        "http_client: proxy: string expected, got number")
      assert.has_error(function() core.http_client { [1] = true } end,
        "http_client: option names must be strings")
      assert.has_error(function() core.http_client("x") end)
    end)

    it("sends the default user agent arazzo/<version>, or the configured one", function()
      local e = echo(core.http_client():request { url = srv.url .. "/echo" })
      assert.same({ "arazzo/" .. core._VERSION }, seen(e, "User-Agent"))
      e = echo(core.http_client { user_agent = "billing/2" }:request { url = srv.url .. "/echo" })
      assert.same({ "billing/2" }, seen(e, "User-Agent"))
    end)
  end)

  describe("request", function()
    local c
    before_each(function() c = core.http_client() end)
    after_each(function() c:close() end)

    it("returns status, lower-case headers, body, url, http_version and time", function()
      local res = assert(c:request { url = srv.url .. "/echo?a=1&b=x%20y" })
      assert.equal(200, res.status)
      if math.type then assert.equal("integer", math.type(res.status)) end
      assert.equal("application/json", res.headers["content-type"])
      assert.equal(tostring(#res.body), res.headers["content-length"])
      assert.equal(srv.url .. "/echo?a=1&b=x%20y", res.url)
      assert.equal("1.1", res.http_version)
      assert.is_true(res.time >= 0 and res.time < 5)
      local e = cjson.decode(res.body)
      assert.equal("GET", e.method)
      assert.same({ a = "1", b = "x y" }, e.query)
      assert.equal(0, e.body_len)
      assert.same({}, seen(e, "Content-Length"))
    end)

    it("keeps the connection alive across requests (same client port)", function()
      local p1 = echo(c:request { url = srv.url .. "/echo" }).client_port
      assert.equal(404, c:request { url = srv.url .. "/nope" }.status)
      local p2 = echo(c:request { url = srv.url .. "/echo", method = "POST", body = "x" }).client_port
      local p3 = echo(c:request { url = srv.url .. "/echo", method = "HEAD" } and
        c:request { url = srv.url .. "/echo" }).client_port
      assert.equal(p1, p2)
      assert.equal(p1, p3)
      local other = core.http_client()
      assert.are_not.equal(p1, echo(other:request { url = srv.url .. "/echo" }).client_port)
      other:close()
    end)

    it("sends every method; POST/PUT/PATCH without a body send Content-Length: 0", function()
      for _, m in ipairs { "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE", "get" } do
        local e = echo(c:request { method = m, url = srv.url .. "/echo" })
        assert.equal(m, e.method)
        local expect = (m == "POST" or m == "PUT" or m == "PATCH") and { "0" } or {}
        assert.same(expect, seen(e, "Content-Length"), m)
        assert.same({}, seen(e, "Content-Type"), m)
      end
    end)

    it("sends a body with any method, exactly", function()
      for _, m in ipairs { "POST", "PUT", "PATCH", "DELETE", "GET", "REPORT" } do
        local e = echo(c:request { method = m, url = srv.url .. "/echo", body = "payload " .. m })
        assert.equal(m, e.method)
        assert.equal("payload " .. m, e.body)
        assert.same({ tostring(#("payload " .. m)) }, seen(e, "Content-Length"))
      end
    end)

    it("sends HEAD without a body and returns the headers", function()
      local res = assert(c:request { method = "HEAD", url = srv.url .. "/echo" })
      assert.equal(200, res.status)
      assert.equal("", res.body)
      assert.is_true(tonumber(res.headers["content-length"]) > 0)
      -- the next GET on the same handle gets its body again
      local e = echo(c:request { url = srv.url .. "/echo" })
      assert.equal("GET", e.method)
    end)

    it("does not turn a GET after a POST into a POST", function()
      echo(c:request { method = "POST", url = srv.url .. "/echo", body = "abc" })
      local e = echo(c:request { url = srv.url .. "/echo" })
      assert.equal("GET", e.method)
      assert.equal(0, e.body_len)
      e = echo(c:request { method = "DELETE", url = srv.url .. "/echo" })
      assert.equal("DELETE", e.method)
      assert.equal(0, e.body_len)
    end)

    it("round-trips binary bodies byte for byte (NULs, all 256 values)", function()
      local t = {}
      for i = 0, 255 do t[#t + 1] = string.char(i) end
      local bin = table.concat(t) .. "\0\0end\0"
      local res = assert(c:request { method = "POST", url = srv.url .. "/raw", body = bin,
        headers = { ["Content-Type"] = "application/octet-stream" } })
      assert.equal(#bin, #res.body)
      assert.is_true(bin == res.body)
      assert.equal("application/octet-stream", res.headers["content-type"])
    end)

    it("sends large bodies at once, without Expect: 100-continue", function()
      local big = string.rep("0123456789", 200000) -- 2 MB
      local res = assert(c:request { method = "PUT", url = srv.url .. "/raw", body = big })
      assert.is_true(big == res.body)
      assert.is_true(res.time < 0.9) -- curl's 100-continue wait alone is 1 s
      local e = echo(c:request { method = "POST", url = srv.url .. "/echo", body = big })
      assert.same({}, seen(e, "Expect"))
      assert.equal(#big, e.body_len)
    end)

    it("never adds a Content-Type of its own; keeps the caller's", function()
      local e = echo(c:request { method = "POST", url = srv.url .. "/echo", body = "a=1" })
      assert.same({}, seen(e, "Content-Type"))
      e = echo(c:request { method = "POST", url = srv.url .. "/echo", body = "a=1",
        headers = { ["content-type"] = "application/x-www-form-urlencoded" } })
      assert.same({ "application/x-www-form-urlencoded" }, seen(e, "Content-Type"))
    end)

    it("sends headers given as an ordered array, repeats included", function()
      local e = echo(c:request { url = srv.url .. "/echo", headers = {
        { "X-B", "2" }, { "X-A", "1" }, { "X-Rep", "one" }, { "X-Rep", "two" }, { "X-Empty", "" },
        { "X-Num", 42 } } })
      local names = {}
      for _, kv in ipairs(e.headers) do
        if kv[1]:match("^X%-") then names[#names + 1] = kv[1] .. "=" .. kv[2] end
      end
      assert.same({ "X-B=2", "X-A=1", "X-Rep=one", "X-Rep=two", "X-Empty=", "X-Num=42" }, names)
    end)

    it("sends headers given as a map, in recorded key order", function()
      local h = { ["X-Z"] = "z", ["X-Y"] = "y", Authorization = "Bearer s3cret" }
      core.setorder(h, { "X-Z", "Authorization", "X-Y" })
      local e = echo(c:request { url = srv.url .. "/echo", headers = h })
      local names = {}
      for _, kv in ipairs(e.headers) do
        if kv[1]:match("^X%-") or kv[1] == "Authorization" then names[#names + 1] = kv[1] end
      end
      assert.same({ "X-Z", "Authorization", "X-Y" }, names)
      assert.same({ "Bearer s3cret" }, seen(e, "Authorization"))
      e = echo(c:request { url = srv.url .. "/echo", headers = { Accept = "application/json" } })
      assert.same({ "application/json" }, seen(e, "Accept"))
    end)

    it("refuses header values with CR, LF or NUL before sending, naming only the header", function()
      for _, v in ipairs { "a\r\nX-Injected: 1", "a\nb", "a\rb", "sec\0ret" } do
        local res, err, code = c:request { method = "POST", url = "http://127.0.0.1:1/x?k=v",
          headers = { { "X-Token", v } } }
        assert.is_nil(res)
        -- port 1 is closed: had anything been sent we would see "connection refused"
        assert.equal("POST http://127.0.0.1:1/x?...: header 'X-Token' value contains CR, LF or NUL", err)
        assert.equal("http", code)
        assert.is_nil(err:find("ret", 1, true))
      end
      local _, err = c:request { url = srv.url .. "/echo", headers = { ["X-Key"] = "s3cret\r\n" } }
      assert.equal("GET " .. srv.url .. "/echo: header 'X-Key' value contains CR, LF or NUL", err)
    end)

    it("refuses invalid header names and transport-managed headers", function()
      local cases = {
        { { "Bad Name", "v" }, "header 'Bad Name' has an invalid name" },
        { { "X\r\nY", "v" }, "header 'X\\x0d\\x0aY' has an invalid name" },
        { { "", "v" }, "header '' has an invalid name" },
        { { "X:Y", "v" }, "header 'X:Y' has an invalid name" },
        { { "Content-Length", "5" }, "header 'Content-Length' is set by the transport" },
        { { "transfer-encoding", "chunked" }, "header 'transfer-encoding' is set by the transport" },
      }
      for _, case in ipairs(cases) do
        local res, err, code = c:request { url = srv.url .. "/echo", headers = { case[1] } }
        assert.is_nil(res)
        assert.equal("GET " .. srv.url .. "/echo: " .. case[2], err)
        assert.equal("http", code)
      end
      -- the client stays usable
      echo(c:request { url = srv.url .. "/echo" })
    end)

    it("refuses a bad method, a bad url and a HEAD body", function()
      local res, err, code = c:request { method = "GE T", url = srv.url .. "/echo" }
      assert.is_nil(res)
      assert.equal("GE T " .. srv.url .. "/echo: invalid method", err)
      assert.equal("http", code)
      res, err, code = c:request { method = "GET\r\n", url = srv.url .. "/echo" }
      assert.is_nil(res)
      assert.equal("GET\\x0d\\x0a " .. srv.url .. "/echo: invalid method", err)
      assert.equal("http", code)
      res, err = c:request { method = "", url = srv.url .. "/echo" }
      assert.is_nil(res)
      assert.equal(" " .. srv.url .. "/echo: invalid method", err)
      res, err, code = c:request { url = "http://exa mple.com/" }
      assert.is_nil(res)
      assert.equal("GET http://exa mple.com/: malformed url", err)
      assert.equal("http", code)
      res, err = c:request { url = "http://127.0.0.1/\0x" }
      assert.is_nil(res)
      assert.equal("GET http://127.0.0.1/\\x00x: malformed url", err)
      res, err = c:request { url = srv.url .. "/echo\r\nX: y" }
      assert.is_nil(res)
      assert.equal("GET " .. srv.url .. "/echo\\x0d\\x0aX: y: malformed url", err)
      res, err = c:request { method = "HEAD", url = srv.url .. "/echo", body = "x" }
      assert.is_nil(res)
      assert.equal("HEAD " .. srv.url .. "/echo: a HEAD request cannot have a body", err)
    end)

    it("only speaks http and https", function()
      for _, u in ipairs { "file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1/",
                           "127.0.0.1:" .. srv.port .. "/echo", "" } do
        local res, err, code = c:request { url = u }
        assert.is_nil(res)
        assert.equal("GET " .. u .. ": url scheme must be http or https", err)
        assert.equal("http", code)
      end
      echo(c:request { url = "HTTP://127.0.0.1:" .. srv.port .. "/echo" })
    end)

    it("raises on malformed request tables", function()
      assert.has_error(function() c:request() end)
      assert.has_error(function() c:request { method = "GET" } end, "request: url: string expected, got nil")
      assert.has_error(function() c:request { url = 1 } end, "request: url: string expected, got number")
      assert.has_error(function() c:request { url = srv.url, bodyy = "x" } end, "request: unknown field 'bodyy'")
      assert.has_error(function() c:request { url = srv.url, body = {} } end,
        "request: body: string expected, got table")
      assert.has_error(function() c:request { url = srv.url, headers = "x" } end,
        "request: headers: table expected, got string")
      assert.has_error(function() c:request { url = srv.url, headers = { { "X" } } } end,
        "request: headers[1]: {name, value} strings expected")
      assert.has_error(function() c:request { url = srv.url, headers = { { "A", "1" }, "B" } } end,
        "request: headers[2]: {name, value} expected")
      assert.has_error(function() c:request { url = srv.url, headers = { X = true } } end,
        "request: headers['X']: string expected, got boolean")
      assert.has_error(function() c:request { url = srv.url, timeout = 0 } end,
        "request: timeout: seconds must be > 0 and <= 2592000")
      assert.has_error(function() c:request { url = srv.url, timeout = 0 / 0 } end,
        "request: timeout: seconds must be > 0 and <= 2592000")
      assert.has_error(function() c:request { url = srv.url, connect_timeout = "1" } end,
        "request: connect_timeout: number expected, got string")
      assert.has_error(function() c:request { [1] = srv.url } end, "request: field names must be strings")
    end)

    it("returns 4xx and 5xx as responses, not errors", function()
      for _, s in ipairs { 204, 400, 404, 418, 500, 503 } do
        local res, err = c:request { url = srv.url .. "/status/" .. s }
        assert.is_nil(err)
        assert.equal(s, res.status)
        assert.equal("", res.body)
      end
    end)

    it("joins repeated response headers; set-cookie with newlines; trims values", function()
      local res = assert(c:request { url = srv.url .. "/headers" })
      assert.equal("a, b", res.headers["x-multi"])
      assert.equal("a=1; Path=/\nb=2", res.headers["set-cookie"])
      assert.equal("padded value", res.headers["x-spaced"])
      assert.is_nil(res.headers["X-Multi"])
    end)

    it("joins obs-fold continuation lines with a space and keeps empty values", function()
      local res = assert(c:request { url = srv.url .. "/folded" })
      assert.equal("first second third, again", res.headers["x-fold"])
      assert.equal("", res.headers["x-empty"])
      assert.equal("ok", res.body)
    end)

    it("caps the response header block at 256 KiB", function()
      local res = assert(c:request { url = srv.url .. "/many-headers?n=200" })
      assert.equal(string.rep("v", 1000), res.headers["x-h199"])
      local r2, err, code = c:request { url = srv.url .. "/many-headers?n=300" }
      assert.is_nil(r2)
      assert.equal("GET " .. srv.url .. "/many-headers?...: response headers exceed 262144 bytes", err)
      assert.equal("http", code)
      assert.equal(200, assert(c:request { url = srv.url .. "/echo" }).status)
    end)

    it("reports a truncated body and a hang-up as http errors", function()
      local res, err, code = c:request { url = srv.url .. "/truncated" }
      assert.is_nil(res)
      assert.equal("GET " .. srv.url .. "/truncated: transfer closed with 5 bytes remaining to read", err)
      assert.equal("http", code)
      res, err, code = c:request { url = srv.url .. "/hangup" }
      assert.is_nil(res)
      assert.equal("GET " .. srv.url .. "/hangup: empty reply from server", err)
      assert.equal("http", code)
      assert.equal(200, assert(c:request { url = srv.url .. "/echo" }).status)
    end)

    it("reads Retry-After from a 429", function()
      local res = assert(c:request { url = srv.url .. "/retry-after?value=120" })
      assert.equal(429, res.status)
      assert.equal("120", res.headers["retry-after"])
    end)

    it("keeps only the final response's headers after a 1xx", function()
      local res = assert(c:request { url = srv.url .. "/early" })
      assert.equal(200, res.status)
      assert.equal("final", res.body)
      assert.is_nil(res.headers.link)
      assert.equal("5", res.headers["content-length"])
    end)

    it("decodes gzip responses", function()
      local res = assert(c:request { url = srv.url .. "/gzip" })
      assert.equal(string.rep("hello, gzip world\n", 4), res.body)
      assert.equal("gzip", res.headers["content-encoding"])
      local e = echo(c:request { url = srv.url .. "/echo" })
      assert.matches("gzip", seen(e, "Accept-Encoding")[1])
    end)
  end)

  describe("marshalling on a reused client", function()
    local c
    before_each(function() c = core.http_client() end)
    after_each(function() c:close() end)

    --- "Name=value" of the X- headers the echo server saw, in wire order.
    local function xs(e)
      local out = {}
      for _, kv in ipairs(e.headers) do
        if kv[1]:match("^[Xx]%-") then out[#out + 1] = kv[1] .. "=" .. kv[2] end
      end
      return out
    end

    it("sends a map without recorded order in bytewise name order; non-string keys are ignored", function()
      local h = { ["X-b"] = "1", ["X-B"] = "2", ["X-AB"] = "3", ["X-A"] = "4", ["X-A1"] = 5, ["x-a"] = "6",
        [7] = "ignored", [true] = "ignored" }
      for _ = 1, 2 do
        local e = echo(c:request { url = srv.url .. "/echo", headers = h })
        assert.same({ "X-A=4", "X-A1=5", "X-AB=3", "X-B=2", "X-b=1", "x-a=6" }, xs(e))
      end
      assert.same(h, { ["X-b"] = "1", ["X-B"] = "2", ["X-AB"] = "3", ["X-A"] = "4", ["X-A1"] = 5, ["x-a"] = "6",
        [7] = "ignored", [true] = "ignored" }) -- the caller's table is left alone
    end)

    it("orders maps of 32 names and of more the same way", function()
      for _, n in ipairs { 32, 33, 60 } do
        local h, want = {}, {}
        for i = 1, n do h[string.format("X-K%02d", n + 1 - i)] = i end
        for i = 1, n do want[i] = string.format("X-K%02d=%d", i, n + 1 - i) end
        assert.same(want, xs(echo(c:request { url = srv.url .. "/echo", headers = h })))
      end
    end)

    it("reports the first bad map entry in name order, and numbers before it are fine", function()
      for _ = 1, 3 do
        local res, err, code = c:request { url = srv.url .. "/echo",
          headers = { ["Z Bad"] = "1", ["A-Num"] = 1, ["B Bad"] = "2", ["M-Ok"] = "3" } }
        assert.is_nil(res)
        assert.equal("GET " .. srv.url .. "/echo: header 'B Bad' has an invalid name", err)
        assert.equal("http", code)
      end
      local h = { ["X-0 bad"] = "v" }
      for i = 1, 40 do h["X-" .. i] = "v" end
      local _, err = c:request { url = srv.url .. "/echo", headers = h }
      assert.equal("GET " .. srv.url .. "/echo: header 'X-0 bad' has an invalid name", err)
      assert.has_error(function() c:request { url = srv.url, headers = { B = {}, A = true } } end,
        "request: headers['A']: string expected, got boolean")
      h = { A = true }
      for i = 1, 40 do h["X-" .. i] = "v" end
      assert.has_error(function() c:request { url = srv.url, headers = h } end,
        "request: headers['A']: string expected, got boolean")
      assert.same({ "X-A=1", "X-B=ok" }, xs(echo(c:request { url = srv.url .. "/echo",
        headers = { ["X-B"] = "ok", ["X-A"] = 1 } })))
    end)

    it("refuses header names outside ASCII tokens", function()
      for _, name in ipairs { "X-Caf\xe9", "X-\x7f", "X-\x80" } do
        local _, err = c:request { url = srv.url .. "/echo", headers = { { name, "1" } } }
        local shown = name:gsub("[\x7f-\xff]", function(ch) return string.format("\\x%02x", ch:byte()) end)
        assert.equal("GET " .. srv.url .. "/echo: header '" .. shown .. "' has an invalid name", err)
      end
    end)

    it("names an unknown request field by its exact bytes", function()
      assert.has_error(function() c:request { url = srv.url, ["url\0x"] = "y" } end,
        "request: unknown field 'url\\x00x'")
      assert.has_error(function() c:request { url = srv.url, URL = "y" } end, "request: unknown field 'URL'")
    end)

    it("raises when request is called on something that is not a client", function()
      for _, v in ipairs { {}, io.stdout, 1 } do
        local ok, err = pcall(c.request, v, { url = srv.url .. "/echo" })
        assert.is_false(ok)
        assert.matches("arazzo%.http%.Client expected, got ", err)
      end
    end)

    it("sets each request's method and body afresh on the reused handle", function()
      local seq = { { "HEAD" }, { "POST", "p" }, { "DELETE" }, { "GET" }, { "PATCH", "x" }, { "HEAD" }, { "PUT" },
        { "GET", "b" }, { "POST" }, { "OPTIONS" }, { "GET" }, { "HEAD" }, { "POST" } }
      for _, s in ipairs(seq) do
        local res = assert(c:request { method = s[1], url = srv.url .. "/echo", body = s[2] })
        assert.equal(200, res.status)
        if s[1] == "HEAD" then
          assert.equal("", res.body)
        else
          local e = cjson.decode(res.body)
          assert.equal(s[1], e.method)
          assert.equal(s[2] or "", e.body)
          local sends = s[2] or s[1] == "POST" or s[1] == "PUT" or s[1] == "PATCH"
          assert.same(sends and { tostring(#(s[2] or "")) } or {}, seen(e, "Content-Length"))
        end
      end
    end)

    it("applies each request's own timeout on the reused handle", function()
      local res, _, code = c:request { url = srv.url .. "/slow?ms=600", timeout = 0.2 }
      assert.is_nil(res)
      assert.equal("timeout", code)
      res = assert(c:request { url = srv.url .. "/slow?ms=600", timeout = 5 })
      assert.equal("slow", res.body)
      res, _, code = c:request { url = srv.url .. "/slow?ms=600", timeout = 0.2 }
      assert.is_nil(res)
      assert.equal("timeout", code)
    end)

    it("reports the effective url: the request's own, or libcurl's normalised form", function()
      local u = srv.url .. "/echo?q=1"
      local res = assert(c:request { url = u })
      assert.equal(u, res.url)
      res = assert(c:request { url = "http://127.0.0.1:" .. srv.port })
      assert.equal("http://127.0.0.1:" .. srv.port .. "/", res.url)
      res = assert(c:request { url = "HTTP://127.0.0.1:" .. srv.port .. "/echo" })
      assert.equal(200, res.status)
      assert.equal("string", type(res.url))
    end)

    it("returns each response's own header names and values when responses alternate", function()
      local long = string.rep("y", 100)
      local cases = {
        { "X-A=1&X-B=two", { ["x-a"] = "1", ["x-b"] = "two" } },
        { "X-B=1&X-A=" .. long, { ["x-b"] = "1", ["x-a"] = long } },
        { "X-A=1&X-B=three", { ["x-a"] = "1", ["x-b"] = "three" } },
        { "X-A=1&X-A=2&X-C=", { ["x-a"] = "1, 2", ["x-c"] = "" } },
        { "Set-Cookie=a%3D1&X-B=1&Set-Cookie=b%3D2", { ["set-cookie"] = "a=1\nb=2", ["x-b"] = "1" } },
      }
      for _ = 1, 3 do
        for _, case in ipairs(cases) do
          local res = assert(c:request { url = srv.url .. "/set-headers?" .. case[1] })
          assert.equal("s", res.body)
          local got = {}
          for k, v in pairs(res.headers) do
            if k:match("^x%-") or k == "set-cookie" then got[k] = v end
          end
          assert.same(case[2], got)
          assert.equal("1", res.headers["content-length"])
        end
      end
    end)

    it("keeps no Set-Cookie value beyond its response (internal string cache)", function()
      local res = assert(c:request { url = srv.url .. "/set-headers?Set-Cookie=sid%3Ds3cret&X-A=visible" })
      assert.equal("sid=s3cret", res.headers["set-cookie"])
      local found = {}
      for i = 1, 255 do
        local name, v = debug.getupvalue(c.request, i)
        if name == nil then break end
        if type(v) == "table" then
          for _, s in pairs(v) do
            if type(s) == "string" then found[s] = true end
          end
        end
      end
      local cached = found["visible"] == true
      assert.is_true(cached) -- the cache is where this test looks
      assert.is_nil(found["sid=s3cret"])
    end)

    it("joins repeats after more names than it remembers, and caches no more lines than it can", function()
      local q, want = {}, {}
      for i = 0, 39 do
        q[#q + 1] = string.format("X-H%02d=%d", i, i)
        want[string.format("x-h%02d", i)] = tostring(i)
      end
      q[#q + 1] = "X-H00=again"
      q[#q + 1] = "X-H39=again"
      q[#q + 1] = "Set-Cookie=a%3D1"
      q[#q + 1] = "Set-Cookie=b%3D2"
      want["x-h00"] = "0, again"
      want["x-h39"] = "39, again"
      want["set-cookie"] = "a=1\nb=2"
      for round = 1, 2 do
        local res = assert(c:request { url = srv.url .. "/set-headers?" .. table.concat(q, "&") })
        local got = {}
        for k, v in pairs(res.headers) do
          if k:match("^x%-") or k == "set-cookie" then got[k] = v end
        end
        assert.same(want, got)
        q[1], want["x-h00"] = "X-H00=changed" .. round, "changed" .. round .. ", again"
      end
    end)
  end)

  describe("limits", function()
    it("caps the body at max_body (Content-Length known up front)", function()
      local c = core.http_client { max_body = 1000 }
      local res = assert(c:request { url = srv.url .. "/big?bytes=1000" })
      assert.equal(1000, #res.body)
      local r2, err, code = c:request { url = srv.url .. "/big?bytes=1001" }
      assert.is_nil(r2)
      assert.equal("GET " .. srv.url .. "/big?...: response body exceeds max_body (1000 bytes)", err)
      assert.equal("too_large", code)
      assert.equal(1000, #assert(c:request { url = srv.url .. "/big?bytes=1000" }).body)
      c:close()
    end)

    it("caps decoded gzip bodies (gzip bomb) in the write callback", function()
      local c = core.http_client { max_body = 100000 }
      local res, err, code = c:request { url = srv.url .. "/gzip?bytes=5000000" }
      assert.is_nil(res)
      assert.equal("GET " .. srv.url .. "/gzip?...: response body exceeds max_body (100000 bytes)", err)
      assert.equal("too_large", code)
      res = assert(core.http_client():request { url = srv.url .. "/gzip?bytes=5000000" })
      assert.equal(5000000, #res.body)
      assert.is_nil(res.body:find("[^%z]"))
    end)

    it("times out a slow response (total timeout), then works again", function()
      local c = core.http_client()
      assert(c:request { url = srv.url .. "/echo" })
      local t0 = now()
      local res, err, code = c:request { url = srv.url .. "/slow?ms=3000", timeout = 0.2 }
      assert.is_nil(res)
      assert.equal("GET " .. srv.url .. "/slow?...: timed out (limit 200 ms)", err)
      assert.equal("timeout", code)
      assert.is_true(now() - t0 < 2)
      assert.equal("slow", assert(c:request { url = srv.url .. "/slow?ms=10" }).body)
      c:close()
    end)

    it("times out a connect that gets no answer (request and client setting)", function()
      local hole = server.start(SCRIPT, { "--blackhole" })
      finally(function() server.stop(hole) end)
      local t0 = now()
      local res, err, code = core.http_client():request { url = hole.url .. "/x", connect_timeout = 0.3 }
      assert.is_nil(res)
      assert.equal("GET " .. hole.url .. "/x: connect timed out (limit 300 ms)", err)
      assert.equal("timeout", code)
      res, err, code = core.http_client { connect_timeout = 0.25 }:request { url = hole.url .. "/y" }
      assert.is_nil(res)
      assert.equal("GET " .. hole.url .. "/y: connect timed out (limit 250 ms)", err)
      assert.equal("timeout", code)
      -- a total timeout shorter than the connect timeout wins
      res, err = core.http_client():request { url = hole.url .. "/z", timeout = 0.2 }
      assert.is_nil(res)
      assert.equal("GET " .. hole.url .. "/z: connect timed out (limit 200 ms)", err)
      assert.is_true(now() - t0 < 4)
    end)

    it("reports a refused connection without userinfo or query", function()
      local res, err, code = core.http_client():request {
        method = "POST", url = "http://user:pa55@127.0.0.1:1/x?api_key=k3y#frag", body = "b" }
      assert.is_nil(res)
      assert.equal("POST http://127.0.0.1:1/x?...: connection refused", err)
      assert.equal("connect", code)
      res, err = core.http_client():request { url = "http://127.0.0.1:1/x#frag" }
      assert.is_nil(res)
      assert.equal("GET http://127.0.0.1:1/x: connection refused", err)
    end)

    it("reports an unresolvable host", function()
      local res, err, code = core.http_client():request { url = "http://no-such-host.invalid/p",
        connect_timeout = 2 }
      assert.is_nil(res)
      assert.equal("GET http://no-such-host.invalid/p: could not resolve host", err)
      assert.equal("connect", code)
    end)
  end)

  describe("redirects", function()
    it("are not followed by default", function()
      local res = assert(core.http_client():request { url = srv.url .. "/redirect?to=/echo" })
      assert.equal(302, res.status)
      assert.equal("/echo", res.headers.location)
      assert.equal(srv.url .. "/redirect?to=/echo", res.url)
    end)

    it("are followed up to max_redirects, keeping only the final headers", function()
      local c = core.http_client { max_redirects = 3 }
      local res = assert(c:request { url = srv.url .. "/redirect?n=3" })
      assert.equal(200, res.status)
      assert.equal(srv.url .. "/echo", res.url)
      assert.is_nil(res.headers["x-redirect"])
      assert.equal("application/json", res.headers["content-type"])
      local r2, err, code = c:request { url = srv.url .. "/redirect?n=4" }
      assert.is_nil(r2)
      assert.equal("GET " .. srv.url .. "/redirect?...: too many redirects (max_redirects 3)", err)
      assert.equal("http", code)
    end)

    it("turn a POST into a GET on 303 and keep it on 307", function()
      local c = core.http_client { max_redirects = 1 }
      local e = echo(c:request { method = "POST", url = srv.url .. "/redirect?status=303&to=/echo", body = "b" })
      assert.equal("GET", e.method)
      assert.equal(0, e.body_len)
      e = echo(c:request { method = "POST", url = srv.url .. "/redirect?status=307&to=/echo", body = "keep" })
      assert.equal("POST", e.method)
      assert.equal("keep", e.body)
    end)

    it("refuse a redirect to a non-http protocol", function()
      local c = core.http_client { max_redirects = 5 }
      for _, to in ipairs { "file:///etc/passwd", "ftp://127.0.0.1/x", "dict://127.0.0.1:1/x" } do
        local res, err, code = c:request { url = srv.url .. "/redirect?to=" .. to }
        assert.is_nil(res)
        assert.equal("GET " .. srv.url .. "/redirect?...: redirect refused: protocol not allowed"
          .. " (only http and https)", err)
        assert.equal("http", code)
      end
    end)

    it("refuse a Location libcurl cannot parse", function()
      local c = core.http_client { max_redirects = 5 }
      local res, err, code = c:request { url = srv.url .. "/redirect?to=http://[bad" }
      assert.is_nil(res)
      assert.equal("GET " .. srv.url .. "/redirect?...: redirect refused: malformed location", err)
      assert.equal("http", code)
    end)

    it("do not follow a stale Location on the next request of the same client", function()
      local c = core.http_client { max_redirects = 1 }
      assert.equal(200, assert(c:request { url = srv.url .. "/redirect?to=/echo" }).status)
      local res = assert(c:request { url = srv.url .. "/status/204" })
      assert.equal(204, res.status)
      assert.equal(srv.url .. "/status/204", res.url)
    end)

    it("keep the method and body except POST on 301/302 and anything but HEAD on 303 (RFC 9110)", function()
      local c = core.http_client { max_redirects = 1 }
      local function via(status, req)
        req.url = srv.url .. "/redirect?status=" .. status .. "&to=/echo"
        return req
      end
      for _, st in ipairs { 301, 302 } do
        local e = echo(c:request(via(st, { method = "POST", body = "p" })))
        assert.equal("GET", e.method)
        assert.equal(0, e.body_len)
        e = echo(c:request(via(st, { method = "PUT", body = "put-body" })))
        assert.equal("PUT", e.method)
        assert.equal("put-body", e.body)
        e = echo(c:request(via(st, { method = "DELETE" })))
        assert.equal("DELETE", e.method)
      end
      for _, m in ipairs { "PUT", "PATCH", "DELETE", "GET" } do
        local e = echo(c:request(via(303, { method = m, body = "x" })))
        assert.equal("GET", e.method)
        assert.equal(0, e.body_len)
      end
      local res = assert(c:request(via(303, { method = "HEAD" })))
      assert.equal(200, res.status)
      assert.equal(srv.url .. "/echo", res.url)
      assert.equal("application/json", res.headers["content-type"])
      assert.equal("", res.body) -- still HEAD: a GET of /echo has a body
      for _, st in ipairs { 307, 308 } do
        local e = echo(c:request(via(st, { method = "PATCH", body = "patch-body" })))
        assert.equal("PATCH", e.method)
        assert.equal("patch-body", e.body)
      end
    end)

    it("spend one timeout on the whole chain", function()
      local c = core.http_client { max_redirects = 1 }
      -- each transfer alone fits in 1 s, the two together do not
      local res, err, code = c:request { url = srv.url .. "/redirect?ms=700&to=/slow%3Fms%3D700",
        timeout = 1 }
      assert.is_nil(res)
      assert.equal("GET " .. srv.url .. "/redirect?...: timed out (limit 1000 ms)", err)
      assert.equal("timeout", code)
    end)
  end)

  describe("redirects to another origin", function()
    local other -- a second server: same host, another port, so another origin
    setup(function() other = server.start(SCRIPT) end)
    teardown(function() server.stop(other) end)

    --- Percent-encode s for a query value.
    local function enc(s)
      return (s:gsub("[^%w%-%._~/:]", function(ch) return string.format("%%%02X", ch:byte()) end))
    end

    local function headers()
      return { { "X-Api-Key", "key-123" }, { "Authorization", "Bearer tok" }, { "Cookie", "sid=1" },
        { "X-Custom", "c" }, { "Host2", "h" }, { "Accept", "application/json" },
        { "Accept-Language", "fr" }, { "User-Agent", "ua/2" }, { "Content-Type", "text/x" } }
    end

    --- Assert the echo e saw none of the caller's secret or custom headers.
    local function no_secrets(e)
      for _, name in ipairs { "X-Api-Key", "Authorization", "Cookie", "X-Custom", "Host2" } do
        assert.same({}, seen(e, name), name)
      end
    end

    it("keep only Accept, Accept-Language, User-Agent and Content-Type", function()
      local c = core.http_client { max_redirects = 2 }
      local res = assert(c:request { url = srv.url .. "/redirect?to=" .. enc(other.url .. "/echo"),
        headers = headers() })
      assert.equal(other.url .. "/echo", res.url)
      local e = echo(res)
      no_secrets(e)
      assert.same({ "application/json" }, seen(e, "Accept"))
      assert.same({ "fr" }, seen(e, "Accept-Language"))
      assert.same({ "ua/2" }, seen(e, "User-Agent"))
      assert.same({ "text/x" }, seen(e, "Content-Type"))
      assert.same({}, seen(e, "Expect"))
      -- the name -> value form of headers too
      e = echo(c:request { url = srv.url .. "/redirect?to=" .. enc(other.url .. "/echo"),
        headers = { ["X-Api-Key"] = "key-123", Accept = "text/plain" } })
      assert.same({}, seen(e, "X-Api-Key"))
      assert.same({ "text/plain" }, seen(e, "Accept"))
    end)

    it("keep every caller header on the same origin (scheme and host case, default port)", function()
      local c = core.http_client { max_redirects = 2 }
      local upper = srv.url:gsub("^http://", "HTTP://")
      for _, to in ipairs { "/echo", srv.url .. "/echo", upper .. "/echo" } do
        local e = echo(c:request { url = srv.url .. "/redirect?to=" .. enc(to), headers = headers() })
        assert.same({ "key-123" }, seen(e, "X-Api-Key"))
        assert.same({ "Bearer tok" }, seen(e, "Authorization"))
        assert.same({ "sid=1" }, seen(e, "Cookie"))
        assert.same({ "c" }, seen(e, "X-Custom"))
      end
      -- through a proxy: a.invalid and A.INVALID:80 are one origin, b.invalid another
      c = core.http_client { max_redirects = 2, proxy = srv.url }
      local e = echo(c:request { url = "http://a.invalid/redirect?to=" .. enc("http://A.INVALID:80/echo"),
        headers = headers() })
      assert.equal("http://A.INVALID/echo", e.target) -- libcurl omits the default port
      assert.same({ "key-123" }, seen(e, "X-Api-Key"))
      e = echo(c:request { url = "http://a.invalid/redirect?to=" .. enc("http://b.invalid/echo"),
        headers = headers() })
      assert.equal("http://b.invalid/echo", e.target)
      no_secrets(e)
      assert.same({ "application/json" }, seen(e, "Accept"))
    end)

    it("keep the body and its Content-Type on 307, drop both when 303 makes a GET", function()
      local c = core.http_client { max_redirects = 1 }
      local url = srv.url .. "/redirect?status=307&to=" .. enc(other.url .. "/echo")
      local e = echo(c:request { method = "POST", url = url, body = "keep", headers = headers() })
      assert.equal("POST", e.method)
      assert.equal("keep", e.body)
      assert.same({ "text/x" }, seen(e, "Content-Type"))
      no_secrets(e)
      -- no caller Content-Type: libcurl still adds none of its own
      e = echo(c:request { method = "POST", url = url, body = "raw", headers = { { "X-Api-Key", "k" } } })
      assert.equal("raw", e.body)
      assert.same({}, seen(e, "Content-Type"))
      assert.same({}, seen(e, "X-Api-Key"))
      url = srv.url .. "/redirect?status=303&to=" .. enc(other.url .. "/echo")
      e = echo(c:request { method = "POST", url = url, body = "gone", headers = headers() })
      assert.equal("GET", e.method)
      assert.equal(0, e.body_len)
      assert.same({}, seen(e, "Content-Type"))
      assert.same({ "application/json" }, seen(e, "Accept"))
      no_secrets(e)
    end)

    it("do not restore the headers when the chain comes back to the first origin", function()
      local c = core.http_client { max_redirects = 2 }
      local back = other.url .. "/redirect?to=" .. enc(srv.url .. "/echo")
      local res = assert(c:request { url = srv.url .. "/redirect?to=" .. enc(back), headers = headers() })
      assert.equal(srv.url .. "/echo", res.url)
      local e = echo(res)
      no_secrets(e)
      assert.same({ "fr" }, seen(e, "Accept-Language"))
    end)

    it("still count, and refuse, redirects past max_redirects", function()
      local c = core.http_client { max_redirects = 1 }
      local back = other.url .. "/redirect?to=" .. enc(srv.url .. "/echo")
      local res, err, code = c:request { url = srv.url .. "/redirect?to=" .. enc(back) }
      assert.is_nil(res)
      assert.equal("GET " .. srv.url .. "/redirect?...: too many redirects (max_redirects 1)", err)
      assert.equal("http", code)
    end)
  end)

  describe("proxies", function()
    it("sends through the proxy option (absolute-form request target)", function()
      local c = core.http_client { proxy = srv.url }
      local e = echo(c:request { url = "http://billing.invalid/echo?x=1" })
      assert.equal("http://billing.invalid/echo?x=1", e.target)
      assert.same({ "billing.invalid" }, seen(e, "Host"))
    end)

    it("follows http_proxy and no_proxy from the environment by default", function()
      local code = [[
        local core = require "arazzo.core"
        local res, err = core.http_client():request { url = "http://billing.invalid/echo" }
        io.write(res and res.body or ("ERR " .. err))]]
      local out = child("http_proxy=" .. srv.url, code)
      local ok, e = pcall(cjson.decode, out)
      assert(ok, out)
      assert.equal("http://billing.invalid/echo", e.target)
      out = child("http_proxy=" .. srv.url .. " no_proxy=billing.invalid", code)
      assert.equal("ERR GET http://billing.invalid/echo: could not resolve host", out)
      -- no proxy in the environment: a direct attempt
      out = child("", code)
      assert.equal("ERR GET http://billing.invalid/echo: could not resolve host", out)
    end)

    it("lets proxy = '' switch the environment's proxy off", function()
      local out = child("http_proxy=" .. srv.url, [[
        local core = require "arazzo.core"
        local res, err = core.http_client { proxy = "" }:request { url = "http://billing.invalid/echo" }
        io.write(res and res.body or ("ERR " .. err))]])
      assert.equal("ERR GET http://billing.invalid/echo: could not resolve host", out)
    end)
  end)

  describe("tls", function()
    local tls, dir
    local have_openssl = os.execute("command -v openssl >/dev/null 2>&1")
    have_openssl = have_openssl == true or have_openssl == 0

    setup(function()
      if not have_openssl then return end
      dir = os.tmpname()
      os.remove(dir)
      assert(os.execute("mkdir -p " .. dir))
      local gen = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
        .. " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
        .. " -keyout " .. dir .. "/key.pem -out " .. dir .. "/cert.pem >/dev/null 2>&1"
      os.execute(gen)
      tls = server.start(SCRIPT, { "--tls", dir .. "/cert.pem", dir .. "/key.pem" })
    end)
    teardown(function()
      if tls then server.stop(tls) end
      if dir then os.execute("rm -rf " .. dir) end
    end)

    local function tls_it(name, fn)
      if have_openssl then it(name, function() fn() end) else pending(name .. " (skipped: no openssl)") end
    end

    tls_it("verifies certificates by default", function()
      local res, err, code = core.http_client():request { url = tls.url .. "/echo" }
      assert.is_nil(res)
      assert.equal("tls", code)
      local prefix = "GET " .. tls.url .. "/echo: tls: "
      assert.equal(prefix, err:sub(1, #prefix))
      assert.matches("certificate", err)
    end)

    tls_it("trusts a ca_file, or anything with verify = false", function()
      local e = echo(core.http_client { ca_file = dir .. "/cert.pem" }:request { url = tls.url .. "/echo" })
      assert.equal("GET", e.method)
      local res = assert(core.http_client { verify = false }:request { url = tls.url .. "/echo" })
      assert.equal(200, res.status)
    end)

    tls_it("reports a TLS handshake with a plain-HTTP server as tls", function()
      local url = "https://127.0.0.1:" .. srv.port .. "/echo"
      local res, err, code = core.http_client():request { url = url }
      assert.is_nil(res)
      assert.equal("tls", code)
      assert.equal("GET " .. url .. ": tls: ", err:sub(1, #("GET " .. url .. ": tls: ")))
    end)
  end)

  describe("lifetime", function()
    local own -- a server of its own, so open-connection counts are exact
    local checker
    setup(function()
      own = server.start(SCRIPT)
      checker = core.http_client()
    end)
    teardown(function()
      checker:close()
      server.stop(own)
    end)

    --- Wait until the server counts n open connections besides the checker.
    local function wait_conns(n)
      local got
      for _ = 1, 100 do
        got = tonumber(assert(checker:request { url = own.url .. "/conns" }).body) - 1
        if got == n then return true end
        server.sleep(20)
      end
      error("expected " .. n .. " open connections, server has " .. tostring(got))
    end

    it("close() releases the connection, twice is harmless, use after close raises", function()
      collectgarbage()
      collectgarbage()
      wait_conns(0)
      local c = core.http_client()
      assert(c:request { url = own.url .. "/echo" })
      wait_conns(1)
      c:close()
      wait_conns(0)
      c:close()
      assert.equal("arazzo.http.Client: closed", tostring(c))
      assert.has_error(function() c:request { url = own.url .. "/echo" } end,
        "arazzo.http.Client: attempt to use a closed client")
    end)

    it("is collected when unreachable, closing its connection", function()
      collectgarbage()
      collectgarbage()
      wait_conns(0)
      local weak = setmetatable({}, { __mode = "k" })
      local function use_and_drop()
        local c = core.http_client()
        assert(c:request { url = own.url .. "/echo" })
        weak[c] = true
      end
      use_and_drop()
      wait_conns(1)
      collectgarbage()
      collectgarbage()
      assert.is_nil(next(weak))
      wait_conns(0)
    end)

    it("closes at the end of a <close> scope (5.4)", function()
      if not _VERSION:match("5%.4") then return pending("<close> needs Lua 5.4") end
      collectgarbage()
      collectgarbage()
      wait_conns(0)
      local chunk = assert(load([[
        local core, url = ...
        local c <close> = core.http_client()
        assert(c:request { url = url })
        return c]]))
      local c = chunk(core, own.url .. "/echo")
      assert.equal("arazzo.http.Client: closed", tostring(c))
      wait_conns(0)
    end)

    it("keeps one easy handle per client: many requests reuse one connection", function()
      local c = core.http_client()
      local port
      for i = 1, 50 do
        local e = echo(c:request { method = "POST", url = own.url .. "/echo", body = tostring(i) })
        port = port or e.client_port
        assert.equal(port, e.client_port)
        assert.equal(tostring(i), e.body)
      end
      wait_conns(1)
      c:close()
    end)
  end)
end)
