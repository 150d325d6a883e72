/* url.c: RFC 3986 percent-encoding and server/path joining, plus the byte
 * buffer and scalar text shared with form.c and param.c.
 * Licence: MIT (see LICENSE). */
#include <stdio.h>
#include <string.h>

#include "arazzo.h"

static const char HEXDIGITS[] = "0123456789ABCDEF";

/* ---- growable buffer ---------------------------------------------------- */

void arazzo_sbuf_init(lua_State *L, arazzo_sbuf *b) {
  b->L = L;
  b->len = 0;
  b->cap = sizeof b->inline_;
  b->p = b->inline_;
  lua_pushnil(L);
  b->slot = lua_gettop(L);
}

/* Make room for need more bytes: a bigger userdata replaces the old one in
 * the buffer's stack slot. Raises on overflow or out of memory. [-0,+0] */
static void sbuf_grow(arazzo_sbuf *b, size_t need) {
  size_t ncap = b->cap;
  char *np;
  if (need > ((size_t)-1) / 4 - b->len) luaL_error(b->L, "buffer too large");
  if (ncap < 128) ncap = 128;
  while (ncap - b->len < need) ncap *= 2;
  np = (char *)lua_newuserdata(b->L, ncap);
  memcpy(np, b->p, b->len);
  lua_replace(b->L, b->slot);
  b->p = np;
  b->cap = ncap;
}

void arazzo_sbuf_add(arazzo_sbuf *b, const char *s, size_t n) {
  if (n > b->cap - b->len) sbuf_grow(b, n);
  if (n) memcpy(b->p + b->len, s, n);
  b->len += n;
}

void arazzo_sbuf_push(arazzo_sbuf *b) { lua_pushlstring(b->L, b->p, b->len); }

/* ---- percent-encoding --------------------------------------------------- */

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* 1 for the ASCII letters and digits. */
static const unsigned char alnum[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

void arazzo_url_charset(unsigned char set[256], const char *extra) {
  memcpy(set, alnum, sizeof alnum);
  for (; *extra; extra++) set[(unsigned char)*extra] = 1;
}

void arazzo_url_encode_into(arazzo_sbuf *b, const char *s, size_t n, const unsigned char *set,
                            int plus, int triples) {
  size_t i;
  char *o;
  if (n > ((size_t)-1) / 8) luaL_error(b->L, "string too large to encode");
  if (3 * n > b->cap - b->len) sbuf_grow(b, 3 * n);
  o = b->p + b->len;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (set[c] || (triples && c == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
                   hexval((unsigned char)s[i + 2]) >= 0)) {
      *o++ = (char)c;
    } else if (c == ' ' && plus) {
      *o++ = '+';
    } else {
      *o++ = '%';
      *o++ = HEXDIGITS[c >> 4];
      *o++ = HEXDIGITS[c & 15];
    }
  }
  b->len = (size_t)(o - b->p);
}

size_t arazzo_url_decode_into(arazzo_sbuf *b, const char *s, size_t n, int plus) {
  size_t i;
  char *o;
  if (n > b->cap - b->len) sbuf_grow(b, n);
  o = b->p + b->len;
  for (i = 0; i < n; i++) {
    char c = s[i];
    if (c == '%') {
      int h, l;
      if (i + 2 >= n || (h = hexval((unsigned char)s[i + 1])) < 0 ||
          (l = hexval((unsigned char)s[i + 2])) < 0)
        return i + 1;
      *o++ = (char)(h * 16 + l);
      i += 2;
    } else {
      *o++ = (plus && c == '+') ? ' ' : c;
    }
  }
  b->len = (size_t)(o - b->p);
  return 0;
}

/* ---- scalar text -------------------------------------------------------- */

int arazzo_url_scalar(lua_State *L, int idx) {
  switch (lua_type(L, idx)) {
  case LUA_TSTRING:
    lua_pushvalue(L, idx);
    return 1;
  case LUA_TBOOLEAN:
    lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false");
    return 1;
  case LUA_TNUMBER: {
    long long v;
    double d;
    luaL_Buffer nb;
    if (arazzo_number_is_integer(L, idx, &v)) {
      char tmp[32];
      snprintf(tmp, sizeof tmp, "%lld", v);
      lua_pushstring(L, tmp);
      return 1;
    }
    d = (double)lua_tonumber(L, idx);
    if (d != d || d - d != 0) return -1; /* NaN or an infinity */
    luaL_buffinit(L, &nb);
    arazzo_format_double(&nb, d);
    luaL_pushresult(&nb);
    return 1;
  }
  case LUA_TLIGHTUSERDATA:
    if (arazzo_is_null(L, idx)) {
      lua_pushliteral(L, "");
      return 1;
    }
    return 0;
  default:
    return 0;
  }
}

/* ---- small helpers ------------------------------------------------------ */

/* core.url_join(server, path) -> server and path with exactly one '/'
 * between them; an empty path keeps server as is | nil, msg, "url" when
 * server carries a query or fragment. */
static int l_url_join(lua_State *L) {
  size_t sn, pn;
  const char *srv = luaL_checklstring(L, 1, &sn);
  const char *path = luaL_checklstring(L, 2, &pn);
  luaL_Buffer b;
  if (memchr(srv, '?', sn) || memchr(srv, '#', sn)) {
    lua_pushnil(L);
    lua_pushliteral(L, "server url has a query or fragment");
    lua_pushliteral(L, "url");
    return 3;
  }
  if (pn == 0) {
    lua_settop(L, 1);
    return 1;
  }
  while (sn > 0 && srv[sn - 1] == '/') sn--;
  while (pn > 0 && path[0] == '/') path++, pn--;
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, srv, sn);
  luaL_addchar(&b, '/');
  luaL_addlstring(&b, path, pn);
  luaL_pushresult(&b);
  return 1;
}

/* core.url_encode(s [, keep]) -> s with every byte outside A-Z a-z 0-9
 * -._~ and keep as %XX. Raises on non-string arguments. */
static int l_url_encode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  const char *keep = luaL_optstring(L, 2, "");
  unsigned char set[256];
  arazzo_sbuf b;
  arazzo_url_charset(set, "-._~");
  for (; *keep; keep++) set[(unsigned char)*keep] = 1;
  arazzo_sbuf_init(L, &b);
  arazzo_url_encode_into(&b, s, n, set, 0, 0);
  arazzo_sbuf_push(&b);
  return 1;
}

/* core.url_decode(s [, plus_is_space]) -> decoded bytes | nil, msg, "url"
 * on a '%' not followed by two hex digits. */
static int l_url_decode(lua_State *L) {
  size_t n, bad;
  const char *s = luaL_checklstring(L, 1, &n);
  int plus = lua_toboolean(L, 2);
  arazzo_sbuf b;
  arazzo_sbuf_init(L, &b);
  bad = arazzo_url_decode_into(&b, s, n, plus);
  if (bad) {
    lua_pushnil(L);
    lua_pushfstring(L, "bad percent escape at position %d", (int)bad);
    lua_pushliteral(L, "url");
    return 3;
  }
  arazzo_sbuf_push(&b);
  return 1;
}

/* core.header_value_ok(s) -> false when s holds CR, LF or NUL. */
static int l_header_value_ok(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  lua_pushboolean(L, !memchr(s, '\r', n) && !memchr(s, '\n', n) && !memchr(s, '\0', n));
  return 1;
}

static const luaL_Reg url_funcs[] = {{"url_encode", l_url_encode},
                                     {"url_decode", l_url_decode},
                                     {"url_join", l_url_join},
                                     {"header_value_ok", l_header_value_ok},
                                     {NULL, NULL}};

void arazzo_url_open(lua_State *L) {
  luaL_setfuncs(L, url_funcs, 0);
  arazzo_url_parse_open(L);
}
