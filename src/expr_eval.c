/* expr_eval.c: evaluate compiled runtime expressions and templates against
 * an evaluation context (raw table access only; no Lua code or metamethod is
 * ever called), and the methods of arazzo.expr.Expr. Conditions are
 * evaluated by expr_cmp.c.
 * Licence: MIT (see LICENSE).
 *
 * Accessors: `.name` and `['key']` look a key up in an object; `[n]`, and a
 * `.n` or pointer token that is an RFC 6901 index, select the 0-based element
 * of an array (on an object they look up the key "n"). Stepping into a string
 * that holds a JSON object or array (an undecoded body) decodes it first:
 * for a run of pointer tokens / accessors only the node they select is
 * decoded (the whole text is still checked). In jscondition mode
 * `.length` gives an array's length, a string's length in characters (UTF-8
 * code points), or an object's "length" member.
 * Templates render strings as-is, integers in decimal, floats shortest
 * round-trip, booleans as true/false, null as null, objects and arrays as
 * compact JSON. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "expr_internal.h"

static const char *const source_names[] = {"url",   "method",    "statusCode",         "request",
                                           "response", "inputs", "outputs",            "steps",
                                           "workflows", "sourceDescriptions", "components"};
static const char *const kind_names[] = {"expression", "template", "literal", "condition", "jscondition"};

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

/* Whether the string s[0..len) holds a JSON object or array (an undecoded
 * body): its first non-blank byte is '{' or '['. */
static int looks_json(const char *s, size_t len) {
  size_t i = 0;
  while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
  return i < len && (s[i] == '{' || s[i] == '[');
}

/* Replace the string on top with its JSON decoding when it holds a JSON
 * object or array (an undecoded body); 0 (top unchanged) otherwise, with
 * st->notjson set when it looked like one but does not parse. [-1,+1] */
static int decode_top(est *st) {
  size_t len, pos;
  const char *s = lua_tolstring(st->L, -1, &len), *msg;
  if (!looks_json(s, len)) return 0;
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

/* A pointer token / accessor on the table on top: array element by index,
 * else object member. [-1,+1] */
static int step_tok_table(est *st, const arazzo_expr_op *o) {
  lua_State *L = st->L;
  size_t n;
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

/* The same on any value: a string holding JSON is decoded whole first. */
static int step_tok(est *st, const arazzo_expr_op *o) {
  int t = lua_type(st->L, -1);
  if (t == LUA_TSTRING) {
    if (!decode_top(st)) return 0; /* else a table is on top */
  } else if (t != LUA_TTABLE) {
    return 0;
  }
  return step_tok_table(st, o);
}

/* Longest run of token steps decoded in one go from a string. */
#define TOK_RUN_MAX 16

/* Replace the string on top, when it holds a JSON object or array, with
 * the node that the n (<= TOK_RUN_MAX) token steps at o select, decoding
 * only that node (arazzo_json_decode_at); *used gets the steps applied, as
 * there. 0 (top unchanged) when the string is not JSON, with st->notjson
 * set when it looked like JSON but does not parse. [-1,+1] */
static int decode_at_top(est *st, const arazzo_expr_op *o, size_t n, size_t *used) {
  lua_State *L = st->L;
  arazzo_json_token toks[TOK_RUN_MAX];
  size_t len, pos, k;
  const char *s = lua_tolstring(L, -1, &len), *msg;
  int sidx = lua_gettop(L);
  if (!looks_json(s, len)) return 0;
  luaL_checkstack(L, (int)n + 8, "expression too deep");
  for (k = 0; k < n; k++) { /* keys stay pushed: the tokens point into them */
    push_key(st, o + k);
    toks[k].s = lua_tolstring(L, -1, &toks[k].len);
    toks[k].index = o[k].index;
  }
  if (!arazzo_json_decode_at_cached(L, sidx, toks, n, used, &msg, &pos)) {
    lua_pop(L, (int)n);
    st->notjson = 1;
    return 0;
  }
  lua_replace(L, -(int)n - 2);
  lua_pop(L, (int)n);
  return 1;
}

/* Token steps from *op on, applied to the string on top: a string holding
 * JSON is not decoded whole, only the node that the run of token steps
 * selects is (each step as step_tok would take it). A string met inside
 * is stepped into the same way. Leaves *op at the last step applied and
 * returns 1, or at the failing step and returns 0. [-1,+1] */
static int step_json(est *st, const arazzo_expr_op **op, const arazzo_expr_op *end) {
  lua_State *L = st->L;
  size_t n, used;
  for (;;) {
    const arazzo_expr_op *o = *op;
    for (n = 1; n < TOK_RUN_MAX && o + n < end && o[n].code == AXS_TOK; n++) {}
    if (!decode_at_top(st, o, n, &used)) return 0;
    if (used == n) {
      *op = o + n - 1;
      return 1;
    }
    *op = o + used; /* nil: no such member; else a scalar to step into */
    if (lua_type(L, -1) != LUA_TSTRING) return 0;
  }
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
int arazzo_expr_eval_ref(est *st, const arazzo_expr_node *n) {
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
      case AXS_TOK: {
        int t = lua_type(L, -1);
        if (t == LUA_TTABLE) ok = step_tok_table(st, o);
        else if (t != LUA_TSTRING) ok = 0;
        else if (!(ok = step_json(st, &o, end))) at = o;
        break;
      }
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
void arazzo_expr_push_text(est *st, const arazzo_expr_node *n) {
  size_t len;
  const char *s;
  lua_getfield(st->L, get_uv(st), "source");
  s = lua_tolstring(st->L, -1, &len);
  lua_pushlstring(st->L, s + n->start, (size_t)n->len);
  lua_remove(st->L, -2);
}

/* Push "<reference>: <what is missing>" for ref node n whose step k failed.
 * [-0,+1] */
void arazzo_expr_push_missing(est *st, const arazzo_expr_node *n, int k, int notjson) {
  lua_State *L = st->L;
  int top = (get_uv(st), lua_gettop(L));
  arazzo_expr_push_text(st, n);
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
    arazzo_expr_push_text(st, n);
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
    } else if (!arazzo_expr_eval_ref(st, &nodes[c])) {
      lua_pushnil(L);
      arazzo_expr_push_missing(st, &nodes[c], st->miss_op, st->notjson);
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
static inline arazzo_expr *check_expr(lua_State *L) {
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
      if (arazzo_expr_eval_ref(&st, root)) return 1;
      get_uv(&st);
      lua_pushnil(L);
      arazzo_expr_push_missing(&st, root, st.miss_op, st.notjson);
      return 2;
    case AX_LITERAL: lua_rawgeti(L, st.uv, root->a); return 1;
    case AX_TEMPLATE: return eval_template(&st);
    default:
      r = root->type == AXN_CMP ? arazzo_expr_eval_cmp(&st, e->root) : arazzo_expr_eval_bool(&st, e->root);
      if (r || st.nt.kind == NOTE_NONE) return lua_pushboolean(L, r), 1;
      get_uv(&st);
      lua_pushboolean(L, r);
      arazzo_expr_push_note(&st);
      return 2;
  }
}

/* Registry key of the eval closure (it carries the well-known key strings
 * as upvalues). */
static const char eval_key = 'e';

int arazzo_expr_eval_call(lua_State *L, int eidx, int ctx) {
  eidx = lua_absindex(L, eidx);
  ctx = lua_absindex(L, ctx);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &eval_key);
  lua_pushvalue(L, eidx);
  lua_pushvalue(L, ctx);
  lua_call(L, 2, 2);
  return 2;
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
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &eval_key);
  lua_setfield(L, -2, "eval");
  lua_setfield(L, mt, "__index");
  lua_pushcfunction(L, l_source);
  lua_setfield(L, mt, "__tostring");
}
