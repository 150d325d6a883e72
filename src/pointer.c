/* pointer.c: RFC 6901 JSON Pointer resolution against Lua values.
 * Licence: MIT (see LICENSE). */
#include <stdlib.h>
#include <string.h>

#include "arazzo.h"

/* Decode one reference token (between slashes) into b: "~0" -> "~", "~1" ->
 * "/". Returns 0 when a '~' is followed by anything else. */
static int decode_token(luaL_Buffer *b, const char *s, size_t len) {
  size_t i;
  for (i = 0; i < len; i++) {
    if (s[i] != '~') {
      luaL_addchar(b, s[i]);
    } else if (i + 1 < len && (s[i + 1] == '0' || s[i + 1] == '1')) {
      luaL_addchar(b, s[i + 1] == '0' ? '~' : '/');
      i++;
    } else {
      return 0;
    }
  }
  return 1;
}

/* An array index token per RFC 6901: "0" or [1-9][0-9]*, at most 18 digits. */
static int array_index(const char *s, size_t len, lua_Integer *out) {
  size_t i;
  lua_Integer v = 0;
  if (len == 0 || len > 18 || (len > 1 && s[0] == '0')) return 0;
  for (i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 1;
}

/* Step from the table on top into member tok; replaces the top with the
 * member (nil when absent). Arrays take decimal indexes (0-based); objects
 * take the token as a string key. [-1,+1] */
static void step_into(lua_State *L, const char *tok, size_t len) {
  size_t n;
  lua_Integer i;
  if (lua_type(L, -1) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_pushnil(L);
    return;
  }
  if (arazzo_as_array(L, -1, &n)) {
    if (array_index(tok, len, &i) && (size_t)i < n) {
      lua_rawgeti(L, -1, i + 1);
    } else {
      lua_pushnil(L);
    }
  } else {
    lua_pushlstring(L, tok, len);
    lua_rawget(L, -2);
  }
  lua_remove(L, -2);
}

int arazzo_pointer_resolve(lua_State *L, int idx, const char *p, size_t len) {
  size_t pos = 0;
  idx = lua_absindex(L, idx);
  if (len > 0 && p[0] != '/') return 0;
  lua_pushvalue(L, idx);
  while (pos < len) {
    const char *tok = p + pos + 1, *end = memchr(tok, '/', len - pos - 1);
    size_t tlen = end ? (size_t)(end - tok) : len - pos - 1;
    if (memchr(tok, '~', tlen)) {
      luaL_Buffer b;
      int ok;
      luaL_buffinit(L, &b);
      ok = decode_token(&b, tok, tlen);
      luaL_pushresult(&b);
      if (!ok) {
        lua_pop(L, 2);
        return 0;
      }
      {
        size_t dl;
        const char *d = lua_tolstring(L, -1, &dl);
        lua_pushvalue(L, -2);
        step_into(L, d, dl);
        lua_replace(L, -3);
        lua_pop(L, 1);
      }
    } else {
      step_into(L, tok, tlen);
    }
    pos += tlen + 1;
  }
  return 1;
}

/* core.pointer_get(value, pointer) -> member | nil; raises on a malformed
 * pointer (a programmer error at this level: documents are checked by
 * pointer_check at load time). */
static int l_pointer_get(lua_State *L) {
  size_t len;
  const char *p = luaL_checklstring(L, 2, &len);
  luaL_checkany(L, 1);
  if (!arazzo_pointer_resolve(L, 1, p, len)) return luaL_argerror(L, 2, "malformed JSON pointer");
  return 1;
}

/* core.pointer_check(pointer) -> true | nil, message, column (1-based). */
static int l_pointer_check(lua_State *L) {
  size_t len, i;
  const char *p = luaL_checklstring(L, 1, &len);
  if (len > 0 && p[0] != '/') {
    lua_pushnil(L);
    lua_pushliteral(L, "JSON pointer must be empty or start with '/'");
    lua_pushinteger(L, 1);
    return 3;
  }
  for (i = 0; i < len; i++) {
    if (p[i] == '~' && (i + 1 >= len || (p[i + 1] != '0' && p[i + 1] != '1'))) {
      lua_pushnil(L);
      lua_pushliteral(L, "'~' in a JSON pointer must be followed by '0' or '1'");
      lua_pushinteger(L, (lua_Integer)i + 1);
      return 3;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* core.pointer_tokens(pointer) -> sequence of decoded tokens | nil, msg. */
static int l_pointer_tokens(lua_State *L) {
  size_t len, pos = 0;
  const char *p = luaL_checklstring(L, 1, &len);
  lua_Integer n = 0;
  if (len > 0 && p[0] != '/') {
    lua_pushnil(L);
    lua_pushliteral(L, "JSON pointer must be empty or start with '/'");
    return 2;
  }
  lua_newtable(L);
  while (pos < len) {
    const char *tok = p + pos + 1, *end = memchr(tok, '/', len - pos - 1);
    size_t tlen = end ? (size_t)(end - tok) : len - pos - 1;
    luaL_Buffer b;
    int ok;
    luaL_buffinit(L, &b);
    ok = decode_token(&b, tok, tlen);
    luaL_pushresult(&b);
    if (!ok) {
      lua_pushnil(L);
      lua_pushliteral(L, "'~' in a JSON pointer must be followed by '0' or '1'");
      return 2;
    }
    lua_rawseti(L, -2, ++n);
    pos += tlen + 1;
  }
  return 1;
}

/* core.pointer_escape(token) -> token with "~" -> "~0" and "/" -> "~1". */
static int l_pointer_escape(lua_State *L) {
  size_t len, i;
  const char *s = luaL_checklstring(L, 1, &len);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (i = 0; i < len; i++) {
    if (s[i] == '~') luaL_addstring(&b, "~0");
    else if (s[i] == '/') luaL_addstring(&b, "~1");
    else luaL_addchar(&b, s[i]);
  }
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg pointer_funcs[] = {{"pointer_get", l_pointer_get},
                                         {"pointer_check", l_pointer_check},
                                         {"pointer_tokens", l_pointer_tokens},
                                         {"pointer_escape", l_pointer_escape},
                                         {NULL, NULL}};

void arazzo_pointer_open(lua_State *L) { luaL_setfuncs(L, pointer_funcs, 0); }
