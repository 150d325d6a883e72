-- url_spec.lua: RFC 3986 encoding/parsing/resolution, url_join,
-- header_value_ok and OpenAPI parameter serialization (core.param_serialize).
local core = require "arazzo.core"

-- An object with a recorded key order, as the YAML/JSON loaders produce.
local function obj(keys, values)
  local t = {}
  for i, k in ipairs(keys) do t[k] = values[i] end
  return core.setorder(t, keys)
end

local function fails(expected_msg, expected_code, ...)
  local n = select("#", ...)
  local v, msg, code = ...
  assert.equal(3, n)
  assert.is_nil(v)
  assert.equal(expected_msg, msg)
  assert.equal(expected_code, code)
end

describe("arazzo.url", function()
  describe("url_encode", function()
    it("keeps the RFC 3986 unreserved set and nothing else", function()
      assert.equal("AZaz09-._~", core.url_encode("AZaz09-._~"))
      assert.equal("%20%21%22%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D",
        core.url_encode(" !\"#$%&'()*+,/:;<=>?@[\\]^`{|}"))
    end)

    it("encodes every byte outside ASCII and control bytes, upper-case hex", function()
      assert.equal("caf%C3%A9", core.url_encode("café"))
      assert.equal("%00%01%0A%0D%7F%FF", core.url_encode("\0\1\n\r\127\255"))
      assert.equal("", core.url_encode(""))
    end)

    it("leaves the keep characters as they are (allowReserved)", function()
      local reserved = ":/?#[]@!$&'()*+,;="
      assert.equal(reserved, core.url_encode(reserved, reserved))
      assert.equal("a/b%20c", core.url_encode("a/b c", "/"))
      assert.equal("a%2Fb", core.url_encode("a/b", ""))
    end)

    it("raises on wrong argument types", function()
      assert.has_error(function() core.url_encode() end)
      assert.has_error(function() core.url_encode({}) end)
      assert.has_error(function() core.url_encode("a", {}) end)
    end)
  end)

  describe("url_decode", function()
    it("decodes escapes of either case and keeps NUL bytes", function()
      assert.equal("a b/é", core.url_decode("a%20b%2fé"))
      assert.equal("caf\195\169", core.url_decode("caf%C3%A9"))
      assert.equal("a\0b", core.url_decode("a%00b"))
      assert.equal("", core.url_decode(""))
    end)

    it("treats + as a space only when asked", function()
      assert.equal("a+b", core.url_decode("a+b"))
      assert.equal("a b", core.url_decode("a+b", true))
      assert.equal("a+b", core.url_decode("a%2Bb", true))
    end)

    it("returns nil, msg, 'url' on a bad escape, naming its position", function()
      fails("bad percent escape at position 2", "url", core.url_decode("a%"))
      fails("bad percent escape at position 2", "url", core.url_decode("a%2"))
      fails("bad percent escape at position 4", "url", core.url_decode("abc%zz"))
      fails("bad percent escape at position 4", "url", core.url_decode("%41%g1"))
    end)

    it("raises on a non-string argument", function()
      assert.has_error(function() core.url_decode({}) end)
    end)
  end)

  describe("url_parse", function()
    it("splits every component and returns the port as an integer", function()
      local u = assert(core.url_parse("https://user:pw@api.x.com:8443/v1/a%20b?x=1&y=2#frag"))
      assert.same({ scheme = "https", userinfo = "user:pw", host = "api.x.com", port = 8443,
        path = "/v1/a%20b", query = "x=1&y=2", fragment = "frag" }, u)
      if math.type then assert.equal("integer", math.type(u.port)) end
    end)

    it("leaves absent parts nil, keeps empty query apart from none", function()
      assert.same({ scheme = "http", host = "h", path = "" }, core.url_parse("http://h"))
      assert.same({ scheme = "http", host = "h", path = "/p", query = "" }, core.url_parse("http://h/p?"))
      assert.same({ scheme = "http", host = "h", path = "/x" }, core.url_parse("http://h:/x"))
      assert.same({ scheme = "http", host = "h", path = "", port = 0 }, core.url_parse("http://h:0"))
      assert.same({ scheme = "http", host = "h", path = "", port = 65535 }, core.url_parse("http://h:65535"))
    end)

    it("keeps IP literals in brackets", function()
      assert.same({ scheme = "http", host = "[::1]", port = 8080, path = "/" },
        core.url_parse("http://[::1]:8080/"))
      assert.equal("[2001:db8::7]", core.url_parse("ldap://[2001:db8::7]/c=GB?one").host)
      assert.equal("[1:2:3:4:5:6:7:8]", core.url_parse("http://[1:2:3:4:5:6:7:8]/").host)
      assert.equal("[::ffff:192.168.0.1]", core.url_parse("http://[::ffff:192.168.0.1]/").host)
      assert.equal("[fe80::1%25eth0]", core.url_parse("http://[fe80::1%25eth0]/").host)
      assert.equal("[v1.x:y]", core.url_parse("http://[v1.x:y]/").host)
      assert.equal("192.0.2.16", core.url_parse("telnet://192.0.2.16:80/").host)
    end)

    it("parses URNs, mailto, file and relative references", function()
      assert.same({ scheme = "urn", path = "oasis:names:specification:docbook:dtd:xml:4.1.2" },
        core.url_parse("urn:oasis:names:specification:docbook:dtd:xml:4.1.2"))
      assert.same({ scheme = "mailto", path = "John.Doe@example.com" }, core.url_parse("mailto:John.Doe@example.com"))
      assert.same({ scheme = "file", host = "", path = "/etc/hosts" }, core.url_parse("file:///etc/hosts"))
      assert.same({ host = "h", path = "" }, core.url_parse("//h"))
      assert.same({ path = "../a/b", query = "q" }, core.url_parse("../a/b?q"))
      assert.same({ path = "", fragment = "f" }, core.url_parse("#f"))
      assert.same({ path = "" }, core.url_parse(""))
      assert.same({ path = "./a:b" }, core.url_parse("./a:b"))
    end)

    it("rejects bad characters naming the part and position", function()
      fails("bad character '\\x20' in host at position 9", "url", core.url_parse("http://a b/"))
      fails("bad character '\\x20' in path at position 11", "url", core.url_parse("http://h/a b"))
      fails("bad character '\\x20' in query at position 12", "url", core.url_parse("http://h/?a b"))
      fails("bad character '#' in fragment at position 12", "url", core.url_parse("http://h/#a#b"))
      fails("bad character '\\x00' in path at position 10", "url", core.url_parse("http://h/\0"))
      fails("bad character '@' in host at position 11", "url", core.url_parse("http://u@h@x/"))
      fails("bad character '<' in userinfo at position 8", "url", core.url_parse("http://<@h/"))
      fails("bad character '\\xC3' in path at position 10", "url", core.url_parse("http://h/é"))
    end)

    it("rejects bad escapes, schemes, ports and IP literals", function()
      fails("bad percent escape in host at position 8", "url", core.url_parse("http://%zz/"))
      fails("bad percent escape in path at position 10", "url", core.url_parse("http://h/%4"))
      fails("bad scheme at position 1", "url", core.url_parse("1http://x"))
      fails("bad scheme at position 1", "url", core.url_parse("a b:c"))
      fails("port out of range at position 10", "url", core.url_parse("http://h:65536/"))
      fails("bad character 'a' in port at position 11", "url", core.url_parse("http://h:8a/"))
      fails("bad IP literal in host at position 8", "url", core.url_parse("http://[::1"))
      fails("bad IP literal in host at position 8", "url", core.url_parse("http://[::g]/"))
      fails("bad IP literal in host at position 8", "url", core.url_parse("http://[1:2:3:4:5:6:7:8:9]/"))
      fails("bad IP literal in host at position 8", "url", core.url_parse("http://[1:2:3:4:5:6:7]/"))
      fails("bad IP literal in host at position 8", "url", core.url_parse("http://[1::2::3]/"))
      fails("bad IP literal in host at position 8", "url", core.url_parse("http://[::ffff:192.168.0.256]/"))
      fails("bad IP literal in host at position 8", "url", core.url_parse("http://[::ffff:1.02.3.4]/"))
      fails("bad IP literal in host at position 8", "url", core.url_parse("http://[12345::]/"))
      fails("bad IP literal in host at position 8", "url", core.url_parse("http://[v1]/"))
      fails("bad character 'x' in authority at position 13", "url", core.url_parse("http://[::1]x/"))
    end)

    it("raises on a non-string argument", function()
      assert.has_error(function() core.url_parse(nil) end)
    end)
  end)

  describe("url_resolve", function()
    local base = "http://a/b/c/d;p?q"
    -- RFC 3986 section 5.4.1 and 5.4.2, in the RFC's order.
    local normal = {
      { "g:h", "g:h" }, { "g", "http://a/b/c/g" }, { "./g", "http://a/b/c/g" },
      { "g/", "http://a/b/c/g/" }, { "/g", "http://a/g" }, { "//g", "http://g" },
      { "?y", "http://a/b/c/d;p?y" }, { "g?y", "http://a/b/c/g?y" },
      { "#s", "http://a/b/c/d;p?q#s" }, { "g#s", "http://a/b/c/g#s" },
      { "g?y#s", "http://a/b/c/g?y#s" }, { ";x", "http://a/b/c/;x" },
      { "g;x", "http://a/b/c/g;x" }, { "g;x?y#s", "http://a/b/c/g;x?y#s" },
      { "", "http://a/b/c/d;p?q" }, { ".", "http://a/b/c/" }, { "./", "http://a/b/c/" },
      { "..", "http://a/b/" }, { "../", "http://a/b/" }, { "../g", "http://a/b/g" },
      { "../..", "http://a/" }, { "../../", "http://a/" }, { "../../g", "http://a/g" },
    }
    local abnormal = {
      { "../../../g", "http://a/g" }, { "../../../../g", "http://a/g" },
      { "/./g", "http://a/g" }, { "/../g", "http://a/g" }, { "g.", "http://a/b/c/g." },
      { ".g", "http://a/b/c/.g" }, { "g..", "http://a/b/c/g.." }, { "..g", "http://a/b/c/..g" },
      { "./../g", "http://a/b/g" }, { "./g/.", "http://a/b/c/g/" }, { "g/./h", "http://a/b/c/g/h" },
      { "g/../h", "http://a/b/c/h" }, { "g;x=1/./y", "http://a/b/c/g;x=1/y" },
      { "g;x=1/../y", "http://a/b/c/y" }, { "g?y/./x", "http://a/b/c/g?y/./x" },
      { "g?y/../x", "http://a/b/c/g?y/../x" }, { "g#s/./x", "http://a/b/c/g#s/./x" },
      { "g#s/../x", "http://a/b/c/g#s/../x" }, { "http:g", "http:g" },
    }
    for _, case in ipairs(normal) do
      it("resolves the normal example '" .. case[1] .. "'", function()
        assert.equal(case[2], core.url_resolve(base, case[1]))
      end)
    end
    for _, case in ipairs(abnormal) do
      it("resolves the abnormal example '" .. case[1] .. "'", function()
        assert.equal(case[2], core.url_resolve(base, case[1]))
      end)
    end

    it("merges against a base with an authority and an empty path", function()
      assert.equal("http://h/g", core.url_resolve("http://h", "g"))
      assert.equal("http://h?q", core.url_resolve("http://h?q", ""))
      assert.equal("https://api.x.com/v2/openapi.yaml",
        core.url_resolve("https://api.x.com/v1/arazzo.yaml", "../v2/openapi.yaml"))
      assert.equal("http://[::1]:8080/a/c", core.url_resolve("http://[::1]:8080/a/b", "c"))
    end)

    it("ignores the base fragment and removes dots from an absolute reference", function()
      assert.equal("http://a/b/c/g", core.url_resolve("http://a/b/c/d#frag", "g"))
      assert.equal("http://x/b/c", core.url_resolve(base, "http://x/a/../b/./c"))
      assert.equal("file:///etc/hosts", core.url_resolve("file:///usr/share/", "/etc/./hosts"))
    end)

    it("returns nil, msg, 'url' for a base without scheme or bad input", function()
      fails("base url: has no scheme", "url", core.url_resolve("/a/b", "c"))
      fails("base url: bad character '\\x20' in path at position 10", "url", core.url_resolve("http://h/ ", "c"))
      fails("reference: bad percent escape in path at position 2", "url", core.url_resolve(base, "g%"))
    end)

    it("raises on wrong argument types", function()
      assert.has_error(function() core.url_resolve(base) end)
      assert.has_error(function() core.url_resolve({}, "g") end)
    end)
  end)

  describe("url_join", function()
    it("puts exactly one slash between server and path", function()
      assert.equal("https://api.x.com/v1/invoices", core.url_join("https://api.x.com/v1/", "/invoices"))
      assert.equal("https://api.x.com/v1/invoices", core.url_join("https://api.x.com/v1", "/invoices"))
      assert.equal("https://api.x.com/v1/invoices", core.url_join("https://api.x.com/v1", "invoices"))
      assert.equal("https://api.x.com/v1/invoices", core.url_join("https://api.x.com/v1//", "//invoices"))
      assert.equal("https://h/a", core.url_join("https://h", "/a"))
      assert.equal("https://h/", core.url_join("https://h", "/"))
      assert.equal("/a/{id}", core.url_join("/", "/a/{id}"))
      assert.equal("/a", core.url_join("", "/a"))
    end)

    it("keeps the server as is for an empty path", function()
      assert.equal("https://api.x.com/v1/", core.url_join("https://api.x.com/v1/", ""))
      assert.equal("https://h", core.url_join("https://h", ""))
    end)

    it("refuses a server url with a query or fragment", function()
      fails("server url has a query or fragment", "url", core.url_join("https://h/?a=1", "/x"))
      fails("server url has a query or fragment", "url", core.url_join("https://h/#f", "/x"))
    end)

    it("raises on wrong argument types", function()
      assert.has_error(function() core.url_join("https://h") end)
    end)
  end)

  describe("header_value_ok", function()
    it("accepts text without CR, LF or NUL and refuses each of them", function()
      assert.is_true(core.header_value_ok("Bearer abc.def"))
      assert.is_true(core.header_value_ok(""))
      assert.is_true(core.header_value_ok("tab\tand é"))
      assert.is_false(core.header_value_ok("a\rb"))
      assert.is_false(core.header_value_ok("a\nb"))
      assert.is_false(core.header_value_ok("a\0b"))
      assert.is_false(core.header_value_ok("x\r\nSet-Cookie: y"))
    end)

    it("raises on a non-string argument", function()
      assert.has_error(function() core.header_value_ok({}) end)
    end)
  end)
end)

describe("arazzo.url param_serialize", function()
  local ser = core.param_serialize
  local array = { "blue", "black", "brown" }
  local function rgb() return obj({ "R", "G", "B" }, { 100, 200, 150 }) end

  -- OpenAPI 3.1.1 "Style Examples": style, explode, in, undefined, string,
  -- array, object (without the '?' the table shows before query examples).
  local table_rows = {
    { "matrix", false, "path", ";color", ";color=blue", ";color=blue,black,brown", ";color=R,100,G,200,B,150" },
    { "matrix", true, "path", ";color", ";color=blue", ";color=blue;color=black;color=brown", ";R=100;G=200;B=150" },
    { "label", false, "path", ".", ".blue", ".blue,black,brown", ".R,100,G,200,B,150" },
    { "label", true, "path", ".", ".blue", ".blue.black.brown", ".R=100.G=200.B=150" },
    { "simple", false, "path", "", "blue", "blue,black,brown", "R,100,G,200,B,150" },
    { "simple", true, "path", "", "blue", "blue,black,brown", "R=100,G=200,B=150" },
    { "form", false, "query", "color=", "color=blue", "color=blue,black,brown", "color=R,100,G,200,B,150" },
    { "form", true, "query", "color=", "color=blue", "color=blue&color=black&color=brown", "R=100&G=200&B=150" },
    { "spaceDelimited", false, "query", nil, nil, "color=blue%20black%20brown", "color=R%20100%20G%20200%20B%20150" },
    { "pipeDelimited", false, "query", nil, nil, "color=blue%7Cblack%7Cbrown", "color=R%7C100%7CG%7C200%7CB%7C150" },
    { "deepObject", true, "query", nil, nil, nil, "color%5BR%5D=100&color%5BG%5D=200&color%5BB%5D=150" },
  }
  for _, row in ipairs(table_rows) do
    local style, explode, where = row[1], row[2], row[3]
    local label = style .. " explode=" .. tostring(explode)
    if row[4] then
      it(label .. ": undefined (null) and the empty string", function()
        assert.equal(row[4], ser("color", core.null, where, style, explode))
        assert.equal(row[4], ser("color", nil, where, style, explode))
        assert.equal(row[4], ser("color", "", where, style, explode))
      end)
    end
    if row[5] then
      it(label .. ": string", function()
        assert.equal(row[5], ser("color", "blue", where, style, explode))
      end)
    end
    if row[6] then
      it(label .. ": array", function()
        assert.equal(row[6], ser("color", array, where, style, explode))
        assert.equal(row[6], ser("color", core.array({ "blue", "black", "brown" }), where, style, explode))
      end)
    end
    it(label .. ": object", function()
      assert.equal(row[7], ser("color", rgb(), where, style, explode))
    end)
  end

  it("refuses the n/a cells of the table with a message naming the problem", function()
    for _, style in ipairs({ "spaceDelimited", "pipeDelimited" }) do
      fails("parameter 'color': style '" .. style .. "' needs an array or object value, got string", "param",
        ser("color", "blue", "query", style, false))
      fails("parameter 'color': style '" .. style .. "' needs an array or object value, got null", "param",
        ser("color", core.null, "query", style, false))
      fails("parameter 'color': style '" .. style .. "' does not support explode true", "param",
        ser("color", array, "query", style, true))
    end
    fails("parameter 'color': style 'deepObject' needs an object value, got string", "param",
      ser("color", "blue", "query", "deepObject", true))
    fails("parameter 'color': style 'deepObject' needs an object value, got null", "param",
      ser("color", core.null, "query", "deepObject", true))
    fails("parameter 'color': style 'deepObject' needs explode true", "param",
      ser("color", rgb(), "query", "deepObject", false))
  end)

  it("uses the OpenAPI defaults when style and explode are nil", function()
    assert.equal("blue,black,brown", ser("color", array, "path"))
    assert.equal("R,100,G,200,B,150", ser("color", rgb(), "header"))
    assert.equal("color=blue&color=black&color=brown", ser("color", array, "query"))
    assert.equal("R=100&G=200&B=150", ser("color", rgb(), "query", nil, nil))
    assert.equal("color=blue,black,brown", ser("color", array, "query", nil, false))
    assert.equal("blue,black,brown", ser("color", array, "path", "simple"))
    assert.equal("color%5BR%5D=100&color%5BG%5D=200&color%5BB%5D=150", ser("color", rgb(), "query", "deepObject"))
  end)

  it("expands empty arrays and objects to nothing (undefined in RFC 6570)", function()
    for _, style in ipairs({ "form", "spaceDelimited", "pipeDelimited", "deepObject" }) do
      assert.equal("", ser("color", core.array(), "query", style, style == "form" or style == "deepObject"))
      assert.equal("", ser("color", {}, "query", style, style == "deepObject"))
    end
    assert.equal("", ser("color", core.array(), "path", "matrix", false))
    assert.equal("", ser("color", {}, "path", "label", true))
    assert.equal("", ser("color", core.array(), "header"))
    assert.equal("", ser("color", {}, "cookie"))
  end)

  it("writes integers exactly, floats shortest, booleans as words", function()
    assert.equal("42", ser("id", 42, "path"))
    assert.equal("-7", ser("id", -7, "path"))
    assert.equal("1.5", ser("id", 1.5, "path"))
    assert.equal("0.1", ser("id", 0.1, "path"))
    assert.equal("3", ser("id", 3.0, "path"))
    assert.equal("id=true", ser("id", true, "query"))
    assert.equal("false,true", ser("id", { false, true }, "header"))
    if math.type then
      assert.equal("9007199254740993", ser("id", 9007199254740993, "path"))
      assert.equal("id=9223372036854775807", ser("id", math.maxinteger, "query"))
    end
    assert.equal("1e%2B21", ser("id", 1e21, "path"))
    assert.equal("1e+21", ser("X-Id", 1e21, "header"))
    assert.equal("-0.5,1e-07", ser("X-Id", { -0.5, 1e-7 }, "header"))
  end)

  it("percent-encodes path values, keeping only the unreserved set", function()
    assert.equal("in_1%2F2%20%3Fx%23", ser("invoice", "in_1/2 ?x#", "path"))
    assert.equal("caf%C3%A9", ser("name", "café", "path"))
    assert.equal("a%2Cb,c", ser("ids", { "a,b", "c" }, "path"))
    assert.equal(";k%3Bx=v%3Dy", ser("o", obj({ "k;x" }, { "v=y" }), "path", "matrix", true))
    assert.equal(".a.b", ser("x", "a.b", "path", "label"))
  end)

  it("matrix omits '=' for empty members as RFC 6570 says", function()
    assert.equal(";color;color=b", ser("color", { "", "b" }, "path", "matrix", true))
    assert.equal(";R;G=1", ser("color", obj({ "R", "G" }, { "", 1 }), "path", "matrix", true))
    assert.equal(";color", ser("color", { "" }, "path", "matrix", false))
    assert.equal("R=,G=1", ser("color", obj({ "R", "G" }, { "", 1 }), "path", "simple", true))
    assert.equal("R=&G=1", ser("color", obj({ "R", "G" }, { core.null, 1 }), "query", "form", true))
  end)

  it("encodes query names and values; allowReserved keeps reserved values and escapes", function()
    assert.equal("q=a%2Fb%20c%26d", ser("q", "a/b c&d", "query"))
    assert.equal("q=a/b%20c&d", ser("q", "a/b c&d", "query", nil, nil, true))
    assert.equal("q=:/?@!$&'()*+,;=%5B%5D%23", ser("q", ":/?@!$&'()*+,;=[]#", "query", "form", true, true))
    assert.equal("q=100%25%20a%2Fb", ser("q", "100%25 a%2Fb", "query", "form", true, true))
    assert.equal("q=100%2525", ser("q", "100%25", "query", "form", true, false))
    assert.equal("q=%25zz", ser("q", "%zz", "query", "form", true, true))
    assert.equal("filter%5Bstatus%5D=open", ser("filter[status]", "open", "query"))
    assert.equal("a%20b=1", ser("o", obj({ "a b" }, { 1 }), "query", "form", true, true))
    assert.equal("a%2Fb", ser("p", "a/b", "path", "simple", false, true))
  end)

  it("writes header values raw and refuses CR, LF and NUL", function()
    assert.equal("Bearer a/b c", ser("Authorization", "Bearer a/b c", "header"))
    assert.equal("a b,c/d", ser("X-List", { "a b", "c/d" }, "header"))
    assert.equal("R=100,G=200,B=150", ser("X-Obj", rgb(), "header", "simple", true))
    assert.equal("", ser("X-Null", core.null, "header"))
    fails("parameter 'X-Evil': header value contains CR, LF or NUL", "param",
      ser("X-Evil", "a\r\nSet-Cookie: x=y", "header"))
    fails("parameter 'X-Evil': header value contains CR, LF or NUL", "param", ser("X-Evil", { "a", "b\n" }, "header"))
    fails("parameter 'X-Evil': header value contains CR, LF or NUL", "param", ser("X-Evil", "a\0", "header"))
  end)

  it("joins cookie pairs with '; ' (RFC 6265) and encodes values", function()
    assert.equal("color=blue", ser("color", "blue", "cookie"))
    assert.equal("color=", ser("color", core.null, "cookie"))
    assert.equal("color=blue,black,brown", ser("color", array, "cookie", "form", false))
    assert.equal("color=blue; color=black; color=brown", ser("color", array, "cookie"))
    assert.equal("R=100; G=200; B=150", ser("color", rgb(), "cookie", "form", true))
    assert.equal("sid=a%3Bb%20c", ser("sid", "a;b c", "cookie"))
  end)

  it("serializes deepObject nested objects and arrays in indexed bracket form", function()
    local created = obj({ "gte", "lt" }, { 1700000000, 1800000000 })
    local v = obj({ "created", "expand" }, { created, { "customer", "lines" } })
    assert.equal("q%5Bcreated%5D%5Bgte%5D=1700000000&q%5Bcreated%5D%5Blt%5D=1800000000"
      .. "&q%5Bexpand%5D%5B0%5D=customer&q%5Bexpand%5D%5B1%5D=lines", ser("q", v, "query", "deepObject", true))
    assert.equal("expand%5B0%5D=customer", ser("expand", { "customer" }, "query", "deepObject", true))
    assert.equal("o%5Bk%5D=", ser("o", obj({ "k" }, { core.null }), "query", "deepObject", true))
    assert.equal("o%5Bk%5D=a/b", ser("o", obj({ "k" }, { "a/b" }), "query", "deepObject", true, true))
  end)

  it("refuses nested values where the style cannot express them", function()
    fails("parameter 'color': style 'form' cannot express a nested array or object (at color[1])", "param",
      ser("color", { "a", { "b" } }, "query", "form", true))
    fails("parameter 'color': style 'simple' cannot express a nested array or object (at color[R])", "param",
      ser("color", obj({ "R" }, { { x = 1 } }), "path"))
    fails("parameter 'color': style 'pipeDelimited' cannot express a nested array or object (at color[0])",
      "param", ser("color", { {} }, "query", "pipeDelimited", false))
  end)

  it("refuses a style used in the wrong location, unknown styles and locations", function()
    fails("parameter 'color': style 'matrix' is not allowed in query", "param", ser("color", "x", "query", "matrix"))
    fails("parameter 'color': style 'form' is not allowed in path", "param", ser("color", "x", "path", "form"))
    fails("parameter 'color': style 'deepObject' is not allowed in header", "param",
      ser("color", rgb(), "header", "deepObject", true))
    fails("parameter 'color': style 'label' is not allowed in cookie", "param", ser("color", "x", "cookie", "label"))
    fails("parameter 'color': style 'simple' is not allowed in query", "param", ser("color", "x", "query", "simple"))
    fails("parameter 'color': unknown style 'csv'", "param", ser("color", "x", "query", "csv"))
    fails("parameter 'color': unknown parameter location 'body'", "param", ser("color", "x", "body"))
  end)

  it("refuses values it cannot serialize", function()
    fails("parameter 'f': cannot serialize function (at f)", "param", ser("f", print, "query"))
    fails("parameter 'f': cannot serialize NaN or infinity (at f)", "param", ser("f", 0 / 0, "query"))
    fails("parameter 'f': cannot serialize NaN or infinity (at f[1])", "param", ser("f", { 1, math.huge }, "path"))
    fails("parameter 'f': cannot serialize function (at f[k])", "param", ser("f", obj({ "k" }, { print }), "path"))
    fails("parameter 'f': non-string key in object", "param", ser("f", { [1] = "a", x = "b" }, "query"))
    fails("parameter 'f': cycle at 'f[self]'", "param", (function()
      local t = {}
      t.self = t
      return ser("f", t, "query", "deepObject", true)
    end)())
  end)

  it("raises on wrong argument types", function()
    assert.has_error(function() ser(nil, "x", "query") end)
    assert.has_error(function() ser("a", "x", nil) end)
    assert.has_error(function() ser("a", "x", "query", {}) end)
    assert.has_error(function() ser("a", "x", "query", "form", "yes") end)
    assert.has_error(function() ser("a", "x", "query", "form", true, 1) end)
  end)
end)

describe("arazzo.url properties (seeded random inputs)", function()
  local alphabet = "ab:/?#[]@!$&'()*+,;=%.-_~09AF \0\255é"
  local function random_string(max)
    local out = {}
    for i = 1, math.random(0, max) do
      local k = math.random(1, #alphabet)
      out[i] = alphabet:sub(k, k)
    end
    return table.concat(out)
  end

  it("url_decode(url_encode(s)) == s, and the encoding uses only unreserved bytes and %XX", function()
    math.randomseed(20241123)
    for _ = 1, 2000 do
      local s = random_string(24)
      local e = core.url_encode(s)
      assert.is_nil(e:gsub("%%%x%x", ""):find("[^%w%-%._~]"))
      assert.equal(s, core.url_decode(e))
    end
  end)

  it("url_parse either parses or returns nil, msg, 'url', and never raises", function()
    math.randomseed(7)
    for _ = 1, 3000 do
      local s = random_string(30)
      local u, msg, code = core.url_parse(s)
      if u then
        assert.is_string(u.path)
      else
        assert.is_string(msg)
        assert.equal("url", code)
      end
    end
  end)

  it("resolution results parse again and carry no dot segments", function()
    math.randomseed(99)
    local seg = { "a", "b", ".", "..", "", "g;x", "c=1" }
    for _ = 1, 2000 do
      local parts = {}
      for i = 1, math.random(0, 6) do parts[i] = seg[math.random(#seg)] end
      local ref = table.concat(parts, "/")
      if math.random(2) == 1 then ref = "/" .. ref end
      local r = assert(core.url_resolve("http://h/x/y/z", ref))
      local u = assert(core.url_parse(r))
      local p = u.path .. "/"
      assert.is_nil(p:find("/%./"), r)
      assert.is_nil(p:find("/%.%./"), r)
    end
  end)

  it("header serialization fails exactly when header_value_ok would refuse the text", function()
    math.randomseed(3)
    local bytes = "ab \r\n\0,"
    for _ = 1, 500 do
      local out = {}
      for i = 1, math.random(0, 8) do
        local k = math.random(#bytes)
        out[i] = bytes:sub(k, k)
      end
      local s = table.concat(out)
      local v = core.param_serialize("X", s, "header")
      assert.equal(core.header_value_ok(s), v ~= nil)
      if v then assert.equal(s, v) end
    end
  end)
end)
