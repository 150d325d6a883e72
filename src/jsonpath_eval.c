/* jsonpath_eval.c: evaluate compiled JSONPath queries (RFC 9535) against
 * Lua values: the Path methods query, paths and exists.
 * Licence: MIT (see LICENSE).
 *
 * Evaluation is depth-first: every node a segment selects flows at once
 * through the remaining segments. That yields the RFC's nodelist order (the
 * concatenation, per input node, of what the segment selects) and lets
 * exists() stop at the first node. Object members are visited in
 * arazzo_push_keys order, so results are deterministic. All recursion
 * (value depth, descendant segments, nested filter queries, deep equality)
 * is counted against JP_MAX_DEPTH, which also stops cyclic tables. Failures
 * (depth, regex limits) raise inside a protected call and are returned as
 * nil, "jsonpath: <msg>", "jsonpath". */
#include <stdio.h>
#include <string.h>

#include "jsonpath.h"

enum { SINK_COLLECT, SINK_PATHS, SINK_EXISTS, SINK_COUNT, SINK_VALUE };
enum { JT_NULL, JT_BOOL, JT_NUM, JT_STR, JT_ARR, JT_OBJ, JT_OTHER };

/* Where selected nodes go. */
typedef struct jp_sink {
  int mode;
  int out;       /* COLLECT/PATHS: result table; VALUE: slot for the value */
  lua_Integer n; /* nodes seen so far */
} jp_sink;

typedef struct jp_eval {
  lua_State *L;
  const jp_path *path;
  int root, uv, comps, cache; /* stack slots */
  int depth;
} jp_eval;

#define NODE(e, i) (&(e)->path->node[(i)])

static void run_segs(jp_eval *e, int seg, int v, int pd, jp_sink *s);
static int eval_logical(jp_eval *e, int x, int cur);
static void push_operand(jp_eval *e, int x, int cur);

/* EXISTS needs one node, VALUE needs to know whether there are two. */
static int sink_full(const jp_sink *s) {
  return (s->mode == SINK_EXISTS && s->n >= 1) || (s->mode == SINK_VALUE && s->n >= 2);
}

/* Count one level of recursion; raises past JP_MAX_DEPTH. */
static void enter(jp_eval *e) {
  if (++e->depth > JP_MAX_DEPTH)
    luaL_error(e->L, "value nested deeper than %d levels (or cyclic)", JP_MAX_DEPTH);
  luaL_checkstack(e->L, 10, "jsonpath evaluation");
}

/* JSON type of the value at idx; for arrays *n is the length. */
static int jtype(lua_State *L, int idx, size_t *n) {
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
static void push_elem(lua_State *L, int v, lua_Integer i) {
  lua_rawgeti(L, v, i + 1);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    arazzo_push_null(L);
  }
}

/* Number of string keys of the table at absolute index v. */
static lua_Integer object_size(lua_State *L, int v) {
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
static void push_length(lua_State *L, int v, int t, size_t n) {
  if (t == JT_STR) {
    size_t len, i;
    const char *s = lua_tolstring(L, v, &len);
    lua_Integer c = 0;
    for (i = 0; i < len; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    lua_pushinteger(L, c);
  } else if (t == JT_ARR) {
    lua_pushinteger(L, (lua_Integer)n);
  } else {
    lua_pushinteger(L, object_size(L, v));
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
  else run_segs(e, NODE(e, seg)->next, child, pd + 1, s);
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
      push_elem(L, v, (lua_Integer)i);
      if (filter < 0 || eval_logical(e, filter, lua_gettop(L)))
        visit(e, seg, pd, s, 0, (lua_Integer)i, desc);
      else
        lua_pop(L, 1);
    }
  } else if (t == JT_OBJ) {
    int keys, k, nk;
    arazzo_push_keys(L, v);
    keys = lua_gettop(L);
    nk = (int)lua_rawlen(L, keys);
    for (k = 1; k <= nk && !sink_full(s); k++) {
      lua_rawgeti(L, keys, k);
      lua_pushvalue(L, -1);
      lua_rawget(L, v);
      if (!lua_isnil(L, -1) && (filter < 0 || eval_logical(e, filter, lua_gettop(L))))
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
      push_elem(e->L, v, i);
      visit(e, seg, pd, s, 0, i, 0);
    }
  } else {
    hi = clamp(start, -1, n - 1);
    lo = clamp(end, -1, n - 1);
    for (i = hi; lo < i && !sink_full(s); i += step) {
      push_elem(e->L, v, i);
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
      push_length(L, v, t, n);
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
      push_elem(L, v, i);
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
  int t = jtype(e->L, v, &n);
  enter(e);
  apply_all(e, seg, v, pd, s, t, n);
  if (!sink_full(s)) each_child(e, seg, v, t, n, pd, s, -1, 1);
  e->depth--;
}

/* Run the segments from seg (-1: none left) on the node at v. */
static void run_segs(jp_eval *e, int seg, int v, int pd, jp_sink *s) {
  size_t n;
  int t;
  if (seg < 0) {
    emit(e, v, pd, s);
    return;
  }
  enter(e);
  if (NODE(e, seg)->kind == JP_SEG_DESC) {
    descend(e, seg, v, pd, s);
  } else {
    t = jtype(e->L, v, &n);
    apply_all(e, seg, v, pd, s, t, n);
  }
  e->depth--;
}

/* ---- filter expressions -------------------------------------------------- */

/* Push the value of the singular query q (nil for Nothing) without building
 * a nodelist. [-0,+1] */
static void push_singular(jp_eval *e, const jp_node *q, int cur) {
  lua_State *L = e->L;
  int seg;
  lua_pushvalue(L, q->flags & JP_F_ABS ? e->root : cur);
  for (seg = q->a; seg >= 0 && !lua_isnil(L, -1); seg = NODE(e, seg)->next) {
    const jp_node *x = NODE(e, NODE(e, seg)->a);
    int v = lua_gettop(L);
    size_t n;
    int t = jtype(L, v, &n);
    lua_Integer i = x->u.i[0];
    if (x->kind == JP_SEL_NAME && t == JT_OBJ) {
      lua_rawgeti(L, e->uv, x->ref);
      lua_rawget(L, v);
    } else if (x->kind == JP_SEL_NAME && (x->flags & JP_F_JSLENGTH) && (t == JT_ARR || t == JT_STR)) {
      push_length(L, v, t, n);
    } else if (x->kind == JP_SEL_INDEX && t == JT_ARR && (i < 0 ? i + (lua_Integer)n : i) >= 0 &&
               (i < 0 ? i + (lua_Integer)n : i) < (lua_Integer)n) {
      push_elem(L, v, i < 0 ? i + (lua_Integer)n : i);
    } else {
      lua_pushnil(L);
    }
    lua_remove(L, v);
  }
}

/* Run query node q from the current node cur into a sink of the given
 * mode; returns how many nodes it saw (EXISTS stops at 1, VALUE at 2). In
 * VALUE mode pushes the single node's value, or nil. [-0,+(0|1)] */
static lua_Integer run_query(jp_eval *e, int q, int cur, int mode) {
  lua_State *L = e->L;
  const jp_node *qn = NODE(e, q);
  jp_sink s;
  if (qn->flags & JP_F_SINGULAR) {
    int found;
    push_singular(e, qn, cur);
    found = !lua_isnil(L, -1);
    if (mode != SINK_VALUE) lua_pop(L, 1);
    return found;
  }
  s.mode = mode;
  s.n = 0;
  s.out = 0;
  if (mode == SINK_VALUE) {
    lua_pushnil(L);
    s.out = lua_gettop(L);
  }
  run_segs(e, qn->a, qn->flags & JP_F_ABS ? e->root : cur, 0, &s);
  if (mode == SINK_VALUE && s.n != 1) {
    lua_pushnil(L);
    lua_replace(L, s.out);
  }
  return s.n;
}

/* Deep equality of two JSON values (2.3.5.2.2); numbers compare by value
 * across integer and float. */
static int values_equal(jp_eval *e, int a, int b) {
  lua_State *L = e->L;
  size_t na, nb, i;
  int ta = jtype(L, a, &na), tb = jtype(L, b, &nb), r, top = lua_gettop(L);
  if (ta != tb) return 0;
  if (ta != JT_ARR && ta != JT_OBJ) return ta == JT_NULL || lua_rawequal(L, a, b);
  if (lua_rawequal(L, a, b)) return 1;
  enter(e);
  if (ta == JT_ARR) {
    r = na == nb;
    for (i = 0; r && i < na; i++) {
      push_elem(L, a, (lua_Integer)i);
      push_elem(L, b, (lua_Integer)i);
      r = values_equal(e, top + 1, top + 2);
      lua_settop(L, top);
    }
  } else {
    r = object_size(L, a) == object_size(L, b);
    lua_pushnil(L);
    while (r && lua_next(L, a)) {
      if (lua_type(L, -2) == LUA_TSTRING) {
        lua_pushvalue(L, -2);
        lua_rawget(L, b);
        r = !lua_isnil(L, -1) && values_equal(e, lua_gettop(L) - 1, lua_gettop(L));
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
    lua_settop(L, top);
  }
  e->depth--;
  return r;
}

/* a == b where nil stands for Nothing (an empty nodelist). */
static int equal(jp_eval *e, int a, int b) {
  int na = lua_isnil(e->L, a), nb = lua_isnil(e->L, b);
  if (na || nb) return na && nb;
  return values_equal(e, a, b);
}

/* a < b: numbers by value, strings by Unicode scalar values (bytewise on
 * UTF-8), anything else false. */
static int less(jp_eval *e, int a, int b) {
  lua_State *L = e->L;
  int ta = lua_type(L, a), tb = lua_type(L, b);
  if (ta == LUA_TNUMBER && tb == LUA_TNUMBER) return lua_compare(L, a, b, LUA_OPLT);
  if (ta == LUA_TSTRING && tb == LUA_TSTRING) {
    size_t la, lb;
    const char *sa = lua_tolstring(L, a, &la), *sb = lua_tolstring(L, b, &lb);
    int c = memcmp(sa, sb, la < lb ? la : lb);
    return c < 0 || (c == 0 && la < lb);
  }
  return 0;
}

static int eval_cmp(jp_eval *e, const jp_node *c, int cur) {
  lua_State *L = e->L;
  int a, b, r;
  luaL_checkstack(L, 4, "jsonpath evaluation");
  push_operand(e, c->a, cur);
  a = lua_gettop(L);
  push_operand(e, NODE(e, c->a)->next, cur);
  b = lua_gettop(L);
  switch (c->op) {
  case JP_EQ: r = equal(e, a, b); break;
  case JP_NE: r = !equal(e, a, b); break;
  case JP_LT: r = less(e, a, b); break;
  case JP_LE: r = less(e, a, b) || equal(e, a, b); break;
  case JP_GT: r = less(e, b, a); break;
  default: r = less(e, b, a) || equal(e, a, b); break;
  }
  lua_settop(L, a - 1);
  return r;
}

/* The regex for a match()/search() pattern operand x that is not a literal:
 * translated and compiled once per evaluation (cached by pattern). NULL
 * when the operand is not a string or not a valid I-Regexp. [-0,+0] */
static arazzo_regex *dynamic_regex(jp_eval *e, int x, int cur, int full) {
  lua_State *L = e->L;
  int top = lua_gettop(L);
  arazzo_regex *re = NULL;
  char err[160];
  size_t len;
  const char *s;
  push_operand(e, x, cur); /* top+1: pattern */
  if (lua_type(L, top + 1) != LUA_TSTRING) {
    lua_settop(L, top);
    return NULL;
  }
  if (lua_isnil(L, e->cache)) {
    lua_createtable(L, 2, 0);
    lua_replace(L, e->cache);
  }
  lua_rawgeti(L, e->cache, full + 1); /* top+2: cache for this mode */
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_rawseti(L, e->cache, full + 1);
  }
  lua_pushvalue(L, top + 1);
  lua_rawget(L, top + 2);
  if (lua_type(L, -1) == LUA_TUSERDATA) {
    re = (arazzo_regex *)lua_touserdata(L, -1);
  } else if (lua_isnil(L, -1)) {
    s = lua_tolstring(L, top + 1, &len);
    if (arazzo_regex_push_iregexp(L, s, len)) {
      s = lua_tolstring(L, -1, &len);
      re = arazzo_regex_compile(L, s, len, full, err, sizeof err);
    }
    lua_pushvalue(L, top + 1);
    if (re) lua_pushvalue(L, -2);
    else lua_pushboolean(L, 0);
    lua_rawset(L, top + 2);
  }
  lua_settop(L, top);
  return re;
}

/* match() / search() (2.4.6, 2.4.7): LogicalFalse unless both operands are
 * strings and the pattern is a valid I-Regexp; raises when the regex engine
 * fails (match limit, invalid UTF-8 subject). */
static int eval_regex(jp_eval *e, const jp_node *f, int cur) {
  lua_State *L = e->L;
  int top = lua_gettop(L), r = 0;
  arazzo_regex *re = f->u.re;
  if (f->flags & JP_F_BADRE) return 0;
  push_operand(e, f->a, cur);
  if (lua_type(L, -1) == LUA_TSTRING) {
    if (!re) re = dynamic_regex(e, NODE(e, f->a)->next, cur, f->op == JP_FN_MATCH);
    if (re) {
      size_t len;
      const char *s = lua_tolstring(L, top + 1, &len);
      r = arazzo_regex_exec(re, s, len);
      if (r < 0) {
        char buf[200];
        luaL_error(L, "%s(): %s", f->op == JP_FN_MATCH ? "match" : "search",
                   arazzo_regex_error(re, buf, sizeof buf));
      }
    }
  }
  lua_settop(L, top);
  return r;
}

/* Push the ValueType result of a function (length, count, value). */
static void push_function(jp_eval *e, const jp_node *f, int cur) {
  lua_State *L = e->L;
  size_t n;
  int t;
  if (f->op == JP_FN_LENGTH) {
    push_operand(e, f->a, cur);
    t = lua_isnil(L, -1) ? JT_OTHER : jtype(L, -1, &n);
    if (t == JT_STR || t == JT_ARR || t == JT_OBJ) push_length(L, lua_gettop(L), t, n);
    else lua_pushnil(L);
    lua_remove(L, -2);
  } else if (f->op == JP_FN_COUNT) {
    lua_pushinteger(L, run_query(e, f->a, cur, SINK_COUNT));
  } else if (f->op == JP_FN_VALUE) {
    run_query(e, f->a, cur, SINK_VALUE);
  } else {
    lua_pushboolean(L, eval_regex(e, f, cur)); /* not reached: rejected by the type checker */
  }
}

/* Push a comparable or argument: literal, singular query or function value
 * (nil stands for Nothing). [-0,+1] */
static void push_operand(jp_eval *e, int x, int cur) {
  lua_State *L = e->L;
  const jp_node *n = NODE(e, x);
  if (n->kind == JP_QUERY) {
    push_singular(e, n, cur);
  } else if (n->kind == JP_FUNC) {
    push_function(e, n, cur);
  } else if (n->op == JP_L_STR) {
    lua_rawgeti(L, e->uv, n->ref);
  } else if (n->op == JP_L_INT) {
    lua_pushinteger(L, n->u.i[0]);
  } else if (n->op == JP_L_NUM) {
    lua_pushnumber(L, n->u.d);
  } else if (n->op == JP_L_NULL) {
    arazzo_push_null(L);
  } else {
    lua_pushboolean(L, n->op == JP_L_TRUE);
  }
}

/* Evaluate the logical expression x with @ at stack index cur. */
static int eval_logical(jp_eval *e, int x, int cur) {
  const jp_node *n = NODE(e, x);
  int k;
  switch (n->kind) {
  case JP_OR:
    for (k = n->a; k >= 0; k = NODE(e, k)->next)
      if (eval_logical(e, k, cur)) return 1;
    return 0;
  case JP_AND:
    for (k = n->a; k >= 0; k = NODE(e, k)->next)
      if (!eval_logical(e, k, cur)) return 0;
    return 1;
  case JP_NOT: return !eval_logical(e, n->a, cur);
  case JP_CMP: return eval_cmp(e, n, cur);
  case JP_QUERY: return run_query(e, x, cur, SINK_EXISTS) > 0;
  default: return eval_regex(e, n, cur); /* match() or search() */
  }
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
  run_segs(&e, NODE(&e, e.path->root)->a, e.root, 0, &s);
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
