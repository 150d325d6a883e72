/* expr_cond.c: compile conditions, templates and document field values
 * (value mode) around the references that expr.c compiles, and the compile
 * API, core.expr_compile.
 * Licence: MIT (see LICENSE).
 *
 * Grammar and decisions (references: expr.c; evaluation: expr_cmp.c):
 * - Value classification ("value" mode): one whole expression, else a
 *   template when the text has '{$' (errors inside are errors), else with
 *   opts.lenient a template when it has a bare reference, else an error
 *   when it starts with a known $source, else a literal ($5, $expand).
 * - Conditions: literals true false null, JSON numbers (integers stay
 *   integers), '...' ('' is a quote) and "..." (\" and \\ escapes; other
 *   backslashes stay). Nesting of parentheses and operators is limited to
 *   ARAZZO_EXPR_MAX_DEPTH; && and || chains are flat (n-ary) nodes.
 * - Errors: "<what> at column N" (see expr.c). */
#include <string.h>

#include "expr_internal.h"

#define MAX_TEXT (1 << 20) /* bytes of source text */

enum { M_EXPRESSION, M_TEMPLATE, M_VALUE, M_CONDITION, M_JSCONDITION };
enum { OP_AND = 6, OP_OR = 7 };

static void skip_ws(parser *p) {
  while (p->pos < p->len && is_ws(CH(p, p->pos))) p->pos++;
}

/* ---- conditions ------------------------------------------------------------- */

static int parse_level(parser *p, int level, int *out);

static int bad_op(parser *p, const char *op, const char *use) {
  return arazzo_expr_fail(p, p->pos, "unknown operator '%s' (use '%s')", op, use);
}

/* Look at the binary operator at p->pos (after whitespace): 1 and *op, *n
 * when there is one, 0 when none, -1 for an unknown operator. */
static int lex_op(parser *p, int *op, size_t *n) {
  size_t r;
  int c0, c1, c2;
  skip_ws(p);
  r = p->len - p->pos;
  c0 = r > 0 ? CH(p, p->pos) : 0;
  c1 = r > 1 ? CH(p, p->pos + 1) : 0;
  c2 = r > 2 ? CH(p, p->pos + 2) : 0;
  *n = 2;
  switch (c0) {
    case '=':
      if (c1 == '=') return c2 == '=' ? bad_op(p, "===", "==") : (*op = AXO_EQ, 1);
      if (c1 == '<') return bad_op(p, "=<", "<=");
      if (c1 == '>') return bad_op(p, "=>", ">=");
      return bad_op(p, "=", "==");
    case '!':
      if (c1 != '=') return 0;
      return c2 == '=' ? bad_op(p, "!==", "!=") : (*op = AXO_NE, 1);
    case '<':
      if (c1 == '>') return bad_op(p, "<>", "!=");
      *op = c1 == '=' ? AXO_LE : AXO_LT;
      *n = c1 == '=' ? 2 : 1;
      return 1;
    case '>':
      *op = c1 == '=' ? AXO_GE : AXO_GT;
      *n = c1 == '=' ? 2 : 1;
      return 1;
    case '&': return c1 == '&' ? (*op = OP_AND, 1) : bad_op(p, "&", "&&");
    case '|': return c1 == '|' ? (*op = OP_OR, 1) : bad_op(p, "|", "||");
    default: return 0;
  }
}

static int depth_error(parser *p, size_t at) {
  return arazzo_expr_fail(p, at, "nesting deeper than %d levels", ARAZZO_EXPR_MAX_DEPTH);
}

/* Set a parent's height from a child's; fails when operators nest more
 * than the depth limit (a leaf has height 1). */
static int raise_height(parser *p, int parent, int child, size_t at) {
  if (NODE(p, child)->height + 1 > NODE(p, parent)->height) NODE(p, parent)->height = NODE(p, child)->height + 1;
  return NODE(p, parent)->height - 1 > ARAZZO_EXPR_MAX_DEPTH ? depth_error(p, at) : 0;
}

/* JSON number (integers that fit stay integers). */
static int parse_number(parser *p, int *out) {
  size_t st = p->pos, i = st;
  int isint = 1, ni;
  if (i < p->len && p->s[i] == '-') i++;
  if (i < p->len && p->s[i] == '0') i++;
  else if (i < p->len && is_digit(CH(p, i))) while (i < p->len && is_digit(CH(p, i))) i++;
  else goto bad;
  if (i < p->len && p->s[i] == '.') {
    if (++i >= p->len || !is_digit(CH(p, i))) goto bad;
    while (i < p->len && is_digit(CH(p, i))) i++;
    isint = 0;
  }
  if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
    if (++i < p->len && (p->s[i] == '+' || p->s[i] == '-')) i++;
    if (i >= p->len || !is_digit(CH(p, i))) goto bad;
    while (i < p->len && is_digit(CH(p, i))) i++;
    isint = 0;
  }
  if (i < p->len && (is_id(CH(p, i)) || p->s[i] == '.')) goto bad;
  if ((ni = arazzo_expr_new_node(p, AXN_NUM, st)) < 0) return -1;
  lua_pushlstring(p->L, p->s + st, i - st);
  NODE(p, ni)->dval = lua_tonumber(p->L, -1);
  lua_pop(p->L, 1);
  if (isint) {
    unsigned long long v = 0, lim = p->s[st] == '-' ? 9223372036854775808ULL : 9223372036854775807ULL;
    size_t k;
    for (k = st + (p->s[st] == '-'); k < i; k++) {
      unsigned d = (unsigned)(p->s[k] - '0');
      if (v > (lim - d) / 10) {
        v = lim + 1;
        break;
      }
      v = v * 10 + d;
    }
    if (v <= lim) {
      NODE(p, ni)->type = AXN_INT;
      NODE(p, ni)->ival = p->s[st] == '-' ? (lua_Integer)(0 - v) : (lua_Integer)v;
    }
  }
  p->pos = i;
  *out = ni;
  return 0;
bad:
  while (i < p->len && (is_id(CH(p, i)) || p->s[i] == '.' || p->s[i] == '+')) i++;
  return arazzo_expr_fail(p, st, "invalid number '%.*s'", clip(i - st), p->s + st);
}

/* A '$' operand: a runtime expression, or in a jscondition a '$'-rooted path
 * into the context value; either may be followed by accessors. */
static int parse_dollar(parser *p, int *out) {
  size_t start = p->pos;
  int ni, c = p->pos + 1 < p->len ? CH(p, p->pos + 1) : 0;
  if (p->js && (c == 0 || c == '.' || c == '[' || is_cond_term(c))) {
    if ((ni = arazzo_expr_new_node(p, AXN_REF, start)) < 0) return -1;
    NODE(p, ni)->flags = AXF_VALUE | AXF_LENIENT;
    NODE(p, ni)->a = p->nops;
    p->lenient_used = 1;
    p->pos++;
  } else if (arazzo_expr_parse_ref(p, CX_COND, &ni) < 0) {
    return -1;
  }
  if (arazzo_expr_parse_accessors(p, 1) < 0) return -1;
  NODE(p, ni)->len = (int)(p->pos - start);
  NODE(p, ni)->b = p->nops - NODE(p, ni)->a;
  *out = ni;
  return 0;
}

static int parse_primary(parser *p, int *out) {
  size_t st;
  int c, ni;
  skip_ws(p);
  st = p->pos;
  if (st >= p->len) return arazzo_expr_fail(p, st, "expected an operand");
  c = CH(p, st);
  if (c == '(') {
    if (++p->depth > ARAZZO_EXPR_MAX_DEPTH) return depth_error(p, st);
    p->pos++;
    if (parse_level(p, 0, out) < 0) return -1;
    skip_ws(p);
    if (!AT(p, ')')) return arazzo_expr_fail(p, st, "unbalanced parentheses: '(' is never closed");
    p->pos++;
    p->depth--;
    return 0;
  }
  if (c == '\'' || c == '"') {
    int k = arazzo_expr_parse_string(p);
    if (k < 0 || (ni = arazzo_expr_new_node(p, AXN_STR, st)) < 0) return -1;
    NODE(p, ni)->a = k;
  } else if (c == '-' || is_digit(c)) {
    return parse_number(p, out);
  } else if (c == '$') {
    return parse_dollar(p, out);
  } else if (is_id(c)) {
    size_t n = arazzo_expr_scan(p, is_id);
    int t = word_is(p->s + st, n, "null") ? AXN_NULL : word_is(p->s + st, n, "true") || word_is(p->s + st, n, "false") ? AXN_BOOL : -1;
    if (t < 0) return arazzo_expr_fail(p, st, "unexpected '%.*s' (strings must be quoted)", clip(n), p->s + st);
    if ((ni = arazzo_expr_new_node(p, t, st)) < 0) return -1;
    NODE(p, ni)->ival = p->s[st] == 't';
  } else if (strchr(")=<>&|!,", c)) {
    return arazzo_expr_fail(p, st, "expected an operand");
  } else {
    return arazzo_expr_unexpected(p);
  }
  NODE(p, ni)->len = (int)(p->pos - st);
  *out = ni;
  return 0;
}

static int parse_unary(parser *p, int *out) {
  size_t at;
  int child, ni;
  skip_ws(p);
  at = p->pos;
  if (!AT(p, '!') || (at + 1 < p->len && p->s[at + 1] == '=')) return parse_primary(p, out);
  if (++p->depth > ARAZZO_EXPR_MAX_DEPTH) return depth_error(p, at);
  p->pos++;
  if (parse_unary(p, &child) < 0 || (ni = arazzo_expr_new_node(p, AXN_NOT, at)) < 0) return -1;
  p->depth--;
  NODE(p, ni)->a = child;
  NODE(p, ni)->len = (int)(p->pos - at);
  *out = ni;
  return raise_height(p, ni, child, at);
}

/* Precedence levels: 0 ||, 1 &&, 2 == !=, 3 < <= > >=, 4 unary. && and ||
 * build one n-ary node (children linked by .next), so long chains do not
 * deepen evaluation; comparisons associate to the left. */
static int parse_level(parser *p, int level, int *out) {
  int left, right, op = 0, list = -1, tail = -1, r;
  size_t n, at;
  if (level == 4) return parse_unary(p, out);
  if (parse_level(p, level + 1, &left) < 0) return -1;
  for (;;) {
    if ((r = lex_op(p, &op, &n)) < 0) return -1;
    if (r == 0 || (op == OP_OR ? 0 : op == OP_AND ? 1 : op <= AXO_NE ? 2 : 3) != level) break;
    at = p->pos;
    p->pos += n;
    if (parse_level(p, level + 1, &right) < 0) return -1;
    if (level >= 2) {
      int ni = arazzo_expr_new_node(p, AXN_CMP, at);
      if (ni < 0) return -1;
      NODE(p, ni)->op = (unsigned char)op;
      NODE(p, ni)->a = left;
      NODE(p, ni)->b = right;
      if (raise_height(p, ni, left, at) < 0 || raise_height(p, ni, right, at) < 0) return -1;
      left = ni;
      continue;
    }
    if (list < 0) {
      if ((list = arazzo_expr_new_node(p, op == OP_OR ? AXN_OR : AXN_AND, at)) < 0) return -1;
      NODE(p, list)->a = tail = left;
      if (raise_height(p, list, left, at) < 0) return -1;
    }
    NODE(p, tail)->next = right;
    tail = right;
    if (raise_height(p, list, right, at) < 0) return -1;
  }
  *out = list >= 0 ? list : left;
  return 0;
}

static int compile_condition(parser *p, int *root) {
  skip_ws(p);
  if (p->pos >= p->len) return arazzo_expr_fail(p, 0, "empty condition");
  if (parse_level(p, 0, root) < 0) return -1;
  skip_ws(p);
  if (p->pos < p->len) {
    if (AT(p, ')')) return arazzo_expr_fail(p, p->pos, "unbalanced parentheses: unexpected ')'");
    return arazzo_expr_unexpected(p);
  }
  return 0;
}

/* ---- expressions, templates, values ------------------------------------------- */

static int compile_expression(parser *p, int *root) {
  if (p->len == 0) return arazzo_expr_fail(p, 0, "empty expression");
  if (p->s[0] != '$') return arazzo_expr_fail(p, 0, "a runtime expression must start with '$'");
  if (arazzo_expr_parse_ref(p, CX_EXPR, root) < 0) return -1;
  return p->pos < p->len ? arazzo_expr_unexpected(p) : 0;
}

static void link_part(parser *p, int *head, int *tail, int ni) {
  if (*head < 0) *head = ni;
  else NODE(p, *tail)->next = ni;
  *tail = ni;
}

static int add_text(parser *p, int *head, int *tail, size_t from, size_t to) {
  int ni;
  if (from >= to) return 0;
  if ((ni = arazzo_expr_new_node(p, AXN_TEXT, from)) < 0) return -1;
  NODE(p, ni)->a = arazzo_expr_intern(p, p->s + from, to - from);
  NODE(p, ni)->len = (int)(to - from);
  link_part(p, head, tail, ni);
  return 0;
}

/* Try a bare (lenient) reference at i; on failure undo everything. */
static int try_bare(parser *p, size_t i, int *ni) {
  int nn = p->nnodes, no = p->nops;
  p->pos = i;
  if (arazzo_expr_parse_ref(p, CX_BARE, ni) == 0 && !(p->pos < p->len && is_id(CH(p, p->pos)))) {
    NODE(p, *ni)->flags |= AXF_LENIENT;
    p->lenient_used = 1;
    return 1;
  }
  p->nnodes = nn;
  p->nops = no;
  p->failed = 0;
  return 0;
}

/* Text with {$...} slots (and bare references when lenient); counts the
 * references in *nrefs. */
static int compile_template(parser *p, int *root, int *nrefs) {
  int head = -1, tail = -1, tn, ni;
  size_t i = 0, lit = 0;
  if ((tn = arazzo_expr_new_node(p, AXN_TEMPLATE, 0)) < 0) return -1;
  while (i < p->len) {
    if (p->s[i] == '{' && i + 1 < p->len && p->s[i + 1] == '$') {
      if (add_text(p, &head, &tail, lit, i) < 0) return -1;
      p->pos = i + 1;
      if (arazzo_expr_parse_ref(p, CX_TMPL, &ni) < 0) return -1;
      if (p->pos >= p->len) return arazzo_expr_fail(p, i, "unterminated '{$' (missing '}')");
      if (!AT(p, '}'))
        return arazzo_expr_fail(p, p->pos, "expected '}' to close the '{$' at column %d", arazzo_expr_column(p->s, i));
      link_part(p, &head, &tail, ni);
      i = lit = p->pos + 1;
      (*nrefs)++;
    } else if (p->s[i] == '$' && p->lenient_opt && try_bare(p, i, &ni)) {
      if (add_text(p, &head, &tail, lit, i) < 0) return -1;
      link_part(p, &head, &tail, ni);
      i = lit = p->pos;
      (*nrefs)++;
    } else {
      i++;
    }
  }
  if (add_text(p, &head, &tail, lit, p->len) < 0) return -1;
  NODE(p, tn)->a = head;
  NODE(p, tn)->height = 2;
  *root = tn;
  return 0;
}

static void reset(parser *p) {
  p->nnodes = p->nops = 0;
  p->lenient_used = p->known = p->failed = 0;
  p->pos = 0;
}

/* Classify a document field value: one whole expression, a template, or a
 * literal; a text that starts with a known $source but is not one valid
 * expression (and is no template) is an error. */
static int compile_value(parser *p, int *kind, int *root) {
  char saved[sizeof p->err];
  size_t savedpos = 0, i;
  int known = 0, nrefs = 0;
  if (p->len > 0 && p->s[0] == '$') {
    int rc = arazzo_expr_parse_ref(p, CX_EXPR, root);
    if (rc == 0 && p->pos == p->len) return *kind = AX_EXPRESSION, 0;
    if (rc == 0) arazzo_expr_unexpected(p);
    known = p->known;
    memcpy(saved, p->err, sizeof saved);
    savedpos = p->errpos;
    reset(p);
  }
  for (i = 0; i + 1 < p->len; i++)
    if (p->s[i] == '{' && p->s[i + 1] == '$') return *kind = AX_TEMPLATE, compile_template(p, root, &nrefs);
  if (p->lenient_opt) {
    if (compile_template(p, root, &nrefs) < 0) return -1;
    if (nrefs > 0) return *kind = AX_TEMPLATE, 0;
    reset(p);
  }
  if (known) {
    memcpy(p->err, saved, sizeof saved);
    p->errpos = savedpos;
    p->failed = 1;
    return -1;
  }
  *kind = AX_LITERAL;
  if ((*root = arazzo_expr_new_node(p, AXN_STR, 0)) < 0) return -1;
  NODE(p, *root)->a = arazzo_expr_intern(p, p->s, p->len);
  return 0;
}

/* ---- Lua API ------------------------------------------------------------------ */

/* Read the options table at idx: only `lenient` (boolean) is known; anything
 * else raises. */
static int check_opts(lua_State *L, int idx) {
  int lenient = 0;
  if (lua_isnoneornil(L, idx)) return 0;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING || strcmp(lua_tostring(L, -2), "lenient") != 0)
      return luaL_argerror(L, idx, lua_pushfstring(L, "unknown option '%s'", luaL_tolstring(L, -2, NULL)));
    if (lua_type(L, -1) != LUA_TBOOLEAN) return luaL_argerror(L, idx, "option 'lenient' must be a boolean");
    lenient = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  return lenient;
}

/* core.expr_compile(text, mode [, opts]) -> Expr | nil, message, "expr",
 * column. Raises on bad argument types, an unknown mode or option. */
static int l_compile(lua_State *L) {
  static const char *const modes[] = {"expression", "template", "value", "condition", "jscondition", NULL};
  static const int kinds[] = {AX_EXPRESSION, AX_TEMPLATE, AX_LITERAL, AX_CONDITION, AX_JSCONDITION};
  parser p;
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  int mode = luaL_checkoption(L, 2, NULL, modes), kind = kinds[mode], root = 0, rc, nrefs = 0;
  memset(&p, 0, sizeof p);
  p.colnum = 1;
  p.lenient_opt = check_opts(L, 3);
  lua_settop(L, 3);
  p.L = L;
  p.s = s;
  p.len = len;
  p.js = mode == M_JSCONDITION;
  lua_newtable(L);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "source");
  p.strs = lua_gettop(L);
  lua_newtable(L);
  p.dedupe = lua_gettop(L);
  lua_pushnil(L);
  p.nslot = lua_gettop(L);
  lua_pushnil(L);
  p.oslot = lua_gettop(L);
  if (len > MAX_TEXT) rc = arazzo_expr_fail(&p, 0, "text longer than %d bytes", MAX_TEXT);
  else if (mode == M_EXPRESSION) rc = compile_expression(&p, &root);
  else if (mode == M_TEMPLATE) rc = compile_template(&p, &root, &nrefs);
  else if (mode == M_VALUE) rc = compile_value(&p, &kind, &root);
  else rc = compile_condition(&p, &root);
  if (rc < 0) {
    int col = arazzo_expr_column(s, p.errpos);
    lua_pushnil(L);
    lua_pushfstring(L, "%s at column %d", p.err, col);
    lua_pushliteral(L, "expr");
    lua_pushinteger(L, col);
    return 4;
  }
  arazzo_expr_finish(&p, kind, root);
  return 1;
}

static const luaL_Reg expr_funcs[] = {{"expr_compile", l_compile}, {NULL, NULL}};

void arazzo_expr_open(lua_State *L) {
  if (luaL_newmetatable(L, ARAZZO_EXPR_MT)) {
    lua_pushliteral(L, ARAZZO_EXPR_MT);
    lua_setfield(L, -2, "__name");
    arazzo_expr_methods(L);
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, expr_funcs, 0);
}
