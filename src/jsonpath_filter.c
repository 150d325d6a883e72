/* jsonpath_filter.c: JSONPath filter expressions, number literals and function calls, type-checked.
 * Licence: MIT (see LICENSE).
 *
 * Parses logical-or-expr (RFC 9535 2.3.5) with its comparisons and tests,
 * and the function extensions of 2.4 with their well-typedness rules
 * (2.4.3): a misused literal, query or function result is a syntax error
 * with the operand's column. Nesting is bounded by JP_MAX_NESTING.
 * match()/search() with a literal pattern compile it here; an invalid
 * I-Regexp (checked against the full RFC 9485 grammar) never matches. */
#include <string.h>

#include "jsonpath_internal.h"

enum { T_VALUE, T_LOGICAL, T_NODES };

/* Parse a number literal into node x: an integer stays exact, anything with
 * a fraction or exponent becomes a float. */
static void parse_number(jp_parser *p, int x) {
  size_t start = p->pos;
  lua_Integer i = arazzo_jsonpath_parse_int(p, 1);
  int is_float = 0;
  if (peek(p) == '.') {
    p->pos++;
    if (!is_digit(peek(p))) arazzo_jsonpath_expected(p, "a digit after '.'");
    while (is_digit(peek(p))) p->pos++;
    is_float = 1;
  }
  if (peek(p) == 'e' || peek(p) == 'E') {
    p->pos++;
    if (peek(p) == '+' || peek(p) == '-') p->pos++;
    if (!is_digit(peek(p))) arazzo_jsonpath_expected(p, "a digit in the exponent");
    while (is_digit(peek(p))) p->pos++;
    is_float = 1;
  }
  if (!is_float) {
    ND(p, x).op = JP_L_INT;
    ND(p, x).u.i[0] = i;
    return;
  }
  lua_pushlstring(p->L, p->s + start, p->pos - start);
  ND(p, x).op = JP_L_NUM;
  ND(p, x).u.d = lua_tonumber(p->L, -1);
  lua_pop(p->L, 1);
}

/* ---- filter expressions (2.3.5) and function extensions (2.4) ----------- */

static const struct jp_fn {
  const char *name;
  unsigned char result, nparams, params[2];
} fns[] = {{"length", T_VALUE, 1, {T_VALUE, 0}},
           {"count", T_VALUE, 1, {T_NODES, 0}},
           {"match", T_LOGICAL, 2, {T_VALUE, T_VALUE}},
           {"search", T_LOGICAL, 2, {T_VALUE, T_VALUE}},
           {"value", T_VALUE, 1, {T_NODES, 0}}};
#define NFNS ((int)(sizeof fns / sizeof *fns))

/* Describe node x for a type error message. */
static const char *describe(const jp_parser *p, int x) {
  const jp_node *n = &p->nodes[x];
  if (n->kind == JP_LIT) return "a literal";
  if (n->kind == JP_QUERY)
    return n->flags & JP_F_SINGULAR ? "a singular query"
         : n->flags & JP_F_SPACED ? "a non-singular query (no blank space is allowed inside the"
                                    " brackets of a singular query)"
                                  : "a non-singular query";
  if (n->kind == JP_FUNC)
    return fns[n->op].result == T_VALUE ? "a function value" : "a logical function result";
  return "a logical expression";
}

/* Raise unless node x may stand alone as a test expression. */
static void check_test(jp_parser *p, int x) {
  if (ND(p, x).kind == JP_LIT)
    arazzo_jsonpath_fail(p, (size_t)ND(p, x).pos,
                         "a literal cannot be a test by itself (compare it)");
  if (ND(p, x).kind == JP_FUNC && fns[ND(p, x).op].result == T_VALUE)
    arazzo_jsonpath_fail(p, (size_t)ND(p, x).pos,
                         "%s() returns a value, which cannot be a test by itself (compare it)",
                         fns[ND(p, x).op].name);
}

/* Raise unless node x may be an operand of a comparison. */
static void check_comparable(jp_parser *p, int x) {
  if (ND(p, x).kind == JP_QUERY && !(ND(p, x).flags & JP_F_SINGULAR))
    arazzo_jsonpath_fail(p, (size_t)ND(p, x).pos, "%s cannot be compared", describe(p, x));
  if (ND(p, x).kind == JP_FUNC && fns[ND(p, x).op].result != T_VALUE)
    arazzo_jsonpath_fail(p, (size_t)ND(p, x).pos,
                         "%s() returns a logical result, which cannot be compared",
                         fns[ND(p, x).op].name);
}

/* Raise unless argument node x fits parameter k of function fn (2.4.3). */
static void check_arg(jp_parser *p, int fn, int k, int x) {
  const jp_node *a = &p->nodes[x];
  int want = fns[fn].params[k], ok;
  int fres = a->kind == JP_FUNC ? fns[a->op].result : -1;
  if (want == T_VALUE)
    ok = a->kind == JP_LIT || (a->kind == JP_QUERY && (a->flags & JP_F_SINGULAR)) || fres == T_VALUE;
  else if (want == T_NODES)
    ok = a->kind == JP_QUERY || fres == T_NODES;
  else
    ok = a->kind != JP_LIT && fres != T_VALUE;
  if (!ok)
    arazzo_jsonpath_fail(
        p, (size_t)a->pos, "%s() argument %d must be %s, not %s", fns[fn].name, k + 1,
        want == T_VALUE ? "a value (a literal, a singular query or a function value)"
        : want == T_NODES ? "a query" : "a logical expression",
        describe(p, x));
}

/* match()/search() with a literal pattern: translate and compile it once.
 * An invalid I-Regexp (or a non-string literal) never matches (2.4.6). */
static void precompile(jp_parser *p, int x) {
  int pat = ND(p, ND(p, x).a).next;
  size_t len;
  const char *s;
  char err[160];
  arazzo_regex *re;
  if (ND(p, pat).kind != JP_LIT) return;
  if (ND(p, pat).op != JP_L_STR) {
    ND(p, x).flags |= JP_F_BADRE;
    return;
  }
  lua_rawgeti(p->L, p->uv, ND(p, pat).ref);
  s = lua_tolstring(p->L, -1, &len);
  if (!arazzo_regex_push_iregexp(p->L, s, len)) {
    ND(p, x).flags |= JP_F_BADRE;
    lua_pop(p->L, 1);
    return;
  }
  s = lua_tolstring(p->L, -1, &len);
  re = arazzo_regex_compile(p->L, s, len, ND(p, x).op == JP_FN_MATCH, err, sizeof err);
  if (re) {
    ND(p, x).u.re = re;
    ND(p, x).ref = arazzo_jsonpath_add_ref(p); /* the user value keeps the regex alive */
  } else {
    ND(p, x).flags |= JP_F_BADRE;
  }
  lua_pop(p->L, 2);
}

/* Parse the call of the function named s[start..start+nlen) at p->pos ('('). */
static int parse_call(jp_parser *p, size_t start, size_t nlen) {
  int fn, x, last = -1, nargs = 0, arg;
  for (fn = 0; fn < NFNS; fn++)
    if (strlen(fns[fn].name) == nlen && memcmp(fns[fn].name, p->s + start, nlen) == 0) break;
  if (fn == NFNS) {
    lua_pushlstring(p->L, p->s + start, nlen);
    arazzo_jsonpath_fail(p, start, "unknown function '%s'", lua_tostring(p->L, -1));
  }
  x = arazzo_jsonpath_new_node(p, JP_FUNC, start);
  ND(p, x).op = (unsigned char)fn;
  p->pos++;
  skip_ws(p);
  while (peek(p) != ')') {
    if (nargs > 0) {
      if (peek(p) != ',') arazzo_jsonpath_expected(p, "',' or ')'");
      p->pos++;
      skip_ws(p);
    }
    arg = arazzo_jsonpath_parse_or(p, 1);
    if (nargs < fns[fn].nparams) check_arg(p, fn, nargs, arg);
    if (last < 0) ND(p, x).a = arg;
    else ND(p, last).next = arg;
    last = arg;
    nargs++;
    skip_ws(p);
  }
  p->pos++;
  if (nargs != fns[fn].nparams)
    arazzo_jsonpath_fail(p, start, "%s() takes %d argument%s, got %d", fns[fn].name,
                         (int)fns[fn].nparams, fns[fn].nparams == 1 ? "" : "s", nargs);
  if (fn == JP_FN_MATCH || fn == JP_FN_SEARCH) precompile(p, x);
  return x;
}

/* Parse a literal, a query or a function call. */
static int parse_operand(jp_parser *p) {
  int c = peek(p), x;
  size_t start = p->pos, n;
  if (c == '$' || c == '@') return arazzo_jsonpath_parse_query(p);
  if (c == '\'' || c == '"') {
    x = arazzo_jsonpath_new_node(p, JP_LIT, start);
    arazzo_jsonpath_parse_string(p);
    ND(p, x).op = JP_L_STR;
    ND(p, x).ref = arazzo_jsonpath_add_ref(p);
    return x;
  }
  if (c == '-' || is_digit(c)) {
    x = arazzo_jsonpath_new_node(p, JP_LIT, start);
    parse_number(p, x);
    return x;
  }
  if (!(c >= 'a' && c <= 'z'))
    return arazzo_jsonpath_expected(p, "a query, a literal or a function call");
  while ((peek(p) >= 'a' && peek(p) <= 'z') || is_digit(peek(p)) || peek(p) == '_') p->pos++;
  n = p->pos - start;
  if (peek(p) == '(') return parse_call(p, start, n);
  x = arazzo_jsonpath_new_node(p, JP_LIT, start);
  if (n == 4 && memcmp(p->s + start, "true", 4) == 0) ND(p, x).op = JP_L_TRUE;
  else if (n == 5 && memcmp(p->s + start, "false", 5) == 0) ND(p, x).op = JP_L_FALSE;
  else if (n == 4 && memcmp(p->s + start, "null", 4) == 0) ND(p, x).op = JP_L_NULL;
  else {
    lua_pushlstring(p->L, p->s + start, n);
    arazzo_jsonpath_fail(p, start,
                         "unknown name '%s' (queries start with '@' or '$', functions need '(')",
                         lua_tostring(p->L, -1));
  }
  return x;
}

/* Consume a comparison operator; returns JP_EQ.. or -1 (nothing consumed). */
static int parse_cmp_op(jp_parser *p) {
  const char *s = p->s + p->pos;
  size_t left = p->len - p->pos;
  int op = -1;
  if (left >= 2 && s[1] == '=')
    op = s[0] == '=' ? JP_EQ : s[0] == '!' ? JP_NE : s[0] == '<' ? JP_LE : s[0] == '>' ? JP_GE : -1;
  if (op >= 0) {
    p->pos += 2;
    if (p->goessner && (op == JP_EQ || op == JP_NE) && peek(p) == '=') p->pos++; /* === !== */
    return op;
  }
  if (left >= 1 && (s[0] == '<' || s[0] == '>')) {
    p->pos++;
    return s[0] == '<' ? JP_LT : JP_GT;
  }
  if (left >= 1 && s[0] == '=')
    arazzo_jsonpath_fail(p, p->pos, "'=' is not an operator (use '==')");
  return -1;
}

/* After a negated or parenthesized expression: refuse a comparison. */
static void refuse_comparison(jp_parser *p, int neg) {
  size_t save = p->pos, at;
  skip_ws(p);
  at = p->pos;
  if (parse_cmp_op(p) >= 0)
    arazzo_jsonpath_fail(p, at, neg ? "a negated expression cannot be compared"
                                    : "a parenthesized expression cannot be compared");
  p->pos = save;
}

/* basic-expr: paren-expr / comparison-expr / test-expr. In a function
 * argument (arg), a bare literal or function value is returned as is. */
static int parse_basic(jp_parser *p, int arg) {
  size_t start = p->pos;
  int x, c = peek(p), op;
  if (++p->nesting > JP_MAX_NESTING)
    arazzo_jsonpath_fail(p, start, "expression nested too deeply (the limit is %d levels)",
                         JP_MAX_NESTING);
  if (c == '!' || c == '(') {
    if (c == '!') {
      p->pos++;
      skip_ws(p);
    }
    if (peek(p) == '(') {
      p->pos++;
      skip_ws(p);
      x = arazzo_jsonpath_parse_or(p, 0);
      skip_ws(p);
      if (peek(p) != ')') arazzo_jsonpath_expected(p, "')'");
      p->pos++;
    } else {
      x = parse_operand(p);
      check_test(p, x);
    }
    if (c == '!') {
      int n = arazzo_jsonpath_new_node(p, JP_NOT, start);
      ND(p, n).a = x;
      x = n;
    }
    refuse_comparison(p, c == '!');
  } else {
    size_t save;
    x = parse_operand(p);
    save = p->pos;
    skip_ws(p);
    if ((op = parse_cmp_op(p)) >= 0) {
      int r, cmp;
      check_comparable(p, x);
      skip_ws(p);
      r = parse_operand(p);
      check_comparable(p, r);
      cmp = arazzo_jsonpath_new_node(p, JP_CMP, start);
      ND(p, cmp).op = (unsigned char)op;
      ND(p, cmp).a = x;
      ND(p, x).next = r;
      x = cmp;
    } else {
      p->pos = save;
      if (!arg) check_test(p, x);
    }
  }
  p->nesting--;
  return x;
}

/* Parse operands joined by the two-character operator tok ("&&" or "||")
 * into a node of kind (JP_AND/JP_OR); one operand is returned as is. */
static int parse_chain(jp_parser *p, int arg, const char *tok, int kind) {
  int first = kind == JP_OR ? parse_chain(p, arg, "&&", JP_AND) : parse_basic(p, arg);
  int last = first, x = -1, r;
  for (;;) {
    size_t save = p->pos;
    skip_ws(p);
    if (p->len - p->pos < 2 || p->s[p->pos] != tok[0] || p->s[p->pos + 1] != tok[1]) {
      p->pos = save;
      break;
    }
    if (x < 0) {
      check_test(p, first);
      x = arazzo_jsonpath_new_node(p, kind, (size_t)ND(p, first).pos);
      ND(p, x).a = first;
    }
    p->pos += 2;
    skip_ws(p);
    r = kind == JP_OR ? parse_chain(p, 0, "&&", JP_AND) : parse_basic(p, 0);
    ND(p, last).next = r;
    last = r;
  }
  return x < 0 ? first : x;
}

int arazzo_jsonpath_parse_or(jp_parser *p, int arg) { return parse_chain(p, arg, "||", JP_OR); }
