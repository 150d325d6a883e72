/* jsonpath_eval.c: evaluate compiled JSONPath queries (RFC 9535): Path:query, paths, exists.
 * Licence: MIT (see LICENSE).
 *
 * Segments and selectors are evaluated here, filter expressions in
 * jsonpath_filter_eval.c. Evaluation is depth-first: every node a segment
 * selects flows at once through the remaining segments. That yields the
 * RFC's nodelist order (the concatenation, per input node, of what the
 * segment selects) and lets exists() stop at the first node. Object members
 * are visited in arazzo_push_keys order, so results are deterministic
 * (through arazzo_push_keys_view, which mostly builds no list). All recursion (value depth, descendant segments, nested
 * filter queries, deep equality) is counted against JP_MAX_DEPTH, which
 * also stops cyclic tables. Failures (depth, regex limits) raise inside a
 * protected call and are returned as nil, "jsonpath: <msg>", "jsonpath". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpath_internal.h"

/* EXISTS needs one node, VALUE needs to know whether there are two. */
static int sink_full(const jp_sink *s) {
  return (s->mode == SINK_EXISTS && s->n >= 1) || (s->mode == SINK_VALUE && s->n >= 2);
}

/* Count one level of recursion; raises past JP_MAX_DEPTH. */
void arazzo_jsonpath_enter(jp_eval *e) {
  if (++e->depth > JP_MAX_DEPTH)
    luaL_error(e->L, "value nested deeper than %d levels (or cyclic)", JP_MAX_DEPTH);
  luaL_checkstack(e->L, 10, "jsonpath evaluation");
}

/* JSON type of the value at idx; for arrays *n is the length. */
int arazzo_jsonpath_jtype(lua_State *L, int idx, size_t *n) {
  *n = 0;
  switch (lua_type(L, idx)) {
  case LUA_TLIGHTUSERDATA: return lua_touserdata(L, idx) == NULL ? JT_NULL : JT_OTHER;
  case LUA_TBOOLEAN: return JT_BOOL;
  case LUA_TNUMBER: return JT_NUM;
  case LUA_TSTRING: return JT_STR;
  case LUA_TTABLE: return arazzo_as_array(L, idx, n) ? JT_ARR : JT_OBJ;
  default: return JT_OTHER;
  }
}

/* Push element i (0-based) of the array at absolute index v; a hole reads
 * as null. [-0,+1] */
void arazzo_jsonpath_push_elem(lua_State *L, int v, lua_Integer i) {
  lua_rawgeti(L, v, i + 1);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    arazzo_push_null(L);
  }
}

/* Number of string keys of the table at absolute index v. */
lua_Integer arazzo_jsonpath_object_size(lua_State *L, int v) {
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, v)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) n++;
  }
  return n;
}

/* Push the length of the string (in Unicode scalar values), array or
 * object at absolute index v, of type t (array length n). [-0,+1] */
void arazzo_jsonpath_push_length(lua_State *L, int v, int t, size_t n) {
  if (t == JT_STR) {
    size_t len, i;
    const char *s = lua_tolstring(L, v, &len);
    lua_Integer c = 0;
    for (i = 0; i < len; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    lua_pushinteger(L, c);
  } else if (t == JT_ARR) {
    lua_pushinteger(L, (lua_Integer)n);
  } else {
    lua_pushinteger(L, arazzo_jsonpath_object_size(L, v));
  }
}

/* Append ['name'] with the escapes of a Normalized Path (2.7). */
static void add_name(luaL_Buffer *b, const char *k, size_t n) {
  size_t i;
  luaL_addstring(b, "['");
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)k[i];
    const char *esc = c == '\b' ? "\\b" : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                    : c == '\t' ? "\\t" : c == '\'' ? "\\'" : c == '\\' ? "\\\\" : NULL;
    if (esc) {
      luaL_addstring(b, esc);
    } else if (c < 0x20) {
      char tmp[8];
      snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)c);
      luaL_addstring(b, tmp);
    } else {
      luaL_addchar(b, (char)c);
    }
  }
  luaL_addstring(b, "']");
}

/* Push the Normalized Path of the node at path depth pd, from the path
 * components recorded in e->comps. [-0,+1] */
static void push_normalized(jp_eval *e, int pd) {
  lua_State *L = e->L;
  luaL_Buffer b;
  int i;
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '$');
  for (i = 1; i <= pd; i++) {
    lua_rawgeti(L, e->comps, i);
    if (lua_type(L, -1) == LUA_TSTRING) {
      size_t n;
      const char *k = lua_tolstring(L, -1, &n);
      lua_pop(L, 1); /* still referenced by comps */
      add_name(&b, k, n);
    } else {
      char tmp[32];
      snprintf(tmp, sizeof tmp, "[%lld]", (long long)lua_tointeger(L, -1));
      lua_pop(L, 1);
      luaL_addstring(&b, tmp);
    }
  }
  luaL_pushresult(&b);
}

/* Deliver the node whose value is at v (path depth pd) to the sink. */
static void emit(jp_eval *e, int v, int pd, jp_sink *s) {
  lua_State *L = e->L;
  s->n++;
  if (s->mode == SINK_COLLECT) {
    lua_pushvalue(L, v);
    lua_rawseti(L, s->out, s->n);
  } else if (s->mode == SINK_PATHS) {
    push_normalized(e, pd);
    lua_rawseti(L, s->out, s->n);
  } else if (s->mode == SINK_VALUE && s->n == 1) {
    lua_pushvalue(L, v);
    lua_replace(L, s->out);
  }
}

static void descend(jp_eval *e, int seg, int v, int pd, jp_sink *s);

/* Push the keys of the object at v for reading (arazzo_push_keys_view). */
static void push_member_keys(jp_eval *e, int v) {
  arazzo_push_keys_view(e->L, v, e->order);
}

/* A selected child is on top; its key is the string at kidx or, when kidx
 * is 0, the array index idx. Run the segments after seg on it (or, with
 * desc, descend into it for the descendant segment seg), then pop it. */
static void visit(jp_eval *e, int seg, int pd, jp_sink *s, int kidx, lua_Integer idx, int desc) {
  lua_State *L = e->L;
  int child = lua_gettop(L);
  if (s->mode == SINK_PATHS) {
    if (kidx) lua_pushvalue(L, kidx);
    else lua_pushinteger(L, idx);
    lua_rawseti(L, e->comps, pd + 1);
  }
  if (desc) descend(e, seg, child, pd + 1, s);
  else arazzo_jsonpath_run_segs(e, NODE(e, seg)->next, child, pd + 1, s);
  lua_settop(L, child - 1);
}

/* Visit every child of v (type t, array length n) in order, or only those
 * for which the logical expression filter holds (filter >= 0). */
static void each_child(jp_eval *e, int seg, int v, int t, size_t n, int pd, jp_sink *s,
                       int filter, int desc) {
  lua_State *L = e->L;
  if (t == JT_ARR) {
    size_t i;
    for (i = 0; i < n && !sink_full(s); i++) {
      arazzo_jsonpath_push_elem(L, v, (lua_Integer)i);
      if (filter < 0 || arazzo_jsonpath_eval_logical(e, filter, lua_gettop(L)))
        visit(e, seg, pd, s, 0, (lua_Integer)i, desc);
      else
        lua_pop(L, 1);
    }
  } else if (t == JT_OBJ) {
    int keys, k, nk;
    push_member_keys(e, v);
    keys = lua_gettop(L);
    nk = (int)lua_rawlen(L, keys);
    for (k = 1; k <= nk && !sink_full(s); k++) {
      lua_rawgeti(L, keys, k);
      lua_pushvalue(L, -1);
      lua_rawget(L, v);
      if (!lua_isnil(L, -1) &&
          (filter < 0 || arazzo_jsonpath_eval_logical(e, filter, lua_gettop(L))))
        visit(e, seg, pd, s, lua_gettop(L) - 1, 0, desc);
      else
        lua_pop(L, 1);
      lua_pop(L, 1); /* key */
    }
    lua_pop(L, 1); /* keys */
  }
}

static lua_Integer clamp(lua_Integer x, lua_Integer lo, lua_Integer hi) {
  return x < lo ? lo : x > hi ? hi : x;
}

/* The slice selector x on the array v of length len (2.3.4.2.2). */
static void slice(jp_eval *e, int seg, const jp_node *x, int v, size_t len, int pd, jp_sink *s) {
  lua_Integer n = (lua_Integer)len, step = x->u.i[2], start, end, lo, hi, i;
  if (step == 0) return;
  start = x->flags & JP_F_START ? x->u.i[0] : step > 0 ? 0 : n - 1;
  end = x->flags & JP_F_END ? x->u.i[1] : step > 0 ? n : -n - 1;
  if (start < 0) start += n;
  if (end < 0) end += n;
  if (step > 0) {
    lo = clamp(start, 0, n);
    hi = clamp(end, 0, n);
    for (i = lo; i < hi && !sink_full(s); i += step) {
      arazzo_jsonpath_push_elem(e->L, v, i);
      visit(e, seg, pd, s, 0, i, 0);
    }
  } else {
    hi = clamp(start, -1, n - 1);
    lo = clamp(end, -1, n - 1);
    for (i = hi; lo < i && !sink_full(s); i += step) {
      arazzo_jsonpath_push_elem(e->L, v, i);
      visit(e, seg, pd, s, 0, i, 0);
    }
  }
}

/* Apply selector sel of segment seg to the value v (type t, length n). */
static void apply_selector(jp_eval *e, int seg, int sel, int v, int pd, jp_sink *s, int t, size_t n) {
  lua_State *L = e->L;
  const jp_node *x = NODE(e, sel);
  lua_Integer i;
  switch (x->kind) {
  case JP_SEL_NAME:
    if (t == JT_OBJ) {
      lua_rawgeti(L, e->uv, x->ref);
      lua_pushvalue(L, -1);
      lua_rawget(L, v);
      if (lua_isnil(L, -1)) lua_pop(L, 1);
      else visit(e, seg, pd, s, lua_gettop(L) - 1, 0, 0);
      lua_pop(L, 1);
    } else if ((x->flags & JP_F_JSLENGTH) && (t == JT_ARR || t == JT_STR)) {
      lua_rawgeti(L, e->uv, x->ref);
      arazzo_jsonpath_push_length(L, v, t, n);
      visit(e, seg, pd, s, lua_gettop(L) - 1, 0, 0);
      lua_pop(L, 1);
    }
    break;
  case JP_SEL_WILD: each_child(e, seg, v, t, n, pd, s, -1, 0); break;
  case JP_SEL_FILTER: each_child(e, seg, v, t, n, pd, s, x->a, 0); break;
  case JP_SEL_SLICE:
    if (t == JT_ARR) slice(e, seg, x, v, n, pd, s);
    break;
  default: /* JP_SEL_INDEX, JP_SEL_FROMEND */
    if (t != JT_ARR) break;
    i = x->u.i[0];
    if (i < 0 || x->kind == JP_SEL_FROMEND) i += (lua_Integer)n;
    if (i >= 0 && i < (lua_Integer)n) {
      arazzo_jsonpath_push_elem(L, v, i);
      visit(e, seg, pd, s, 0, i, 0);
    }
  }
}

/* Apply every selector of segment seg to v (type t, length n), in order. */
static void apply_all(jp_eval *e, int seg, int v, int pd, jp_sink *s, int t, size_t n) {
  int sel;
  for (sel = NODE(e, seg)->a; sel >= 0 && !sink_full(s); sel = NODE(e, sel)->next)
    apply_selector(e, seg, sel, v, pd, s, t, n);
}

/* Descendant segment seg: apply its selectors to v, then to every
 * descendant of v, parents before children, arrays in order (2.5.2.2). */
static void descend(jp_eval *e, int seg, int v, int pd, jp_sink *s) {
  size_t n;
  int t = arazzo_jsonpath_jtype(e->L, v, &n);
  arazzo_jsonpath_enter(e);
  apply_all(e, seg, v, pd, s, t, n);
  if (!sink_full(s)) each_child(e, seg, v, t, n, pd, s, -1, 1);
  e->depth--;
}

/* Run the segments from seg (-1: none left) on the node at v. */
void arazzo_jsonpath_run_segs(jp_eval *e, int seg, int v, int pd, jp_sink *s) {
  size_t n;
  int t;
  if (seg < 0) {
    emit(e, v, pd, s);
    return;
  }
  arazzo_jsonpath_enter(e);
  if (NODE(e, seg)->kind == JP_SEG_DESC) {
    descend(e, seg, v, pd, s);
  } else {
    t = arazzo_jsonpath_jtype(e->L, v, &n);
    apply_all(e, seg, v, pd, s, t, n);
  }
  e->depth--;
}

/* ---- Lua API ------------------------------------------------------------ */

/* Protected body of the methods: 1 = mode, 2 = Path, 3 = value. Returns the
 * marked result array, or a boolean for exists. */
static int run_protected(lua_State *L) {
  jp_eval e;
  jp_sink s;
  s.mode = (int)lua_tointeger(L, 1);
  s.n = 0;
  e.L = L;
  e.path = (const jp_path *)lua_touserdata(L, 2);
  e.root = 3;
  e.depth = 0;
  lua_settop(L, 3);
  lua_getuservalue(L, 2);
  e.uv = 4;
  lua_newtable(L);
  s.out = 5;
  if (s.mode == SINK_PATHS) lua_newtable(L);
  else lua_pushnil(L);
  e.comps = 6;
  lua_pushnil(L);
  e.cache = 7;
  arazzo_push_order_table(L);
  e.order = lua_istable(L, 8) ? 8 : 0;
  arazzo_jsonpath_run_segs(&e, NODE(&e, e.path->root)->a, e.root, 0, &s);
  if (s.mode == SINK_EXISTS) {
    lua_pushboolean(L, s.n > 0);
    return 1;
  }
  lua_settop(L, 5);
  arazzo_mark_array(L, 5);
  return 1;
}

/* Shared body of query/paths/exists: validate, run protected. */
static int path_call(lua_State *L, int mode) {
  int status;
  luaL_checkudata(L, 1, JP_PATH_MT);
  if (lua_isnoneornil(L, 2)) return luaL_argerror(L, 2, "value expected (use core.null for JSON null)");
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushinteger(L, mode);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  status = lua_pcall(L, 3, 1, 0);
  if (status == LUA_OK) return 1;
  if (status == LUA_ERRMEM) return lua_error(L);
  lua_pushnil(L);
  lua_pushfstring(L, "jsonpath: %s", lua_tostring(L, -2));
  lua_pushliteral(L, "jsonpath");
  return 3;
}

/* p:query(value) -> marked array of the selected values, in nodelist order
 * | nil, msg, "jsonpath" when evaluation fails (depth, regex limits). */
static int path_query(lua_State *L) { return path_call(L, SINK_COLLECT); }
/* p:paths(value) -> marked array of Normalized Paths | nil, msg, "jsonpath". */
static int path_paths(lua_State *L) { return path_call(L, SINK_PATHS); }
/* p:exists(value) -> true when the nodelist is not empty | nil, msg, "jsonpath". */
static int path_exists(lua_State *L) { return path_call(L, SINK_EXISTS); }

/* tostring(p) -> the query text. */
static int path_tostring(lua_State *L) {
  luaL_checkudata(L, 1, JP_PATH_MT);
  lua_getuservalue(L, 1);
  lua_rawgeti(L, -1, 1);
  return 1;
}

static const luaL_Reg path_methods[] = {
    {"query", path_query}, {"paths", path_paths}, {"exists", path_exists}, {NULL, NULL}};

void arazzo_jsonpath_methods(lua_State *L) {
  lua_pushliteral(L, JP_PATH_MT);
  lua_setfield(L, -2, "__name");
  lua_newtable(L);
  lua_pushcfunction(L, run_protected);
  luaL_setfuncs(L, path_methods, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, path_tostring);
  lua_setfield(L, -2, "__tostring");
}
