/* step.c: run-time helpers for the step loop. Each replaces a Lua loop of
 * expression evaluations per step with one C call; the loop that calls the
 * transport stays in Lua (see lua/arazzo/runner.lua).
 * Licence: MIT (see LICENSE).
 *
 * core.render_template(kind, lits, exprs, ctx) -> text | nil
 *   kind "json" or "form"; lits holds #exprs + 1 strings. The text is
 *   lits[1] .. enc(v1) .. lits[2] .. ... where vi = exprs[i]:eval(ctx),
 *   encoded as a JSON value or as a form value (letters, digits and *-._
 *   kept, space as '+', every other byte %XX). nil as soon as a value is
 *   missing, is a table, or does not encode: the caller then takes the
 *   structured path, which reports exactly.
 * core.eval_outputs(names, exprs, ctx, order) -> out, missing | nil
 *   out[names[i]] = exprs[i]:eval(ctx) for every expression with a value;
 *   with order true and two values or more, out's key order is recorded in
 *   evaluation order. missing lists name, message, name, message... for the
 *   expressions without one (nil when there are none).
 * core.eval_conds(exprs, ctx) -> true | false, index, note
 *   the first condition that is not true, with the note its evaluation
 *   gave. */
#include <string.h>

#include "arazzo.h"

/* Append the value at idx as a JSON value or form text. 0 (nothing added)
 * for nil, a table, or a value that does not encode. */
static int append_value(lua_State *L, arazzo_sbuf *b, int idx, int json, const unsigned char *set) {
  int t = lua_type(L, idx);
  size_t len;
  const char *s;
  if (t == LUA_TNIL || t == LUA_TTABLE) return 0;
  if (json) {
    luaL_Buffer jb;
    luaL_buffinit(L, &jb);
    if (arazzo_json_encode_value(L, idx, &jb) != NULL) return 0; /* the caller returns at once */
    luaL_pushresult(&jb);
  } else if (arazzo_url_scalar(L, idx) != 1) {
    return 0;
  }
  s = lua_tolstring(L, -1, &len);
  if (json) arazzo_sbuf_add(b, s, len);
  else arazzo_url_encode_into(b, s, len, set, 1, 0);
  lua_pop(L, 1);
  return 1;
}

int arazzo_step_render(lua_State *L, int json, int lits, int exprs, int ctx) {
  unsigned char set[256];
  arazzo_sbuf b;
  size_t n = (size_t)lua_rawlen(L, exprs), i;
  int top = lua_gettop(L);
  if ((size_t)lua_rawlen(L, lits) != n + 1) luaL_error(L, "render: expected one more literal than expressions");
  luaL_checkstack(L, 12, "render_template");
  arazzo_url_charset(set, "*-._");
  arazzo_sbuf_init(L, &b);
  for (i = 0;; i++) {
    size_t ll;
    const char *lit;
    lua_rawgeti(L, lits, (lua_Integer)i + 1);
    lit = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &ll) : NULL;
    if (lit == NULL) luaL_error(L, "render: literals must be strings");
    arazzo_sbuf_add(&b, lit, ll);
    lua_pop(L, 1);
    if (i == n) break;
    lua_rawgeti(L, exprs, (lua_Integer)i + 1);
    arazzo_expr_eval_call(L, -1, ctx); /* expr, value, message */
    if (!append_value(L, &b, lua_gettop(L) - 1, json, set)) {
      lua_settop(L, top);
      return 0;
    }
    lua_pop(L, 3);
  }
  arazzo_sbuf_push(&b);
  lua_replace(L, top + 1); /* over the buffer's slot */
  lua_settop(L, top + 1);
  return 1;
}

static int l_render_template(lua_State *L) {
  const char *kind = luaL_checkstring(L, 1);
  int json = strcmp(kind, "json") == 0;
  luaL_argcheck(L, json || strcmp(kind, "form") == 0, 1, "expected 'json' or 'form'");
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  luaL_checktype(L, 4, LUA_TTABLE);
  luaL_argcheck(L, (size_t)lua_rawlen(L, 2) == (size_t)lua_rawlen(L, 3) + 1, 2,
                "expected one more literal than expressions");
  lua_settop(L, 4);
  if (!arazzo_step_render(L, json, 2, 3, 4)) lua_pushnil(L);
  return 1;
}

/* Append name (at nidx) and the message on top (or "no value") to the
 * missing list at slot ms, created on first use. Pops the message. */
static void note_missing(lua_State *L, int ms, int nidx, size_t *nm) {
  if (lua_isnil(L, ms)) {
    lua_createtable(L, 4, 0);
    lua_replace(L, ms);
  }
  if (!lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "no value");
  }
  lua_pushvalue(L, nidx);
  lua_rawseti(L, ms, (lua_Integer)++*nm);
  lua_rawseti(L, ms, (lua_Integer)++*nm);
}

static int l_eval_outputs(lua_State *L) {
  size_t n, i, count = 0, nm = 0;
  int order;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  luaL_checktype(L, 3, LUA_TTABLE);
  order = lua_toboolean(L, 4);
  n = (size_t)lua_rawlen(L, 1);
  luaL_argcheck(L, (size_t)lua_rawlen(L, 2) == n, 2, "expected one expression per name");
  lua_settop(L, 3);
  luaL_checkstack(L, 12, "eval_outputs");
  lua_createtable(L, 0, n > 0x7fff ? 0x7fff : (int)n); /* 4: out */
  lua_pushnil(L);                                       /* 5: key order, when recorded */
  lua_pushnil(L);                                       /* 6: missing */
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, (lua_Integer)i); /* 7: name */
    luaL_argcheck(L, lua_type(L, 7) == LUA_TSTRING, 1, "names must be strings");
    lua_rawgeti(L, 2, (lua_Integer)i); /* 8: expr */
    arazzo_expr_eval_call(L, 8, 3);    /* 9: value, 10: message */
    if (lua_isnil(L, 9)) {
      note_missing(L, 6, 7, &nm);
      lua_settop(L, 6);
      continue;
    }
    lua_pushvalue(L, 7);
    lua_pushvalue(L, 9);
    lua_rawset(L, 4);
    count++;
    if (order) {
      if (lua_isnil(L, 5)) {
        lua_createtable(L, (int)(n - i + 1), 0);
        lua_replace(L, 5);
      }
      lua_pushvalue(L, 7);
      lua_rawseti(L, 5, (lua_Integer)count);
    }
    lua_settop(L, 6);
  }
  if (order && count > 1) {
    lua_pushvalue(L, 5);
    arazzo_set_order(L, 4);
  }
  lua_pushvalue(L, 4);
  lua_pushvalue(L, 6);
  return 2;
}

static int l_eval_conds(lua_State *L) {
  size_t n, i;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checktype(L, 2, LUA_TTABLE);
  n = (size_t)lua_rawlen(L, 1);
  lua_settop(L, 2);
  luaL_checkstack(L, 8, "eval_conds");
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, (lua_Integer)i); /* 3: expr */
    arazzo_expr_eval_call(L, 3, 2);    /* 4: verdict, 5: note */
    if (!(lua_type(L, 4) == LUA_TBOOLEAN && lua_toboolean(L, 4))) {
      lua_pushboolean(L, 0);
      lua_pushinteger(L, (lua_Integer)i);
      lua_pushvalue(L, 5);
      return 3;
    }
    lua_settop(L, 2);
  }
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg step_funcs[] = {{"render_template", l_render_template},
                                      {"build_request", arazzo_step_build_request},
                                      {"eval_outputs", l_eval_outputs},
                                      {"eval_conds", l_eval_conds},
                                      {NULL, NULL}};

void arazzo_step_open(lua_State *L) { luaL_setfuncs(L, step_funcs, 0); }
