/* json.c: RFC 8259 JSON encode and decode with exact integers, arrays, key order.
 * Licence: MIT (see LICENSE).
 *
 * Both directions are iterative: nesting lives in an explicit frame stack in
 * malloc'd memory (owned by a "scratch" userdata with __gc) plus one or two
 * Lua stack slots per level, so depth is bounded by max_depth and by
 * lua_checkstack, never by the C stack. No Lua code and no metamethod is
 * called; tables are read with raw access only. All bytes are built in the
 * scratch buffer, never in a luaL_Buffer, because traversal keeps values
 * above the buffer; a finished text is copied into a Lua string once. */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arazzo.h"

#define JSON_SCRATCH_MT "arazzo.json.Scratch"
#define JSON_DEFAULT_DEPTH 1000
/* Ancestors checked by a linear scan for cycles; deeper ones go to a set. */
#define JSON_SCAN_DEPTH 32

/* ---- shared: byte classes and UTF-8 ------------------------------------ */

/* Byte classes: 0 plain ASCII, 1 needs escaping in a string (control, '"',
 * '\\'), 2..4 lead byte of a UTF-8 sequence of that length, 5 never valid
 * as a lead byte (continuation, C0/C1 overlong leads, F5..FF). */
#define R4(x) x, x, x, x
#define R16(x) R4(x), R4(x), R4(x), R4(x)
static const unsigned char byte_class[256] = {
    R16(1), R16(1),                                     /* 00..1f */
    0, 0, 1, 0, R4(0), R4(0), R4(0),                    /* 20..2f: '"' */
    R16(0), R16(0),                                     /* 30..4f */
    R4(0), R4(0), R4(0), 1, 0, 0, 0,                    /* 50..5f: '\\' */
    R16(0), R16(0),                                     /* 60..7f */
    R16(5), R16(5), R16(5), R16(5),                     /* 80..bf */
    5, 5, R4(2), R4(2), R4(2), 2, 2, R16(2),            /* c0..df */
    R16(3),                                             /* e0..ef */
    4, 4, 4, 4, 4, 5, 5, 5, R4(5), R4(5)};              /* f0..ff */
#undef R16
#undef R4

/* Length of the valid UTF-8 sequence at p (at most avail bytes), or 0 when
 * it is malformed: truncated, overlong, a surrogate or above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t avail) {
  unsigned char lo = 0x80, hi = 0xbf;
  size_t n = byte_class[p[0]], i;
  if (n < 2 || n > 4 || avail < n) return 0;
  if (p[0] == 0xe0) lo = 0xa0;
  else if (p[0] == 0xed) hi = 0x9f;
  else if (p[0] == 0xf0) lo = 0x90;
  else if (p[0] == 0xf4) hi = 0x8f;
  if (p[1] < lo || p[1] > hi) return 0;
  for (i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xbf) return 0;
  return n;
}

/* ---- scratch memory owned by a userdata --------------------------------- */

typedef struct {
  const char *s; /* a key string, kept alive by the object's key list */
  size_t len;
  lua_Integer pos; /* its index in that key list */
} json_key;

typedef struct {
  char *buf; /* output text (encode), unescaped string or number (decode) */
  size_t len, cap;
  void *frames; /* enc_frame[] or dec_frame[] */
  size_t fcap;  /* in frames */
  json_key *keys;
  size_t nkeys, kcap;
} json_scratch;

/* Free everything a scratch owns; idempotent (__gc, __close and the normal
 * path all call it). */
static void scratch_free(json_scratch *s) {
  free(s->buf);
  free(s->frames);
  free(s->keys);
  memset(s, 0, sizeof *s);
}

/* __gc / __close of the scratch userdata. [-0,+0] */
static int scratch_gc(lua_State *L) {
  scratch_free((json_scratch *)luaL_checkudata(L, 1, JSON_SCRATCH_MT));
  return 0;
}

/* Push a new, empty scratch userdata and return it. Its metatable is created
 * on first use, so C callers work whatever order modules were opened in.
 * [-0,+1], raises memory errors only. */
static json_scratch *scratch_new(lua_State *L) {
  json_scratch *s = (json_scratch *)lua_newuserdata(L, sizeof *s);
  memset(s, 0, sizeof *s);
  if (luaL_newmetatable(L, JSON_SCRATCH_MT)) {
    lua_pushcfunction(L, scratch_gc);
    lua_setfield(L, -2, "__gc");
#if ARAZZO_CLOSE_METAMETHOD
    lua_pushcfunction(L, scratch_gc);
    lua_setfield(L, -2, "__close");
#endif
  }
  lua_setmetatable(L, -2);
  return s;
}

/* Grow the array *p (elements of size sz, capacity *cap) to hold need
 * elements. Raises "json: not enough memory" on overflow or OOM; the old
 * block stays owned by the scratch, so nothing leaks. */
static void grow(lua_State *L, void **p, size_t *cap, size_t need, size_t sz) {
  size_t ncap = *cap ? *cap : 64;
  void *np;
  while (ncap < need) {
    if (ncap > ((size_t)-1) / 2 / sz) luaL_error(L, "json: not enough memory");
    ncap *= 2;
  }
  if (ncap > ((size_t)-1) / sz) luaL_error(L, "json: not enough memory");
  np = realloc(*p, ncap * sz);
  if (np == NULL) luaL_error(L, "json: not enough memory");
  *p = np;
  *cap = ncap;
}

/* Make room for n more bytes in the scratch buffer; returns the write
 * position. Raises memory errors only. */
static char *room(lua_State *L, json_scratch *s, size_t n) {
  if (s->cap - s->len < n) {
    if (n > (size_t)-1 - s->len) luaL_error(L, "json: not enough memory");
    grow(L, (void **)&s->buf, &s->cap, s->len + n, 1);
  }
  return s->buf + s->len;
}

static void put(lua_State *L, json_scratch *s, const char *p, size_t n) {
  memcpy(room(L, s, n), p, n);
  s->len += n;
}

static void putc_(lua_State *L, json_scratch *s, char c) {
  if (s->len == s->cap) room(L, s, 1);
  s->buf[s->len++] = c;
}

#define PUTLIT(L, s, lit) put((L), (s), "" lit, sizeof(lit) - 1)

/* ---- encoder ------------------------------------------------------------- */

enum { ENC_ARRAY, ENC_SORTED, ENC_LISTED };

typedef struct {
  const void *ptr; /* table identity, for cycle detection */
  size_t i, n;     /* children started so far, child count */
  size_t kbase;    /* first json_key of a sorted object */
  int tidx, lidx;  /* stack slots of the table and of its key list */
  int kind;
} enc_frame;

typedef struct {
  lua_State *L;
  json_scratch *s;
  const char *indent; /* NULL: compact */
  size_t indent_len;
  size_t max_depth;
  size_t depth; /* frames in use */
  int order;    /* stack slot of the key-order table, 0 when absent */
  int seen;     /* stack slot of the set of open tables beyond JSON_SCAN_DEPTH
                   (nil until first needed) */
} enc;

#define ENC_TOP(e) (((enc_frame *)(e)->s->frames)[(e)->depth - 1])

/* The letter of the two-character escape for byte c, or 0 when c needs
 * the \u00XX form. */
static char short_escape(unsigned char c) {
  switch (c) {
  case '"': return '"';
  case '\\': return '\\';
  case '\b': return 'b';
  case '\f': return 'f';
  case '\n': return 'n';
  case '\r': return 'r';
  case '\t': return 't';
  default: return 0;
  }
}

/* Append the JSON string for s[0..len) (quotes included). Returns 0, or the
 * 1-based offset of the first byte of invalid UTF-8 (output then partial). */
static size_t enc_string(enc *e, const char *str, size_t len) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)str, *end = p + len, *run;
  lua_State *L = e->L;
  json_scratch *s = e->s;
  putc_(L, s, '"');
  while (p < end) {
    run = p;
    while (p < end && byte_class[*p] == 0) p++;
    if (p > run) put(L, s, (const char *)run, (size_t)(p - run));
    if (p == end) break;
    if (byte_class[*p] == 1) {
      char *w = room(L, s, 6), c = short_escape(*p);
      w[0] = '\\';
      if (c) {
        w[1] = c;
        s->len += 2;
      } else {
        memcpy(w + 1, "u00", 3);
        w[4] = hex[*p >> 4];
        w[5] = hex[*p & 15];
        s->len += 6;
      }
      p++;
    } else {
      size_t n = utf8_len(p, (size_t)(end - p));
      if (n == 0) return (size_t)(p - (const unsigned char *)str) + 1;
      put(L, s, (const char *)p, n);
      p += n;
    }
  }
  putc_(L, s, '"');
  return 0;
}

/* Append the decimal text of an integer (exact for the whole int64 range). */
static void enc_integer(enc *e, long long v) {
  char tmp[24], *q = tmp + sizeof tmp;
  unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
  do {
    *--q = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u);
  if (v < 0) *--q = '-';
  put(e->L, e->s, q, (size_t)(tmp + sizeof tmp - q));
}

static int is_num_char(char c) {
  return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'e' || c == 'E';
}

/* Append a finite double via arazzo_format_double. That helper writes to a
 * luaL_Buffer, which is safe here because the buffer is the top of the
 * stack for its whole life and the text fits its initial block. Whatever
 * the C locale calls its decimal point becomes '.'. [-0,+0] */
static void enc_double(enc *e, double d) {
  lua_State *L = e->L;
  luaL_Buffer b;
  const char *t;
  size_t n, i;
  if (d == 0 && signbit(d)) {
    PUTLIT(L, e->s, "-0.0"); /* "-0" would decode as the integer 0 */
    return;
  }
  luaL_buffinit(L, &b);
  arazzo_format_double(&b, d);
  luaL_pushresult(&b);
  t = lua_tolstring(L, -1, &n);
  for (i = 0; i < n; i++) {
    if (is_num_char(t[i])) {
      putc_(L, e->s, t[i]);
    } else {
      putc_(L, e->s, '.');
      while (i + 1 < n && !is_num_char(t[i + 1])) i++;
    }
  }
  lua_pop(L, 1);
}

/* Append p as a JSON pointer token ("~" -> "~0", "/" -> "~1"). */
static void put_token(lua_State *L, json_scratch *s, const char *p, size_t n) {
  size_t i;
  putc_(L, s, '/');
  for (i = 0; i < n; i++) {
    if (p[i] == '~') PUTLIT(L, s, "~0");
    else if (p[i] == '/') PUTLIT(L, s, "~1");
    else putc_(L, s, p[i]);
  }
}

/* Replace the output with "json: <what> at <pointer>" where the pointer
 * names the child being encoded in each open frame (all frames, or all but
 * the innermost when whole is 0). Returns -1 for the caller to pass on. */
static int enc_fail(enc *e, const char *what, int whole) {
  lua_State *L = e->L;
  json_scratch *s = e->s;
  size_t k, upto = whole ? e->depth : e->depth - (e->depth > 0);
  s->len = 0;
  PUTLIT(L, s, "json: ");
  put(L, s, what, strlen(what));
  PUTLIT(L, s, " at ");
  if (upto == 0) PUTLIT(L, s, "root");
  for (k = 0; k < upto; k++) {
    enc_frame *f = &((enc_frame *)s->frames)[k];
    size_t len;
    const char *key;
    if (f->i == 0) continue;
    if (f->kind == ENC_ARRAY) {
      putc_(L, s, '/');
      enc_integer(e, (long long)(f->i - 1));
    } else if (f->kind == ENC_SORTED) {
      json_key *jk = &s->keys[f->kbase + f->i - 1];
      put_token(L, s, jk->s, jk->len);
    } else {
      lua_rawgeti(L, f->lidx, (lua_Integer)f->i);
      key = lua_tolstring(L, -1, &len);
      put_token(L, s, key, len);
      lua_pop(L, 1);
    }
  }
  return -1;
}

/* Describe the Lua value at idx for an error message ("number key 1",
 * "string key \"x\"", "table key"), into out. [-0,+0] */
static void describe_key(lua_State *L, int idx, char *out, size_t n) {
  int t = lua_type(L, idx);
  long long iv;
  if (t == LUA_TNUMBER && arazzo_number_is_integer(L, idx, &iv)) {
    snprintf(out, n, "number key %lld", iv);
  } else if (t == LUA_TNUMBER) {
    snprintf(out, n, "number key %.17g", (double)lua_tonumber(L, idx));
  } else if (t == LUA_TBOOLEAN) {
    snprintf(out, n, "boolean key %s", lua_toboolean(L, idx) ? "true" : "false");
  } else if (t == LUA_TSTRING) {
    size_t len;
    const char *k = lua_tolstring(L, idx, &len);
    snprintf(out, n, "string key \"%.*s%s\"", len > 32 ? 32 : (int)len, k, len > 32 ? "..." : "");
  } else {
    snprintf(out, n, "%s key", lua_typename(L, t));
  }
}

/* 1 when the value at idx is an integer k with 1 <= k <= n. [-0,+0] */
static int is_index(lua_State *L, int idx, size_t n) {
  long long k;
  return lua_type(L, idx) == LUA_TNUMBER && arazzo_number_is_integer(L, idx, &k) && k >= 1 &&
         (unsigned long long)k <= (unsigned long long)n;
}

/* Check that the marked array at t (raw length n) has exactly the keys
 * 1..n. Returns 0, or fails naming the first stray key. [-0,+0] */
static int enc_check_marked(enc *e, int t, size_t n) {
  lua_State *L = e->L;
  size_t count = 0;
  char what[96], desc[64];
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    if (!is_index(L, -1, n)) {
      long long k;
      if (lua_type(L, -1) == LUA_TNUMBER && arazzo_number_is_integer(L, -1, &k) && k > 0) {
        lua_pop(L, 1);
        return enc_fail(e, "cannot encode sparse array", 1);
      }
      describe_key(L, -1, desc, sizeof desc);
      lua_pop(L, 1);
      snprintf(what, sizeof what, "cannot encode array with %s", desc);
      return enc_fail(e, what, 1);
    }
    count++;
  }
  return count == n ? 0 : enc_fail(e, "cannot encode sparse array", 1);
}

/* The first non-string key of the unmarked table at t decides the error:
 * all positive integer keys mean a sparse array, anything else a bad key.
 * The offending key is on top of the stack. Returns -1. [-1,+0] */
static int enc_bad_key(enc *e, int t) {
  lua_State *L = e->L;
  char what[96], desc[64];
  int sparse = 1;
  describe_key(L, -1, desc, sizeof desc);
  lua_pop(L, 1);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    long long k;
    lua_pop(L, 1);
    if (!(lua_type(L, -1) == LUA_TNUMBER && arazzo_number_is_integer(L, -1, &k) && k > 0)) sparse = 0;
  }
  if (sparse) return enc_fail(e, "cannot encode sparse array", 1);
  snprintf(what, sizeof what, "cannot encode %s", desc);
  return enc_fail(e, what, 1);
}

static int cmp_json_keys(const void *a, const void *b) {
  const json_key *x = (const json_key *)a, *y = (const json_key *)b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->s, y->s, n);
  if (c) return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

/* Push the key list of the object at t and fill frame fields: recorded
 * order through arazzo_push_keys, otherwise its string keys collected in
 * one pass and sorted bytewise in C (same order as arazzo_push_keys). The
 * list anchors the key strings the json_key entries point to. Returns 0 or
 * fails on a non-string key. [-0,+1] */
static int enc_object_keys(enc *e, int t, enc_frame *f) {
  lua_State *L = e->L;
  json_scratch *s = e->s;
  int recorded = 0;
  if (e->order) {
    lua_pushvalue(L, t);
    lua_rawget(L, e->order);
    recorded = lua_istable(L, -1);
    lua_pop(L, 1);
  }
  f->kbase = s->nkeys;
  lua_newtable(L);
  f->lidx = lua_gettop(L);
  f->n = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) return enc_bad_key(e, t);
    f->n++;
    if (recorded) continue;
    if (s->nkeys == s->kcap) grow(L, (void **)&s->keys, &s->kcap, s->nkeys + 1, sizeof *s->keys);
    lua_pushvalue(L, -1);
    lua_rawseti(L, f->lidx, (lua_Integer)f->n);
    s->keys[s->nkeys].s = lua_tolstring(L, -1, &s->keys[s->nkeys].len);
    s->keys[s->nkeys++].pos = (lua_Integer)f->n;
  }
  if (recorded) {
    lua_pop(L, 1);
    arazzo_push_keys(L, t);
    f->n = (size_t)lua_rawlen(L, -1);
    f->kind = ENC_LISTED;
  } else {
    qsort(s->keys + f->kbase, f->n, sizeof *s->keys, cmp_json_keys);
    f->kind = ENC_SORTED;
  }
  return 0;
}

/* 1 when the table at t is already open (an ancestor of itself): a linear
 * scan of the first JSON_SCAN_DEPTH frames, then a lookup in the seen set,
 * so deep documents stay linear. [-0,+0] */
static int enc_cycle(enc *e, int t) {
  lua_State *L = e->L;
  const void *ptr = lua_topointer(L, t);
  size_t k, n = e->depth < JSON_SCAN_DEPTH ? e->depth : JSON_SCAN_DEPTH;
  int found;
  for (k = 0; k < n; k++)
    if (((enc_frame *)e->s->frames)[k].ptr == ptr) return 1;
  if (e->depth < JSON_SCAN_DEPTH) return 0;
  if (lua_isnil(L, e->seen)) {
    lua_newtable(L);
    lua_replace(L, e->seen);
  }
  lua_pushvalue(L, t);
  lua_rawget(L, e->seen);
  found = !lua_isnil(L, -1);
  lua_pop(L, 1);
  return found;
}

/* Add (v true) or remove (v false) the table at t in the seen set. */
static void enc_seen(enc *e, int t, int v) {
  lua_pushvalue(e->L, t);
  if (v) lua_pushboolean(e->L, 1);
  else lua_pushnil(e->L);
  lua_rawset(e->L, e->seen);
}

/* The table on top becomes an open container: checks cycles and depth,
 * classifies it, writes "[" / "{" (or "[]" / "{}" and pops it when empty).
 * Returns 1 when a frame was pushed, 0 when done, -1 on error. */
static int enc_open(enc *e) {
  lua_State *L = e->L;
  int t = lua_gettop(L);
  enc_frame f;
  memset(&f, 0, sizeof f);
  f.ptr = lua_topointer(L, t);
  f.tidx = t;
  f.kbase = e->s->nkeys;
  if (enc_cycle(e, t)) return enc_fail(e, "cannot encode a cycle", 1);
  if (e->depth >= e->max_depth) {
    char what[64];
    snprintf(what, sizeof what, "nesting deeper than %lu", (unsigned long)e->max_depth);
    return enc_fail(e, what, 1);
  }
  if (!lua_checkstack(L, 8)) return enc_fail(e, "nesting too deep for the Lua stack", 1);
  if (arazzo_as_array(L, t, &f.n)) {
    f.kind = ENC_ARRAY;
    if (arazzo_is_marked_array(L, t) && enc_check_marked(e, t, f.n)) return -1;
  } else if (enc_object_keys(e, t, &f)) {
    return -1;
  }
  if (f.n == 0) {
    if (f.kind == ENC_ARRAY) PUTLIT(L, e->s, "[]");
    else PUTLIT(L, e->s, "{}");
    lua_settop(L, t - 1);
    return 0;
  }
  if (e->depth == e->s->fcap) grow(L, &e->s->frames, &e->s->fcap, e->depth + 1, sizeof f);
  if (e->depth >= JSON_SCAN_DEPTH) enc_seen(e, t, 1);
  ((enc_frame *)e->s->frames)[e->depth++] = f;
  putc_(L, e->s, f.kind == ENC_ARRAY ? '[' : '{');
  return 1;
}

/* Encode the value on top of the stack. Scalars are written and popped
 * (returns 0); tables go to enc_open. Returns -1 on error. */
static int enc_value(enc *e) {
  lua_State *L = e->L;
  char what[64];
  size_t len, bad;
  const char *str;
  long long iv;
  double d;
  switch (lua_type(L, -1)) {
  case LUA_TSTRING:
    str = lua_tolstring(L, -1, &len);
    bad = enc_string(e, str, len);
    if (bad) {
      snprintf(what, sizeof what, "invalid UTF-8 in string (byte %lu)", (unsigned long)bad);
      return enc_fail(e, what, 1);
    }
    break;
  case LUA_TNUMBER:
    d = (double)lua_tonumber(L, -1);
    if (d != d) return enc_fail(e, "cannot encode NaN", 1);
    if (d == HUGE_VAL || d == -HUGE_VAL) return enc_fail(e, d > 0 ? "cannot encode inf" : "cannot encode -inf", 1);
    if (d == 0 && signbit(d)) enc_double(e, d);
    else if (arazzo_number_is_integer(L, -1, &iv)) enc_integer(e, iv);
#if !(LUA_VERSION_NUM >= 503 && !defined(LUAJIT_VERSION))
    /* No integer subtype: an integral double in int64 range prints its exact
     * digits, so "9007199254741000" does not come back as 9.007199254741e+15 */
    else if (floor(d) == d && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
      enc_integer(e, (long long)d);
#endif
    else enc_double(e, d);
    break;
  case LUA_TBOOLEAN:
    if (lua_toboolean(L, -1)) PUTLIT(L, e->s, "true");
    else PUTLIT(L, e->s, "false");
    break;
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, -1) != NULL) return enc_fail(e, "cannot encode userdata", 1);
    PUTLIT(L, e->s, "null");
    break;
  case LUA_TTABLE:
    return enc_open(e);
  default:
    snprintf(what, sizeof what, "cannot encode %s", luaL_typename(L, -1));
    return enc_fail(e, what, 1);
  }
  lua_pop(L, 1);
  return 0;
}

/* Newline plus indentation for the given level (pretty mode only). */
static void enc_newline(enc *e, size_t level) {
  size_t k;
  if (e->indent == NULL) return;
  putc_(e->L, e->s, '\n');
  for (k = 0; k < level; k++) put(e->L, e->s, e->indent, e->indent_len);
}

/* Advance the innermost frame: push and encode its next child (writing the
 * separator and, for objects, the key), or close it. Returns 0/1 like
 * enc_value, -1 on error. */
static int enc_next(enc *e) {
  lua_State *L = e->L;
  enc_frame *f = &ENC_TOP(e);
  if (f->i == f->n) {
    int t = f->tidx, kind = f->kind;
    e->s->nkeys = f->kbase;
    if (--e->depth >= JSON_SCAN_DEPTH) enc_seen(e, t, 0);
    enc_newline(e, e->depth);
    putc_(L, e->s, kind == ENC_ARRAY ? ']' : '}');
    lua_settop(L, t - 1);
    return 0;
  }
  if (f->i++ > 0) putc_(L, e->s, ',');
  enc_newline(e, e->depth);
  if (f->kind == ENC_ARRAY) {
    lua_rawgeti(L, f->tidx, (lua_Integer)f->i);
    if (lua_isnil(L, -1)) return enc_fail(e, "cannot encode sparse array", 1);
  } else {
    size_t len, bad;
    const char *key;
    int t = f->tidx;
    if (f->kind == ENC_SORTED) lua_rawgeti(L, f->lidx, e->s->keys[f->kbase + f->i - 1].pos);
    else lua_rawgeti(L, f->lidx, (lua_Integer)f->i);
    key = lua_tolstring(L, -1, &len);
    if ((bad = enc_string(e, key, len)) != 0) {
      char what[64];
      snprintf(what, sizeof what, "invalid UTF-8 in object key (byte %lu)", (unsigned long)bad);
      return enc_fail(e, what, 0);
    }
    putc_(L, e->s, ':');
    if (e->indent) putc_(L, e->s, ' ');
    lua_rawget(L, t);
  }
  return enc_value(e);
}

/* Encode the value at idx with the settings in e. Leaves the JSON text
 * (returns 1) or the error message (returns 0) on top, in place of the
 * scratch it used; scratch memory is freed before returning.
 * [-0,+1], raises memory errors only (the scratch's __gc then frees). */
static int enc_do(lua_State *L, enc *e, int idx) {
  int base, r;
  idx = lua_absindex(L, idx);
  luaL_checkstack(L, 10, "json: stack overflow");
  e->L = L;
  e->s = scratch_new(L);
  base = lua_gettop(L);
  arazzo_push_order_table(L);
  e->order = lua_istable(L, -1) ? lua_gettop(L) : 0;
  lua_pushnil(L);
  e->seen = lua_gettop(L);
  lua_pushvalue(L, idx);
  r = enc_value(e);
  while (r >= 0 && e->depth > 0) r = enc_next(e);
  lua_pushlstring(L, e->s->buf ? e->s->buf : "", e->s->len);
  scratch_free(e->s);
  lua_replace(L, base);
  lua_settop(L, base);
  return r >= 0;
}

/* Encode the value at idx and append the text to b (see arazzo.h).
 * Buffer rule: b must be the top of the stack (nothing pushed above it).
 * All work happens in slots above b that are cleared again; on success the
 * text is added with luaL_addvalue and the stack is as it was ([-0,+0]),
 * NULL is returned. On error nothing is added to b and exactly one value is
 * left on top, the message string; the returned pointer points into it, so
 * the caller must use it before popping that one value ([-0,+1]) and must
 * pop it before touching b again. Raises memory errors only. */
const char *arazzo_json_encode_value(lua_State *L, int idx, luaL_Buffer *b) {
  enc e;
  memset(&e, 0, sizeof e);
  e.max_depth = JSON_DEFAULT_DEPTH;
  if (enc_do(L, &e, idx)) {
    luaL_addvalue(b);
    return NULL;
  }
  return lua_tostring(L, -1);
}

/* Read a max_depth option on top of the stack into *out; raises. */
static void opt_depth(lua_State *L, int arg, size_t *out) {
  int isnum = 0;
  lua_Integer v = lua_tointegerx(L, -1, &isnum);
  if (!isnum || v < 0) luaL_argerror(L, arg, "max_depth must be a non-negative integer");
  *out = (size_t)v;
}

/* Check json_encode's options table at arg and fill e. Raises on unknown
 * names and bad values (programmer errors). [-0,+0] */
static void enc_opts(lua_State *L, int arg, enc *e) {
  if (lua_isnoneornil(L, arg)) return;
  luaL_checktype(L, arg, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
    if (strcmp(k, "max_depth") == 0) {
      opt_depth(L, arg, &e->max_depth);
    } else if (strcmp(k, "indent") == 0) {
      size_t i;
      if (lua_type(L, -1) != LUA_TSTRING) luaL_argerror(L, arg, "indent must be a string");
      e->indent = lua_tolstring(L, -1, &e->indent_len);
      for (i = 0; i < e->indent_len; i++)
        if (e->indent[i] != ' ' && e->indent[i] != '\t') luaL_argerror(L, arg, "indent must be spaces and tabs");
    } else {
      luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s'", lua_type(L, -2) == LUA_TSTRING ? k : "?"));
    }
    lua_pop(L, 1);
  }
}

/* core.json_encode(value [, opts]) -> text | nil, message, "json".
 * opts.indent (spaces/tabs) pretty-prints; opts.max_depth (default 1000). */
static int l_json_encode(lua_State *L) {
  enc e;
  memset(&e, 0, sizeof e);
  e.max_depth = JSON_DEFAULT_DEPTH;
  luaL_checkany(L, 1);
  enc_opts(L, 2, &e);
  if (enc_do(L, &e, 1)) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  lua_pushliteral(L, "json");
  return 3;
}

/* ---- decoder ------------------------------------------------------------- */

typedef struct {
  int tidx, lidx;    /* stack slots of the container and its key list (0: none) */
  int is_object;
  lua_Integer count; /* elements stored (arrays) or keys listed (objects) */
} dec_frame;

enum { DEC_OK, DEC_SYNTAX, DEC_DEPTH };

typedef struct {
  lua_State *L;
  json_scratch *s;
  const unsigned char *start, *p, *end;
  size_t max_depth, depth;
  int order;       /* record key order of objects */
  int code;        /* DEC_SYNTAX or DEC_DEPTH once failed */
  int found;       /* the message reads "unexpected <char at errpos>, <msg>" */
  const char *msg; /* static text */
  size_t errpos;   /* byte offset into the input */
} dec;

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
  char *w = room(L, s, 4);
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
  case '"': case '\\': case '/': putc_(d->L, d->s, (char)p[1]); break;
  case 'b': putc_(d->L, d->s, '\b'); break;
  case 'f': putc_(d->L, d->s, '\f'); break;
  case 'n': putc_(d->L, d->s, '\n'); break;
  case 'r': putc_(d->L, d->s, '\r'); break;
  case 't': putc_(d->L, d->s, '\t'); break;
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
    while (p < e && byte_class[*p] == 0) p++;
    if (p == e) return dec_fail(d, q, "unterminated string", 0);
    if (*p >= 0x80) {
      if ((n = utf8_len(p, (size_t)(e - p))) == 0) return dec_fail(d, p, "invalid UTF-8 in string", 0);
      p += n;
      continue;
    }
    if (*p < 0x20) return dec_fail(d, p, "control characters in strings must be escaped", 1);
    if (*p == '"') break;
    if (!copied) d->s->len = 0;
    copied = 1;
    put(d->L, d->s, (const char *)run, (size_t)(p - run));
    if (dec_escape(d, &p, q)) return -1;
    run = p;
  }
  if (copied) {
    put(d->L, d->s, (const char *)run, (size_t)(p - run));
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
    if (num[i] == '.' && dp && *dp) put(d->L, d->s, dp, dplen);
    else putc_(d->L, d->s, (char)num[i]);
  }
  putc_(d->L, d->s, '\0');
  return strtod(d->s->buf, NULL);
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

typedef struct {
  unsigned long long mant; /* significant digits, while they fit */
  int sig;                 /* significant digits seen (capped) */
  int frac;                /* of them, digits after the point */
  long exp;                /* explicit exponent (capped) */
  int integral, neg;
} num_parts;

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
      n->frac++; /* leading zeros after the point still scale */
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
      if (n->exp < 100000) n->exp = n->exp * 10 + (*p - '0');
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
  if (n.sig <= 19 && n.mant <= (1ULL << 53) && e10 >= -22 && e10 <= 22) {
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
    lua_newtable(d->L);
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
  if (!lua_checkstack(L, 6)) return dec_fail(d, d->p, "nesting too deep for the Lua stack", 0);
  if (d->depth == d->s->fcap) grow(L, &d->s->frames, &d->s->fcap, d->depth + 1, sizeof f);
  lua_newtable(L);
  if (!is_object) arazzo_mark_array(L, -1);
  f.tidx = lua_gettop(L);
  f.lidx = 0;
  f.is_object = is_object;
  f.count = 0;
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
static int dec_do(lua_State *L, dec *d, const char *s, size_t len) {
  int base = lua_gettop(L), r;
  luaL_checkstack(L, 8, "json: stack overflow");
  d->L = L;
  d->s = scratch_new(L);
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
  scratch_free(d->s);
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
 * *errpos. Raises memory errors only. */
int arazzo_json_decode(lua_State *L, const char *s, size_t len, const char **msg, size_t *errpos) {
  dec d;
  memset(&d, 0, sizeof d);
  d.max_depth = JSON_DEFAULT_DEPTH;
  d.order = 1;
  if (dec_do(L, &d, s, len)) return 1;
  *msg = d.msg;
  *errpos = d.errpos;
  return 0;
}

/* Line and column (1-based) of byte offset pos. Lines end at LF, CRLF or a
 * lone CR; a column counts characters (UTF-8 lead bytes), and a leading BOM
 * takes none. */
static void line_col(const unsigned char *s, size_t len, size_t pos, unsigned long *line, unsigned long *col) {
  size_t i, ls = 0;
  unsigned long ln = 1, c = 1;
  for (i = 0; i < pos && i < len; i++) {
    if (s[i] == '\n' || (s[i] == '\r' && !(i + 1 < len && s[i + 1] == '\n'))) {
      ln++;
      ls = i + 1;
    }
  }
  if (ls == 0 && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) ls = 3;
  for (i = ls; i < pos && i < len; i++)
    if ((s[i] & 0xc0) != 0x80) c++;
  *line = ln;
  *col = c;
}

/* Render the input at p for "unexpected ...": 'c' for printable ASCII,
 * U+XXXX for other characters, "byte 0xXX" for invalid UTF-8. */
static void describe_found(const unsigned char *p, const unsigned char *e, char *out, size_t n) {
  size_t k;
  if (p >= e) {
    snprintf(out, n, "end of input");
  } else if (*p >= 0x20 && *p < 0x7f) {
    snprintf(out, n, "'%c'", *p);
  } else if (*p < 0x80) {
    snprintf(out, n, "U+%04X", (unsigned)*p);
  } else if ((k = utf8_len(p, (size_t)(e - p))) != 0) {
    unsigned cp = p[0] & (k == 2 ? 0x1f : k == 3 ? 0x0f : 0x07);
    size_t i;
    for (i = 1; i < k; i++) cp = (cp << 6) | (p[i] & 0x3f);
    snprintf(out, n, "U+%04X", cp);
  } else {
    snprintf(out, n, "byte 0x%02X", (unsigned)*p);
  }
}

/* Check json_decode's options table at arg and fill d; raises. */
static void dec_opts(lua_State *L, int arg, dec *d) {
  if (lua_isnoneornil(L, arg)) return;
  luaL_checktype(L, arg, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
    if (strcmp(k, "max_depth") == 0) {
      opt_depth(L, arg, &d->max_depth);
    } else if (strcmp(k, "order") == 0) {
      if (lua_type(L, -1) != LUA_TBOOLEAN) luaL_argerror(L, arg, "order must be a boolean");
      d->order = lua_toboolean(L, -1);
    } else {
      luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s'", lua_type(L, -2) == LUA_TSTRING ? k : "?"));
    }
    lua_pop(L, 1);
  }
}

/* core.json_decode(text [, opts]) -> value | nil, "json:<line>:<col>:
 * <message>", "json". opts.order (default true), opts.max_depth (1000). */
static int l_json_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  dec d;
  unsigned long line, col;
  char found[32], msg[160], full[200];
  memset(&d, 0, sizeof d);
  d.max_depth = JSON_DEFAULT_DEPTH;
  d.order = 1;
  dec_opts(L, 2, &d);
  lua_settop(L, 2);
  if (dec_do(L, &d, s, len)) return 1;
  line_col((const unsigned char *)s, len, d.errpos, &line, &col);
  if (d.code == DEC_DEPTH) {
    snprintf(msg, sizeof msg, "nesting deeper than %lu", (unsigned long)d.max_depth);
  } else if (d.found) {
    describe_found((const unsigned char *)s + d.errpos, (const unsigned char *)s + len, found, sizeof found);
    snprintf(msg, sizeof msg, "unexpected %s, %s", found, d.msg);
  } else {
    snprintf(msg, sizeof msg, "%s", d.msg);
  }
  snprintf(full, sizeof full, "json:%lu:%lu: %s", line, col, msg);
  lua_pushnil(L);
  lua_pushstring(L, full);
  lua_pushliteral(L, "json");
  return 3;
}

/* core._json_encode_buffer(prefix, value [, suffix]) -> prefix..json..suffix
 * | nil, message. Test hook: drives arazzo_json_encode_value exactly like a
 * C caller, with a luaL_Buffer already in use (a long prefix makes Lua 5.4
 * move it into a box on the stack). */
static int l_encode_buffer(lua_State *L) {
  size_t plen, slen;
  const char *pre = luaL_checklstring(L, 1, &plen), *suf, *msg;
  luaL_Buffer b;
  luaL_checkany(L, 2);
  suf = luaL_optlstring(L, 3, "", &slen);
  lua_settop(L, 3);
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, pre, plen);
  msg = arazzo_json_encode_value(L, 2, &b);
  if (msg != NULL) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  luaL_addlstring(&b, suf, slen);
  luaL_pushresult(&b);
  return 1;
}

/* core._json_decode_raw(text) -> value | nil, message, offset. Test hook
 * for arazzo_json_decode: its static message and 0-based byte offset. */
static int l_decode_raw(lua_State *L) {
  size_t len, pos;
  const char *s = luaL_checklstring(L, 1, &len), *msg;
  if (arazzo_json_decode(L, s, len, &msg, &pos)) return 1;
  lua_pushnil(L);
  lua_pushstring(L, msg);
  lua_pushinteger(L, (lua_Integer)pos);
  return 3;
}

static const luaL_Reg json_funcs[] = {{"json_encode", l_json_encode},
                                      {"json_decode", l_json_decode},
                                      {"_json_encode_buffer", l_encode_buffer},
                                      {"_json_decode_raw", l_decode_raw},
                                      {NULL, NULL}};

void arazzo_json_open(lua_State *L) { luaL_setfuncs(L, json_funcs, 0); }
