/* json_decode.c: the strict RFC 8259 JSON decoder: exact integers, marked arrays, key order.
 * Licence: MIT (see LICENSE).
 *
 * Iterative over an explicit frame stack (see json_internal.h). */
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_internal.h"

/* Largest size hint a decoded table inherits from its predecessor. */
#define JSON_MAX_HINT 64

typedef struct {
  int tidx, lidx;    /* stack slots of the container and its key list (0: none) */
  int is_object;
  lua_Integer count; /* elements stored (arrays) or keys listed (objects) */
  int members;       /* values stored, repeats included */
  int hint;          /* members of the last container closed at this depth:
                        the size a sibling is created with (kept on pop) */
} dec_frame;

#define DEC_TOP(d) (((dec_frame *)(d)->s->frames)[(d)->depth - 1])

/* Record a syntax error at p; returns -1. */
static int dec_fail(dec *d, const unsigned char *p, const char *msg, int found) {
  d->code = DEC_SYNTAX;
  d->errpos = (size_t)(p - d->start);
  d->msg = msg;
  d->found = found;
  return -1;
}

static void skip_ws(dec *d) {
  const unsigned char *p = d->p, *e = d->end;
  while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  d->p = p;
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Read the 4 hex digits after "\u" at p (p points at the backslash) into
 * *cp. Returns 0 or fails at the first bad digit. */
static int dec_hex4(dec *d, const unsigned char *p, unsigned *cp) {
  int i, v;
  *cp = 0;
  for (i = 2; i < 6; i++) {
    if (p + i >= d->end || (v = hexval(p[i])) < 0)
      return dec_fail(d, p + i, "expected 4 hex digits after \\u", 1);
    *cp = *cp * 16 + (unsigned)v;
  }
  return 0;
}

/* Append code point cp as UTF-8 to the scratch buffer. */
static void put_utf8(lua_State *L, json_scratch *s, unsigned cp) {
  char *w = json_room(L, s, 4);
  if (cp < 0x80) {
    w[0] = (char)cp;
    s->len += 1;
  } else if (cp < 0x800) {
    w[0] = (char)(0xc0 | (cp >> 6));
    w[1] = (char)(0x80 | (cp & 0x3f));
    s->len += 2;
  } else if (cp < 0x10000) {
    w[0] = (char)(0xe0 | (cp >> 12));
    w[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    w[2] = (char)(0x80 | (cp & 0x3f));
    s->len += 3;
  } else {
    w[0] = (char)(0xf0 | (cp >> 18));
    w[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    w[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    w[3] = (char)(0x80 | (cp & 0x3f));
    s->len += 4;
  }
}

/* Decode the escape at *pp (a backslash) into the scratch buffer and move
 * *pp past it. q is the opening quote, for "unterminated string". */
static int dec_escape(dec *d, const unsigned char **pp, const unsigned char *q) {
  const unsigned char *p = *pp;
  unsigned cp, lo;
  if (p + 1 >= d->end) return dec_fail(d, q, "unterminated string", 0);
  switch (p[1]) {
  case '"': case '\\': case '/': json_putc(d->L, d->s, (char)p[1]); break;
  case 'b': json_putc(d->L, d->s, '\b'); break;
  case 'f': json_putc(d->L, d->s, '\f'); break;
  case 'n': json_putc(d->L, d->s, '\n'); break;
  case 'r': json_putc(d->L, d->s, '\r'); break;
  case 't': json_putc(d->L, d->s, '\t'); break;
  case 'u':
    if (dec_hex4(d, p, &cp)) return -1;
    if (cp >= 0xdc00 && cp <= 0xdfff) return dec_fail(d, p, "unpaired UTF-16 surrogate in \\u escape", 0);
    if (cp >= 0xd800 && cp <= 0xdbff) {
      if (p + 7 >= d->end || p[6] != '\\' || p[7] != 'u')
        return dec_fail(d, p, "unpaired UTF-16 surrogate in \\u escape", 0);
      if (dec_hex4(d, p + 6, &lo)) return -1;
      if (lo < 0xdc00 || lo > 0xdfff) return dec_fail(d, p, "unpaired UTF-16 surrogate in \\u escape", 0);
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      p += 6;
    }
    put_utf8(d->L, d->s, cp);
    p += 4;
    break;
  default:
    return dec_fail(d, p + 1, "expected one of \" \\ / b f n r t u after '\\'", 1);
  }
  *pp = p + 2;
  return 0;
}

/* Parse the string at d->p (its opening quote) and push it. Runs without
 * escapes are pushed straight from the input; once an escape is seen the
 * text is assembled in the scratch buffer. [-0,+1] or -1 with nothing. */
static int dec_string(dec *d) {
  const unsigned char *q = d->p, *p = q + 1, *e = d->end, *run = p;
  int copied = 0;
  for (;;) {
    size_t n;
    while (p < e && arazzo_json_byte_class[*p] == 0) p++;
    if (p == e) return dec_fail(d, q, "unterminated string", 0);
    if (*p >= 0x80) {
      if ((n = json_utf8_len(p, (size_t)(e - p))) == 0) return dec_fail(d, p, "invalid UTF-8 in string", 0);
      p += n;
      continue;
    }
    if (*p < 0x20) return dec_fail(d, p, "control characters in strings must be escaped", 1);
    if (*p == '"') break;
    if (!copied) d->s->len = 0;
    copied = 1;
    json_put(d->L, d->s, (const char *)run, (size_t)(p - run));
    if (dec_escape(d, &p, q)) return -1;
    run = p;
  }
  if (copied) {
    json_put(d->L, d->s, (const char *)run, (size_t)(p - run));
    lua_pushlstring(d->L, d->s->buf, d->s->len);
  } else {
    lua_pushlstring(d->L, (const char *)run, (size_t)(p - run));
  }
  d->p = p + 1;
  return 0;
}

/* Convert the number text [num, num+len) with strtod, independent of the
 * C locale: '.' is replaced by the locale's decimal point first. */
static double dec_strtod(dec *d, const unsigned char *num, size_t len) {
  const char *dp = localeconv()->decimal_point;
  size_t dplen = (dp && *dp) ? strlen(dp) : 1, i;
  d->s->len = 0;
  for (i = 0; i < len; i++) {
    if (num[i] == '.' && dp && *dp) json_put(d->L, d->s, dp, dplen);
    else json_putc(d->L, d->s, (char)num[i]);
  }
  json_putc(d->L, d->s, '\0');
  return strtod(d->s->buf, NULL);
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

typedef struct {
  unsigned long long mant; /* significant digits, while they fit */
  int sig;                 /* significant digits seen (capped) */
  long frac;               /* digits after the point that scale mant */
  long exp;                /* explicit exponent */
  int integral, neg;
  int capped;              /* frac or exp hit its cap: only strtod is exact */
} num_parts;

#define NUM_CAP 100000000L

/* Scan digits at *pp into n (frac: after the decimal point). Returns the
 * number of digits. */
static size_t scan_digits(const unsigned char **pp, const unsigned char *e, num_parts *n, int frac) {
  const unsigned char *p = *pp;
  while (p < e && *p >= '0' && *p <= '9') {
    if (n->sig > 0 || *p != '0') {
      if (n->sig < 19) n->mant = n->mant * 10 + (unsigned)(*p - '0');
      if (n->sig < 1000) n->sig++;
      if (frac && n->sig <= 19) n->frac++;
    } else if (frac) {
      if (n->frac < NUM_CAP) n->frac++; /* leading zeros after the point scale too */
      else n->capped = 1;
    }
    p++;
  }
  frac = (int)(p - *pp);
  *pp = p;
  return (size_t)frac;
}

/* Check the grammar of the number at d->p and fill n; d->p moves past it. */
static int dec_number_scan(dec *d, num_parts *n) {
  const unsigned char *p = d->p, *e = d->end;
  memset(n, 0, sizeof *n);
  n->integral = 1;
  if (*p == '-') {
    n->neg = 1;
    if (++p < e && *p == 'I') return dec_fail(d, d->p, "Infinity is not valid JSON", 0);
    if (p == e || *p < '0' || *p > '9') return dec_fail(d, p, "expected a digit after '-'", 1);
  }
  if (*p == '0' && p + 1 < e && p[1] >= '0' && p[1] <= '9')
    return dec_fail(d, p, "leading zeros are not allowed", 0);
  scan_digits(&p, e, n, 0);
  if (p < e && *p == '.') {
    n->integral = 0;
    p++;
    if (scan_digits(&p, e, n, 1) == 0) return dec_fail(d, p, "expected a digit after '.'", 1);
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    int eneg = 0;
    n->integral = 0;
    if (++p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
    if (p == e || *p < '0' || *p > '9') return dec_fail(d, p, "expected a digit in the exponent", 1);
    while (p < e && *p >= '0' && *p <= '9') {
      if (n->exp < NUM_CAP) n->exp = n->exp * 10 + (*p - '0');
      else n->capped = 1;
      p++;
    }
    if (eneg) n->exp = -n->exp;
  }
  d->p = p;
  return 0;
}

/* Parse the number at d->p and push it: an int64 when integral and in range
 * (Lua 5.4), else the correctly rounded double (exact fast path for short
 * mantissas and small exponents, strtod otherwise). Overflow to infinity is
 * an error. [-0,+1] or -1 */
static int dec_number(dec *d) {
  const unsigned char *num = d->p;
  num_parts n;
  double v;
  long e10;
  if (dec_number_scan(d, &n)) return -1;
  if (n.integral && n.sig <= 19 && n.mant <= (n.neg ? 0x8000000000000000ULL : 0x7fffffffffffffffULL)) {
#if LUA_VERSION_NUM >= 503 && !defined(LUAJIT_VERSION)
    if (n.neg) lua_pushinteger(d->L, n.mant == 0x8000000000000000ULL ? LUA_MININTEGER : -(lua_Integer)n.mant);
    else lua_pushinteger(d->L, (lua_Integer)n.mant);
#else
    lua_pushnumber(d->L, (n.neg && n.mant) ? -(lua_Number)n.mant : (lua_Number)n.mant); /* "-0" is 0 */
#endif
    return 0;
  }
  e10 = n.exp - n.frac;
  if (!n.capped && n.sig <= 19 && n.mant <= (1ULL << 53) && e10 >= -22 && e10 <= 22) {
    v = (double)n.mant;
    v = e10 < 0 ? v / pow10_exact[-e10] : v * pow10_exact[e10];
    if (n.neg) v = -v;
  } else {
    v = dec_strtod(d, num, (size_t)(d->p - num));
    if (v == HUGE_VAL || v == -HUGE_VAL) return dec_fail(d, num, "number out of range", 0);
  }
  lua_pushnumber(d->L, (lua_Number)v);
  return 0;
}

/* Push the literal true/false/null at d->p. [-0,+1] or -1 */
static int dec_literal(dec *d) {
  static const char *const words[] = {"true", "false", "null"};
  static const char *const msgs[] = {"invalid literal, expected true", "invalid literal, expected false",
                                     "invalid literal, expected null"};
  int w = *d->p == 't' ? 0 : *d->p == 'f' ? 1 : 2;
  size_t n = strlen(words[w]);
  if ((size_t)(d->end - d->p) < n || memcmp(d->p, words[w], n) != 0) return dec_fail(d, d->p, msgs[w], 0);
  if (w == 2) arazzo_push_null(d->L);
  else lua_pushboolean(d->L, w == 0);
  d->p += n;
  return 0;
}

/* Parse an object key at d->p (a '"') and the ':' after it; the key is
 * pushed. Creates the object's key list first when order is recorded. */
static int dec_key(dec *d) {
  dec_frame *f = &DEC_TOP(d);
  if (d->order && f->lidx == 0) {
    lua_createtable(d->L, f->hint, 0);
    f->lidx = lua_gettop(d->L);
  }
  if (dec_string(d)) return -1;
  skip_ws(d);
  if (d->p == d->end || *d->p != ':') return dec_fail(d, d->p, "expected ':'", 1);
  d->p++;
  return 0;
}

/* Pop the innermost frame: its table (with the key list recorded as its
 * order) is left on top as a complete value. */
static void dec_close(dec *d) {
  dec_frame *f = &DEC_TOP(d);
  if (f->lidx) arazzo_set_order(d->L, f->tidx);
  f->hint = f->members < JSON_MAX_HINT ? f->members : JSON_MAX_HINT;
  d->depth--;
}

/* Open an array or object at d->p. Returns 0 when it closed at once (the
 * empty table is on top), 1 when a value must follow, -1 on error. */
static int dec_open(dec *d) {
  lua_State *L = d->L;
  dec_frame f;
  int is_object = *d->p == '{';
  if (d->depth >= d->max_depth) {
    dec_fail(d, d->p, "nesting too deep", 0);
    d->code = DEC_DEPTH;
    return -1;
  }
  /* a level holds table, key list, key, value, plus 2 temporaries */
  if (!lua_checkstack(L, 8)) return dec_fail(d, d->p, "nesting too deep for the Lua stack", 0);
  if (d->depth == d->s->fcap) arazzo_json_grow(L, &d->s->frames, &d->s->fcap, d->depth + 1, sizeof f);
  if (d->depth == d->hinted) ((dec_frame *)d->s->frames)[d->hinted++].hint = 0;
  f.hint = ((dec_frame *)d->s->frames)[d->depth].hint;
  lua_createtable(L, is_object ? 0 : f.hint, is_object ? f.hint : 0);
  if (!is_object) arazzo_mark_array(L, -1);
  f.tidx = lua_gettop(L);
  f.lidx = 0;
  f.is_object = is_object;
  f.count = 0;
  f.members = 0;
  ((dec_frame *)d->s->frames)[d->depth++] = f;
  d->p++;
  skip_ws(d);
  if (d->p < d->end && *d->p == (is_object ? '}' : ']')) {
    d->p++;
    dec_close(d);
    return 0;
  }
  if (!is_object) return 1;
  if (d->p == d->end || *d->p != '"') return dec_fail(d, d->p, "expected a string key or '}'", 1);
  return dec_key(d) ? -1 : 1;
}

/* Parse the value at d->p: scalars are pushed (0), containers opened (see
 * dec_open). -1 on error. */
static int dec_value(dec *d) {
  skip_ws(d);
  if (d->p == d->end) return dec_fail(d, d->p, "expected a value", 1);
  switch (*d->p) {
  case '[': case '{': return dec_open(d);
  case '"': return dec_string(d);
  case 't': case 'f': case 'n': return dec_literal(d);
  case '-': case '0': case '1': case '2': case '3': case '4':
  case '5': case '6': case '7': case '8': case '9': return dec_number(d);
  default: break;
  }
  if ((size_t)(d->end - d->p) >= 3 && memcmp(d->p, "NaN", 3) == 0) return dec_fail(d, d->p, "NaN is not valid JSON", 0);
  if ((size_t)(d->end - d->p) >= 8 && memcmp(d->p, "Infinity", 8) == 0)
    return dec_fail(d, d->p, "Infinity is not valid JSON", 0);
  return dec_fail(d, d->p, "expected a value", 1);
}

/* Store the complete value on top into the innermost container (objects:
 * the first occurrence of a key fixes its position, the last value wins). */
static void dec_store(dec *d) {
  lua_State *L = d->L;
  dec_frame *f = &DEC_TOP(d);
  if (f->members < JSON_MAX_HINT) f->members++;
  if (!f->is_object) {
    lua_rawseti(L, f->tidx, ++f->count);
    return;
  }
  if (f->lidx) {
    lua_pushvalue(L, -2);
    lua_rawget(L, f->tidx);
    if (lua_isnil(L, -1)) {
      lua_pushvalue(L, -3);
      lua_rawseti(L, f->lidx, ++f->count);
    }
    lua_pop(L, 1);
  }
  lua_rawset(L, f->tidx);
}

/* After a complete value inside a container: store it, then read ',' (1:
 * another value follows, key already read for objects) or the closing
 * bracket (0: the container is now the complete value on top). */
static int dec_after(dec *d) {
  int is_object = DEC_TOP(d).is_object;
  char close = is_object ? '}' : ']';
  const unsigned char *comma;
  dec_store(d);
  skip_ws(d);
  if (d->p < d->end && *d->p == close) {
    d->p++;
    dec_close(d);
    return 0;
  }
  if (d->p == d->end || *d->p != ',')
    return dec_fail(d, d->p, is_object ? "expected ',' or '}'" : "expected ',' or ']'", 1);
  comma = d->p++;
  skip_ws(d);
  if (d->p < d->end && *d->p == close)
    return dec_fail(d, comma, is_object ? "trailing comma before '}'" : "trailing comma before ']'", 0);
  if (!is_object) return 1;
  if (d->p == d->end || *d->p != '"') return dec_fail(d, d->p, "expected a string key", 1);
  return dec_key(d) ? -1 : 1;
}

/* Decode s[0..len) with the settings in d. On success the value is on top
 * (returns 1, [-0,+1]); on failure nothing is left (returns 0, d->msg and
 * d->errpos set). Scratch memory is freed either way; raises memory errors
 * only (the scratch's __gc then frees). */
int arazzo_json_decode_run(lua_State *L, dec *d, const char *s, size_t len) {
  int base = lua_gettop(L), r;
  luaL_checkstack(L, 8, "json: stack overflow");
  d->L = L;
  d->s = arazzo_json_scratch_new(L);
  d->start = (const unsigned char *)s;
  d->p = d->start;
  d->end = d->start + len;
  if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) d->p += 3;
  r = dec_value(d);
  while (r >= 0 && d->depth > 0) {
    if (r == 0) r = dec_after(d);
    else r = dec_value(d);
  }
  if (r >= 0) {
    skip_ws(d);
    if (d->p != d->end) r = dec_fail(d, d->p, "expected end of input", 1);
  }
  arazzo_json_scratch_free(d->s);
  if (r < 0) {
    lua_settop(L, base);
    return 0;
  }
  lua_replace(L, base + 1);
  lua_settop(L, base + 1);
  return 1;
}

/* Decode s[0..len) with the defaults (max_depth 1000, key order recorded)
 * and push the value ([-0,+1], returns 1), or push nothing and return 0
 * with a static message in *msg and the byte offset of the error in
 * *errpos. s need not be NUL-terminated but must stay alive during the
 * call (the decoder allocates, so a Lua string must be anchored, e.g. on
 * the stack). Any stack above the caller's top is fine, but like every
 * push this one must not land above a luaL_Buffer in use. Raises memory
 * errors only. */
int arazzo_json_decode(lua_State *L, const char *s, size_t len, const char **msg, size_t *errpos) {
  dec d;
  memset(&d, 0, sizeof d);
  d.max_depth = JSON_DEFAULT_DEPTH;
  d.order = 1;
  if (arazzo_json_decode_run(L, &d, s, len)) return 1;
  *msg = d.msg;
  *errpos = d.errpos;
  return 0;
}

