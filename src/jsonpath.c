/* jsonpath.c: JSONPath (RFC 9535) parser for queries, segments and selectors: core.jsonpath().
 * Licence: MIT (see LICENSE).
 *
 * Filter expressions and function calls are parsed and type-checked in
 * jsonpath_filter.c. The query compiles into a flat node array
 * (jsonpath_internal.h) built in a growing userdata, then copied into the
 * Path userdata; strings and regexes live in the Path's user value table.
 * All memory belongs to Lua, so a syntax error simply raises inside a
 * protected call and becomes nil, msg, "jsonpath", column. Recursion is
 * bounded by JP_MAX_NESTING, the query length by JP_MAX_QUERY; columns
 * count characters from 1.
 *
 * Choices where the RFC leaves room or is silent:
 *   - every integer literal (index, slice, or number without fraction or
 *     exponent in a filter) must lie within +-(2^53-1); other numbers are
 *     doubles; "-0" is a number literal but not an index or slice bound;
 *   - a singular query allows blank space between its segments but none
 *     inside brackets, as the ABNF of name-segment and index-segment says.
 * The "goessner" dialect (draft-goessner-dispatch-jsonpath-00) parses the
 * same grammar plus: `.length` of an array or string yields its length (a
 * member named length still wins on objects), the script index
 * [(@.length-N)] selects from the end, and `===`/`!==` read as `==`/`!=`.
 * Other script expressions are refused with an error; filters keep the RFC's
 * comparison rules (no JavaScript type coercion). */
#include <stdarg.h>
#include <string.h>

#include "jsonpath_internal.h"

#define JP_MAX_INT 9007199254740991LL /* 2^53 - 1 */

/* Raise a syntax error at byte offset pos. Never returns. */
int arazzo_jsonpath_fail(jp_parser *p, size_t pos, const char *fmt, ...) {
  va_list ap;
  p->errpos = pos;
  va_start(ap, fmt);
  lua_pushvfstring(p->L, fmt, ap);
  va_end(ap);
  return lua_error(p->L);
}

static int is_name_first(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

/* Raise "expected <what>, found <the character at pos>". */
int arazzo_jsonpath_expected(jp_parser *p, const char *what) {
  int c = peek(p);
  if (c < 0) return arazzo_jsonpath_fail(p, p->pos, "expected %s, found end of query", what);
  if (is_ws(c)) return arazzo_jsonpath_fail(p, p->pos, "expected %s, found white space", what);
  if (c > 0x20 && c < 0x7f)
    return arazzo_jsonpath_fail(p, p->pos, "expected %s, found '%c'", what, c);
  return arazzo_jsonpath_fail(p, p->pos, "expected %s, found %s", what,
                              c < 0x80 ? "a control character" : "a non-ASCII character");
}

/* Offset of the first byte that does not start a well-formed UTF-8 scalar
 * value, or len when s is valid. */
static size_t utf8_check(const char *s, size_t len) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    size_t n = u[i] < 0x80 ? 1 : u[i] >= 0xC2 && u[i] <= 0xDF ? 2
             : u[i] >= 0xE0 && u[i] <= 0xEF ? 3 : u[i] >= 0xF0 && u[i] <= 0xF4 ? 4 : 0;
    size_t k;
    if (n == 0 || len - i < n) return i;
    for (k = 1; k < n; k++)
      if ((u[i + k] & 0xC0) != 0x80) return i;
    if ((u[i] == 0xE0 && u[i + 1] < 0xA0) || (u[i] == 0xED && u[i + 1] > 0x9F) ||
        (u[i] == 0xF0 && u[i + 1] < 0x90) || (u[i] == 0xF4 && u[i + 1] > 0x8F))
      return i;
    i += n;
  }
  return len;
}

/* Append a node of the given kind at byte offset pos; returns its index.
 * The arena userdata is replaced when it grows: never hold node pointers
 * across this call. */
int arazzo_jsonpath_new_node(jp_parser *p, int kind, size_t pos) {
  jp_node *x;
  if (p->n == p->cap) {
    int cap = p->cap * 2;
    jp_node *grown = (jp_node *)lua_newuserdata(p->L, (size_t)cap * sizeof *grown);
    memcpy(grown, p->nodes, (size_t)p->n * sizeof *grown);
    lua_replace(p->L, p->arena);
    p->nodes = grown;
    p->cap = cap;
  }
  x = &p->nodes[p->n];
  memset(x, 0, sizeof *x);
  x->kind = (unsigned char)kind;
  x->next = x->a = -1;
  x->pos = (int)pos;
  return p->n++;
}

/* Move the value on top of the stack into the user value table; returns
 * its index there. [-1,+0] */
int arazzo_jsonpath_add_ref(jp_parser *p) {
  lua_rawseti(p->L, p->uv, ++p->nref);
  return p->nref;
}

/* Append the code point cp as UTF-8. */
static void add_utf8(luaL_Buffer *b, unsigned long cp) {
  if (cp < 0x80) {
    luaL_addchar(b, (char)cp);
  } else if (cp < 0x800) {
    luaL_addchar(b, (char)(0xC0 | (cp >> 6)));
    luaL_addchar(b, (char)(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    luaL_addchar(b, (char)(0xE0 | (cp >> 12)));
    luaL_addchar(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    luaL_addchar(b, (char)(0x80 | (cp & 0x3F)));
  } else {
    luaL_addchar(b, (char)(0xF0 | (cp >> 18)));
    luaL_addchar(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
    luaL_addchar(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    luaL_addchar(b, (char)(0x80 | (cp & 0x3F)));
  }
}

/* Read the 4 hex digits of a \u escape whose backslash is at esc. */
static unsigned long hex4(jp_parser *p, size_t esc) {
  unsigned long v = 0;
  size_t k;
  for (k = esc + 2; k < esc + 6; k++) {
    int c = k < p->len ? (unsigned char)p->s[k] : -1, h;
    h = is_digit(c) ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
    if (h < 0) arazzo_jsonpath_fail(p, esc, "invalid \\u escape: expected 4 hexadecimal digits");
    v = v * 16 + (unsigned long)h;
  }
  return v;
}

/* Decode the escape sequence at p->pos (a backslash) in a string quoted
 * with q into b (RFC 9535 2.3.1.1). */
static void string_escape(jp_parser *p, luaL_Buffer *b, int q) {
  size_t esc = p->pos;
  int c = esc + 1 < p->len ? (unsigned char)p->s[esc + 1] : -1;
  const char *from = "bfnrt/\\", *to = "\b\f\n\r\t/\\", *hit = c > 0 ? strchr(from, c) : NULL;
  unsigned long cp;
  if (hit) {
    luaL_addchar(b, to[hit - from]);
    p->pos += 2;
    return;
  }
  if (c == q) {
    luaL_addchar(b, (char)q);
    p->pos += 2;
    return;
  }
  if (c < 0) arazzo_jsonpath_fail(p, esc, "unterminated string");
  if (c != 'u') {
    if (c > 0x20 && c < 0x7f) arazzo_jsonpath_fail(p, esc, "invalid escape '\\%c' in string", c);
    arazzo_jsonpath_fail(p, esc, "invalid escape in string");
  }
  cp = hex4(p, esc);
  p->pos = esc + 6;
  if (cp >= 0xDC00 && cp <= 0xDFFF)
    arazzo_jsonpath_fail(p, esc, "lone low surrogate in \\u escape");
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    unsigned long lo;
    if (p->pos + 1 >= p->len || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
      arazzo_jsonpath_fail(p, esc, "high surrogate \\u escape must be followed by a low surrogate");
    lo = hex4(p, p->pos);
    if (lo < 0xDC00 || lo > 0xDFFF)
      arazzo_jsonpath_fail(p, esc, "high surrogate \\u escape must be followed by a low surrogate");
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    p->pos += 6;
  }
  add_utf8(b, cp);
}

/* Parse the string literal at p->pos and push its value. [-0,+1] */
void arazzo_jsonpath_parse_string(jp_parser *p) {
  size_t start = p->pos;
  int q = (unsigned char)p->s[p->pos++];
  luaL_Buffer b;
  luaL_buffinit(p->L, &b);
  for (;;) {
    int c = peek(p);
    if (c < 0) arazzo_jsonpath_fail(p, start, "unterminated string");
    if (c == q) break;
    if (c < 0x20)
      arazzo_jsonpath_fail(p, p->pos, "control character in string (it must be escaped)");
    if (c == '\\') {
      string_escape(p, &b, q);
    } else {
      luaL_addchar(&b, (char)c);
      p->pos++;
    }
  }
  p->pos++;
  luaL_pushresult(&b);
}

/* Parse an integer ("0" / ["-"] DIGIT1 *DIGIT) within +-(2^53-1). With
 * allow_neg0, "-0" is accepted (number literals). */
lua_Integer arazzo_jsonpath_parse_int(jp_parser *p, int allow_neg0) {
  size_t start = p->pos;
  int neg = peek(p) == '-';
  long long v = 0;
  if (neg) p->pos++;
  if (!is_digit(peek(p))) return arazzo_jsonpath_expected(p, "a digit");
  if (peek(p) == '0') {
    p->pos++;
    if (is_digit(peek(p)))
      arazzo_jsonpath_fail(p, start, "leading zeros are not allowed in numbers");
    if (neg && !allow_neg0) arazzo_jsonpath_fail(p, start, "-0 is not a valid integer here");
    return 0;
  }
  while (is_digit(peek(p))) {
    v = v * 10 + (p->s[p->pos++] - '0');
    if (v > JP_MAX_INT)
      arazzo_jsonpath_fail(p, start, "integer out of range (the limit is +-9007199254740991)");
  }
  return (lua_Integer)(neg ? -v : v);
}


/* Parse a member-name-shorthand at p->pos into a name selector node. */
static int parse_shorthand(jp_parser *p) {
  size_t start = p->pos;
  int x = arazzo_jsonpath_new_node(p, JP_SEL_NAME, start);
  while (p->pos < p->len && (is_name_first(peek(p)) || is_digit(peek(p)))) p->pos++;
  lua_pushlstring(p->L, p->s + start, p->pos - start);
  ND(p, x).ref = arazzo_jsonpath_add_ref(p);
  if (p->goessner && p->pos - start == 6 && memcmp(p->s + start, "length", 6) == 0)
    ND(p, x).flags |= JP_F_JSLENGTH;
  return x;
}

/* Parse an index or a slice selector at p->pos (2.3.3, 2.3.4). */
static int parse_index_or_slice(jp_parser *p) {
  size_t start = p->pos, save;
  lua_Integer v = 0, w;
  int x, has_start = peek(p) != ':';
  if (has_start) v = arazzo_jsonpath_parse_int(p, 0);
  save = p->pos;
  skip_ws(p);
  if (peek(p) != ':') {
    p->pos = save;
    x = arazzo_jsonpath_new_node(p, JP_SEL_INDEX, start);
    ND(p, x).u.i[0] = v;
    return x;
  }
  x = arazzo_jsonpath_new_node(p, JP_SEL_SLICE, start);
  ND(p, x).u.i[0] = v;
  ND(p, x).u.i[2] = 1;
  ND(p, x).flags = has_start ? JP_F_START : 0;
  p->pos++;
  skip_ws(p);
  if (peek(p) == '-' || is_digit(peek(p))) {
    w = arazzo_jsonpath_parse_int(p, 0);
    ND(p, x).u.i[1] = w;
    ND(p, x).flags |= JP_F_END;
    skip_ws(p);
  }
  if (peek(p) == ':') {
    p->pos++;
    save = p->pos;
    skip_ws(p);
    if (peek(p) == '-' || is_digit(peek(p))) {
      w = arazzo_jsonpath_parse_int(p, 0);
      ND(p, x).u.i[2] = w;
    } else {
      p->pos = save;
    }
  }
  return x;
}

/* goessner: the script index (@.length-N), (@.length+N) or (@.length). */
static int parse_script_index(jp_parser *p) {
  size_t start = p->pos;
  lua_Integer off = 0;
  int x, sign;
  p->pos++;
  skip_ws(p);
  if (p->len - p->pos < 8 || memcmp(p->s + p->pos, "@.length", 8) != 0) goto bad;
  p->pos += 8;
  skip_ws(p);
  if (peek(p) == '-' || peek(p) == '+') {
    sign = peek(p) == '-' ? -1 : 1;
    p->pos++;
    skip_ws(p);
    if (!is_digit(peek(p))) goto bad;
    off = sign * arazzo_jsonpath_parse_int(p, 0);
    skip_ws(p);
  }
  if (peek(p) != ')') goto bad;
  p->pos++;
  x = arazzo_jsonpath_new_node(p, JP_SEL_FROMEND, start);
  ND(p, x).u.i[0] = off;
  return x;
bad:
  return arazzo_jsonpath_fail(p, start,
                              "unsupported script expression (only (@.length-N) is supported)");
}

/* Parse one selector of a bracketed selection (2.3). */
static int parse_selector(jp_parser *p) {
  int c = peek(p), x, e;
  size_t start = p->pos;
  if (c == '\'' || c == '"') {
    x = arazzo_jsonpath_new_node(p, JP_SEL_NAME, start);
    arazzo_jsonpath_parse_string(p);
    ND(p, x).ref = arazzo_jsonpath_add_ref(p);
    return x;
  }
  if (c == '*') {
    p->pos++;
    return arazzo_jsonpath_new_node(p, JP_SEL_WILD, start);
  }
  if (c == '?') {
    p->pos++;
    skip_ws(p);
    e = arazzo_jsonpath_parse_or(p, 0);
    x = arazzo_jsonpath_new_node(p, JP_SEL_FILTER, start);
    ND(p, x).a = e;
    return x;
  }
  if (c == '-' || c == ':' || is_digit(c)) return parse_index_or_slice(p);
  if (c == '(' && p->goessner) return parse_script_index(p);
  return arazzo_jsonpath_expected(p, "a selector (a name, '*', an index, a slice or a '?' filter)");
}

/* Parse "[" S selector *(S "," S selector) S "]" as a segment of kind;
 * blank space inside the brackets is flagged (singular queries allow none). */
static int parse_bracketed(jp_parser *p, int kind) {
  int seg = arazzo_jsonpath_new_node(p, kind, p->pos), last = -1, sel;
  size_t at = ++p->pos;
  skip_ws(p);
  if (p->pos != at) ND(p, seg).flags |= JP_F_SPACED;
  for (;;) {
    sel = parse_selector(p);
    if (last < 0) ND(p, seg).a = sel;
    else ND(p, last).next = sel;
    last = sel;
    at = p->pos;
    skip_ws(p);
    if (p->pos != at) ND(p, seg).flags |= JP_F_SPACED;
    if (peek(p) == ']') break;
    if (peek(p) != ',') return arazzo_jsonpath_expected(p, "',' or ']'");
    p->pos++;
    skip_ws(p);
  }
  p->pos++;
  return seg;
}

/* After "." (child) or ".." (descendant): '*', a member name, or for a
 * descendant segment a bracketed selection. */
static int parse_dotted(jp_parser *p, int kind) {
  int seg, sel, c = peek(p);
  if (kind == JP_SEG_DESC && c == '[') return parse_bracketed(p, kind);
  seg = arazzo_jsonpath_new_node(p, kind, p->pos);
  if (c == '*') {
    sel = arazzo_jsonpath_new_node(p, JP_SEL_WILD, p->pos++);
  } else if (c >= 0 && is_name_first(c)) {
    sel = parse_shorthand(p);
    if (kind == JP_SEG_DESC) ND(p, sel).flags &= (unsigned char)~JP_F_JSLENGTH;
  } else {
    return arazzo_jsonpath_expected(p, kind == JP_SEG_DESC ? "'*', '[' or a member name after '..'"
                                           : "'*' or a member name after '.'");
  }
  ND(p, seg).a = sel;
  return seg;
}

/* Parse *(S segment); *singular tells whether every segment is a child
 * segment with one name or index selector and no blank space inside its
 * brackets (2 when that space is the only obstacle). Returns the first
 * segment. */
static int parse_segments(jp_parser *p, int *singular) {
  int first = -1, last = -1, seg, sel;
  *singular = 1;
  for (;;) {
    size_t save = p->pos;
    int c;
    skip_ws(p);
    c = peek(p);
    if (c == '.' && p->pos + 1 < p->len && p->s[p->pos + 1] == '.') {
      p->pos += 2;
      seg = parse_dotted(p, JP_SEG_DESC);
    } else if (c == '.') {
      p->pos++;
      seg = parse_dotted(p, JP_SEG_CHILD);
    } else if (c == '[') {
      seg = parse_bracketed(p, JP_SEG_CHILD);
    } else {
      p->pos = save;
      return first;
    }
    sel = ND(p, seg).a;
    if (ND(p, seg).kind != JP_SEG_CHILD || ND(p, sel).next >= 0 ||
        (ND(p, sel).kind != JP_SEL_NAME && ND(p, sel).kind != JP_SEL_INDEX))
      *singular = 0;
    else if ((ND(p, seg).flags & JP_F_SPACED) && *singular)
      *singular = 2;
    if (last < 0) first = seg;
    else ND(p, last).next = seg;
    last = seg;
  }
}

/* Parse a query starting with '$' or '@' at p->pos. */
int arazzo_jsonpath_parse_query(jp_parser *p) {
  int x = arazzo_jsonpath_new_node(p, JP_QUERY, p->pos), singular, segs;
  if (p->s[p->pos] == '$') ND(p, x).flags |= JP_F_ABS;
  p->pos++;
  segs = parse_segments(p, &singular);
  ND(p, x).a = segs;
  if (singular == 1) ND(p, x).flags |= JP_F_SINGULAR;
  if (singular == 2) ND(p, x).flags |= JP_F_SPACED;
  return x;
}


/* ---- Lua API ------------------------------------------------------------ */

/* Protected body of core.jsonpath: parse the query described by the
 * parser (lightuserdata at 1) and return the Path userdata. */
static int parse_main(lua_State *L) {
  jp_parser *p = (jp_parser *)lua_touserdata(L, 1);
  jp_path *path;
  size_t bad, save;
  int root;
  p->L = L;
  p->cap = 16;
  p->nodes = (jp_node *)lua_newuserdata(L, (size_t)p->cap * sizeof(jp_node));
  p->arena = lua_gettop(L);
  lua_newtable(L);
  p->uv = lua_gettop(L);
  lua_pushlstring(L, p->s, p->len);
  p->nref = arazzo_jsonpath_add_ref(p);
  if (p->len > JP_MAX_QUERY) arazzo_jsonpath_fail(p, 0, "query longer than %d bytes", JP_MAX_QUERY);
  bad = utf8_check(p->s, p->len);
  if (bad < p->len) arazzo_jsonpath_fail(p, bad, "invalid UTF-8 in query");
  if (peek(p) != '$') arazzo_jsonpath_fail(p, 0, "a query must start with '$'");
  root = arazzo_jsonpath_parse_query(p);
  save = p->pos;
  skip_ws(p);
  if (p->pos == p->len && save < p->len)
    arazzo_jsonpath_fail(p, save, "trailing white space is not allowed");
  if (p->pos < p->len) arazzo_jsonpath_expected(p, "'.', '..', '[' or the end of the query");
  path = (jp_path *)lua_newuserdata(L, sizeof *path + (size_t)p->n * sizeof(jp_node));
  path->n = p->n;
  path->root = root;
  memcpy(path->node, p->nodes, (size_t)p->n * sizeof(jp_node));
  luaL_setmetatable(L, JP_PATH_MT);
  lua_pushvalue(L, p->uv);
  lua_setuservalue(L, -2);
  return 1;
}

/* core.jsonpath(query [, dialect]) -> Path | nil, "jsonpath: <msg> at
 * column N", "jsonpath", N. dialect: "rfc9535" (default) or "goessner"
 * (alias "draft-goessner-dispatch-jsonpath-00"); others raise. Columns count
 * characters from 1. */
static int l_jsonpath(lua_State *L) {
  jp_parser p;
  size_t len, i;
  const char *q = luaL_checklstring(L, 1, &len);
  const char *dialect = luaL_optstring(L, 2, "rfc9535");
  int col = 1;
  memset(&p, 0, sizeof p);
  if (strcmp(dialect, "goessner") == 0 || strcmp(dialect, "draft-goessner-dispatch-jsonpath-00") == 0)
    p.goessner = 1;
  else if (strcmp(dialect, "rfc9535") != 0)
    return luaL_argerror(L, 2, "dialect must be 'rfc9535' or 'goessner'");
  p.s = q;
  p.len = len;
  p.errpos = (size_t)-1;
  lua_pushcfunction(L, parse_main);
  lua_pushlightuserdata(L, &p);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) return 1;
  if (p.errpos == (size_t)-1) return lua_error(L); /* memory or stack error */
  for (i = 0; i < p.errpos && i < len; i++)
    if (((unsigned char)q[i] & 0xC0) != 0x80) col++;
  lua_pushnil(L);
  lua_pushfstring(L, "jsonpath: %s at column %d", lua_tostring(L, -2), col);
  lua_pushliteral(L, "jsonpath");
  lua_pushinteger(L, col);
  return 4;
}

static const luaL_Reg jsonpath_funcs[] = {{"jsonpath", l_jsonpath}, {NULL, NULL}};

void arazzo_jsonpath_open(lua_State *L) {
  if (luaL_newmetatable(L, JP_PATH_MT)) arazzo_jsonpath_methods(L);
  lua_pop(L, 1);
  luaL_setfuncs(L, jsonpath_funcs, 0);
}
