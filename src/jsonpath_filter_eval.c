/* jsonpath_filter_eval.c: evaluate JSONPath filter expressions (RFC 9535 2.3.5) and functions.
 * Licence: MIT (see LICENSE).
 *
 * A filter is evaluated with @ at a stack index. Comparisons follow the
 * RFC (deep equality, numbers by value across integer and float, strings
 * by code point; no type coercion); an absent singular query is Nothing,
 * pushed as nil. Embedded non-singular queries run through the nodelist
 * evaluator of jsonpath_eval.c into a counting or value sink. Recursion
 * (nested queries, deep equality) counts against JP_MAX_DEPTH. */
#include <string.h>

#include "jsonpath_internal.h"

static void push_operand(jp_eval *e, int x, int cur);

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
    int t = arazzo_jsonpath_jtype(L, v, &n);
    lua_Integer i = x->u.i[0];
    if (x->kind == JP_SEL_NAME && t == JT_OBJ) {
      lua_rawgeti(L, e->uv, x->ref);
      lua_rawget(L, v);
    } else if (x->kind == JP_SEL_NAME && (x->flags & JP_F_JSLENGTH) && (t == JT_ARR || t == JT_STR)) {
      arazzo_jsonpath_push_length(L, v, t, n);
    } else if (x->kind == JP_SEL_INDEX && t == JT_ARR && (i < 0 ? i + (lua_Integer)n : i) >= 0 &&
               (i < 0 ? i + (lua_Integer)n : i) < (lua_Integer)n) {
      arazzo_jsonpath_push_elem(L, v, i < 0 ? i + (lua_Integer)n : i);
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
  arazzo_jsonpath_run_segs(e, qn->a, qn->flags & JP_F_ABS ? e->root : cur, 0, &s);
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
  int ta = arazzo_jsonpath_jtype(L, a, &na), tb = arazzo_jsonpath_jtype(L, b, &nb);
  int r, top = lua_gettop(L);
  if (ta != tb) return 0;
  if (ta != JT_ARR && ta != JT_OBJ) return ta == JT_NULL || lua_rawequal(L, a, b);
  if (lua_rawequal(L, a, b)) return 1;
  arazzo_jsonpath_enter(e);
  if (ta == JT_ARR) {
    r = na == nb;
    for (i = 0; r && i < na; i++) {
      arazzo_jsonpath_push_elem(L, a, (lua_Integer)i);
      arazzo_jsonpath_push_elem(L, b, (lua_Integer)i);
      r = values_equal(e, top + 1, top + 2);
      lua_settop(L, top);
    }
  } else {
    r = arazzo_jsonpath_object_size(L, a) == arazzo_jsonpath_object_size(L, b);
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
    t = lua_isnil(L, -1) ? JT_OTHER : arazzo_jsonpath_jtype(L, -1, &n);
    if (t == JT_STR || t == JT_ARR || t == JT_OBJ)
      arazzo_jsonpath_push_length(L, lua_gettop(L), t, n);
    else
      lua_pushnil(L);
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
int arazzo_jsonpath_eval_logical(jp_eval *e, int x, int cur) {
  const jp_node *n = NODE(e, x);
  int k;
  switch (n->kind) {
  case JP_OR:
    for (k = n->a; k >= 0; k = NODE(e, k)->next)
      if (arazzo_jsonpath_eval_logical(e, k, cur)) return 1;
    return 0;
  case JP_AND:
    for (k = n->a; k >= 0; k = NODE(e, k)->next)
      if (!arazzo_jsonpath_eval_logical(e, k, cur)) return 0;
    return 1;
  case JP_NOT: return !arazzo_jsonpath_eval_logical(e, n->a, cur);
  case JP_CMP: return eval_cmp(e, n, cur);
  case JP_QUERY: return run_query(e, x, cur, SINK_EXISTS) > 0;
  default: return eval_regex(e, n, cur); /* match() or search() */
  }
}
