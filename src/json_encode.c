/* json_encode.c: the JSON encoder: values, strings, numbers, nesting, error paths.
 * Licence: MIT (see LICENSE).
 *
 * Iterative over an explicit frame stack (see json_internal.h); object key
 * order comes from json_encode_keys.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json_internal.h"

/* Ancestors checked by a linear scan for cycles; deeper ones go to a set. */
#define JSON_SCAN_DEPTH 32

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
  json_putc(L, s, '"');
  while (p < end) {
    run = p;
    while (p < end && arazzo_json_byte_class[*p] == 0) p++;
    if (p > run) json_put(L, s, (const char *)run, (size_t)(p - run));
    if (p == end) break;
    if (arazzo_json_byte_class[*p] == 1) {
      char *w = json_room(L, s, 6), c = short_escape(*p);
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
      size_t n = json_utf8_len(p, (size_t)(end - p));
      if (n == 0) return (size_t)(p - (const unsigned char *)str) + 1;
      json_put(L, s, (const char *)p, n);
      p += n;
    }
  }
  json_putc(L, s, '"');
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
  json_put(e->L, e->s, q, (size_t)(tmp + sizeof tmp - q));
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
    JSON_PUTLIT(L, e->s, "-0.0"); /* "-0" would decode as the integer 0 */
    return;
  }
  luaL_buffinit(L, &b);
  arazzo_format_double(&b, d);
  luaL_pushresult(&b);
  t = lua_tolstring(L, -1, &n);
  for (i = 0; i < n; i++) {
    if (is_num_char(t[i])) {
      json_putc(L, e->s, t[i]);
    } else {
      json_putc(L, e->s, '.');
      while (i + 1 < n && !is_num_char(t[i + 1])) i++;
    }
  }
  lua_pop(L, 1);
}

/* Append p as a JSON pointer token ("~" -> "~0", "/" -> "~1"). */
static void put_token(lua_State *L, json_scratch *s, const char *p, size_t n) {
  size_t i;
  json_putc(L, s, '/');
  for (i = 0; i < n; i++) {
    if (p[i] == '~') JSON_PUTLIT(L, s, "~0");
    else if (p[i] == '/') JSON_PUTLIT(L, s, "~1");
    else json_putc(L, s, p[i]);
  }
}

/* Push the key of the current child (number f->i) of an object frame and
 * return its text, or NULL when the key list no longer holds a string
 * there (changed behind our back). [-0,+1] */
static const char *enc_push_key(enc *e, enc_frame *f, size_t *len) {
  if (f->kind == ENC_KEYED) lua_rawgeti(e->L, f->lidx, e->s->keys[f->kbase + f->i - 1].pos);
  else lua_rawgeti(e->L, f->lidx, (lua_Integer)f->i);
  if (lua_type(e->L, -1) != LUA_TSTRING) return NULL;
  return lua_tolstring(e->L, -1, len);
}

/* Replace the output with "json: <what> at <pointer>" where the pointer
 * names the child being encoded in each open frame (all frames, or all but
 * the innermost when whole is 0). Returns -1 for the caller to pass on. */
int arazzo_json_encode_fail(enc *e, const char *what, int whole) {
  lua_State *L = e->L;
  json_scratch *s = e->s;
  size_t k, upto = whole ? e->depth : e->depth - (e->depth > 0);
  s->len = 0;
  JSON_PUTLIT(L, s, "json: ");
  json_put(L, s, what, strlen(what));
  JSON_PUTLIT(L, s, " at ");
  if (upto == 0) JSON_PUTLIT(L, s, "root");
  for (k = 0; k < upto; k++) {
    enc_frame *f = &((enc_frame *)s->frames)[k];
    size_t len;
    const char *key;
    if (f->i == 0) continue;
    if (f->kind == ENC_ARRAY) {
      json_putc(L, s, '/');
      enc_integer(e, (long long)(f->i - 1));
    } else {
      key = enc_push_key(e, f, &len);
      put_token(L, s, key ? key : "?", key ? len : 1);
      lua_pop(L, 1);
    }
  }
  return -1;
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
  if (enc_cycle(e, t)) return arazzo_json_encode_fail(e, "cannot encode a cycle", 1);
  if (e->depth >= e->max_depth) {
    char what[64];
    snprintf(what, sizeof what, "nesting deeper than %lu", (unsigned long)e->max_depth);
    return arazzo_json_encode_fail(e, what, 1);
  }
  if (!lua_checkstack(L, 8)) return arazzo_json_encode_fail(e, "nesting too deep for the Lua stack", 1);
  if (arazzo_as_array(L, t, &f.n)) {
    f.kind = ENC_ARRAY;
    if (arazzo_is_marked_array(L, t) && arazzo_json_encode_check_array(e, t, f.n)) return -1;
  } else if (arazzo_json_encode_keys(e, t, &f)) {
    return -1;
  }
  if (f.n == 0) {
    if (f.kind == ENC_ARRAY) JSON_PUTLIT(L, e->s, "[]");
    else JSON_PUTLIT(L, e->s, "{}");
    lua_settop(L, t - 1);
    return 0;
  }
  if (e->depth == e->s->fcap) arazzo_json_grow(L, &e->s->frames, &e->s->fcap, e->depth + 1, sizeof f);
  if (e->depth >= JSON_SCAN_DEPTH) enc_seen(e, t, 1);
  ((enc_frame *)e->s->frames)[e->depth++] = f;
  json_putc(L, e->s, f.kind == ENC_ARRAY ? '[' : '{');
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
      return arazzo_json_encode_fail(e, what, 1);
    }
    break;
  case LUA_TNUMBER:
    d = (double)lua_tonumber(L, -1);
    if (d != d) return arazzo_json_encode_fail(e, "cannot encode NaN", 1);
    if (d == HUGE_VAL || d == -HUGE_VAL) return arazzo_json_encode_fail(e, d > 0 ? "cannot encode inf" : "cannot encode -inf", 1);
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
    if (lua_toboolean(L, -1)) JSON_PUTLIT(L, e->s, "true");
    else JSON_PUTLIT(L, e->s, "false");
    break;
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, -1) != NULL) return arazzo_json_encode_fail(e, "cannot encode userdata", 1);
    JSON_PUTLIT(L, e->s, "null");
    break;
  case LUA_TTABLE:
    return enc_open(e);
  default:
    snprintf(what, sizeof what, "cannot encode %s", luaL_typename(L, -1));
    return arazzo_json_encode_fail(e, what, 1);
  }
  lua_pop(L, 1);
  return 0;
}

/* Newline plus indentation for the given level (pretty mode only). */
static void enc_newline(enc *e, size_t level) {
  size_t k;
  if (e->indent == NULL) return;
  json_putc(e->L, e->s, '\n');
  for (k = 0; k < level; k++) json_put(e->L, e->s, e->indent, e->indent_len);
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
    json_putc(L, e->s, kind == ENC_ARRAY ? ']' : '}');
    lua_settop(L, t - 1);
    return 0;
  }
  if (f->i++ > 0) json_putc(L, e->s, ',');
  enc_newline(e, e->depth);
  if (f->kind == ENC_ARRAY) {
    lua_rawgeti(L, f->tidx, (lua_Integer)f->i);
    if (lua_isnil(L, -1)) return arazzo_json_encode_fail(e, "cannot encode sparse array", 1);
  } else {
    size_t len = 0, bad;
    int t = f->tidx;
    const char *key = enc_push_key(e, f, &len);
    if (key == NULL) return arazzo_json_encode_fail(e, "object changed while being encoded", 0);
    if ((bad = enc_string(e, key, len)) != 0) {
      char what[64];
      snprintf(what, sizeof what, "invalid UTF-8 in object key (byte %lu)", (unsigned long)bad);
      return arazzo_json_encode_fail(e, what, 0);
    }
    json_putc(L, e->s, ':');
    if (e->indent) json_putc(L, e->s, ' ');
    lua_rawget(L, t);
  }
  return enc_value(e);
}

/* Encode the value at idx with the settings in e. Leaves the JSON text
 * (returns 1) or the error message (returns 0) on top, in place of the
 * scratch it used; scratch memory is freed before returning.
 * [-0,+1], raises memory errors only (the scratch's __gc then frees). */
int arazzo_json_encode_run(lua_State *L, enc *e, int idx) {
  int base, r;
  idx = lua_absindex(L, idx);
  luaL_checkstack(L, 10, "json: stack overflow");
  e->L = L;
  e->s = arazzo_json_scratch_new(L);
  base = lua_gettop(L);
  arazzo_push_order_table(L);
  e->order = lua_istable(L, -1) ? lua_gettop(L) : 0;
  lua_pushnil(L);
  e->seen = lua_gettop(L);
  lua_pushvalue(L, idx);
  r = enc_value(e);
  while (r >= 0 && e->depth > 0) r = enc_next(e);
  lua_pushlstring(L, e->s->buf ? e->s->buf : "", e->s->len);
  arazzo_json_scratch_free(e->s);
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
  if (arazzo_json_encode_run(L, &e, idx)) {
    luaL_addvalue(b);
    return NULL;
  }
  return lua_tostring(L, -1);
}
