/* expr_cmp.c: evaluate conditions: the boolean operators, comparisons of
 * values and the note explaining a false result.
 * Licence: MIT (see LICENSE).
 *
 * Condition semantics (`simple` criteria, and jsonpath-style conditions):
 * - Operators, highest precedence first: `!`; `< <= > >=`; `== !=`; `&&`;
 *   `||`. `&&` and `||` short-circuit, parentheses group, comparisons
 *   associate to the left. Nesting is limited to 200 levels.
 * - A missing value (absent key, step, header, failed pointer) is null.
 *   `null == null` is true and `x != null` is true for a present non-null x;
 *   every other comparison involving null is false. `!=` is always the
 *   negation of `==`.
 * - Numbers compare by value across integer and float. A string holding a
 *   JSON number ('200', '-1.5e3') compared with a number is converted; any
 *   other string compared with a number is unequal and unordered.
 * - Two strings compare with ASCII case folding, for `== !=` and for the
 *   ordering operators (bytewise after folding), even when both look numeric.
 * - Booleans equal booleans and the strings 'true'/'false' (any case); they
 *   are not ordered.
 * - Objects and arrays compare by deep equality for `==` and `!=`: an array
 *   never equals an object (an empty marked array [] is not {}), object keys
 *   must match exactly, leaves compare by these same rules, and values nested
 *   deeper than 200 levels compare unequal. They are not ordered.
 * - Every other pairing of types is unequal and unordered.
 * - A bare operand (no comparison) is true only when it is boolean true;
 *   `!x` is "not (x is true)".
 * - The result is always a boolean; eval never raises on data. When a false
 *   result comes from a missing value or a type mismatch, eval returns a
 *   second value, a note saying which. */
#include <math.h>

#include "expr_internal.h"

enum { C_NULL, C_BOOL, C_NUM, C_STR, C_TABLE, C_OTHER, C_ARRAY, C_OBJECT };

typedef struct {
  int isint;
  lua_Integer i;
  lua_Number d;
} xnum;

static const char *const op_names[] = {"==", "!=", "<", "<=", ">", ">="};
static const char *const class_names[] = {"null",     "a boolean", "a number", "a string",
                                          "a table",  "an unsupported value", "an array", "an object"};

/* ---- comparisons -------------------------------------------------------------- */

static int vclass(lua_State *L, int idx) {
  switch (lua_type(L, idx)) {
    case LUA_TNIL: return C_NULL;
    case LUA_TLIGHTUSERDATA: return lua_touserdata(L, idx) == NULL ? C_NULL : C_OTHER;
    case LUA_TBOOLEAN: return C_BOOL;
    case LUA_TNUMBER: return C_NUM;
    case LUA_TSTRING: return C_STR;
    case LUA_TTABLE: return C_TABLE;
    default: return C_OTHER;
  }
}

/* The class used in notes: tables are told apart as array or object. */
static int note_class(lua_State *L, int idx) {
  size_t n;
  int c = vclass(L, idx);
  if (c != C_TABLE) return c;
  return arazzo_as_array(L, idx, &n) ? C_ARRAY : C_OBJECT;
}

/* The number at idx, or a string at idx that is a JSON number. */
static int to_xnum(lua_State *L, int idx, xnum *x) {
  size_t len, i = 0, k;
  const char *s;
  int isint = 1;
  if (lua_type(L, idx) == LUA_TNUMBER) {
#if LUA_VERSION_NUM >= 503 && !defined(LUAJIT_VERSION)
    if (lua_isinteger(L, idx)) {
      x->isint = 1;
      x->i = lua_tointeger(L, idx);
      return 1;
    }
#endif
    x->isint = 0;
    x->d = lua_tonumber(L, idx);
    return 1;
  }
  if (lua_type(L, idx) != LUA_TSTRING) return 0;
  s = lua_tolstring(L, idx, &len);
#define DIG(j) ((j) < len && s[j] >= '0' && s[j] <= '9')
  if (i < len && s[i] == '-') i++;
  if (!DIG(i)) return 0;
  if (s[i] == '0') i++;
  else while (DIG(i)) i++;
  if (i < len && s[i] == '.') {
    if (!DIG(i + 1)) return 0;
    for (i++, isint = 0; DIG(i); i++) {}
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    if (++i < len && (s[i] == '+' || s[i] == '-')) i++;
    if (!DIG(i)) return 0;
    for (isint = 0; DIG(i); i++) {}
  }
#undef DIG
  if (i != len) return 0;
  if (isint) {
    unsigned long long v = 0, lim = s[0] == '-' ? 9223372036854775808ULL : 9223372036854775807ULL;
    for (k = s[0] == '-'; k < len; k++) {
      unsigned dgt = (unsigned)(s[k] - '0');
      if (v > (lim - dgt) / 10) break;
      v = v * 10 + dgt;
    }
    if (k == len) {
      x->isint = 1;
      x->i = s[0] == '-' ? (lua_Integer)(0 - v) : (lua_Integer)v;
      return 1;
    }
  }
  x->isint = 0;
  x->d = lua_tonumber(L, idx);
  return 1;
}

/* Compare an integer with a float exactly: -1, 0, 1, or 2 (NaN). */
static int cmp_int_dbl(lua_Integer i, lua_Number d) {
  lua_Number f;
  lua_Integer fi;
  if (d != d) return 2;
  if (d >= 9223372036854775808.0) return -1;
  if (d < -9223372036854775808.0) return 1;
  f = floor(d);
  fi = (lua_Integer)f;
  if (i != fi) return i < fi ? -1 : 1;
  return d > f ? -1 : 0;
}

static int num_cmp(const xnum *a, const xnum *b) {
  int r;
  if (a->isint && b->isint) return a->i < b->i ? -1 : a->i > b->i;
  if (a->isint) return cmp_int_dbl(a->i, b->d);
  if (b->isint) return (r = cmp_int_dbl(b->i, a->d)) == 2 ? 2 : -r;
  if (a->d != a->d || b->d != b->d) return 2;
  return a->d < b->d ? -1 : a->d > b->d;
}

static int fold(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Strings at ia, ib compared with ASCII case folding: -1, 0, 1. */
static int str_cmp(lua_State *L, int ia, int ib) {
  size_t la, lb, i, n;
  const char *a = lua_tolstring(L, ia, &la), *b = lua_tolstring(L, ib, &lb);
  n = la < lb ? la : lb;
  for (i = 0; i < n; i++) {
    int x = fold((unsigned char)a[i]), y = fold((unsigned char)b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  return la < lb ? -1 : la > lb;
}

/* 1 and *b when the string at idx is 'true' or 'false' in any case. */
static int str_bool(lua_State *L, int idx, int *b) {
  size_t len, i;
  const char *s = lua_tolstring(L, idx, &len), *w = len == 4 ? "true" : "false";
  if (len != 4 && len != 5) return 0;
  for (i = 0; i < len; i++)
    if (fold((unsigned char)s[i]) != w[i]) return 0;
  *b = len == 4;
  return 1;
}

static int values_equal(est *st, int ia, int ib, int depth, int *mismatch);

/* Deep equality of the tables at ia, ib (absolute indexes). */
static int deep_equal(est *st, int ia, int ib, int depth) {
  lua_State *L = st->L;
  size_t na, nb, i;
  int aa, ab, r = 1, dummy;
  if (lua_rawequal(L, ia, ib)) return 1;
  if (depth >= ARAZZO_EXPR_MAX_DEPTH || !lua_checkstack(L, 8)) return st->deep = 1, 0;
  aa = arazzo_as_array(L, ia, &na);
  ab = arazzo_as_array(L, ib, &nb);
  if (aa != ab || (aa && na != nb)) return 0;
  if (aa) {
    for (i = 1; r && i <= na; i++) {
      lua_rawgeti(L, ia, (lua_Integer)i);
      lua_rawgeti(L, ib, (lua_Integer)i);
      r = values_equal(st, -2, -1, depth + 1, &dummy);
      lua_pop(L, 2);
    }
    return r;
  }
  na = nb = 0;
  lua_pushnil(L);
  while (lua_next(L, ia)) {
    na++;
    lua_pushvalue(L, -2);
    lua_rawget(L, ib);
    r = !lua_isnil(L, -1) && values_equal(st, -2, -1, depth + 1, &dummy);
    lua_pop(L, 2);
    if (!r) return lua_pop(L, 1), 0;
  }
  lua_pushnil(L);
  while (lua_next(L, ib)) nb++, lua_pop(L, 1);
  return na == nb;
}

/* Loose equality (see the header); *mismatch is set for unlike types. */
static int values_equal(est *st, int ia, int ib, int depth, int *mismatch) {
  lua_State *L = st->L;
  int ca, cb, b;
  xnum x, y;
  ia = lua_absindex(L, ia);
  ib = lua_absindex(L, ib);
  ca = vclass(L, ia);
  cb = vclass(L, ib);
  if (ca == C_NULL || cb == C_NULL) return ca == cb;
  if (ca == C_STR && cb == C_STR) return str_cmp(L, ia, ib) == 0;
  if (ca == C_NUM || cb == C_NUM) {
    if (to_xnum(L, ia, &x) && to_xnum(L, ib, &y)) return num_cmp(&x, &y) == 0;
  } else if (ca == C_BOOL && cb == C_BOOL) {
    return lua_toboolean(L, ia) == lua_toboolean(L, ib);
  } else if (ca == C_BOOL && cb == C_STR && str_bool(L, ib, &b)) {
    return lua_toboolean(L, ia) == b;
  } else if (cb == C_BOOL && ca == C_STR && str_bool(L, ia, &b)) {
    return lua_toboolean(L, ib) == b;
  } else if (ca == C_TABLE && cb == C_TABLE) {
    return deep_equal(st, ia, ib, depth);
  }
  *mismatch = 1;
  return 0;
}

/* Order two non-null values: -1, 0, 1, or 2 when they are not ordered. */
static int values_order(lua_State *L, int ia, int ib) {
  int ca = vclass(L, ia), cb = vclass(L, ib);
  xnum x, y;
  if (ca == C_STR && cb == C_STR) return str_cmp(L, ia, ib);
  if ((ca == C_NUM || cb == C_NUM) && to_xnum(L, ia, &x) && to_xnum(L, ib, &y)) return num_cmp(&x, &y);
  return 2;
}

/* ---- conditions ---------------------------------------------------------------- */

/* Push the value of an operand node; 0 when it is a missing reference. */
static int eval_operand(est *st, int ni) {
  const arazzo_expr_node *n = &st->e->nodes[ni];
  lua_State *L = st->L;
  switch (n->type) {
    case AXN_NULL: arazzo_push_null(L); return 1;
    case AXN_BOOL: lua_pushboolean(L, (int)n->ival); return 1;
    case AXN_INT: lua_pushinteger(L, n->ival); return 1;
    case AXN_NUM: lua_pushnumber(L, n->dval); return 1;
    case AXN_STR: lua_rawgeti(L, st->uv, n->a); return 1;
    case AXN_REF: return arazzo_expr_eval_ref(st, n);
    default: lua_pushboolean(L, arazzo_expr_eval_bool(st, ni)); return 1;
  }
}

static void set_missing(est *st, int node, int op, int notjson) {
  st->nt.kind = NOTE_MISSING;
  st->nt.node = node;
  st->nt.op = op;
  st->nt.notjson = notjson;
}

/* Fast path for the common criterion shape: the value on top compared with
 * a number or string literal of the same type (such comparisons never need
 * a note). Returns the result, or -1 to take the general path. */
static int cmp_literal(est *st, int op, const arazzo_expr_node *lit) {
  lua_State *L = st->L;
  int t = lua_type(L, -1), c;
  if (lit->type == AXN_INT && t == LUA_TNUMBER) {
    xnum x, y;
    int isint;
    lua_Integer v = lua_tointegerx(L, -1, &isint); /* also an integral float: equal by value */
    if (isint) return apply_op(op, v < lit->ival ? -1 : v > lit->ival);
    to_xnum(L, -1, &x);
    y.isint = 1;
    y.i = lit->ival;
    c = num_cmp(&x, &y);
    return c == 2 ? -1 : apply_op(op, c);
  }
  if (lit->type == AXN_STR && t == LUA_TSTRING) {
    lua_rawgeti(L, st->uv, lit->a);
    if (op <= AXO_NE && lua_rawlen(L, -1) != lua_rawlen(L, -2)) c = 1;
    else c = str_cmp(L, -2, -1);
    lua_pop(L, 1);
    return apply_op(op, c);
  }
  return -1;
}

/* A comparison node; records a note when it is false because of a missing
 * value, a type mismatch or too deep a structure. Leaves its operands on the
 * stack (the caller restores the top: popping costs time in the hot path).
 * [-0,+1|2] */
int arazzo_expr_eval_cmp(est *st, int ni) {
  lua_State *L = st->L;
  const arazzo_expr_node *n = &st->e->nodes[ni], *lit = &st->e->nodes[n->b];
  int fa, fb, ka, ja, ia, ib, ca, cb, r, c, mismatch = 0;
  fa = eval_operand(st, n->a);
  if (fa && (lit->type == AXN_INT || lit->type == AXN_STR) && (r = cmp_literal(st, n->op, lit)) >= 0) return r;
  ka = st->miss_op;
  ja = st->notjson;
  fb = eval_operand(st, n->b);
  ib = lua_gettop(L);
  ia = ib - 1;
  ca = vclass(L, ia);
  cb = vclass(L, ib);
  st->deep = 0;
  if (ca == C_NULL || cb == C_NULL) {
    r = n->op == AXO_EQ ? ca == cb : n->op == AXO_NE ? ca != cb : 0;
  } else if (n->op <= AXO_NE) {
    r = values_equal(st, ia, ib, 0, &mismatch) == (n->op == AXO_EQ);
  } else {
    c = values_order(L, ia, ib);
    mismatch = c == 2;
    r = c == 2 ? 0 : n->op == AXO_LT ? c < 0 : n->op == AXO_LE ? c <= 0 : n->op == AXO_GT ? c > 0 : c >= 0;
  }
  if (!r && st->nt.kind == NOTE_NONE) {
    if (!fa) set_missing(st, n->a, ka, ja);
    else if (!fb) set_missing(st, n->b, st->miss_op, st->notjson);
    else if (mismatch || st->deep) {
      st->nt.kind = mismatch ? NOTE_TYPES : NOTE_DEEP;
      st->nt.node = ni;
      st->nt.ta = note_class(L, ia);
      st->nt.tb = note_class(L, ib);
    }
  }
  return r;
}

/* Evaluate node ni as a condition. A subtree that comes out true drops any
 * note recorded inside it, so the note explains the final false. */
int arazzo_expr_eval_bool(est *st, int ni) {
  const arazzo_expr_node *nodes = st->e->nodes, *n = &nodes[ni];
  lua_State *L = st->L;
  note saved = st->nt;
  int r, c, found;
  switch (n->type) {
    case AXN_OR:
      for (c = n->a; c >= 0; c = nodes[c].next)
        if (arazzo_expr_eval_bool(st, c)) return st->nt = saved, 1;
      return 0;
    case AXN_AND:
      for (c = n->a; c >= 0; c = nodes[c].next)
        if (!arazzo_expr_eval_bool(st, c)) return 0;
      return 1;
    case AXN_NOT:
      r = arazzo_expr_eval_bool(st, n->a);
      st->nt = saved;
      return !r;
    case AXN_CMP: {
      int top = lua_gettop(L);
      if ((r = arazzo_expr_eval_cmp(st, ni))) st->nt = saved;
      lua_settop(L, top);
      return r;
    }
    default:
      found = eval_operand(st, ni);
      r = lua_type(L, -1) == LUA_TBOOLEAN && lua_toboolean(L, -1);
      if (!r && st->nt.kind == NOTE_NONE) {
        if (!found) set_missing(st, ni, st->miss_op, st->notjson);
        else if (lua_type(L, -1) != LUA_TBOOLEAN) {
          st->nt.kind = NOTE_NOTBOOL;
          st->nt.node = ni;
          st->nt.ta = note_class(L, -1);
        }
      }
      lua_pop(L, 1);
      return r;
  }
}

/* Push the note explaining a false condition. [-0,+1] */
void arazzo_expr_push_note(est *st) {
  lua_State *L = st->L;
  const arazzo_expr_node *n = &st->e->nodes[st->nt.node];
  switch (st->nt.kind) {
    case NOTE_MISSING: arazzo_expr_push_missing(st, n, st->nt.op, st->nt.notjson); break;
    case NOTE_TYPES:
      lua_pushfstring(L, "cannot compare %s with %s using '%s' at column %d", class_names[st->nt.ta],
                      class_names[st->nt.tb], op_names[n->op], n->col);
      break;
    case NOTE_DEEP:
      lua_pushfstring(L, "values nested deeper than %d levels compared with '%s' at column %d",
                      ARAZZO_EXPR_MAX_DEPTH, op_names[n->op], n->col);
      break;
    default:
      arazzo_expr_push_text(st, n);
      lua_pushfstring(L, " is %s, not a boolean", class_names[st->nt.ta]);
      lua_concat(L, 2);
      break;
  }
}
