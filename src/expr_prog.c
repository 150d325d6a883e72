/* expr_prog.c: build the compiled program of an expression (node and step
 * arrays, interned strings) and move it into an arazzo.expr.Expr userdata.
 * Licence: MIT (see LICENSE). */
#include <string.h>

#include "expr_internal.h"

#define MAX_PARTS 65536    /* nodes, and reference steps */

/* Grow an array kept alive by a userdata at stack slot `slot` (replaced). */
static void *grow(parser *p, void *arr, int n, int *cap, size_t size, int slot) {
  int ncap = *cap ? *cap * 2 : 16;
  void *na = lua_newuserdata(p->L, (size_t)ncap * size);
  if (n) memcpy(na, arr, (size_t)n * size);
  lua_replace(p->L, slot);
  *cap = ncap;
  return na;
}

/* Append a node; returns its index or -1 (too many parts). */
int arazzo_expr_new_node(parser *p, int type, size_t start) {
  arazzo_expr_node *n;
  if (p->nnodes >= MAX_PARTS) return arazzo_expr_fail(p, start, "expression has more than %d parts", MAX_PARTS);
  if (p->nnodes == p->capnodes)
    p->nodes = (arazzo_expr_node *)grow(p, p->nodes, p->nnodes, &p->capnodes, sizeof *n, p->nslot);
  n = &p->nodes[p->nnodes];
  memset(n, 0, sizeof *n);
  n->type = (unsigned char)type;
  n->next = -1;
  n->start = (int)start;
  n->col = arazzo_expr_column_at(p, start);
  n->height = 1;
  return p->nnodes++;
}

/* Append a reference step; returns 0 or -1. */
int arazzo_expr_add_op(parser *p, int code, int what, int key, int arg, lua_Integer index) {
  arazzo_expr_op *o;
  if (p->nops >= MAX_PARTS) return arazzo_expr_fail(p, p->pos, "expression has more than %d parts", MAX_PARTS);
  if (p->nops == p->capops)
    p->ops = (arazzo_expr_op *)grow(p, p->ops, p->nops, &p->capops, sizeof *o, p->oslot);
  o = &p->ops[p->nops++];
  o->code = (unsigned char)code;
  o->what = (unsigned char)what;
  o->nseg = 0;
  o->key = key;
  o->arg = arg;
  o->index = index;
  return 0;
}

/* Intern the string on top of the stack into the string table (deduplicated);
 * returns its index. [-1,+0] */
int arazzo_expr_intern_top(parser *p) {
  lua_State *L = p->L;
  int idx;
  lua_pushvalue(L, -1);
  lua_rawget(L, p->dedupe);
  if (lua_type(L, -1) == LUA_TNUMBER) {
    idx = (int)lua_tointeger(L, -1);
    lua_pop(L, 2);
    return idx;
  }
  lua_pop(L, 1);
  idx = ++p->nstr;
  lua_pushvalue(L, -1);
  lua_rawseti(L, p->strs, idx);
  lua_pushinteger(L, idx);
  lua_rawset(L, p->dedupe);
  return idx;
}

int arazzo_expr_intern(parser *p, const char *s, size_t n) {
  lua_pushlstring(p->L, s, n);
  return arazzo_expr_intern_top(p);
}

int arazzo_expr_add_key(parser *p, const char *k, int what, int arg) {
  return arazzo_expr_add_op(p, AXS_KEY, what, arazzo_expr_intern(p, k, strlen(k)), arg, -1);
}

/* RFC 6901 array index: "0" or [1-9][0-9]* (at most 18 digits), else -1. */
lua_Integer arazzo_expr_token_index(const char *s, size_t n) {
  lua_Integer v = 0;
  size_t i;
  if (n == 0 || n > 18 || (n > 1 && s[0] == '0')) return -1;
  for (i = 0; i < n; i++) {
    if (!is_digit((unsigned char)s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* Add one fallback segment step of a dotted / bracketed name. */
static int add_seg(parser *p, const char *s, size_t n, int what, int arg) {
  return arazzo_expr_add_op(p, AXS_TOK, what, arazzo_expr_intern(p, s, n), arg, arazzo_expr_token_index(s, n));
}

/* Add the step for a name. A name with dots or brackets (a.b, a[0].b) is
 * looked up whole first; when absent the evaluator walks its segments,
 * which follow as AXS_TOK steps (lenient). */
int arazzo_expr_add_name(parser *p, int ni, size_t ns, size_t nl, int what) {
  const char *s = p->s + ns;
  int arg = arazzo_expr_intern(p, s, nl), k, nseg = 0;
  size_t i = 0, j;
  NODE(p, ni)->name = arg;
  if (!memchr(s, '.', nl) && !memchr(s, '[', nl)) return arazzo_expr_add_op(p, AXS_KEY, what, arg, arg, -1);
  if (arazzo_expr_add_op(p, AXS_NAME, what, arg, arg, -1) < 0) return -1;
  k = p->nops - 1;
  while (i < nl) {
    if (s[i] == '[') {
      for (j = i + 1; j < nl && s[j] != ']'; j++) {}
      if (add_seg(p, s + i + 1, j - i - 1, what, arg) < 0) return -1;
      i = j + 1;
    } else {
      for (j = i; j < nl && s[j] != '.' && s[j] != '['; j++) {}
      if (add_seg(p, s + i, j - i, what, arg) < 0) return -1;
      i = j;
    }
    nseg++;
    if (i < nl && s[i] == '.' && ++i == nl) {
      if (add_seg(p, s + i, 0, what, arg) < 0) return -1;
      nseg++;
    }
  }
  p->ops[k].nseg = nseg;
  NODE(p, ni)->flags |= AXF_LENIENT;
  p->lenient_used = 1;
  return 0;
}

/* Mark the steps whose key eval holds as an upvalue; returns whether
 * evaluation still needs the string table. */
static int mark_well_known(parser *p, int kind) {
  static const char *const wk[] = {ARAZZO_EXPR_WELL_KNOWN, NULL};
  int i, k, needs = kind == AX_TEMPLATE || kind == AX_LITERAL;
  for (i = 0; i < p->nops; i++) {
    const char *s;
    lua_rawgeti(p->L, p->strs, p->ops[i].key);
    s = lua_tostring(p->L, -1);
    for (k = 0; wk[k] && strcmp(wk[k], s) != 0; k++) {}
    p->ops[i].wk = (unsigned char)(wk[k] ? k + 1 : 0);
    needs |= !wk[k];
    lua_pop(p->L, 1);
  }
  for (i = 0; i < p->nnodes; i++) needs |= p->nodes[i].type == AXN_STR || p->nodes[i].type == AXN_TEXT;
  return needs;
}

/* Whether the condition's root compares a chain of well-known context keys
 * ($statusCode, $response.body, ...) with an integer literal. */
static int is_fast(parser *p, int kind, int root) {
  const arazzo_expr_node *n = &p->nodes[root], *ref, *lit;
  int i;
  if ((kind != AX_CONDITION && kind != AX_JSCONDITION) || n->type != AXN_CMP) return 0;
  ref = &p->nodes[n->a];
  lit = &p->nodes[n->b];
  if (ref->type != AXN_REF || (ref->flags & AXF_VALUE) || ref->b == 0 || lit->type != AXN_INT) return 0;
  for (i = ref->a; i < ref->a + ref->b; i++)
    if (p->ops[i].code != AXS_KEY || !p->ops[i].wk) return 0;
  return 1;
}

/* Move the program into a new arazzo.expr.Expr userdata. [-0,+1] */
void arazzo_expr_finish(parser *p, int kind, int root) {
  size_t hs = ARAZZO_EXPR_HEADER;
  size_t ns = (size_t)p->nnodes * sizeof(arazzo_expr_node), os = (size_t)p->nops * sizeof(arazzo_expr_op);
  int needs_uv = mark_well_known(p, kind);
  arazzo_expr *e = (arazzo_expr *)lua_newuserdata(p->L, hs + ns + os);
  e->needs_uv = needs_uv;
  e->fast = is_fast(p, kind, root);
  e->nodes = (arazzo_expr_node *)(void *)((char *)e + hs);
  e->ops = (arazzo_expr_op *)(void *)((char *)e + hs + ns);
  if (ns) memcpy(e->nodes, p->nodes, ns);
  if (os) memcpy(e->ops, p->ops, os);
  e->magic = ARAZZO_EXPR_MAGIC;
  e->kind = kind;
  e->lenient = p->lenient_used;
  e->root = root;
  e->height = p->nodes[root].height;
  e->nnodes = p->nnodes;
  e->nops = p->nops;
  luaL_getmetatable(p->L, ARAZZO_EXPR_MT);
  lua_setmetatable(p->L, -2);
  lua_pushvalue(p->L, p->strs);
  lua_setuservalue(p->L, -2);
}
