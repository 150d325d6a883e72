/* step_request.c: core.build_request, the request of a plain HTTP step in
 * one call. The step loop stays in Lua and calls the transport itself.
 * Licence: MIT (see LICENSE).
 *
 * core.build_request(k, ctx, auth, timeout) -> wire | nil
 *   k, prepared at load for steps that qualify (lua/arazzo/resolve.lua):
 *     { method =, url = <URL template>, ct = <content type or nil>,
 *       params = { {name, in, expr | false, value, style, explode,
 *                   allowReserved}, ... },
 *       body = <fast template {kind, lits, exprs}> or nil }
 *   auth: {name, value, name, value, ...} header credentials, each set
 *   unless a header of that name (in any case) is there already.
 *   wire = {method, url, headers = {name = value}, body, timeout}, the
 *   request exactly as lua/arazzo/request.lua builds it: path parameters
 *   substituted, query and cookie fragments joined, header values as
 *   serialized, Content-Type from ct when there is a body.
 *   nil whenever anything is off (a missing value, a serialization error,
 *   a placeholder left, a body value that is not a scalar): the caller then
 *   builds the request in Lua, which reports exactly. */
#include <string.h>

#include "arazzo.h"

/* Stack slots of a build. */
enum { A_K = 1, A_CTX, A_AUTH, A_TIMEOUT, S_URL, S_HEADERS, S_QUERY, S_COOKIE, S_PARAMS, S_BASE = S_PARAMS };

static int ascii_lower(int c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }

/* Whether the headers table at t has a key equal to name ignoring ASCII case. */
static int has_header(lua_State *L, int t, const char *name, size_t nl) {
  lua_pushnil(L);
  while (lua_next(L, t)) {
    size_t kl, i;
    const char *k;
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) continue;
    k = lua_tolstring(L, -1, &kl);
    if (kl != nl) continue;
    for (i = 0; i < nl && ascii_lower(k[i]) == ascii_lower(name[i]); i++) {
    }
    if (i == nl) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

/* A placeholder "{...}" without '/' inside left in u. */
static int placeholder_left(const char *u) {
  const char *o = strchr(u, '{');
  while (o) {
    const char *c = o + 1;
    while (*c && *c != '}' && *c != '/') c++;
    if (*c == '}') return 1;
    o = strchr(o + 1, '{');
  }
  return 0;
}

/* Serialize parameter p (at index pi) into the url, query, headers or
 * cookie. 0 when it cannot be done here. */
static int add_param(lua_State *L, int pi, arazzo_sbuf *q, arazzo_sbuf *ck) {
  int top = lua_gettop(L);
  size_t sl;
  const char *s, *loc;
  lua_rawgeti(L, pi, 1); /* top+1: name */
  lua_rawgeti(L, pi, 2); /* top+2: in */
  lua_rawgeti(L, pi, 3); /* top+3: expr or false */
  if (lua_type(L, top + 3) == LUA_TUSERDATA) {
    arazzo_expr_eval_call(L, top + 3, A_CTX); /* top+4: value, top+5: message */
    if (lua_isnil(L, top + 4)) return 0;
    lua_pop(L, 1);
  } else {
    lua_rawgeti(L, pi, 4); /* top+4: the constant */
  }
  lua_pushcfunction(L, arazzo_param_serialize_lua);
  lua_pushvalue(L, top + 1);
  lua_pushvalue(L, top + 4);
  lua_pushvalue(L, top + 2);
  lua_rawgeti(L, pi, 5);
  lua_rawgeti(L, pi, 6);
  lua_rawgeti(L, pi, 7);
  lua_call(L, 6, 1); /* top+5: text | nil */
  if (lua_type(L, top + 5) != LUA_TSTRING) return 0;
  s = lua_tolstring(L, top + 5, &sl);
  loc = lua_tostring(L, top + 2);
  if (loc == NULL) return 0;
  if (strcmp(loc, "path") == 0) {
    const char *u = lua_tostring(L, S_URL), *ph = lua_pushfstring(L, "{%s}", lua_tostring(L, top + 1));
    if (u == NULL || strstr(u, ph) == NULL) return 0;
    luaL_gsub(L, u, ph, s);
    lua_replace(L, S_URL);
  } else if (strcmp(loc, "query") == 0) {
    if (sl > 0) {
      if (q->len > 0) arazzo_sbuf_add(q, "&", 1);
      arazzo_sbuf_add(q, s, sl);
    }
  } else if (strcmp(loc, "header") == 0) {
    lua_pushvalue(L, top + 1);
    lua_pushvalue(L, top + 5);
    lua_rawset(L, S_HEADERS);
  } else if (strcmp(loc, "cookie") == 0) {
    if (sl > 0) {
      if (ck->len > 0) arazzo_sbuf_add(ck, "; ", 2);
      arazzo_sbuf_add(ck, s, sl);
    }
  } else {
    return 0;
  }
  lua_settop(L, top);
  return 1;
}

/* Set the auth headers from the list at A_AUTH that are not there yet. */
static void add_auth(lua_State *L) {
  size_t n, i, nl;
  if (!lua_istable(L, A_AUTH)) return;
  n = (size_t)lua_rawlen(L, A_AUTH);
  for (i = 1; i + 1 <= n; i += 2) {
    const char *name;
    lua_rawgeti(L, A_AUTH, (lua_Integer)i);
    name = lua_tolstring(L, -1, &nl);
    lua_pushvalue(L, -1);
    if (name == NULL || lua_rawget(L, S_HEADERS) != LUA_TNIL || has_header(L, S_HEADERS, name, nl)) {
      lua_pop(L, 2);
      continue;
    }
    lua_pop(L, 1);
    lua_rawgeti(L, A_AUTH, (lua_Integer)i + 1);
    lua_rawset(L, S_HEADERS);
  }
}

/* The body and its Content-Type; 0 when the template cannot render. */
static int add_body(lua_State *L, int wire) {
  int b, json;
  const char *kind;
  if (lua_getfield(L, A_K, "body") != LUA_TTABLE) {
    lua_pop(L, 1);
    return 1;
  }
  b = lua_gettop(L);
  lua_getfield(L, b, "kind");
  kind = lua_tostring(L, -1);
  json = kind != NULL && strcmp(kind, "json") == 0;
  if (!json && (kind == NULL || strcmp(kind, "form") != 0)) return 0;
  lua_getfield(L, b, "lits");
  lua_getfield(L, b, "exprs");
  if (!lua_istable(L, -1) || !lua_istable(L, -2)) return 0;
  if (!arazzo_step_render(L, json, b + 2, b + 3, A_CTX)) return 0;
  lua_setfield(L, wire, "body");
  lua_getfield(L, A_K, "ct");
  lua_getfield(L, S_HEADERS, "Content-Type");
  if (lua_type(L, -2) == LUA_TSTRING && lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_setfield(L, S_HEADERS, "Content-Type");
  }
  lua_settop(L, b - 1);
  return 1;
}

int arazzo_step_build_request(lua_State *L) {
  arazzo_sbuf q, ck;
  size_t n, i;
  int wire;
  luaL_checktype(L, A_K, LUA_TTABLE);
  luaL_checktype(L, A_CTX, LUA_TTABLE);
  lua_settop(L, A_TIMEOUT);
  luaL_checkstack(L, 24, "build_request");
  if (lua_getfield(L, A_K, "url") != LUA_TSTRING) return luaL_argerror(L, A_K, "k.url must be a string");
  lua_createtable(L, 0, 4); /* S_HEADERS */
  arazzo_sbuf_init(L, &q);  /* S_QUERY */
  arazzo_sbuf_init(L, &ck); /* S_COOKIE */
  if (lua_getfield(L, A_K, "params") != LUA_TTABLE) return luaL_argerror(L, A_K, "k.params must be a table");
  n = (size_t)lua_rawlen(L, S_PARAMS);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, S_PARAMS, (lua_Integer)i);
    if (!lua_istable(L, -1) || !add_param(L, lua_gettop(L), &q, &ck)) {
      lua_pushnil(L);
      return 1;
    }
    lua_pop(L, 1);
  }
  if (placeholder_left(lua_tostring(L, S_URL))) {
    lua_pushnil(L);
    return 1;
  }
  if (q.len > 0) {
    lua_pushvalue(L, S_URL);
    lua_pushstring(L, strchr(lua_tostring(L, S_URL), '?') ? "&" : "?");
    arazzo_sbuf_push(&q);
    lua_concat(L, 3);
    lua_replace(L, S_URL);
  }
  if (ck.len > 0) {
    arazzo_sbuf_push(&ck);
    lua_setfield(L, S_HEADERS, "Cookie");
  }
  lua_createtable(L, 0, 5);
  wire = lua_gettop(L);
  if (!add_body(L, wire)) {
    lua_pushnil(L);
    return 1;
  }
  add_auth(L);
  lua_getfield(L, A_K, "method");
  lua_setfield(L, wire, "method");
  lua_pushvalue(L, S_URL);
  lua_setfield(L, wire, "url");
  lua_pushvalue(L, S_HEADERS);
  lua_setfield(L, wire, "headers");
  lua_pushvalue(L, A_TIMEOUT);
  lua_setfield(L, wire, "timeout");
  lua_settop(L, wire);
  return 1;
}
