-- xml_spec.lua: core.xpath (XPath 1.0 criteria) and core.xml_replace.
local core = require "arazzo.core"

local INVOICE = [=[<?xml version="1.0"?>
<invoice xmlns:s="urn:stripe" id="in_1">
  <status>open</status>
  <amount currency="usd">1234</amount>
  <s:meta>m</s:meta>
  <items><item>a</item><item>b</item><item>c</item></items>
  <empty/>
  <note><![CDATA[x < y]]></note>
</invoice>]=]

local function xp(expr, ns)
  return assert(core.xpath(expr, ns))
end

describe("arazzo.xml", function()
  describe("xpath compile", function()
    it("compiles once into an arazzo.xml.XPath", function()
      local x = core.xpath("/invoice/status")
      assert.equal("userdata", type(x))
      assert.equal("arazzo.xml.XPath: /invoice/status", tostring(x))
      assert.is_true(x:test(INVOICE))
      assert.is_true(x:test(INVOICE)) -- reusable
    end)

    it("returns nil, message, 'xpath' for invalid expressions", function()
      local cases = {
        { "//a[", "xpath: invalid expression at offset 4 in '//a['" },
        { "1+", "xpath: invalid expression at offset 2 in '1+'" },
        { "a b", "xpath: invalid expression at offset 2 in 'a b'" },
        { "", "xpath: invalid expression at offset 0 in ''" },
        { "'open", "xpath: unfinished literal at offset 5 in ''open'" },
        { "a\0b", "xpath: expression contains NUL" },
        { string.rep("a", 16385), "xpath: expression longer than 16384 bytes" },
      }
      for _, case in ipairs(cases) do
        local x, err, code = core.xpath(case[1])
        assert.is_nil(x)
        assert.equal(case[2], err)
        assert.equal("xpath", code)
      end
    end)

    it("refuses deeply nested expressions instead of recursing without bound", function()
      local x, err, code = core.xpath(string.rep("(", 8000) .. "1" .. string.rep(")", 8000))
      assert.is_nil(x)
      assert.matches("^xpath: recursion limit exceeded at offset %d+ in '%(%(%(", err)
      assert.equal("xpath", code)
      assert.equal(1, xp(string.rep("-", 16000) .. "1"):eval("<a/>"))
    end)

    it("raises on wrong argument types", function()
      assert.has_error(function() core.xpath() end)
      assert.has_error(function() core.xpath({}) end)
      assert.has_error(function() core.xpath("/a", "urn:x") end)
      assert.has_error(function() core.xpath("/a", { s = 1 }) end,
        "xpath: namespaces must map prefix strings to uri strings")
      assert.has_error(function() xp("/a"):test() end)
      assert.has_error(function() xp("/a"):eval({}) end)
      assert.has_error(function() xp("/a").test("<a/>", "<a/>") end)
    end)
  end)

  describe("test (XPath boolean())", function()
    local cases = {
      { "/invoice/status", true }, { "/invoice/missing", false },
      { "/invoice/status = 'open'", true }, { "/invoice/status = 'paid'", false },
      { "count(//item) > 2", true }, { "count(//item)", true }, { "count(//nothing)", false },
      { "0", false }, { "-0", false }, { "1", true }, { "0.5", true },
      { "number('x')", false }, -- NaN
      { "''", false }, { "'a'", true }, { "string(/invoice/empty)", false },
      { "string(/invoice/status)", true },
      { "//amount > 1000", true }, { "//amount/@currency = 'usd'", true },
      { "not(//error)", true }, { "true() and false()", false },
      { "/invoice/@id = 'in_1' or false()", true },
    }
    for _, case in ipairs(cases) do
      it(string.format("%s -> %s", case[1], tostring(case[2])), function()
        assert.equal(case[2], xp(case[1]):test(INVOICE))
      end)
    end
  end)

  describe("eval", function()
    it("turns node-sets into arrays of string values", function()
      local r = xp("//item"):eval(INVOICE)
      assert.same({ "a", "b", "c" }, r)
      assert.is_true(core.isarray(r))
      assert.same({ "usd" }, xp("//@currency"):eval(INVOICE))
      assert.same({ "abc" }, xp("/invoice/items"):eval(INVOICE))
      assert.same({ "x < y" }, xp("/invoice/note"):eval(INVOICE))
      assert.same({ "open" }, xp("/invoice/status/text()"):eval(INVOICE))
      assert.same({ "m" }, xp("//s:meta"):eval(INVOICE))
    end)

    it("returns an empty array for an empty node-set", function()
      local r = xp("//nothing"):eval(INVOICE)
      assert.same({}, r)
      assert.is_true(core.isarray(r))
    end)

    it("returns numbers, strings and booleans as Lua values", function()
      local n = xp("count(//item)"):eval(INVOICE)
      assert.equal(3, n)
      if math.type then assert.equal("integer", math.type(n)) end
      assert.equal(1234, xp("number(//amount)"):eval(INVOICE))
      assert.equal(2.5, xp("5 div 2"):eval(INVOICE))
      local nan = xp("number('x')"):eval(INVOICE)
      assert.is_true(nan ~= nan)
      assert.equal(math.huge, xp("1 div 0"):eval(INVOICE))
      assert.equal("open", xp("string(/invoice/status)"):eval(INVOICE))
      assert.equal("", xp("string(/invoice/missing)"):eval(INVOICE))
      assert.equal(true, xp("//item = 'b'"):eval(INVOICE))
      assert.equal(false, xp("boolean(//nothing)"):eval(INVOICE))
    end)

    it("decodes the document's declared encoding to UTF-8", function()
      local doc = "<?xml version='1.0' encoding='ISO-8859-1'?><a>caf\233</a>"
      assert.equal("caf\195\169", xp("string(/a)"):eval(doc))
      assert.equal("&A<", xp("string(/a)"):eval("<a>&amp;&#65;&lt;</a>"))
    end)

    it("binds the document's prefixes, and explicit namespaces over them", function()
      local doc = [[<a xmlns="urn:default" xmlns:p="urn:p"><b>1</b><p:c>2</p:c></a>]]
      assert.same({}, xp("/a/b"):eval(doc)) -- XPath 1.0: no default namespace
      assert.same({ "1" }, xp("/d:a/d:b", { d = "urn:default" }):eval(doc))
      assert.same({ "2" }, xp("//p:c"):eval(doc))
      assert.same({}, xp("//p:c", { p = "urn:other" }):eval(doc))
      local x, err, code = xp("//q:c"):eval(doc)
      assert.is_nil(x)
      assert.equal("xpath: undefined namespace prefix in '//q:c'", err)
      assert.equal("xpath", code)
    end)

    it("returns nil, message, 'xpath' for evaluation errors", function()
      local cases = {
        { "$amount", "xpath: undefined variable in '$amount'" },
        { "count(", "xpath: invalid number of arguments in 'count('" },
        { "no-such-fn()", "xpath: unregistered function in 'no-such-fn()'" },
        { "count('x')", "xpath: invalid type in 'count('x')'" },
      }
      for _, case in ipairs(cases) do
        for _, m in ipairs { "eval", "test" } do
          local x = xp(case[1])
          local r, err, code = x[m](x, INVOICE)
          assert.is_nil(r)
          assert.equal(case[2], err)
          assert.equal("xpath", code)
        end
      end
    end)

    it("stops runaway evaluations at the operation limit", function()
      local doc = "<a>" .. string.rep("<b/>", 2000) .. "</a>"
      local expr = "count(//*[count(//*[count(//*) > 0]) > 0])"
      for _, m in ipairs { "eval", "test" } do
        local x = xp(expr)
        local r, err, code = x[m](x, doc)
        assert.is_nil(r)
        assert.equal("xpath: operation limit exceeded in '" .. expr .. "'", err)
        assert.equal("xpath", code)
      end
    end)
  end)

  describe("parsing", function()
    it("returns nil, message with line:col, 'xml' for malformed XML", function()
      local cases = {
        { "<a></b>", "xml: 1:8: opening and ending tag mismatch: a line 1 and b" },
        { "<a>", "xml: 1:4: premature end of data in tag a line 1" },
        { "", "xml: 1:1: document is empty" },
        { "<a>\n<b>\n</c></a>", "xml: 3:5: opening and ending tag mismatch: b line 2 and c" },
        { "<a>&x;</a>", "xml: 1:7: entity 'x' not defined" },
        { "<a/><b/>", "xml: 1:5: extra content at the end of the document" },
        { "<p:a/>", "xml: 1:5: namespace prefix p on a is not defined" },
        { "<a x='1' x='2'/>", "xml: 1:15: attribute x redefined" },
      }
      for _, case in ipairs(cases) do
        for _, m in ipairs { "eval", "test" } do
          local x = xp("/a")
          local r, err, code = x[m](x, case[1])
          assert.is_nil(r)
          assert.equal(case[2], err)
          assert.equal("xml", code)
        end
      end
    end)

    it("refuses entity declarations: internal, external (XXE), parameter, unparsed", function()
      local cases = {
        { [[<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>]], "xml: 1:28: entity declarations are not allowed" },
        { [[<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>]],
          "xml: 1:52: entity declarations are not allowed" },
        { [[<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]><a/>]],
          "xml: 1:60: entity declarations are not allowed" },
        { [[<!DOCTYPE a [<!NOTATION n SYSTEM "n"><!ENTITY u SYSTEM "u" NDATA n>]><a/>]],
          "xml: 1:67: entity declarations are not allowed" },
      }
      for _, case in ipairs(cases) do
        local r, err, code = xp("string(/a)"):eval(case[1])
        assert.is_nil(r)
        assert.equal(case[2], err)
        assert.equal("xml", code)
      end
    end)

    it("refuses billion laughs before any expansion", function()
      local decl = { '<!ENTITY l0 "lol">' }
      for i = 1, 9 do
        decl[#decl + 1] = ('<!ENTITY l%d "%s">'):format(i, string.rep("&l" .. (i - 1) .. ";", 10))
      end
      local doc = "<!DOCTYPE z [" .. table.concat(decl) .. "]><z>&l9;</z>"
      local r, err, code = xp("string(/z)"):eval(doc)
      assert.is_nil(r)
      assert.equal("xml: 1:31: entity declarations are not allowed", err)
      assert.equal("xml", code)
    end)

    it("never loads an external DTD", function()
      local doc = [[<!DOCTYPE a SYSTEM "file:///etc/passwd"><a>x</a>]]
      assert.equal("x", xp("string(/a)"):eval(doc))
      local r, err = xp("string(/a)"):eval([[<!DOCTYPE a SYSTEM "file:///etc/passwd"><a>&root;</a>]])
      assert.is_nil(r)
      assert.equal("xml: 1:50: entity 'root' not defined", err)
    end)

    it("ignores warnings (an XML 1.1 declaration parses as 1.0)", function()
      assert.is_true(xp("/a"):test("<?xml version='1.1'?><a/>"))
    end)

    it("accepts a DOCTYPE without entities", function()
      assert.is_true(xp("/a"):test([[<!DOCTYPE a [<!ELEMENT a (#PCDATA)>]><a>x</a>]]))
    end)

    it("keeps libxml2's depth limit", function()
      local deep = string.rep("<a>", 300) .. string.rep("</a>", 300)
      local r, err, code = xp("/a"):test(deep)
      assert.is_nil(r)
      assert.equal("xml: 1:772: excessive depth in document: 256 use XML_PARSE_HUGE option", err)
      assert.equal("xml", code)
      assert.is_true(xp("/a"):test(string.rep("<a>", 200) .. string.rep("</a>", 200)))
    end)

    it("refuses documents over 16 MiB", function()
      local big = "<a>" .. string.rep("x", 16 * 1024 * 1024) .. "</a>"
      local r, err, code = xp("/a"):test(big)
      assert.is_nil(r)
      assert.equal("xml: document larger than 16 MiB", err)
      assert.equal("xml", code)
    end)

    it("never prints libxml2 errors to stderr", function()
      local lua = rawget(_G, "jit") and "luajit" or "lua5.4"
      local code = "package.cpath = " .. string.format("%q", package.cpath) .. [[
        local core = require "arazzo.core"
        core.xpath("//a[")
        core.xpath("$x"):eval("<a/>")
        core.xpath("/a"):test("<a></b>")
        core.xpath("/a"):test("<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>")
        core.xml_replace("<a", "/a", "x")
        io.stdout:write("done")]]
      local p = assert(io.popen(lua .. " -e '" .. code:gsub("'", "'\\''") .. "' 2>&1"))
      local out = p:read("*a")
      p:close()
      assert.equal("done", out)
    end)
  end)

  describe("xml_replace", function()
    it("replaces element text, escaping markup", function()
      assert.equal("<a><b>x &lt;y&gt; &amp; z</b></a>", core.xml_replace("<a><b>1</b></a>", "/a/b", "x <y> & z"))
    end)

    it("replaces attribute values, escaping quotes", function()
      assert.equal([[<a id="say &quot;hi&quot; &amp; &lt;bye&gt;"/>]],
        core.xml_replace([[<a id="1"/>]], "/a/@id", [[say "hi" & <bye>]]))
    end)

    it("replaces text and CDATA nodes", function()
      assert.equal("<a>new<b/>tail</a>", core.xml_replace("<a>old<b/>tail</a>", "/a/text()[1]", "new"))
      assert.equal("<a><![CDATA[y]]]]><![CDATA[>z]]></a>",
        core.xml_replace("<a><![CDATA[x]]></a>", "/a/text()", "y]]>z"))
    end)

    it("replaces every selected node, nested selections included", function()
      assert.equal("<a><b>z</b><b>z</b></a>", core.xml_replace("<a><b>1</b><b>2</b></a>", "//b", "z"))
      assert.equal("<a>z</a>", core.xml_replace("<a><b x='1'>1</b><b>2</b></a>", "//b | //@x | /a", "z"))
      assert.equal("<a><b>z</b></a>", core.xml_replace("<a><b><c>1</c>t</b></a>", "//c | //b | //text()", "z"))
    end)

    it("replaces an element's children with one text node, or nothing", function()
      assert.equal("<a>t</a>", core.xml_replace("<a><b/>x<!--c--></a>", "/a", "t"))
      assert.equal("<a></a>", core.xml_replace("<a>x</a>", "/a", ""))
    end)

    it("keeps the declaration, encoding and trailing newline as they were", function()
      local doc = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<a>caf\233</a>\n'
      assert.equal('<?xml version="1.0" encoding="ISO-8859-1"?>\n<a>th\233</a>\n',
        core.xml_replace(doc, "/a", "th\195\169"))
      assert.equal("<a>1</a>", core.xml_replace("<a>0</a>", "/a", "1"))
      assert.equal("<a>1</a>\n", core.xml_replace("<a>0</a>\n", "/a", "1"))
      assert.equal('<?xml version="1.0"?><a>1</a>', core.xml_replace('<?xml version="1.0"?><a>0</a>', "/a", "1"))
      assert.equal("<?xml version='1.0' ?>\n\n<a>1</a>",
        core.xml_replace("<?xml version='1.0' ?>\n\n<a>0</a>", "/a", "1"))
    end)

    it("accepts a compiled XPath with its namespaces", function()
      local doc = [[<a xmlns="urn:d"><b>1</b></a>]]
      local x = xp("/d:a/d:b", { d = "urn:d" })
      assert.equal([[<a xmlns="urn:d"><b>2</b></a>]], core.xml_replace(doc, x, "2"))
      assert.equal([[<a xmlns:p="urn:p"><p:b>2</p:b></a>]],
        core.xml_replace([[<a xmlns:p="urn:p"><p:b>1</p:b></a>]], "//p:b", "2"))
    end)

    it("accepts numbers as values", function()
      assert.equal("<a>42</a>", core.xml_replace("<a>0</a>", "/a", 42))
    end)

    it("returns nil, message, code when nothing can be replaced", function()
      local only = " (only elements, attributes and text can be replaced)"
      local cases = {
        { "<a/>", "//c", "xml_replace: xpath '//c' selected no node", "xml" },
        { "<a/>", "count(//a)", "xml_replace: xpath 'count(//a)' does not select nodes", "xml" },
        { "<a><!--c--></a>", "//comment()", "xml_replace: xpath '//comment()' selected a comment" .. only, "xml" },
        { "<a><?p x?></a>", "//processing-instruction()",
          "xml_replace: xpath '//processing-instruction()' selected a processing instruction" .. only, "xml" },
        { "<a xmlns:p='urn:p'/>", "/a/namespace::p",
          "xml_replace: xpath '/a/namespace::p' selected a namespace node" .. only, "xml" },
        { "<a/>", "/", "xml_replace: xpath '/' selected the document node" .. only, "xml" },
        { "<a/>", "//a[", "xpath: invalid expression at offset 4 in '//a['", "xpath" },
        { "<a/>", "$v", "xpath: undefined variable in '$v'", "xpath" },
        { "<a>", "/a", "xml: 1:4: premature end of data in tag a line 1", "xml" },
        { "<!DOCTYPE a [<!ENTITY x 'y'>]><a/>", "/a", "xml: 1:28: entity declarations are not allowed", "xml" },
      }
      for _, case in ipairs(cases) do
        local r, err, code = core.xml_replace(case[1], case[2], "v")
        assert.is_nil(r)
        assert.equal(case[3], err)
        assert.equal(case[4], code)
      end
    end)

    it("refuses values that are not XML 1.0 text", function()
      local cases = {
        { "ok\1", 3 }, { "\0", 1 }, { "a\255", 2 }, { "\192\128", 1 }, { "\237\160\128", 1 },
        { "\239\191\190", 1 }, { "caf\195", 4 }, { "\244\144\128\128", 1 },
      }
      for _, case in ipairs(cases) do
        local r, err, code = core.xml_replace("<a/>", "/a", case[1])
        assert.is_nil(r)
        assert.equal(("xml_replace: value is not valid XML text (byte %d)"):format(case[2]), err)
        assert.equal("xml", code)
      end
      assert.equal("<a>\t\n&#13;\240\159\146\176</a>", core.xml_replace("<a/>", "/a", "\t\n\r\240\159\146\176"))
      assert.equal('\239\187\191<?xml version="1.0"?>\r\n <a>\240\159\146\176</a>',
        core.xml_replace('\239\187\191<?xml version="1.0"?>\r\n <a/>', "/a", "\240\159\146\176"))
      assert.equal('<?xml version="1.0" encoding="UTF-8"?><a>caf\195\169 \240\159\146\176</a>',
        core.xml_replace('<?xml version="1.0" encoding="UTF-8"?><a/>', "/a", "caf\195\169 \240\159\146\176"))
      assert.equal('<?xml version="1.0" encoding="ISO-8859-1"?><a>caf\233 &#128176;</a>',
        core.xml_replace('<?xml version="1.0" encoding="ISO-8859-1"?><a/>', "/a", "caf\195\169 \240\159\146\176"))
    end)

    it("raises on wrong argument types", function()
      assert.has_error(function() core.xml_replace(nil, "/a", "x") end)
      assert.has_error(function() core.xml_replace("<a/>", 1, "x") end)
      assert.has_error(function() core.xml_replace("<a/>", "/a", {}) end)
      assert.has_error(function() core.xml_replace("<a/>", "/a") end)
    end)
  end)

  describe("lifetime", function()
    it("collects compiled XPaths", function()
      local weak = setmetatable({}, { __mode = "k" })
      local function make()
        local x = xp("//item")
        assert.is_true(x:test(INVOICE))
        weak[x] = true
      end
      make()
      collectgarbage()
      collectgarbage()
      assert.is_nil(next(weak))
    end)
  end)
end)
