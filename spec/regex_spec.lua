-- regex_spec.lua: core.regex, ECMAScript-like regular expressions on PCRE2.
local core = require "arazzo.core"

-- Every return value, so tests see the exact shape (nil, msg, code).
local function pack(...) return { n = select("#", ...), ... } end

describe("arazzo.regex", function()
  describe("core.regex()", function()
    it("compiles a pattern into an arazzo.regex.Regex", function()
      local re = assert(core.regex("a+b"))
      assert.equal("userdata", type(re))
      assert.equal("arazzo.regex.Regex", getmetatable(re).__name)
      assert.equal("a+b", tostring(re))
    end)

    it("returns nil, message with the PCRE2 offset, 'regex' for a bad pattern", function()
      assert.same({ n = 3, nil, "regex: missing closing parenthesis at offset 2", "regex" },
        pack(core.regex("a(")))
      assert.same({ n = 3, nil, "regex: unmatched closing parenthesis at offset 1", "regex" },
        pack(core.regex("a)")))
      assert.same({ n = 3, nil, "regex: numbers out of order in {} quantifier at offset 5", "regex" },
        pack(core.regex("a{2,1}")))
      assert.same({ n = 3, nil, "regex: reference to non-existent subpattern at offset 4", "regex" },
        pack(core.regex("(a)\\2")))
    end)

    it("refuses invalid UTF-8 in the pattern", function()
      assert.same({ n = 3, nil, "regex: UTF-8 error: illegal byte (0xfe or 0xff) at offset 0", "regex" },
        pack(core.regex("\255")))
    end)

    it("refuses \\C, which could split a UTF-8 character", function()
      assert.same({ n = 3, nil, "regex: using \\C is disabled by the application at offset 2", "regex" },
        pack(core.regex("\\C")))
    end)

    it("raises on bad arguments and unknown or repeated flags", function()
      local function arg_error(n, detail, fn, ...)
        local ok, err = pcall(fn, ...)
        assert.is_false(ok)
        local pat = "^bad argument #" .. n .. " to '[^']+' %(" .. detail:gsub("%p", "%%%0") .. "%)$"
        assert.matches(pat, err)
      end
      arg_error(1, "string expected, got no value", core.regex)
      arg_error(2, "invalid regex flag 'g' (expected i, m or s)", core.regex, "a", "g")
      arg_error(2, "duplicate regex flag 'i'", core.regex, "a", "ii")
      assert.has_error(function() core.regex("a", {}) end)
    end)
  end)

  describe("re:test()", function()
    it("searches anywhere in the subject (unanchored)", function()
      local re = core.regex("b+")
      assert.is_true(re:test("abbbc"))
      assert.is_false(re:test("ac"))
      assert.is_true(core.regex(""):test(""))
    end)

    it("matches '$' only at the very end unless the m flag is given", function()
      assert.is_false(core.regex("a$"):test("a\n"))
      assert.is_true(core.regex("a$"):test("xa"))
      assert.is_true(core.regex("a$", "m"):test("a\n"))
      assert.is_true(core.regex("^b$", "m"):test("a\r\nb\r\nc"))
      assert.is_false(core.regex("^b$"):test("a\nb\nc"))
    end)

    it("keeps '.' off CR and LF unless the s flag is given", function()
      assert.is_false(core.regex("a.b"):test("a\nb"))
      assert.is_false(core.regex("a.b"):test("a\rb"))
      assert.is_true(core.regex("a.b"):test("a\tb"))
      assert.is_true(core.regex("a.b", "s"):test("a\nb"))
    end)

    it("ignores case with the i flag, for non-ASCII letters too", function()
      assert.is_false(core.regex("straße"):test("STRAßE"))
      assert.is_true(core.regex("straße", "i"):test("STRAßE"))
      assert.is_true(core.regex("é", "i"):test("É"))
    end)

    it("accepts the three flags together", function()
      assert.is_true(core.regex("^A.B$", "ims"):test("x\na\nb"))
    end)

    it("reads ECMAScript escapes: \\xHH, \\uHHHH, \\u{...} and surrogate pairs", function()
      assert.is_true(core.regex("^\\x41\\u0042$"):test("AB"))
      assert.is_true(core.regex("^\\u{1F600}$"):test("😀"))
      assert.is_true(core.regex("^\\uD83D\\uDE00+$"):test("😀😀"))
      assert.is_true(core.regex("[\\uD83D\\uDE00-\\uD83D\\uDE4F]"):test("x🙂"))
      assert.is_true(core.regex("^\\U$"):test("U"))
    end)

    it("refuses a lone surrogate escape", function()
      assert.same({ n = 3, nil, "regex: disallowed Unicode code point (>= 0xd800 && <= 0xdfff) at offset 6",
        "regex" }, pack(core.regex("\\uD800")))
    end)

    it("treats [] as matching nothing and [^] as matching any character", function()
      assert.is_false(core.regex("[]"):test("abc"))
      assert.is_true(core.regex("a[^]b"):test("a\nb"))
    end)

    it("lets a backreference to an unset group match the empty string", function()
      assert.is_true(core.regex("^(?:(a)|b)\\1$"):test("b"))
      assert.is_true(core.regex("^(a)?\\1b$"):test("b"))
    end)

    it("supports named groups, lookahead and fixed-length lookbehind", function()
      assert.is_true(core.regex("(?<y>\\d{4})-\\k<y>"):test("2024-2024"))
      assert.is_true(core.regex("a(?=b)"):test("ab"))
      assert.is_true(core.regex("(?<!x)b"):test("ab"))
      assert.is_false(core.regex("(?<=a)b"):test("cb"))
    end)

    it("keeps \\d, \\w and \\s to ASCII (the \\s difference from ECMAScript is documented)", function()
      assert.is_false(core.regex("\\d"):test("٣"))
      assert.is_false(core.regex("\\w"):test("é"))
      assert.is_false(core.regex("\\s"):test("\u{a0}"))
      assert.is_true(core.regex("\\s"):test("\t"))
    end)

    it("returns nil, message for a subject that is not UTF-8", function()
      assert.same({ n = 2, nil, "regex: invalid subject: UTF-8 error: illegal byte (0xfe or 0xff) at offset 1" },
        pack(core.regex("a"):test("a\255b")))
    end)

    it("fails quickly with the match limit on catastrophic backtracking", function()
      -- the limit turns exponential backtracking into an error, not a hang
      assert.same({ n = 2, nil, "regex: match limit exceeded" },
        pack(core.regex("(a+)+$"):test(string.rep("a", 40) .. "!")))
    end)

    it("stays within its limits on long subjects that really match", function()
      local big = string.rep("x", 1000000) .. "ab"
      assert.is_true(core.regex("a.*b"):test(big))
      assert.is_true(core.regex("^(?:a|b)*c$"):test(string.rep("ab", 10000) .. "c"))
    end)

    it("raises on a non-string subject", function()
      local re = core.regex("a")
      assert.has_error(function() re:test({}) end)
      assert.has_error(function() re.test(nil, "a") end)
    end)

    it("does not stop at NUL bytes", function()
      assert.is_true(core.regex("a\0b"):test("xa\0b"))
      assert.is_true(core.regex("b$"):test("a\0b"))
    end)
  end)

  describe("re:find()", function()
    it("returns 1-based inclusive positions like string.find", function()
      assert.same({ n = 2, 2, 4 }, pack(core.regex("b+"):find("abbbc")))
      assert.same({ n = 1, nil }, pack(core.regex("z"):find("abc")))
    end)

    it("returns the captures, false for a group that did not take part", function()
      assert.same({ n = 4, 1, 1, false, "b" }, pack(core.regex("(a)|(b)"):find("b")))
      assert.same({ n = 4, 4, 10, "2024", "05" },
        pack(core.regex("(?<y>\\d{4})-(?<m>\\d\\d)"):find("on 2024-05-01")))
    end)

    it("counts positions in bytes", function()
      assert.same({ n = 2, 2, 5 }, pack(core.regex("\\uD83D\\uDE42"):find("x🙂")))
      assert.same({ n = 2, 3, 4 }, pack(core.regex("é"):find("aaé")))
    end)

    it("starts at init, counts a negative init from the end and clamps it", function()
      assert.same({ n = 2, 3, 3 }, pack(core.regex("a"):find("aba", 2)))
      assert.same({ n = 2, 2, 2 }, pack(core.regex("b"):find("abc", -2)))
      assert.same({ n = 2, 1, 1 }, pack(core.regex("a"):find("abc", -10)))
      assert.same({ n = 2, 1, 1 }, pack(core.regex("a"):find("abc", 0)))
    end)

    it("finds an empty match at len+1 and nothing beyond", function()
      assert.same({ n = 2, 4, 3 }, pack(core.regex("x*"):find("abc", 4)))
      assert.same({ n = 1, nil }, pack(core.regex("x*"):find("abc", 5)))
    end)

    it("returns nil, message when init falls inside a UTF-8 character", function()
      assert.same({ n = 2, nil, "regex: bad offset into UTF string" }, pack(core.regex("é"):find("aé", 3)))
    end)

    it("returns nil, message when the match limit is hit", function()
      assert.same({ n = 2, nil, "regex: match limit exceeded" },
        pack(core.regex("(a+)+$"):find(string.rep("a", 40) .. "!")))
    end)

    it("raises on a bad init", function()
      assert.has_error(function() core.regex("a"):find("a", "x") end)
    end)
  end)

  describe("lifetime", function()
    it("close() frees the pattern, twice is harmless, use after close raises", function()
      local re = core.regex("a")
      re:close()
      re:close()
      assert.has_error(function() re:test("a") end, "attempt to use a closed regex")
      assert.has_error(function() re:find("a") end, "attempt to use a closed regex")
      assert.equal("a", tostring(re))
    end)

    it("is collected by the garbage collector", function()
      local weak = setmetatable({}, { __mode = "k" })
      weak[core.regex("a")] = true
      collectgarbage()
      collectgarbage()
      assert.is_nil(next(weak))
    end)

    if _VERSION == "Lua 5.4" then
      it("closes a <close> variable at the end of its scope", function()
        local chunk = assert(load([[
          local core, out = ...
          do
            local re <close> = core.regex("a")
            out.re = re
            out.inside = re:test("a")
          end
        ]]))
        local out = {}
        chunk(core, out)
        assert.is_true(out.inside)
        assert.has_error(function() out.re:test("a") end, "attempt to use a closed regex")
      end)
    end
  end)
end)
