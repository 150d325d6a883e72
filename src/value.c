/* value.c: the shared data model: null, array marker, key order, numbers.
 * Licence: MIT (see LICENSE). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arazzo.h"

void arazzo_push_null(lua_State *L) { lua_pushlightuserdata(L, NULL); }

int arazzo_is_null(lua_State *L, int idx) {
  return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL;
}

void arazzo_mark_array(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  luaL_getmetatable(L, ARAZZO_ARRAY_MT);
  lua_setmetatable(L, idx);
}

int arazzo_is_marked_array(lua_State *L, int idx) {
  int r;
  if (!lua_getmetatable(L, idx)) return 0;
  luaL_getmetatable(L, ARAZZO_ARRAY_MT);
  r = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return r;
}

/* A marked table is an array of its raw length; an unmarked one is an array
 * only when it is non-empty and every key is an integer 1..n. */
int arazzo_as_array(lua_State *L, int idx, size_t *n) {
  size_t len, count = 0;
  idx = lua_absindex(L, idx);
  len = (size_t)lua_rawlen(L, idx);
  if (arazzo_is_marked_array(L, idx)) {
    *n = len;
    return 1;
  }
  if (len == 0) return 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TNUMBER) {
      lua_pop(L, 1);
      return 0;
    }
    count++;
  }
  if (count != len) return 0;
  *n = len;
  return 1;
}

void arazzo_push_order_table(lua_State *L) { lua_getfield(L, LUA_REGISTRYINDEX, ARAZZO_ORDER_KEY); }

void arazzo_set_order(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  arazzo_push_order_table(L); /* keys order */
  lua_pushvalue(L, idx);
  lua_pushvalue(L, -3);
  lua_rawset(L, -3);
  lua_pop(L, 2);
}

typedef struct {
  const char *s;
  size_t len;
} keyref;

/* Bytewise order; keys may hold NULs, so compare by length too. */
static int cmp_keys(const void *a, const void *b) {
  const keyref *x = (const keyref *)a, *y = (const keyref *)b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->s, y->s, n);
  if (c) return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

/* Append to list (at index list) the string keys of t (at idx) that are not
 * in seen (at sidx), sorted bytewise. The pointer array lives in a userdata
 * kept at a fixed stack slot, so an allocation error cannot leak it. [-0,+0] */
static void push_rest_sorted(lua_State *L, int idx, int sidx, int list) {
  size_t cap = 0, n = 0, i;
  keyref *v = NULL;
  int top = lua_gettop(L), slot = top + 1;
  lua_pushnil(L);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) continue;
    lua_pushvalue(L, -1);
    lua_rawget(L, sidx);
    if (!lua_isnil(L, -1)) {
      lua_pop(L, 1);
      continue;
    }
    lua_pop(L, 1);
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 8;
      keyref *nv = (keyref *)lua_newuserdata(L, ncap * sizeof *nv);
      if (n) memcpy(nv, v, n * sizeof *nv);
      lua_replace(L, slot);
      v = nv;
      cap = ncap;
    }
    v[n].s = lua_tolstring(L, -1, &v[n].len); /* the key stays referenced by t */
    n++;
  }
  if (n) qsort(v, n, sizeof *v, cmp_keys);
  for (i = 0; i < n; i++) {
    lua_pushlstring(L, v[i].s, v[i].len);
    lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
  }
  lua_settop(L, top);
}

void arazzo_push_keys(lua_State *L, int idx) {
  int list, seen;
  idx = lua_absindex(L, idx);
  lua_newtable(L);
  list = lua_gettop(L);
  lua_newtable(L);
  seen = lua_gettop(L);
  arazzo_push_order_table(L);
  lua_pushvalue(L, idx);
  lua_rawget(L, -2);
  if (lua_istable(L, -1)) {
    size_t i, n = (size_t)lua_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, (lua_Integer)i);
      if (lua_type(L, -1) == LUA_TSTRING) {
        lua_pushvalue(L, -1);
        lua_rawget(L, idx);
        if (!lua_isnil(L, -1)) {
          lua_pop(L, 1);
          lua_pushvalue(L, -1);
          lua_rawget(L, seen);
          if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            lua_pushboolean(L, 1);
            lua_rawset(L, seen);
            lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
            continue;
          }
        }
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 2); /* order entry, order table */
  push_rest_sorted(L, idx, seen, list);
  lua_pop(L, 1); /* seen */
}

/* ---- key lists for reading ---------------------------------------------- */

#define FAST_KEYS 64 /* longest recorded key list used in place */

/* A string key read from a table that anchors it. */
typedef struct {
  const char *s;
  size_t len;
  int pos;
} fkey;

static int cmp_fkeys(const void *a, const void *b) {
  const fkey *x = (const fkey *)a, *y = (const fkey *)b;
  int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
  return c ? c : x->len < y->len ? -1 : x->len > y->len;
}

/* Number of string keys of the table at v, counting stops past max. */
static size_t count_string_keys(lua_State *L, int v, size_t max) {
  size_t n = 0;
  lua_pushnil(L);
  while (lua_next(L, v)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING && ++n > max) {
      lua_pop(L, 1);
      break;
    }
  }
  return n;
}

/* 1 when the recorded key list at list names every string key of the
 * object at v exactly once and nothing else (at most FAST_KEYS keys):
 * arazzo_push_keys would then build a copy of it. Reads only (nothing is
 * allocated, so no finalizer runs); the list anchors the strings. [-0,+0] */
static int order_is_exact(lua_State *L, int v, int list) {
  fkey k[FAST_KEYS];
  size_t nk = (size_t)lua_rawlen(L, list), i, j;
  int ok;
  if (nk > FAST_KEYS || count_string_keys(L, v, nk) != nk) return 0;
  for (i = 0, ok = 1; ok && i < nk; i++) {
    lua_rawgeti(L, list, (lua_Integer)i + 1);
    ok = lua_type(L, -1) == LUA_TSTRING;
    if (ok) {
      k[i].s = lua_tolstring(L, -1, &k[i].len);
      for (j = 0; ok && j < i; j++) /* long strings are not interned on 5.4 */
        ok = k[j].len != k[i].len || (k[j].s != k[i].s && memcmp(k[j].s, k[i].s, k[i].len) != 0);
      lua_pushvalue(L, -1);
      lua_rawget(L, v);
      ok = ok && !lua_isnil(L, -1);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  return ok;
}

/* With at most FAST_KEYS string keys: push a new list of the string keys of
 * the object at v sorted bytewise (the order arazzo_push_keys gives an
 * object without recorded order) and return 1; else push nothing and
 * return 0. The list is presized and anchors the strings; the second pass
 * never takes more keys than the first counted, even if a finalizer run by
 * the allocation changed v. [-0,+(1|0)] */
static int push_sorted_keys(lua_State *L, int v) {
  fkey k[FAST_KEYS];
  int total = (int)count_string_keys(L, v, FAST_KEYS), n = 0, i, list;
  if (total > FAST_KEYS) return 0;
  luaL_checkstack(L, total + 3, "too many keys");
  lua_createtable(L, total, 0);
  list = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, v)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING || n == total) continue;
    k[n].s = lua_tolstring(L, -1, &k[n].len);
    k[n].pos = n + 1;
    lua_pushvalue(L, -1);
    lua_rawseti(L, list, ++n);
  }
  qsort(k, (size_t)n, sizeof *k, cmp_fkeys);
  for (i = 0; i < n; i++) lua_rawgeti(L, list, k[i].pos);
  for (i = n; i >= 1; i--) lua_rawseti(L, list, i);
  return 1;
}

void arazzo_push_keys_view(lua_State *L, int v, int order) {
  int own = 0;
  v = lua_absindex(L, v);
  if (order == 0) {
    arazzo_push_order_table(L);
    order = lua_gettop(L);
    own = 1;
  }
  lua_pushvalue(L, v);
  lua_rawget(L, order);
  if (lua_istable(L, -1) && order_is_exact(L, v, lua_gettop(L))) {
    if (own) lua_remove(L, order);
    return;
  }
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    if (push_sorted_keys(L, v)) {
      if (own) lua_remove(L, order);
      return;
    }
  } else {
    lua_pop(L, 1);
  }
  if (own) lua_pop(L, 1);
  arazzo_push_keys(L, v);
}

int arazzo_number_is_integer(lua_State *L, int idx, long long *out) {
#if LUA_VERSION_NUM >= 503 && !defined(LUAJIT_VERSION)
  if (lua_isinteger(L, idx)) {
    *out = (long long)lua_tointeger(L, idx);
    return 1;
  }
  return 0;
#else
  double d = lua_tonumber(L, idx);
  if (d >= -9007199254740992.0 && d <= 9007199254740992.0 && floor(d) == d) {
    *out = (long long)d;
    return 1;
  }
  return 0;
#endif
}

/* 1 for the bytes of %g output other than the decimal point. */
static int is_num_char(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e' || c == 'E';
}

/* Print d with %.*g at precision prec into buf (size n); 1 when the text
 * reads back as d. snprintf and strtod both follow LC_NUMERIC, so the check
 * holds whatever the locale's decimal point is. */
static int format_g(char *buf, size_t n, int prec, double d) {
  snprintf(buf, n, "%.*g", prec, d);
  return strtod(buf, NULL) == d;
}

/* Append d as the shortest %.*g text (precision 1..17) that reads back as
 * d, with '.' as the decimal point whatever LC_NUMERIC says; integral
 * values below 2^53 print as integers ("-0" as "0"). The scan starts at 15
 * for a normal double: its rounding interval (at most 2^-52 |d| wide) holds
 * at most one 15-digit decimal (those are at least 10^-15 |d| apart), so
 * when a shorter precision p reads back, %.15g prints the same decimal and
 * %g drops its trailing zeros: the same text as %.{p}g. Subnormals have
 * fewer significant bits and scan from 1 (5e-324, not 4.94065645841247e-324).
 * [-0,+0] on the stack, may add to b. */
void arazzo_format_double(luaL_Buffer *b, double d) {
  char buf[40];
  int prec;
  size_t i, j;
  if (floor(d) == d && fabs(d) < 9007199254740992.0) {
    snprintf(buf, sizeof buf, "%.0f", d);
    if (strcmp(buf, "-0") == 0) strcpy(buf, "0");
    luaL_addstring(b, buf);
    return;
  }
  prec = fabs(d) < DBL_MIN ? 1 : 15;
  while (prec < 17 && !format_g(buf, sizeof buf, prec, d)) prec++;
  if (prec == 17) snprintf(buf, sizeof buf, "%.17g", d);
  /* anything but digits, sign and exponent is the locale's decimal point
   * (perhaps several bytes): it becomes one '.' (rewritten in place, the
   * text only shrinks) */
  for (i = j = 0; buf[i] != '\0'; i++) {
    if (is_num_char(buf[i])) {
      buf[j++] = buf[i];
    } else {
      buf[j++] = '.';
      while (buf[i + 1] != '\0' && !is_num_char(buf[i + 1])) i++;
    }
  }
  luaL_addlstring(b, buf, j);
}

/* core.array([t]) -> t marked as an array (a new empty one without t). */
static int l_array(lua_State *L) {
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  } else {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
  }
  arazzo_mark_array(L, 1);
  return 1;
}

/* core.isarray(v) -> true when v is a table that encodes as a JSON array. */
static int l_isarray(lua_State *L) {
  size_t n;
  lua_pushboolean(L, lua_type(L, 1) == LUA_TTABLE && arazzo_as_array(L, 1, &n));
  return 1;
}

/* core.keys(t) -> sequence of t's string keys in encoding order. */
static int l_keys(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  arazzo_push_keys(L, 1);
  return 1;
}

/* core.setorder(t, keys) -> t, records keys (a sequence of strings) as t's
 * key order; core.setorder(t, nil) forgets it. */
static int l_setorder(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_isnoneornil(L, 2)) {
    lua_settop(L, 1);
    lua_pushnil(L);
  } else {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
  }
  arazzo_set_order(L, 1);
  return 1;
}

/* core.getorder(t) -> the recorded key list or nil (not a copy). */
static int l_getorder(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  arazzo_push_order_table(L);
  lua_pushvalue(L, 1);
  lua_rawget(L, -2);
  return 1;
}

/* core.isinteger(v) -> true when v is a number that is an exact integer by
 * the data model's rule (subtype on 5.4, integral value on LuaJIT). */
static int l_isinteger(lua_State *L) {
  long long v;
  lua_pushboolean(L, lua_type(L, 1) == LUA_TNUMBER && arazzo_number_is_integer(L, 1, &v));
  return 1;
}

/* core._format_double(x) -> the text arazzo_format_double gives the
 * finite number x (test hook). Raises on a non-number, NaN or an infinity. */
static int l_format_double(lua_State *L) {
  double d = (double)luaL_checknumber(L, 1);
  luaL_Buffer b;
  luaL_argcheck(L, d == d && d - d == 0, 1, "finite number expected");
  luaL_buffinit(L, &b);
  arazzo_format_double(&b, d);
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg value_funcs[] = {
    {"array", l_array},       {"isarray", l_isarray},   {"keys", l_keys},
    {"setorder", l_setorder}, {"getorder", l_getorder}, {"isinteger", l_isinteger},
    {"_format_double", l_format_double}, {NULL, NULL}};

void arazzo_value_open(lua_State *L) {
  if (luaL_newmetatable(L, ARAZZO_ARRAY_MT)) {
    lua_pushliteral(L, ARAZZO_ARRAY_MT);
    lua_setfield(L, -2, "__name");
  }
  lua_setfield(L, -2, "array_mt");
  lua_getfield(L, LUA_REGISTRYINDEX, ARAZZO_ORDER_KEY);
  if (!lua_istable(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, ARAZZO_ORDER_KEY);
  }
  lua_pop(L, 1);
  arazzo_push_null(L);
  lua_setfield(L, -2, "null");
  luaL_setfuncs(L, value_funcs, 0);
}
