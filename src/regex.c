/* regex.c: ECMAScript-like regular expressions on PCRE2: core.regex and arazzo_regex_*.
 * Licence: MIT (see LICENSE).
 *
 * Dialect. Patterns compile with PCRE2 in UTF mode, with options chosen to
 * behave like an ECMA-262 regular expression with the u flag:
 *   PCRE2_UTF                    pattern and subject are UTF-8 (checked)
 *   PCRE2_DOLLAR_ENDONLY         '$' matches only at the very end (unless m)
 *   PCRE2_ALT_BSUX, EXTRA_ALT_BSUX   \uHHHH, \u{H..} and \xHH as in ECMAScript
 *   PCRE2_MATCH_UNSET_BACKREF    a backreference to an unset group matches ""
 *   PCRE2_ALLOW_EMPTY_CLASS      [] never matches, [^] matches any character
 *   PCRE2_NEVER_BACKSLASH_C      \C (a single code unit) is refused
 *   newline convention ANYCRLF   CR and LF end lines for '.', and '^'/'$' with m
 * A surrogate pair written as two escapes (\uD83D\uDE00) is rewritten, in
 * place, into the one code point ECMAScript would read.
 * Differences that remain:
 *   - U+2028 and U+2029 are not line terminators: '.' matches them and '^'/'$'
 *     (with m) do not stop at them;
 *   - \s is ASCII white space only (no U+00A0, U+FEFF or other Unicode spaces);
 *     \d, \w and \b are ASCII as in ECMAScript;
 *   - the i flag uses Unicode simple case folding (ECMAScript's u-mode rule);
 *   - each branch of a lookbehind must have a fixed length;
 *   - a lone surrogate escape (\uD800) and a backreference to a group that
 *     does not exist (\2 with one group) are errors; there are no octal escapes;
 *   - PCRE-only syntax is accepted too (possessive quantifiers, atomic groups,
 *     \A, \z, inline options such as (?i), recursion);
 *   - flags g, y, d, u and v do not exist (UTF mode is always on).
 * Limits: every match runs under a match limit, a depth limit and a heap
 * limit, so a catastrophic pattern such as (a+)+$ fails with an error instead of
 * hanging. The JIT is used when available; when its stack is exhausted the
 * match is retried with the interpreter, which has the heap limit. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "arazzo.h"

#define REGEX_MT "arazzo.regex.Regex"
#define REGEX_MATCH_LIMIT 1000000u
#define REGEX_DEPTH_LIMIT 1000000u
#define REGEX_HEAP_LIMIT_KIB 16384u

#define REGEX_BASE_OPTIONS                                                                    \
  (PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_MATCH_UNSET_BACKREF | PCRE2_ALLOW_EMPTY_CLASS |         \
   PCRE2_NEVER_BACKSLASH_C)

static void push_regex_mt(lua_State *L);

struct arazzo_regex {
  pcre2_code *code;
  pcre2_match_data *md;
  pcre2_match_context *mctx;
  int lasterr;   /* PCRE2 error of the last failed match, 0 if none */
  size_t errpos; /* subject offset of a UTF-8 error */
};

/* Free everything the userdata owns; safe to call twice. */
static void regex_release(arazzo_regex *re) {
  if (re->md) pcre2_match_data_free(re->md);
  if (re->mctx) pcre2_match_context_free(re->mctx);
  if (re->code) pcre2_code_free(re->code);
  re->md = NULL;
  re->mctx = NULL;
  re->code = NULL;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Value of the \uHHHH escape at s[i] (s[i] == '\\'), or -1. */
static long u_escape(const char *s, size_t len, size_t i) {
  long v = 0;
  size_t k;
  if (i + 6 > len || s[i] != '\\' || s[i + 1] != 'u') return -1;
  for (k = 2; k < 6; k++) {
    int h = hexval((unsigned char)s[i + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/* Push pat with every escaped surrogate pair \uD8xx\uDCxx rewritten as
 * \u{00HHHHHH} (same length, so PCRE2 error offsets still point into the
 * caller's text). Returns 0 and pushes nothing when there is no pair. */
static int push_surrogate_fix(lua_State *L, const char *pat, size_t len) {
  luaL_Buffer b;
  size_t i = 0;
  int changed = 0;
  luaL_buffinit(L, &b);
  while (i < len) {
    long hi = pat[i] == '\\' ? u_escape(pat, len, i) : -1;
    long lo = hi >= 0xD800 && hi <= 0xDBFF ? u_escape(pat, len, i + 6) : -1;
    if (lo >= 0xDC00 && lo <= 0xDFFF) {
      char tmp[32];
      snprintf(tmp, sizeof tmp, "\\u{%08lX}",
               (unsigned long)(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)));
      luaL_addlstring(&b, tmp, 12);
      i += 12;
      changed = 1;
    } else if (pat[i] == '\\' && i + 1 < len) {
      luaL_addlstring(&b, pat + i, 2);
      i += 2;
    } else {
      luaL_addchar(&b, pat[i]);
      i++;
    }
  }
  luaL_pushresult(&b);
  if (!changed) lua_pop(L, 1);
  return changed;
}

/* Compile pat into re (in the released state). On failure fills err and
 * *erroff and returns 0; re stays released or partly acquired (the caller's
 * __gc frees it). Never raises while PCRE2 memory is held outside re. */
static int regex_acquire(arazzo_regex *re, const char *pat, size_t len, uint32_t opts,
                         char *err, size_t errlen, size_t *erroff) {
  int code = 0;
  PCRE2_SIZE off = 0;
  pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
  *erroff = 0;
  if (!cc) {
    snprintf(err, errlen, "not enough memory");
    return 0;
  }
  pcre2_set_newline(cc, PCRE2_NEWLINE_ANYCRLF);
  pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
  re->code = pcre2_compile((PCRE2_SPTR)pat, len, opts | REGEX_BASE_OPTIONS, &code, &off, cc);
  pcre2_compile_context_free(cc);
  if (!re->code) {
    pcre2_get_error_message(code, (PCRE2_UCHAR *)err, errlen);
    *erroff = (size_t)off;
    return 0;
  }
  (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE); /* failure: interpreter */
  re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
  re->mctx = pcre2_match_context_create(NULL);
  if (!re->md || !re->mctx) {
    snprintf(err, errlen, "not enough memory");
    return 0;
  }
  pcre2_set_match_limit(re->mctx, REGEX_MATCH_LIMIT);
  pcre2_set_depth_limit(re->mctx, REGEX_DEPTH_LIMIT);
  pcre2_set_heap_limit(re->mctx, REGEX_HEAP_LIMIT_KIB);
  return 1;
}

/* Push a new released userdata with the regex metatable, compile pat into
 * it. Returns the pointer, or NULL with the userdata popped and err set.
 * [-0,+(1|0)], raises only on memory errors (nothing is held then). */
static arazzo_regex *regex_new(lua_State *L, const char *pat, size_t len, uint32_t opts,
                               char *err, size_t errlen, size_t *erroff) {
  arazzo_regex *re = (arazzo_regex *)lua_newuserdata(L, sizeof *re);
  int fixed, ok;
  memset(re, 0, sizeof *re);
  push_regex_mt(L);
  lua_setmetatable(L, -2);
  lua_createtable(L, 1, 0); /* user value: { pattern } for tostring */
  lua_pushlstring(L, pat, len);
  lua_rawseti(L, -2, 1);
  lua_setuservalue(L, -2);
  fixed = push_surrogate_fix(L, pat, len);
  if (fixed) pat = lua_tolstring(L, -1, &len);
  ok = regex_acquire(re, pat, len, opts, err, errlen, erroff);
  if (fixed) lua_pop(L, 1);
  if (!ok) {
    regex_release(re);
    lua_pop(L, 1);
    return NULL;
  }
  return re;
}

/* Run one match from byte offset start; returns PCRE2's code (> 0 match,
 * PCRE2_ERROR_NOMATCH, or another negative error). */
static int regex_run(arazzo_regex *re, const char *s, size_t len, size_t start) {
  int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, start, 0, re->md, re->mctx);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
    rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, start, PCRE2_NO_JIT, re->md, re->mctx);
  if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
    re->lasterr = rc;
    re->errpos = rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21
                     ? (size_t)pcre2_get_startchar(re->md)
                     : 0;
  }
  return rc;
}

/* Describe re's last match error into buf; returns buf. */
const char *arazzo_regex_error(arazzo_regex *re, char *buf, size_t len) {
  char msg[128];
  pcre2_get_error_message(re->lasterr, (PCRE2_UCHAR *)msg, sizeof msg);
  if (re->lasterr <= PCRE2_ERROR_UTF8_ERR1 && re->lasterr >= PCRE2_ERROR_UTF8_ERR21)
    snprintf(buf, len, "invalid subject: %s at offset %lu", msg, (unsigned long)re->errpos);
  else
    snprintf(buf, len, "%s", msg);
  return buf;
}

arazzo_regex *arazzo_regex_compile(lua_State *L, const char *pat, size_t len, int full_match,
                                   char *err, size_t errlen) {
  size_t off;
  char msg[120];
  uint32_t opts = PCRE2_DOLLAR_ENDONLY | (full_match ? PCRE2_ANCHORED | PCRE2_ENDANCHORED : 0);
  arazzo_regex *re = regex_new(L, pat, len, opts, msg, sizeof msg, &off);
  if (!re) snprintf(err, errlen, "%s at offset %lu", msg, (unsigned long)off);
  return re;
}

int arazzo_regex_exec(arazzo_regex *re, const char *s, size_t len) {
  int rc;
  if (!re->code) {
    re->lasterr = PCRE2_ERROR_NULL;
    return -1;
  }
  rc = regex_run(re, s, len, 0);
  return rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

/* ---- Lua API ------------------------------------------------------------ */

/* The open regex at index 1; raises when it is not one or was closed. */
static arazzo_regex *check_open(lua_State *L) {
  arazzo_regex *re = (arazzo_regex *)luaL_checkudata(L, 1, REGEX_MT);
  if (!re->code) luaL_error(L, "attempt to use a closed regex");
  return re;
}

/* Push nil and the message of re's last match error. [-0,+2] */
static int push_match_error(lua_State *L, arazzo_regex *re) {
  char buf[200];
  lua_pushnil(L);
  lua_pushfstring(L, "regex: %s", arazzo_regex_error(re, buf, sizeof buf));
  return 2;
}

/* core.regex(pattern [, flags]) -> Regex | nil, "regex: <msg> at offset N",
 * "regex". flags: any of "i", "m", "s" once each; anything else raises. */
static int l_regex(lua_State *L) {
  size_t len, flen = 0, k, off;
  const char *pat = luaL_checklstring(L, 1, &len);
  const char *flags = luaL_optlstring(L, 2, "", &flen);
  uint32_t opts = PCRE2_DOLLAR_ENDONLY, bit;
  char err[120];
  for (k = 0; k < flen; k++) {
    bit = flags[k] == 'i' ? PCRE2_CASELESS : flags[k] == 'm' ? PCRE2_MULTILINE
        : flags[k] == 's' ? PCRE2_DOTALL : 0;
    if (!bit || (opts & bit)) {
      lua_pushfstring(L, bit ? "duplicate regex flag '%c'" : "invalid regex flag '%c' (expected i, m or s)",
                      flags[k]);
      return luaL_argerror(L, 2, lua_tostring(L, -1));
    }
    opts |= bit;
  }
  lua_settop(L, 1);
  if (regex_new(L, pat, len, opts, err, sizeof err, &off)) return 1;
  lua_pushnil(L);
  lua_pushfstring(L, "regex: %s at offset %d", err, (int)off);
  lua_pushliteral(L, "regex");
  return 3;
}

/* re:test(s) -> boolean (unanchored search) | nil, msg when matching failed. */
static int re_test(lua_State *L) {
  arazzo_regex *re = check_open(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  int rc = regex_run(re, s, len, 0);
  if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) return push_match_error(L, re);
  lua_pushboolean(L, rc >= 0);
  return 1;
}

/* re:find(s [, init]) -> start, end, captures... (1-based, inclusive, as
 * string.find; an unset group gives false) | nil | nil, msg on failure. */
static int re_find(lua_State *L) {
  arazzo_regex *re = check_open(L);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  lua_Integer init = luaL_optinteger(L, 3, 1);
  uint32_t ncap = 0, g;
  PCRE2_SIZE *ov;
  int rc;
  if (init < 0) init = (lua_Integer)len + init + 1;
  if (init < 1) init = 1;
  if (init > (lua_Integer)len + 1) {
    lua_pushnil(L);
    return 1;
  }
  rc = regex_run(re, s, len, (size_t)init - 1);
  if (rc == PCRE2_ERROR_NOMATCH) {
    lua_pushnil(L);
    return 1;
  }
  if (rc < 0) return push_match_error(L, re);
  ov = pcre2_get_ovector_pointer(re->md);
  pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &ncap);
  luaL_checkstack(L, (int)ncap + 2, "too many captures");
  lua_pushinteger(L, (lua_Integer)ov[0] + 1);
  lua_pushinteger(L, (lua_Integer)ov[1]);
  for (g = 1; g <= ncap; g++) {
    if ((int)g < rc && ov[2 * g] != PCRE2_UNSET)
      lua_pushlstring(L, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
    else
      lua_pushboolean(L, 0);
  }
  return (int)ncap + 2;
}

/* re:close(), __gc, __close: free the compiled pattern (idempotent). */
static int re_close(lua_State *L) {
  regex_release((arazzo_regex *)luaL_checkudata(L, 1, REGEX_MT));
  return 0;
}

/* tostring(re) -> the pattern as given. */
static int re_tostring(lua_State *L) {
  luaL_checkudata(L, 1, REGEX_MT);
  lua_getuservalue(L, 1);
  lua_rawgeti(L, -1, 1);
  return 1;
}

static const luaL_Reg regex_methods[] = {
    {"test", re_test}, {"find", re_find}, {"close", re_close}, {NULL, NULL}};

static const luaL_Reg regex_funcs[] = {{"regex", l_regex}, {NULL, NULL}};

/* Push the Regex metatable, creating it on first use, so regexes compiled
 * through arazzo_regex_compile by a module opened earlier still get their
 * __gc. [-0,+1] */
static void push_regex_mt(lua_State *L) {
  if (luaL_newmetatable(L, REGEX_MT)) {
    lua_pushliteral(L, REGEX_MT);
    lua_setfield(L, -2, "__name");
    lua_newtable(L);
    luaL_setfuncs(L, regex_methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, re_close);
    lua_setfield(L, -2, "__gc");
#if ARAZZO_CLOSE_METAMETHOD
    lua_pushcfunction(L, re_close);
    lua_setfield(L, -2, "__close");
#endif
    lua_pushcfunction(L, re_tostring);
    lua_setfield(L, -2, "__tostring");
  }
}

void arazzo_regex_open(lua_State *L) {
  push_regex_mt(L);
  lua_pop(L, 1);
  luaL_setfuncs(L, regex_funcs, 0);
}
