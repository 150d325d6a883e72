/* yaml_input.c: JSON fix-ups of the text libyaml reads, and core schema scalars.
 * Licence: MIT (see LICENSE). */
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_internal.h"

/* ---- input fix-ups ---------------------------------------------------------
 * libyaml rejects two things JSON allows: UTF-16 surrogate pairs written as
 * two \u escapes, and tabs in the whitespace before or after a top-level
 * value. Surrogate pairs in double-quoted scalars are rewritten to one
 * \UXXXXXXXX escape (two characters shorter; later columns on that line are
 * mapped back); leading/trailing tabs of a JSON-looking input become spaces
 * (same length). libyaml marks count characters (not bytes, BOM excluded). */

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Value of the 4 hex digits at s, or -1. */
static long hex4(const char *s) {
  long v = 0;
  int i;
  for (i = 0; i < 4; i++) {
    int h = hexval((unsigned char)s[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/* Offset of the next "\uD8xx\uDCxx" escape pair at or after from (the first
 * backslash of an odd run), storing its code point; n when none. */
static size_t find_pair(const char *s, size_t n, size_t from, long *cp) {
  while (from < n) {
    const char *b = (const char *)memchr(s + from, '\\', n - from);
    size_t i, j;
    long hi, lo;
    if (!b) return n;
    i = (size_t)(b - s);
    for (j = i; j < n && s[j] == '\\'; j++) {}
    from = j;
    if ((j - i) % 2 == 0 || n - j < 11 || s[j] != 'u') continue;
    hi = hex4(s + j + 1);
    if (hi < 0xD800 || hi > 0xDBFF || s[j + 5] != '\\' || s[j + 6] != 'u') continue;
    lo = hex4(s + j + 7);
    if (lo < 0xDC00 || lo > 0xDFFF) continue;
    *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    return j - 1;
  }
  return n;
}

static size_t count_chars(const char *s, size_t n) {
  size_t i, c = 0;
  for (i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
  return c;
}

/* Copy src to dst rewriting the candidate pairs at off[i] not marked in skip;
 * stores each rewrite's char index in rw. Returns the new length. */
static size_t rewrite_pairs(const char *src, size_t n, size_t bom, const size_t *off,
                            const long *cps, const char *skip, size_t nc, char *dst,
                            size_t *rw, size_t *nrw) {
  size_t i, from = 0, o = 0, chars = 0;
  static const char hexd[] = "0123456789ABCDEF";
  *nrw = 0;
  for (i = 0; i < nc; i++) {
    int k;
    if (skip[i]) continue;
    memcpy(dst + o, src + from, off[i] - from);
    chars += count_chars(src + from, off[i] - from);
    o += off[i] - from;
    rw[(*nrw)++] = chars - (bom ? 1 : 0);
    dst[o++] = '\\';
    dst[o++] = 'U';
    for (k = 7; k >= 0; k--) dst[o++] = hexd[(cps[i] >> (4 * k)) & 15];
    chars += 10;
    from = off[i] + 12;
  }
  memcpy(dst + o, src + from, n - from);
  return o + (n - from);
}

/* Events-only pass over in, where every candidate pair was rewritten (so
 * rewrite c is candidate c): a rewrite inside a scalar that is not
 * double-quoted (a literal "\uD83D\uDE00" in a plain or single-quoted
 * scalar) is marked in skip. Returns the number of such rewrites. A parse
 * error ends the pass early; the real load reports it. */
static size_t verify_pairs(yparser *p, const input *in, char *skip) {
  size_t bad = 0, c = 0;
  if (!arazzo_yaml_start(p, in->s, in->n)) return 0;
  while (c < in->nrw && arazzo_yaml_next(p)) {
    yaml_event_t *e = &p->event;
    if (e->type == YAML_STREAM_END_EVENT) break;
    if (e->type != YAML_SCALAR_EVENT) continue;
    while (c < in->nrw && in->rw[c] < e->start_mark.index) c++;
    for (; c < in->nrw && in->rw[c] < e->end_mark.index; c++) {
      if (e->data.scalar.style != YAML_DOUBLE_QUOTED_SCALAR_STYLE) {
        skip[c] = 1;
        bad++;
      }
    }
  }
  return bad;
}

/* Replace tabs by spaces in the whitespace before and after the top-level
 * value when the text starts like JSON ('{', '[' or '"'). */
static void fix_tabs(char *s, size_t n, size_t bom) {
  size_t i = bom, j = n;
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
  if (i == n || (s[i] != '{' && s[i] != '[' && s[i] != '"')) return;
  while (j > i && (s[j - 1] == ' ' || s[j - 1] == '\t' || s[j - 1] == '\r' || s[j - 1] == '\n'))
    j--;
  for (; i > bom; i--)
    if (s[i - 1] == '\t') s[i - 1] = ' ';
  for (; j < n; j++)
    if (s[j] == '\t') s[j] = ' ';
}

/* 1 when fix_tabs would change something. */
static int needs_tab_fix(const char *s, size_t n, size_t bom) {
  size_t i = bom, j = n;
  int tab = 0;
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) tab |= s[i++] == '\t';
  if (i == n || (s[i] != '{' && s[i] != '[' && s[i] != '"')) return 0;
  while (j > i && (s[j - 1] == ' ' || s[j - 1] == '\t' || s[j - 1] == '\r' || s[j - 1] == '\n'))
    tab |= s[--j] == '\t';
  return tab;
}

/* Prepare the text libyaml will read. Pushes 0 to 3 userdata blobs (the
 * rewritten text and index arrays) that must stay on the stack while in is
 * used. [-0,+k], raises on memory errors only. */
void arazzo_yaml_prepare(lua_State *L, yparser *p, const char *s, size_t n, input *in) {
  size_t bom = (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
  size_t nc = 0, at = 0, i;
  long cp;
  size_t *off;
  long *cps;
  char *skip, *buf;
  in->s = s;
  in->n = n;
  in->rw = NULL;
  in->nrw = 0;
  if (n >= 2 && (((unsigned char)s[0] == 0xFE && (unsigned char)s[1] == 0xFF) ||
                 ((unsigned char)s[0] == 0xFF && (unsigned char)s[1] == 0xFE)))
    return; /* UTF-16: left to libyaml as is */
  while ((at = find_pair(s, n, at, &cp)) < n) nc++, at += 12;
  if (nc == 0) {
    if (!needs_tab_fix(s, n, bom)) return;
    buf = (char *)lua_newuserdata(L, n ? n : 1);
    memcpy(buf, s, n);
    fix_tabs(buf, n, bom);
    in->s = buf;
    return;
  }
  /* one blob: offsets, rewrite indices, code points, skip flags */
  off = (size_t *)lua_newuserdata(L, nc * (2 * sizeof(size_t) + sizeof(long) + 1));
  in->rw = off + nc;
  cps = (long *)(in->rw + nc);
  skip = (char *)(cps + nc);
  memset(skip, 0, nc);
  for (i = 0, at = 0; i < nc; i++) {
    off[i] = find_pair(s, n, at, &cps[i]);
    at = off[i] + 12;
  }
  buf = (char *)lua_newuserdata(L, n);
  in->n = rewrite_pairs(s, n, bom, off, cps, skip, nc, buf, in->rw, &in->nrw);
  in->s = buf;
  fix_tabs(buf, in->n, bom);
  if (verify_pairs(p, in, skip)) {
    in->n = rewrite_pairs(s, n, bom, off, cps, skip, nc, buf, in->rw, &in->nrw);
    fix_tabs(buf, in->n, bom);
  }
}

/* ---- scalars: YAML 1.2 core schema -------------------------------------- */

enum { S_STR, S_NULL, S_TRUE, S_FALSE, S_DEC, S_OCT, S_HEX, S_FLOAT, S_INF, S_NINF, S_NAN };

static int all_digits(const char *s, size_t n, int base) {
  size_t i;
  if (n == 0) return 0;
  for (i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    if (base == 8 ? (c < '0' || c > '7') : base == 16 ? hexval(c) < 0 : (c < '0' || c > '9'))
      return 0;
  }
  return 1;
}

static int eq3(const char *s, const char *a, const char *b, const char *c) {
  return !strcmp(s, a) || !strcmp(s, b) || !strcmp(s, c);
}

/* Match [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? on s[0..n). */
static int is_float(const char *s, size_t n) {
  size_t i = 0, d = 0;
  if (i < n && (s[i] == '-' || s[i] == '+')) i++;
  while (i < n && s[i] >= '0' && s[i] <= '9') i++, d++;
  if (i < n && s[i] == '.') {
    size_t f = 0;
    i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, f++;
    if (d == 0 && f == 0) return 0;
  } else if (d == 0) {
    return 0;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    size_t e = 0;
    i++;
    if (i < n && (s[i] == '-' || s[i] == '+')) i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, e++;
    if (e == 0) return 0;
  }
  return i == n;
}

/* Classify a plain scalar by the core schema. Hand-written: first byte
 * decides which forms can match. */
int arazzo_yaml_classify(const char *s, size_t n) {
  char w[8];
  if (n == 0) return S_NULL;
  switch (s[0]) {
    case '~':
      return n == 1 ? S_NULL : S_STR;
    case 'n': case 'N': case 't': case 'T': case 'f': case 'F':
      if (n < 4 || n > 5) return S_STR;
      memcpy(w, s, n);
      w[n] = 0;
      if (eq3(w, "null", "Null", "NULL")) return S_NULL;
      if (eq3(w, "true", "True", "TRUE")) return S_TRUE;
      if (eq3(w, "false", "False", "FALSE")) return S_FALSE;
      return S_STR;
    case '.': case '+': case '-':
      if (n >= 4 && n <= 5) {
        size_t k = s[0] == '.' ? 0 : 1;
        if (s[k] == '.' && n - k == 4) {
          memcpy(w, s + k + 1, 3);
          w[3] = 0;
          if (eq3(w, "inf", "Inf", "INF")) return s[0] == '-' ? S_NINF : S_INF;
          if (k == 0 && eq3(w, "nan", "NaN", "NAN")) return S_NAN;
        }
      }
      break;
    default:
      if (s[0] < '0' || s[0] > '9') return S_STR;
  }
  if (n > 2 && s[0] == '0' && s[1] == 'o' && all_digits(s + 2, n - 2, 8)) return S_OCT;
  if (n > 2 && s[0] == '0' && s[1] == 'x' && all_digits(s + 2, n - 2, 16)) return S_HEX;
  if (s[0] == '-' || s[0] == '+') {
    if (all_digits(s + 1, n - 1, 10)) return S_DEC;
  } else if (all_digits(s, n, 10)) {
    return S_DEC;
  }
  return is_float(s, n) ? S_FLOAT : S_STR;
}

/* strtod on s[0..n) in the "C" number syntax whatever the locale: the text
 * is copied (NUL-terminated) with '.' replaced by the locale's point. Long
 * texts are copied into a userdata. [-0,+0], raises on memory errors. */
static double to_double(lua_State *L, const char *s, size_t n) {
  char small[96], *b = small;
  const char *dp = localeconv()->decimal_point;
  char point = dp && dp[0] ? dp[0] : '.';
  double d;
  size_t i;
  if (n >= sizeof small) b = (char *)lua_newuserdata(L, n + 1);
  memcpy(b, s, n);
  b[n] = 0;
  if (point != '.')
    for (i = 0; i < n; i++)
      if (b[i] == '.') b[i] = point;
  d = strtod(b, NULL);
  if (b != small) lua_pop(L, 1);
  return d;
}

/* Push an octal numeral (digits only) too large for an integer as the
 * nearest double: the bits are regrouped into a hex numeral for strtod. */
static void push_big_octal(lua_State *L, const char *s, size_t n) {
  static const char hexd[] = "0123456789abcdef";
  luaL_Buffer b;
  size_t i;
  int bits = (int)((4 - (3 * n) % 4) % 4), nib = 0, k;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "0x");
  for (i = 0; i < n; i++) {
    for (k = 2; k >= 0; k--) {
      nib = nib * 2 + (((s[i] - '0') >> k) & 1);
      if (++bits == 4) {
        luaL_addchar(&b, hexd[nib]);
        bits = nib = 0;
      }
    }
  }
  luaL_pushresult(&b);
  {
    size_t len;
    const char *h = lua_tolstring(L, -1, &len);
    double d = strtod(h, NULL);
    lua_pop(L, 1);
    lua_pushnumber(L, d);
  }
}

/* Push an integer of the given base from digits s[0..n) (sign handled by
 * neg): a Lua integer when it fits int64, else the nearest float. LuaJIT
 * numbers are doubles either way. [-0,+1] */
static void push_int(lua_State *L, const char *text, size_t tlen, const char *s, size_t n,
                     int base, int neg) {
  unsigned long long u = 0, lim = neg ? (unsigned long long)LLONG_MAX + 1u : (unsigned long long)LLONG_MAX;
  size_t i;
  for (i = 0; i < n; i++) {
    unsigned d = (unsigned)hexval((unsigned char)s[i]);
    if (u > (lim - d) / (unsigned)base) break;
    u = u * (unsigned)base + d;
  }
  if (i < n) {
    if (base == 8)
      push_big_octal(L, s, n);
    else
      lua_pushnumber(L, to_double(L, text, tlen)); /* decimal or 0x: strtod rounds */
    return;
  }
#if LUA_VERSION_NUM >= 503 && !defined(LUAJIT_VERSION)
  if (neg)
    lua_pushinteger(L, u == (unsigned long long)LLONG_MAX + 1u ? LUA_MININTEGER : -(lua_Integer)u);
  else
    lua_pushinteger(L, (lua_Integer)u);
#else
  lua_pushnumber(L, neg ? -(double)u : (double)u);
#endif
}

/* Push the value of s[0..n) classified as cls (not S_STR). [-0,+1] */
static void push_class(lua_State *L, int cls, const char *s, size_t n) {
  switch (cls) {
    case S_NULL: arazzo_push_null(L); break;
    case S_TRUE: lua_pushboolean(L, 1); break;
    case S_FALSE: lua_pushboolean(L, 0); break;
    case S_OCT: push_int(L, s, n, s + 2, n - 2, 8, 0); break;
    case S_HEX: push_int(L, s, n, s + 2, n - 2, 16, 0); break;
    case S_DEC:
      if (s[0] == '-' || s[0] == '+')
        push_int(L, s, n, s + 1, n - 1, 10, s[0] == '-');
      else
        push_int(L, s, n, s, n, 10, 0);
      break;
    case S_FLOAT: lua_pushnumber(L, to_double(L, s, n)); break;
    case S_INF: lua_pushnumber(L, HUGE_VAL); break;
    case S_NINF: lua_pushnumber(L, -HUGE_VAL); break;
    default: lua_pushnumber(L, (double)NAN); break;
  }
}

/* Which of the five core scalar tags tag is: 's','i','f','b','n', '!' for
 * the non-specific "!", 0 for none/any other tag (ignored). */
int arazzo_yaml_tag_kind(const unsigned char *tag) {
  const char *t = (const char *)tag;
  if (!t) return 0;
  if (t[0] == '!' && t[1] == 0) return '!';
  if (strncmp(t, TAG_PREFIX, TAG_PREFIX_LEN) != 0) return 0;
  t += TAG_PREFIX_LEN;
  if (!strcmp(t, "str")) return 's';
  if (!strcmp(t, "int")) return 'i';
  if (!strcmp(t, "float")) return 'f';
  if (!strcmp(t, "bool")) return 'b';
  if (!strcmp(t, "null")) return 'n';
  return 0;
}

/* Does class cls fit tag kind k? (!!float also takes integers.) */
int arazzo_yaml_tag_fits(int k, int cls) {
  switch (k) {
    case 'i': return cls == S_DEC || cls == S_OCT || cls == S_HEX;
    case 'f': return cls == S_FLOAT || cls == S_INF || cls == S_NINF || cls == S_NAN || cls == S_DEC ||
                     cls == S_OCT || cls == S_HEX;
    case 'b': return cls == S_TRUE || cls == S_FALSE;
    case 'n': return cls == S_NULL;
    default: return 1;
  }
}

/* Report that s[0..n) does not fit the core tag of kind tk. [-0,+1] */
int arazzo_yaml_tag_misfit(loader *ld, int tk, const char *s, size_t n, const ymark *m) {
  const char *pre = tk == 'i' ? "invalid !!int value '" : tk == 'f' ? "invalid !!float value '"
                    : tk == 'b' ? "invalid !!bool value '" : "invalid !!null value '";
  return arazzo_yaml_fail_name(ld, m, pre, s, n, "'");
}

/* Push the value of scalar event e: quoted scalars and !!str are strings,
 * plain ones resolve by the core schema, !!int/!!float/!!bool/!!null must
 * fit. [-0,+1] or pushes the error message and returns 0. */
int arazzo_yaml_push_scalar(loader *ld, const yaml_event_t *e, const ymark *m) {
  lua_State *L = ld->L;
  const char *s = (const char *)e->data.scalar.value;
  size_t n = e->data.scalar.length;
  int tk = arazzo_yaml_tag_kind(e->data.scalar.tag), cls;
  if (tk == 's' || tk == '!' || (tk == 0 && e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)) {
    lua_pushlstring(L, s, n);
    return 1;
  }
  cls = arazzo_yaml_classify(s, n);
  if (tk && !arazzo_yaml_tag_fits(tk, cls)) return arazzo_yaml_tag_misfit(ld, tk, s, n, m);
  if (cls == S_STR) {
    lua_pushlstring(L, s, n);
    return 1;
  }
  push_class(L, cls, s, n);
#if LUA_VERSION_NUM >= 503 && !defined(LUAJIT_VERSION)
  if (tk == 'f' && lua_isinteger(L, -1)) {
    lua_Number d = (lua_Number)lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_pushnumber(L, d);
  }
#endif
  return 1;
}
