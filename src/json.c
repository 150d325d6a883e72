/* json.c: JSON Lua API (json_encode, json_decode, test hooks), the encoder/decoder's shared scratch memory, and the decoder's number parser.
 * Licence: MIT (see LICENSE).
 *
 * The encoder is json_encode.c (object keys: json_encode_keys.c), the
 * decoder json_decode.c; json_internal.h describes the design they share.
 * Only this file registers functions (arazzo_json_open). */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_internal.h"

#define JSON_SCRATCH_MT "arazzo.json.Scratch"

/* ---- shared: byte classes (see json_internal.h) -------------------------- */

#define R4(x) x, x, x, x
#define R16(x) R4(x), R4(x), R4(x), R4(x)
const unsigned char arazzo_json_byte_class[256] = {
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

/* ---- scratch memory owned by a userdata --------------------------------- */

/* Registry key of the shared scratch. */
static const char scratch_key = 0;

/* Blocks larger than these are not kept in the shared scratch between runs. */
#define KEEP_BYTES 16384
#define KEEP_ITEMS 256

/* Free everything a scratch owns and mark it released; idempotent. */
static void scratch_release(json_scratch *s) {
  free(s->buf);
  free(s->frames);
  free(s->dframes);
  free(s->keys);
  free(s->offs);
  memset(s, 0, sizeof *s);
}

/* Free the block *p when its capacity *cap exceeds keep. */
static void drop_large(void **p, size_t *cap, size_t keep) {
  if (*cap <= keep) return;
  free(*p);
  *p = NULL;
  *cap = 0;
}

/* Done with a scratch: see json_internal.h. A shared scratch that was
 * replaced meanwhile keeps its blocks until its __gc. */
void arazzo_json_scratch_free(json_scratch *s) {
  if (!s->shared) {
    scratch_release(s);
    return;
  }
  drop_large((void **)&s->buf, &s->cap, KEEP_BYTES);
  drop_large(&s->frames, &s->fcap, KEEP_ITEMS);
  drop_large(&s->dframes, &s->dfcap, KEEP_ITEMS);
  drop_large((void **)&s->keys, &s->kcap, KEEP_ITEMS);
  drop_large((void **)&s->offs, &s->ocap, KEEP_ITEMS);
  s->len = s->nkeys = 0;
  s->busy = 0;
}

/* __gc / __close of the scratch userdata. [-0,+0] */
static int scratch_gc(lua_State *L) {
  scratch_release((json_scratch *)luaL_checkudata(L, 1, JSON_SCRATCH_MT));
  return 0;
}

/* Push a new, released scratch userdata with its metatable. [-0,+1] */
static json_scratch *scratch_push_new(lua_State *L) {
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

/* Push a scratch and return it: see json_internal.h. */
json_scratch *arazzo_json_scratch_new(lua_State *L) {
  json_scratch *s;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &scratch_key);
  s = (json_scratch *)lua_touserdata(L, -1);
  if (s != NULL && !s->busy) {
    s->busy = 1;
    return s;
  }
  /* none yet, or one left busy by a raised error (or still in use: its
   * user keeps it anchored and frees it as usual): a new one takes over */
  lua_pop(L, 1);
  s = scratch_push_new(L);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &scratch_key);
  s->shared = s->busy = 1;
  return s;
}

/* Grow the array *p (elements of size sz, capacity *cap) to hold need
 * elements. Raises "json: not enough memory" on overflow or OOM; the old
 * block stays owned by the scratch, so nothing leaks. */
void arazzo_json_grow(lua_State *L, void **p, size_t *cap, size_t need, size_t sz) {
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

/* ---- Lua API: encode ----------------------------------------------------- */

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
  if (arazzo_json_encode_run(L, &e, 1)) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  lua_pushliteral(L, "json");
  return 3;
}

/* ---- Lua API: decode ----------------------------------------------------- */

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
  } else if ((k = json_utf8_len(p, (size_t)(e - p))) != 0) {
    unsigned cp = p[0] & (k == 2 ? 0x1f : k == 3 ? 0x0f : 0x07);
    size_t i;
    for (i = 1; i < k; i++) cp = (cp << 6) | (p[i] & 0x3f);
    snprintf(out, n, "U+%04X", cp);
  } else {
    snprintf(out, n, "byte 0x%02X", (unsigned)*p);
  }
}

/* Check json_decode's options table at arg and fill d; *ptr (length *plen)
 * gets opts.pointer, a string held by the table. Raises. */
static void dec_opts(lua_State *L, int arg, dec *d, const char **ptr, size_t *plen) {
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
    } else if (strcmp(k, "pointer") == 0) {
      if (lua_type(L, -1) != LUA_TSTRING) luaL_argerror(L, arg, "pointer must be a string");
      *ptr = lua_tolstring(L, -1, plen);
    } else {
      luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s'", lua_type(L, -2) == LUA_TSTRING ? k : "?"));
    }
    lua_pop(L, 1);
  }
}

/* The RFC 6901 array index that token s[0..n) spells ("0" or [1-9][0-9]*,
 * at most 18 digits), else -1. */
static lua_Integer token_index(const char *s, size_t n) {
  lua_Integer v = 0;
  size_t i;
  if (n == 0 || n > 18 || (n > 1 && s[0] == '0')) return -1;
  for (i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* Split the RFC 6901 pointer p[0..len) into decoded tokens, kept in a new
 * userdata (the token array, then their bytes); sets *ntok and returns the
 * array. Raises an argument error (arg) on a malformed pointer. [-0,+1] */
static arazzo_json_token *pointer_tokens(lua_State *L, int arg, const char *p, size_t len, size_t *ntok) {
  size_t n = 0, i, k;
  arazzo_json_token *t;
  char *w;
  if (len > 0 && p[0] != '/') luaL_argerror(L, arg, "pointer must be empty or start with '/'");
  for (i = 0; i < len; i++) {
    if (p[i] == '/') n++;
    else if (p[i] == '~' && (i + 1 == len || (p[i + 1] != '0' && p[i + 1] != '1')))
      luaL_argerror(L, arg, "'~' in a pointer must be followed by '0' or '1'");
  }
  if (n > ((size_t)-1 - len - 1) / sizeof *t) luaL_error(L, "json: not enough memory");
  t = (arazzo_json_token *)lua_newuserdata(L, n * sizeof *t + len + 1);
  w = (char *)(t + n);
  for (i = 0, k = 0; k < n; k++) {
    t[k].s = w;
    for (i++; i < len && p[i] != '/'; i++) {
      if (p[i] == '~') *w++ = p[++i] == '0' ? '~' : '/';
      else *w++ = p[i];
    }
    t[k].len = (size_t)(w - t[k].s);
    t[k].index = token_index(t[k].s, t[k].len);
  }
  *ntok = n;
  return t;
}

/* Push nil, "json:<line>:<col>: <message>", "json" for the failed decode
 * d of s[0..len). Returns 3. */
static int push_dec_error(lua_State *L, const dec *d, const char *s, size_t len) {
  unsigned long line, col;
  char found[32], msg[160], full[200];
  line_col((const unsigned char *)s, len, d->errpos, &line, &col);
  if (d->code == DEC_DEPTH) {
    snprintf(msg, sizeof msg, "nesting deeper than %lu", (unsigned long)d->max_depth);
  } else if (d->found) {
    describe_found((const unsigned char *)s + d->errpos, (const unsigned char *)s + len, found, sizeof found);
    snprintf(msg, sizeof msg, "unexpected %s, %s", found, d->msg);
  } else {
    snprintf(msg, sizeof msg, "%s", d->msg);
  }
  snprintf(full, sizeof full, "json:%lu:%lu: %s", line, col, msg);
  lua_pushnil(L);
  lua_pushstring(L, full);
  lua_pushliteral(L, "json");
  return 3;
}

/* core.json_decode(text [, opts]) -> value | nil, "json:<line>:<col>:
 * <message>", "json". opts.order (default true), opts.max_depth (1000),
 * opts.pointer (RFC 6901 text): the value is then only the node the
 * pointer selects, nil when it selects nothing, as pointer_get would give
 * on the whole decoded value; the whole text is still checked. Raises on
 * bad options and on a malformed pointer. */
static int l_json_decode(lua_State *L) {
  size_t len, plen = 0, ntok, used;
  const char *s = luaL_checklstring(L, 1, &len), *ptr = NULL;
  arazzo_json_token *toks;
  dec d;
  memset(&d, 0, sizeof d);
  d.max_depth = JSON_DEFAULT_DEPTH;
  d.order = 1;
  dec_opts(L, 2, &d, &ptr, &plen);
  lua_settop(L, 2);
  if (ptr == NULL) {
    if (arazzo_json_decode_run(L, &d, s, len)) return 1;
    return push_dec_error(L, &d, s, len);
  }
  toks = pointer_tokens(L, 2, ptr, plen, &ntok);
  lua_replace(L, 2); /* the tokens keep their own bytes: same stack depth as a plain decode */
  if (!arazzo_json_decode_at_run(L, &d, s, len, 0, toks, ntok, &used)) return push_dec_error(L, &d, s, len);
  if (used < ntok) lua_pushnil(L);
  return 1;
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

/* core._json_decode_at(text, tokens) -> node, used | nil, message, offset.
 * Test hook for arazzo_json_decode_at: tokens is a sequence of decoded
 * token strings (their array indexes are computed as the compiler does). */
static int l_decode_at_raw(lua_State *L) {
  size_t len, n, i, used, pos;
  const char *s = luaL_checklstring(L, 1, &len), *msg;
  arazzo_json_token *t;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  n = (size_t)lua_rawlen(L, 2);
  if (n > ((size_t)-1) / sizeof *t) luaL_error(L, "json: not enough memory");
  t = (arazzo_json_token *)lua_newuserdata(L, n * sizeof *t + 1);
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, 2, (lua_Integer)i + 1);
    if (lua_type(L, -1) != LUA_TSTRING) luaL_argerror(L, 2, "tokens must be strings");
    t[i].s = lua_tolstring(L, -1, &t[i].len); /* held by the tokens table */
    t[i].index = token_index(t[i].s, t[i].len);
    lua_pop(L, 1);
  }
  if (arazzo_json_decode_at(L, s, len, t, n, &used, &msg, &pos)) {
    lua_pushinteger(L, (lua_Integer)used);
    return 2;
  }
  lua_pushnil(L);
  lua_pushstring(L, msg);
  lua_pushinteger(L, (lua_Integer)pos);
  return 3;
}

/* core._json_scratch(op) -> lightuserdata | nil. Test hook for the shared
 * scratch: "peek" gives the current one (nil before the first run); "take"
 * hands it out and never gives it back, as a raised error would. */
static int l_scratch(lua_State *L) {
  const char *op = luaL_checkstring(L, 1);
  if (strcmp(op, "take") == 0) arazzo_json_scratch_new(L);
  else if (strcmp(op, "peek") == 0) lua_rawgetp(L, LUA_REGISTRYINDEX, &scratch_key);
  else return luaL_argerror(L, 1, "expected 'peek' or 'take'");
  if (lua_isnil(L, -1)) return 1;
  lua_pushlightuserdata(L, lua_touserdata(L, -1));
  return 1;
}

static const luaL_Reg json_funcs[] = {{"json_encode", l_json_encode},
                                      {"json_decode", l_json_decode},
                                      {"_json_encode_buffer", l_encode_buffer},
                                      {"_json_decode_raw", l_decode_raw},
                                      {"_json_decode_at", l_decode_at_raw},
                                      {"_json_scratch", l_scratch},
                                      {NULL, NULL}};

void arazzo_json_open(lua_State *L) { luaL_setfuncs(L, json_funcs, 0); }
