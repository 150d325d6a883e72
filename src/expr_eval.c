/* expr_eval.c: evaluate compiled runtime expressions, templates and
 * conditions against an evaluation context (raw table access only; no Lua
 * code or metamethod is ever called), and the methods of arazzo.expr.Expr.
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
 *   second value, a note saying which.
 * Accessors: `.name` and `['key']` look a key up in an object; `[n]`, and a
 * `.n` or pointer token that is an RFC 6901 index, select the 0-based element
 * of an array (on an object they look up the key "n"). Stepping into a string
 * that holds a JSON object or array (an undecoded body) decodes it first. In jscondition mode
 * `.length` gives an array's length, a string's length in characters (UTF-8
 * code points), or an object's "length" member.
 * Templates render strings as-is, integers in decimal, floats shortest
 * round-trip, booleans as true/false, null as null, objects and arrays as
 * compact JSON. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "arazzo.h"

enum { C_NULL, C_BOOL, C_NUM, C_STR, C_TABLE, C_OTHER, C_ARRAY, C_OBJECT };
enum { NOTE_NONE, NOTE_MISSING, NOTE_TYPES, NOTE_NOTBOOL, NOTE_DEEP };

typedef struct {
  int kind, node, op, notjson, ta, tb;
} note;

typedef struct {
  lua_State *L;
  const arazzo_expr *e;
  int uv, ctx, val;      /* stack indexes */
  int miss_op, notjson;  /* where the last eval_ref failed */
  int deep;              /* a deep comparison hit the depth limit */
  note nt;
} est;

typedef struct {
  int isint;
  lua_Integer i;
  lua_Number d;
} xnum;

static const char *const source_names[] = {"url",   "method",    "statusCode",         "request",
                                           "response", "inputs", "outputs",            "steps",
                                           "workflows", "sourceDescriptions", "components"};
static const char *const kind_names[] = {"expression", "template", "literal", "condition", "jscondition"};
static const char *const op_names[] = {"==", "!=", "<", "<=", ">", ">="};
static const char *const class_names[] = {"null",     "a boolean", "a number", "a string",
                                          "a table",  "an unsupported value", "an array", "an object"};

/* Missing-value messages: text before the argument, text after it (NULL
 * when the message takes no argument). Indexed by AXW_*. */
static const char *const what_text[][2] = {
    {"not set", NULL},         {"no request", NULL},        {"no response", NULL},
    {"no header '", "'"},      {"no query parameter '", "'"}, {"no path parameter '", "'"},
    {"no body", NULL},         {"step '", "' has not run"}, {"step '", "' has no outputs"},
    {"no output '", "'"},      {"workflow '", "' has not run"}, {"workflow '", "' has no inputs"},
    {"workflow '", "' has no outputs"}, {"no input '", "'"}, {"no source description '", "'"},
    {"no field '", "'"},       {"no components", NULL},     {"no component '", "'"},
    {"no value at '", "'"}};

/* ---- stepping through values ------------------------------------------------ */

/* Replace the string on top with its JSON decoding when it holds a JSON
 * object or array (an undecoded body); 0 (top unchanged) otherwise, with
 * st->notjson set when it looked like one but does not parse. [-1,+1] */
static int decode_top(est *st) {
  size_t len, pos, i = 0;
  const char *s = lua_tolstring(st->L, -1, &len), *msg;
  while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
  if (i == len || (s[i] != '{' && s[i] != '[')) return 0;
  if (!arazzo_json_decode(st->L, s, len, &msg, &pos)) {
    st->notjson = 1;
    return 0;
  }
  lua_remove(st->L, -2);
  return 1;
}

/* Push the key of step o: an upvalue of eval when well-known, else from
 * the string table. [-0,+1] */
static void push_key(est *st, const arazzo_expr_op *o) {
  if (o->wk) lua_pushvalue(st->L, lua_upvalueindex(o->wk));
  else lua_rawgeti(st->L, st->uv, o->key);
}

/* Replace the table on top with its member o->key. [-1,+1] */
static int step_key(est *st, const arazzo_expr_op *o) {
  lua_State *L = st->L;
  if (lua_type(L, -1) != LUA_TTABLE) return 0;
  push_key(st, o);
  lua_rawget(L, -2);
  lua_replace(L, -2);
  return !lua_isnil(L, -1);
}

/* A pointer token / accessor: array element by index, else object member. */
static int step_tok(est *st, const arazzo_expr_op *o) {
  lua_State *L = st->L;
  size_t n;
  if (lua_type(L, -1) == LUA_TSTRING && !decode_top(st)) return 0;
  if (lua_type(L, -1) != LUA_TTABLE) return 0;
  if (o->index >= 0 && arazzo_as_array(L, -1, &n)) {
    if ((size_t)o->index < n) lua_rawgeti(L, -1, o->index + 1);
    else lua_pushnil(L);
  } else {
    push_key(st, o);
    lua_rawget(L, -2);
  }
  lua_replace(L, -2);
  return !lua_isnil(L, -1);
}

/* jscondition .length: array length, string length in code points, or an
 * object's "length" member. */
static int step_len(est *st, const arazzo_expr_op *o) {
  lua_State *L = st->L;
  size_t n, i, count = 0;
  if (lua_type(L, -1) == LUA_TTABLE) {
    if (!arazzo_as_array(L, -1, &n)) return step_key(st, o);
  } else if (lua_type(L, -1) == LUA_TSTRING) {
    const char *s = lua_tolstring(L, -1, &n);
    for (i = 0; i < n; i++) count += (s[i] & 0xC0) != 0x80;
    n = count;
  } else {
    return 0;
  }
  lua_pop(L, 1);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

/* A name with dots: the whole name as a key first, else walk its parts. */
static int step_name(est *st, const arazzo_expr_op *o) {
  lua_State *L = st->L;
  int i;
  if (lua_type(L, -1) != LUA_TTABLE) return 0;
  push_key(st, o);
  lua_rawget(L, -2);
  if (!lua_isnil(L, -1)) {
    lua_remove(L, -2);
    return 1;
  }
  lua_pop(L, 1);
  for (i = 1; i <= o->nseg; i++)
    if (!step_tok(st, o + i)) return st->notjson = 0, 0;
  return 1;
}

/* Push the value of reference node n: 1, or 0 with nil pushed and the
 * failing step recorded in st->miss_op (-1: no jscondition value). */
static int eval_ref(est *st, const arazzo_expr_node *n) {
  lua_State *L = st->L;
  const arazzo_expr_op *o = st->e->ops + n->a, *end = o + n->b;
  st->notjson = 0;
  if (o < end && o->code == AXS_KEY && !(n->flags & AXF_VALUE)) { /* first step: ctx is a table */
    push_key(st, o);
    if (lua_rawget(L, st->ctx) == LUA_TNIL) return st->miss_op = n->a, 0;
    o++;
  } else {
      if (!(n->flags & AXF_VALUE)) lua_pushvalue(L, st->ctx);
    else if (st->val) lua_pushvalue(L, st->val);
    else lua_pushnil(L);
    if (lua_isnil(L, -1)) return st->miss_op = -1, 0;
  }
  while (o < end) {
    const arazzo_expr_op *at = o;
    int ok;
    switch (o->code) {
      case AXS_KEY: ok = step_key(st, o); break;
      case AXS_TOK: ok = step_tok(st, o); break;
      case AXS_LEN: ok = step_len(st, o); break;
      default: ok = step_name(st, o), o += o->nseg; break;
    }
    if (!ok) {
      st->miss_op = (int)(at - st->e->ops);
      lua_pop(L, 1);
      lua_pushnil(L);
      return 0;
    }
    o++;
  }
  return 1;
}

/* The stack index of the string table, pushing it first if evaluation did
 * not need it. Only for paths that then push the final results. */
static int get_uv(est *st) {
  if (!st->uv) {
    lua_getuservalue(st->L, 1);
    st->uv = lua_gettop(st->L);
  }
  return st->uv;
}

/* Push the source text of node n. [-0,+1] */
static void push_text(est *st, const arazzo_expr_node *n) {
  size_t len;
  const char *s;
  lua_getfield(st->L, get_uv(st), "source");
  s = lua_tolstring(st->L, -1, &len);
  lua_pushlstring(st->L, s + n->start, (size_t)n->len);
  lua_remove(st->L, -2);
}

/* Push "<reference>: <what is missing>" for ref node n whose step k failed.
 * [-0,+1] */
static void push_missing(est *st, const arazzo_expr_node *n, int k, int notjson) {
  lua_State *L = st->L;
  int top = (get_uv(st), lua_gettop(L));
  push_text(st, n);
  lua_pushliteral(L, ": ");
  if (k < 0) {
    lua_pushliteral(L, "no context value");
  } else if (notjson) {
    lua_pushliteral(L, "cannot look up '");
    lua_rawgeti(L, st->uv, st->e->ops[k].arg);
    lua_pushliteral(L, "' in a string that is not JSON");
  } else {
    const arazzo_expr_op *o = &st->e->ops[k];
    lua_pushstring(L, what_text[o->what][0]);
    if (what_text[o->what][1]) {
      lua_rawgeti(L, st->uv, o->arg);
      lua_pushstring(L, what_text[o->what][1]);
    }
  }
  lua_concat(L, lua_gettop(L) - top);
}

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

static int eval_bool(est *st, int ni);

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
    case AXN_REF: return eval_ref(st, n);
    default: lua_pushboolean(L, eval_bool(st, ni)); return 1;
  }
}

static void set_missing(est *st, int node, int op, int notjson) {
  st->nt.kind = NOTE_MISSING;
  st->nt.node = node;
  st->nt.op = op;
  st->nt.notjson = notjson;
}

static int apply_op(int op, int c) {
  switch (op) {
    case AXO_EQ: return c == 0;
    case AXO_NE: return c != 0;
    case AXO_LT: return c < 0;
    case AXO_LE: return c <= 0;
    case AXO_GT: return c > 0;
    default: return c >= 0;
  }
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
static int eval_cmp(est *st, int ni) {
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
static int eval_bool(est *st, int ni) {
  const arazzo_expr_node *nodes = st->e->nodes, *n = &nodes[ni];
  lua_State *L = st->L;
  note saved = st->nt;
  int r, c, found;
  switch (n->type) {
    case AXN_OR:
      for (c = n->a; c >= 0; c = nodes[c].next)
        if (eval_bool(st, c)) return st->nt = saved, 1;
      return 0;
    case AXN_AND:
      for (c = n->a; c >= 0; c = nodes[c].next)
        if (!eval_bool(st, c)) return 0;
      return 1;
    case AXN_NOT:
      r = eval_bool(st, n->a);
      st->nt = saved;
      return !r;
    case AXN_CMP: {
      int top = lua_gettop(L);
      if ((r = eval_cmp(st, ni))) st->nt = saved;
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
static void push_note(est *st) {
  lua_State *L = st->L;
  const arazzo_expr_node *n = &st->e->nodes[st->nt.node];
  switch (st->nt.kind) {
    case NOTE_MISSING: push_missing(st, n, st->nt.op, st->nt.notjson); break;
    case NOTE_TYPES:
      lua_pushfstring(L, "cannot compare %s with %s using '%s' at column %d", class_names[st->nt.ta],
                      class_names[st->nt.tb], op_names[n->op], n->col);
      break;
    case NOTE_DEEP:
      lua_pushfstring(L, "values nested deeper than %d levels compared with '%s' at column %d",
                      ARAZZO_EXPR_MAX_DEPTH, op_names[n->op], n->col);
      break;
    default:
      push_text(st, n);
      lua_pushfstring(L, " is %s, not a boolean", class_names[st->nt.ta]);
      lua_concat(L, 2);
      break;
  }
}

/* ---- templates ------------------------------------------------------------------- */

/* Replace the value on top with its text form; on failure leave nil and a
 * message "<reference>: <why>" on top and return 0. */
static int render_top(est *st, const arazzo_expr_node *n) {
  lua_State *L = st->L;
  int vi = lua_gettop(L);
  long long v;
  char buf[32];
  const char *err = NULL;
  luaL_Buffer b;
  switch (lua_type(L, vi)) {
    case LUA_TSTRING: return 1;
    case LUA_TBOOLEAN: lua_pushstring(L, lua_toboolean(L, vi) ? "true" : "false"); break;
    case LUA_TNUMBER:
      if (arazzo_number_is_integer(L, vi, &v)) {
        snprintf(buf, sizeof buf, "%lld", v);
        lua_pushstring(L, buf);
      } else if (!isfinite(lua_tonumber(L, vi))) {
        err = "not a finite number";
      } else {
        luaL_buffinit(L, &b);
        arazzo_format_double(&b, (double)lua_tonumber(L, vi));
        luaL_pushresult(&b);
      }
      break;
    case LUA_TTABLE:
      luaL_buffinit(L, &b);
      if ((err = arazzo_json_encode_value(L, vi, &b)) == NULL) luaL_pushresult(&b);
      break;
    default:
      if (arazzo_is_null(L, vi)) lua_pushliteral(L, "null");
      else err = "cannot render this value as text";
      break;
  }
  if (err) {
    char msg[200];
    snprintf(msg, sizeof msg, "%s", err);
    lua_pushnil(L);
    push_text(st, n);
    lua_pushfstring(L, ": %s", msg);
    lua_concat(L, 2);
    return 0;
  }
  lua_replace(L, vi);
  return 1;
}

/* Concatenate a template's parts; returns the number of results on top
 * (the string, or nil and a message). */
static int eval_template(est *st) {
  lua_State *L = st->L;
  const arazzo_expr_node *nodes = st->e->nodes;
  int c, parts = 0;
  luaL_checkstack(L, 40, "template too long");
  for (c = nodes[st->e->root].a; c >= 0; c = nodes[c].next) {
    if (nodes[c].type == AXN_TEXT) {
      lua_rawgeti(L, st->uv, nodes[c].a);
    } else if (!eval_ref(st, &nodes[c])) {
      lua_pushnil(L);
      push_missing(st, &nodes[c], st->miss_op, st->notjson);
      return 2;
    } else if (!render_top(st, &nodes[c])) {
      return 2;
    }
    if (++parts == 16) {
      lua_concat(L, parts);
      parts = 1;
    }
  }
  if (parts == 0) lua_pushliteral(L, "");
  else lua_concat(L, parts);
  return 1;
}

/* ---- methods ----------------------------------------------------------------------- */

/* The Expr at argument 1, or raise. A full userdata is an Expr when it is
 * large enough, starts with the magic number and its node pointer points
 * just past its own header: only expr_compile builds such a block, and this
 * costs far less than a metatable comparison on the hot path. */
static arazzo_expr *check_expr(lua_State *L) {
  arazzo_expr *e = (arazzo_expr *)lua_touserdata(L, 1); /* light userdata: rawlen 0 */
  if (e == NULL || lua_rawlen(L, 1) < ARAZZO_EXPR_HEADER ||
      e->magic != ARAZZO_EXPR_MAGIC || (char *)e->nodes != (char *)e + ARAZZO_EXPR_HEADER)
    luaL_argerror(L, 1, ARAZZO_EXPR_MT " expected");
  return e;
}

/* The shortcut for e->fast conditions ($statusCode == 200): pushes the
 * boolean and returns 1 when the value is an integer-valued number, else
 * returns 0 (the value stays pushed; the general path does the rest). */
static int eval_fast(lua_State *L, const arazzo_expr *e) {
  const arazzo_expr_node *n = &e->nodes[e->root], *ref = &e->nodes[n->a];
  const arazzo_expr_op *o = &e->ops[ref->a], *end = o + ref->b;
  lua_Integer v, lit = e->nodes[n->b].ival;
  int isint, t = LUA_TTABLE;
  lua_pushvalue(L, 2);
  for (; o < end && t == LUA_TTABLE; o++) {
    lua_pushvalue(L, lua_upvalueindex(o->wk));
    t = lua_rawget(L, -2);
  }
  if (o < end || t != LUA_TNUMBER) return 0;
  v = lua_tointegerx(L, -1, &isint);
  if (!isint) return 0;
  lua_pushboolean(L, apply_op(n->op, v < lit ? -1 : v > lit));
  return 1;
}

/* e:eval(ctx [, value]) -> value | nil, message (expressions, templates,
 * literals); true | false [, note] (conditions). Raises only when ctx is
 * not a table. Upvalues: the well-known keys. The stack below the results
 * is left as is (no pops: they cost noticeable time on the fast path). */
static int l_eval(lua_State *L) {
  int top = lua_gettop(L), r;
  arazzo_expr *e;
  const arazzo_expr_node *root;
  est st;
  luaL_checktype(L, 2, LUA_TTABLE);
  e = check_expr(L);
  if (e->fast && eval_fast(L, e)) return 1;
  if (e->height > 2) luaL_checkstack(L, 3 * e->height + 32, "expression too deep");
  st.L = L;
  st.e = e;
  st.uv = 0;
  st.ctx = 2;
  st.val = top >= 3 ? 3 : 0;
  st.miss_op = -1;
  st.notjson = st.deep = 0;
  st.nt.kind = NOTE_NONE;
  if (e->needs_uv) get_uv(&st);
  root = &e->nodes[e->root];
  switch (e->kind) {
    case AX_EXPRESSION:
      if (eval_ref(&st, root)) return 1;
      get_uv(&st);
      lua_pushnil(L);
      push_missing(&st, root, st.miss_op, st.notjson);
      return 2;
    case AX_LITERAL: lua_rawgeti(L, st.uv, root->a); return 1;
    case AX_TEMPLATE: return eval_template(&st);
    default:
      r = root->type == AXN_CMP ? eval_cmp(&st, e->root) : eval_bool(&st, e->root);
      if (r || st.nt.kind == NOTE_NONE) return lua_pushboolean(L, r), 1;
      get_uv(&st);
      lua_pushboolean(L, r);
      push_note(&st);
      return 2;
  }
}

static int l_kind(lua_State *L) {
  lua_pushstring(L, kind_names[check_expr(L)->kind]);
  return 1;
}

static int l_lenient(lua_State *L) {
  lua_pushboolean(L, check_expr(L)->lenient);
  return 1;
}

static int l_source(lua_State *L) {
  check_expr(L);
  lua_getuservalue(L, 1);
  lua_getfield(L, -1, "source");
  return 1;
}

static void set_str(lua_State *L, int uv, int idx, const char *field) {
  if (idx == 0) return;
  lua_rawgeti(L, uv, idx);
  lua_setfield(L, -2, field);
}

/* e:refs() -> a new array of {source, id, field, name, pointer, column,
 * lenient} for each runtime expression in e, in source order. */
static int l_refs(lua_State *L) {
  arazzo_expr *e = check_expr(L);
  int i, k = 0;
  lua_settop(L, 1);
  lua_getuservalue(L, 1);
  lua_newtable(L);
  for (i = 0; i < e->nnodes; i++) {
    const arazzo_expr_node *n = &e->nodes[i];
    if (n->type != AXN_REF || (n->flags & AXF_VALUE)) continue;
    lua_createtable(L, 0, 7);
    lua_pushstring(L, source_names[n->src]);
    lua_setfield(L, -2, "source");
    set_str(L, 2, n->id, "id");
    set_str(L, 2, n->field, "field");
    set_str(L, 2, n->name, "name");
    set_str(L, 2, n->ptr, "pointer");
    lua_pushinteger(L, n->col);
    lua_setfield(L, -2, "column");
    if (n->flags & AXF_LENIENT) {
      lua_pushboolean(L, 1);
      lua_setfield(L, -2, "lenient");
    }
    lua_rawseti(L, 3, ++k);
  }
  return 1;
}

static const luaL_Reg expr_methods[] = {{"kind", l_kind},         {"refs", l_refs},     {"lenient", l_lenient},
                                        {"source", l_source},     {NULL, NULL}};

void arazzo_expr_methods(lua_State *L) {
  int mt = lua_gettop(L);
  static const char *const wk[] = {ARAZZO_EXPR_WELL_KNOWN};
  size_t i;
  lua_newtable(L);
  luaL_setfuncs(L, expr_methods, 0);
  for (i = 0; i < sizeof wk / sizeof wk[0]; i++) lua_pushstring(L, wk[i]);
  lua_pushcclosure(L, l_eval, (int)(sizeof wk / sizeof wk[0]));
  lua_setfield(L, -2, "eval");
  lua_setfield(L, mt, "__index");
  lua_pushcfunction(L, l_source);
  lua_setfield(L, mt, "__tostring");
}
