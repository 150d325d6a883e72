/* expr.c: compile runtime expressions, templates and conditions into a
 * compact program (nodes, reference steps, interned strings) evaluated by
 * expr_eval.c.
 * Licence: MIT (see LICENSE).
 *
 * Grammar and decisions (the semantics of evaluation are in expr_eval.c):
 * - Sources: $url $method $statusCode; $request./$response. + header.<token>
 *   (RFC 7230 tchar, looked up lower-cased) | query.<name> | path.<name> |
 *   body; $inputs.<name>, $outputs.<name>; $steps.<id>.outputs.<name>;
 *   $workflows.<id>.inputs|outputs.<name>; $sourceDescriptions.<name>
 *   [.<field or operationId>]; $components.parameters|successActions|
 *   failureActions|inputs.<key>. Ids are [A-Za-z0-9_-]+, names
 *   [A-Za-z0-9._$-]+. '#' + RFC 6901 pointer may follow body, query, path,
 *   inputs, outputs, steps and workflows references; its tokens are decoded
 *   and their array indexes computed here.
 * - Where a reference ends: a whole expression runs to the end of the text
 *   (anything else is an error); in a template at '}'; in a condition at
 *   whitespace or one of ) = ! < > & | , (a pointer too); bare (lenient)
 *   references at a character that cannot continue the name, pointers at
 *   whitespace, quotes, backquote and , ; ( ) [ ] { } < > & | = ?.
 * - Dots: a name that allows dots takes them (`$inputs.a.b` is the name
 *   "a.b"; evaluation tries that key, then walks a, b). After a fixed word
 *   (body, statusCode, url, method) or a ']' a '.' starts an accessor, so
 *   `$response.body.status` reads member status. In conditions accessors are
 *   .name, [n], ['k'], ["k"]; elsewhere `$response.body.a.b` is accepted as
 *   lenient dotted access.
 * - Lenient forms (accepted, and reported by e:lenient() and refs()):
 *   bare references in templates (opts.lenient only), $steps.<id>.<name>
 *   (1.0.0), names with dots or brackets (page[size], items[0].id), dotted
 *   access into a body, $inputs / $outputs as a whole, $-paths of a
 *   jscondition. Double-quoted strings in conditions are not lenient.
 * - Value classification ("value" mode): one whole expression, else a
 *   template when the text has '{$' (errors inside are errors), else with
 *   opts.lenient a template when it has a bare reference, else an error
 *   when it starts with a known $source, else a literal ($5, $expand).
 * - Conditions: literals true false null, JSON numbers (integers stay
 *   integers), '...' ('' is a quote) and "..." (\" and \\ escapes; other
 *   backslashes stay). Nesting of parentheses and operators is limited to
 *   ARAZZO_EXPR_MAX_DEPTH; && and || chains are flat (n-ary) nodes.
 * - Errors: "<what> at column N", N the 1-based character (UTF-8 code point)
 *   column of the offending character. Limits: 1 MiB of text, 65536 nodes
 *   and 65536 reference steps. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arazzo.h"

#define MAX_TEXT (1 << 20) /* bytes of source text */
#define MAX_PARTS 65536    /* nodes, and reference steps */
#define CLIP 40            /* longest quoted fragment in an error message */

enum { M_EXPRESSION, M_TEMPLATE, M_VALUE, M_CONDITION, M_JSCONDITION };
/* Where a runtime expression is embedded decides where it ends: the whole
 * text, a {$...} template slot, bare text (lenient), or a condition. */
enum { CX_EXPR, CX_TMPL, CX_BARE, CX_COND };
enum { OP_AND = 6, OP_OR = 7 };

/* Compiler state. Nodes and steps grow in userdata kept at fixed stack slots
 * (nslot, oslot) so that a memory error cannot leak them; strings go to the
 * string table (strs, deduplicated through dedupe), which becomes the Expr's
 * user value. Every parse_* / compile_* function returns 0 (or a node index),
 * or -1 with the first error recorded here; none leaves anything on the Lua
 * stack ([-0,+0]) and none raises except on memory errors. */
typedef struct {
  lua_State *L;
  const char *s;
  size_t len, pos;
  int js, lenient_opt, lenient_used, known, depth, failed;
  int strs, dedupe, nslot, oslot, nstr; /* stack slots, string count */
  arazzo_expr_node *nodes;
  arazzo_expr_op *ops;
  int nnodes, capnodes, nops, capops;
  size_t errpos, colpos; /* error position; column cache position */
  int colnum;            /* column of colpos */
  char err[240];
} parser;

#define NODE(p, i) (&(p)->nodes[i])
#define CH(p, i) ((unsigned char)(p)->s[i])
#define AT(p, c) ((p)->pos < (p)->len && (p)->s[(p)->pos] == (c))

static const char *const source_names[] = {"url",     "method",  "statusCode", "request",
                                           "response", "inputs",  "outputs",    "steps",
                                           "workflows", "sourceDescriptions", "components", NULL};

/* ---- character classes ---------------------------------------------------- */
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_id(int c) { return is_alpha(c) || is_digit(c) || c == '_' || c == '-'; }
static int is_name(int c) { return is_id(c) || c == '.'; }
static int is_acc(int c) { return is_id(c) || c >= 0x80; }
static int is_ws(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static int is_cond_term(int c) { return is_ws(c) || (c && strchr(")=!<>&|,", c)); }
static int is_bare_term(int c) { return c <= ' ' || c == 127 || strchr("\"'`,;()[]{}<>&|=?", c); }
static int is_tchar(int c) { return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c)); }

static int header_char(int cx, int c) {
  if (!is_tchar(c)) return 0;
  if (cx == CX_COND) return !is_cond_term(c) && c != '\'';
  return cx == CX_BARE ? !is_bare_term(c) : 1;
}

static int ptr_char(int cx, int c) {
  switch (cx) {
    case CX_EXPR: return 1;
    case CX_TMPL: return c != '}';
    case CX_COND: return !is_cond_term(c);
    default: return !is_bare_term(c);
  }
}

/* 1-based character column of byte offset pos (UTF-8 continuation bytes do
 * not count). */
static int column_of(const char *s, size_t pos) {
  size_t i;
  int col = 1;
  for (i = 0; i < pos; i++)
    if ((s[i] & 0xC0) != 0x80) col++;
  return col;
}

/* column_of relative to the last position asked for (nodes are created
 * near each other), so long texts do not cost quadratic time. */
static int column_at(parser *p, size_t pos) {
  if (pos < p->colpos) p->colnum -= column_of(p->s + pos, p->colpos - pos) - 1;
  else p->colnum += column_of(p->s + p->colpos, pos - p->colpos) - 1;
  p->colpos = pos;
  return p->colnum;
}

static int word_is(const char *s, size_t n, const char *w) {
  return strlen(w) == n && memcmp(s, w, n) == 0;
}

static int clip(size_t n) { return n > CLIP ? CLIP : (int)n; }

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
/* Record the first error (message and byte position); returns -1. */
static int fail(parser *p, size_t pos, const char *fmt, ...) {
  va_list ap;
  if (p->failed) return -1;
  va_start(ap, fmt);
  vsnprintf(p->err, sizeof p->err, fmt, ap);
  va_end(ap);
  p->failed = 1;
  p->errpos = pos;
  return -1;
}

/* Report the character at p->pos as unexpected (a whole word for letters). */
static int unexpected(parser *p) {
  size_t st = p->pos, e = st;
  int c = CH(p, st);
  if (is_id(c)) {
    while (e < p->len && is_id(CH(p, e))) e++;
    return fail(p, st, "unexpected '%.*s'", clip(e - st), p->s + st);
  }
  if (is_ws(c)) return fail(p, st, "unexpected whitespace");
  if (c > 0x20 && c < 0x7f) return fail(p, st, "unexpected character '%c'", c);
  return fail(p, st, "unexpected byte 0x%02x", (unsigned)c);
}

static size_t scan(parser *p, int (*cls)(int)) {
  size_t st = p->pos;
  while (p->pos < p->len && cls(CH(p, p->pos))) p->pos++;
  return p->pos - st;
}

static int name_char(int cx, int c) { return is_name(c) || (c == '$' && cx != CX_BARE); }

/* Scan a name: [A-Za-z0-9._$-] (no '$' in bare text), and outside
 * conditions also bracket groups seen in real documents (page[size],
 * items[0].id, expand[]). In bare text a trailing '.' ends the sentence,
 * not the name. */
static size_t scan_name(parser *p, int cx) {
  size_t st = p->pos, j;
  for (;;) {
    while (p->pos < p->len && name_char(cx, CH(p, p->pos))) p->pos++;
    if (cx == CX_COND || !AT(p, '[')) break;
    for (j = p->pos + 1; j < p->len && name_char(cx, CH(p, j)); j++) {}
    if (j >= p->len || p->s[j] != ']') break;
    p->pos = j + 1;
  }
  if (cx == CX_BARE)
    while (p->pos > st && p->s[p->pos - 1] == '.') p->pos--;
  return p->pos - st;
}

static void skip_ws(parser *p) {
  while (p->pos < p->len && is_ws(CH(p, p->pos))) p->pos++;
}

/* ---- program building ------------------------------------------------------ */

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
static int new_node(parser *p, int type, size_t start) {
  arazzo_expr_node *n;
  if (p->nnodes >= MAX_PARTS) return fail(p, start, "expression has more than %d parts", MAX_PARTS);
  if (p->nnodes == p->capnodes)
    p->nodes = (arazzo_expr_node *)grow(p, p->nodes, p->nnodes, &p->capnodes, sizeof *n, p->nslot);
  n = &p->nodes[p->nnodes];
  memset(n, 0, sizeof *n);
  n->type = (unsigned char)type;
  n->next = -1;
  n->start = (int)start;
  n->col = column_at(p, start);
  n->height = 1;
  return p->nnodes++;
}

/* Append a reference step; returns 0 or -1. */
static int add_op(parser *p, int code, int what, int key, int arg, lua_Integer index) {
  arazzo_expr_op *o;
  if (p->nops >= MAX_PARTS) return fail(p, p->pos, "expression has more than %d parts", MAX_PARTS);
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
static int intern_top(parser *p) {
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

static int intern(parser *p, const char *s, size_t n) {
  lua_pushlstring(p->L, s, n);
  return intern_top(p);
}

static int add_key(parser *p, const char *k, int what, int arg) {
  return add_op(p, AXS_KEY, what, intern(p, k, strlen(k)), arg, -1);
}

/* RFC 6901 array index: "0" or [1-9][0-9]* (at most 18 digits), else -1. */
static lua_Integer token_index(const char *s, size_t n) {
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
  return add_op(p, AXS_TOK, what, intern(p, s, n), arg, token_index(s, n));
}

/* Add the step for a name. A name with dots or brackets (a.b, a[0].b) is
 * looked up whole first; when absent the evaluator walks its segments,
 * which follow as AXS_TOK steps (lenient). */
static int add_name(parser *p, int ni, size_t ns, size_t nl, int what) {
  const char *s = p->s + ns;
  int arg = intern(p, s, nl), k, nseg = 0;
  size_t i = 0, j;
  NODE(p, ni)->name = arg;
  if (!memchr(s, '.', nl) && !memchr(s, '[', nl)) return add_op(p, AXS_KEY, what, arg, arg, -1);
  if (add_op(p, AXS_NAME, what, arg, arg, -1) < 0) return -1;
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

/* Intern an RFC 6901 reference token with ~0/~1 decoded (already validated). */
static int intern_token(parser *p, const char *s, size_t n) {
  luaL_Buffer b;
  size_t i;
  if (!memchr(s, '~', n)) return intern(p, s, n);
  luaL_buffinit(p->L, &b);
  for (i = 0; i < n; i++) {
    if (s[i] == '~') luaL_addchar(&b, s[++i] == '0' ? '~' : '/');
    else luaL_addchar(&b, s[i]);
  }
  luaL_pushresult(&b);
  return intern_top(p);
}

/* Parse '#' + JSON pointer (ends where the context says); one token step
 * each, pre-decoded, with its array index precomputed. */
static int parse_pointer(parser *p, int cx, int ni) {
  const char *s = p->s;
  size_t ps = ++p->pos, pe = ps, i, ts, te;
  while (pe < p->len && ptr_char(cx, CH(p, pe))) pe++;
  if (pe > ps && s[ps] != '/') return fail(p, ps, "a JSON pointer must be empty or start with '/'");
  for (i = ps; i < pe; i++)
    if (s[i] == '~' && (i + 1 >= pe || (s[i + 1] != '0' && s[i + 1] != '1')))
      return fail(p, i, "'~' in a JSON pointer must be followed by '0' or '1'");
  NODE(p, ni)->ptr = intern(p, s + ps, pe - ps);
  for (ts = ps; ts < pe; ts = te) {
    int key;
    for (te = ts + 1; te < pe && s[te] != '/'; te++) {}
    key = intern_token(p, s + ts + 1, te - ts - 1);
    if (add_op(p, AXS_TOK, AXW_AT, key, intern(p, s + ps, te - ps),
               token_index(s + ts + 1, te - ts - 1)) < 0)
      return -1;
  }
  p->pos = pe;
  return 0;
}

static int opt_pointer(parser *p, int cx, int ni) {
  if (!AT(p, '#')) return 0;
  if (cx == CX_BARE && (p->pos + 1 >= p->len || p->s[p->pos + 1] != '/')) return 0;
  return parse_pointer(p, cx, ni);
}

/* Parse a quoted string ('...' with '' for a quote, or "..." with \" and \\
 * escapes); returns the interned decoded text's index or -1. */
static int parse_string(parser *p) {
  char q = p->s[p->pos];
  size_t open = p->pos, i = p->pos + 1;
  luaL_Buffer b;
  luaL_buffinit(p->L, &b);
  for (;;) {
    char c;
    if (i >= p->len) {
      luaL_pushresult(&b);
      lua_pop(p->L, 1);
      return fail(p, open, "unterminated string");
    }
    c = p->s[i];
    if (c == q) {
      if (q == '\'' && i + 1 < p->len && p->s[i + 1] == '\'') {
        luaL_addchar(&b, '\'');
        i += 2;
        continue;
      }
      break;
    }
    if (q == '"' && c == '\\' && i + 1 < p->len && (p->s[i + 1] == '"' || p->s[i + 1] == '\\')) c = p->s[++i];
    luaL_addchar(&b, c);
    i++;
  }
  luaL_pushresult(&b);
  p->pos = i + 1;
  return intern_top(p);
}

/* Accessors after a reference: .name, and with brackets also [n], ['k'],
 * ["k"]. In a jscondition .length becomes the length step. */
static int parse_accessors(parser *p, int brackets) {
  size_t as = p->pos;
  for (;;) {
    size_t ks;
    int key, code = AXS_TOK;
    lua_Integer index = -1;
    if (AT(p, '.')) {
      size_t n;
      ks = ++p->pos;
      n = scan(p, is_acc);
      if (n == 0) {
        if (!brackets) return p->pos--, 0;
        return fail(p, ks, "expected a member name after '.'");
      }
      key = intern(p, p->s + ks, n);
      index = token_index(p->s + ks, n);
      if (p->js && word_is(p->s + ks, n, "length")) code = AXS_LEN;
    } else if (brackets && AT(p, '[')) {
      ks = ++p->pos;
      if (p->pos < p->len && is_digit(CH(p, p->pos))) {
        size_t n = scan(p, is_digit);
        if ((index = token_index(p->s + ks, n)) < 0) return fail(p, ks, "invalid index '%.*s'", clip(n), p->s + ks);
        key = intern(p, p->s + ks, n);
      } else if (AT(p, '\'') || AT(p, '"')) {
        if ((key = parse_string(p)) < 0) return -1;
      } else {
        return fail(p, ks, "expected an index or a quoted key after '['");
      }
      if (!AT(p, ']')) return fail(p, p->pos, "expected ']'");
      p->pos++;
    } else {
      return 0;
    }
    if (add_op(p, code, AXW_AT, key, intern(p, p->s + as, p->pos - as), index) < 0) return -1;
  }
}

/* ---- runtime expressions ---------------------------------------------------- */

static int expect_dot(parser *p, const char *after) {
  if (AT(p, '.')) return p->pos++, 0;
  return fail(p, p->pos, "expected '.' after '%s'", after);
}

static int parse_header(parser *p, int cx, int ni, const char *sn) {
  size_t ns, n, i;
  int arg, hk = intern(p, "header", 6);
  luaL_Buffer b;
  NODE(p, ni)->field = hk;
  if (!AT(p, '.')) return fail(p, p->pos, "expected '.' after '$%s.header'", sn);
  ns = ++p->pos;
  while (p->pos < p->len && header_char(cx, CH(p, p->pos))) p->pos++;
  if (cx == CX_BARE)
    while (p->pos > ns && p->s[p->pos - 1] == '.') p->pos--;
  if ((n = p->pos - ns) == 0) return fail(p, ns, "expected a header name after '$%s.header.'", sn);
  arg = NODE(p, ni)->name = intern(p, p->s + ns, n);
  if (add_op(p, AXS_KEY, AXW_NOHEADER, hk, arg, -1) < 0) return -1;
  luaL_buffinit(p->L, &b);
  for (i = 0; i < n; i++) {
    char c = p->s[ns + i];
    luaL_addchar(&b, (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c);
  }
  luaL_pushresult(&b);
  return add_op(p, AXS_KEY, AXW_NOHEADER, intern_top(p), arg, -1);
}

/* $request. / $response. + header.<token> | query.<name> | path.<name> | body */
static int parse_http(parser *p, int cx, int ni, int src) {
  const char *sn = source_names[src];
  size_t ws, w, n;
  int arg, field, what;
  if (expect_dot(p, src == AXR_REQUEST ? "$request" : "$response") < 0) return -1;
  ws = p->pos;
  w = scan(p, is_id);
  if (add_key(p, sn, src == AXR_REQUEST ? AXW_NOREQ : AXW_NORESP, 0) < 0) return -1;
  if (word_is(p->s + ws, w, "header")) return parse_header(p, cx, ni, sn);
  if (word_is(p->s + ws, w, "body")) {
    NODE(p, ni)->field = intern(p, "body", 4);
    if (add_key(p, "body", AXW_NOBODY, 0) < 0) return -1;
    if (AT(p, '#')) return opt_pointer(p, cx, ni);
    if (cx == CX_COND || !AT(p, '.') || p->pos + 1 >= p->len || !is_acc(CH(p, p->pos + 1))) return 0;
    NODE(p, ni)->flags |= AXF_LENIENT;
    p->lenient_used = 1;
    return parse_accessors(p, 0);
  }
  if (!word_is(p->s + ws, w, "query") && !word_is(p->s + ws, w, "path"))
    return fail(p, ws, "expected 'header', 'query', 'path' or 'body' after '$%s.'", sn);
  what = p->s[ws] == 'q' ? AXW_NOQUERY : AXW_NOPATH;
  field = NODE(p, ni)->field = intern(p, p->s + ws, w);
  if (expect_dot(p, what == AXW_NOQUERY ? "query" : "path") < 0) return -1;
  ws = p->pos;
  if ((n = scan_name(p, cx)) == 0)
    return fail(p, ws, "expected a parameter name after '$%s.%s.'", sn, what == AXW_NOQUERY ? "query" : "path");
  arg = NODE(p, ni)->name = intern(p, p->s + ws, n);
  if (add_op(p, AXS_KEY, what, field, arg, -1) < 0 || add_op(p, AXS_KEY, what, arg, arg, -1) < 0) return -1;
  return opt_pointer(p, cx, ni);
}

/* $inputs.<name> / $outputs.<name> [#ptr] */
static int parse_io(parser *p, int cx, int ni, int src) {
  const char *sn = source_names[src];
  size_t ns, n;
  if (!AT(p, '.') && cx != CX_BARE) { /* the whole object, as in `context: $inputs` (lenient) */
    NODE(p, ni)->flags |= AXF_LENIENT;
    p->lenient_used = 1;
    if (add_key(p, sn, AXW_NOTSET, 0) < 0) return -1;
    return opt_pointer(p, cx, ni);
  }
  if (expect_dot(p, src == AXR_INPUTS ? "$inputs" : "$outputs") < 0) return -1;
  ns = p->pos;
  if ((n = scan_name(p, cx)) == 0) return fail(p, ns, "expected a name after '$%s.'", sn);
  if (add_key(p, sn, AXW_NOTSET, 0) < 0 || add_name(p, ni, ns, n, AXW_NOTSET) < 0) return -1;
  return opt_pointer(p, cx, ni);
}

/* $steps.<id>.outputs.<name> [#ptr]; $steps.<id>.<name> is the lenient
 * 1.0.0 form. $workflows.<id>.inputs|outputs.<name> [#ptr]. */
static int parse_steps(parser *p, int cx, int ni, int src) {
  int wf = src == AXR_WORKFLOWS, id, in = 0;
  const char *sn = source_names[src];
  size_t is, ns, n, idl;
  if (expect_dot(p, wf ? "$workflows" : "$steps") < 0) return -1;
  is = p->pos;
  if ((idl = scan(p, is_id)) == 0) return fail(p, is, "expected a %s id after '$%s.'", wf ? "workflow" : "step", sn);
  id = NODE(p, ni)->id = intern(p, p->s + is, idl);
  if (!AT(p, '.')) {
    if (wf) return fail(p, p->pos, "expected '.inputs.<name>' or '.outputs.<name>' after '$workflows.%.*s'", clip(idl), p->s + is);
    return fail(p, p->pos, "expected '.outputs.<name>' after '$steps.%.*s'", clip(idl), p->s + is);
  }
  ns = ++p->pos;
  if ((n = scan_name(p, cx)) == 0) {
    if (wf) return fail(p, ns, "expected 'inputs.<name>' or 'outputs.<name>' after '$workflows.%.*s.'", clip(idl), p->s + is);
    return fail(p, ns, "expected 'outputs.<name>' after '$steps.%.*s.'", clip(idl), p->s + is);
  }
  if (wf && n > 7 && memcmp(p->s + ns, "inputs.", 7) == 0) in = 1, ns += 7, n -= 7;
  else if (n > 8 && memcmp(p->s + ns, "outputs.", 8) == 0) ns += 8, n -= 8;
  else if (wf)
    return fail(p, ns, "expected 'inputs.<name>' or 'outputs.<name>' after '$workflows.%.*s.'", clip(idl), p->s + is);
  else if (word_is(p->s + ns, n, "outputs") || word_is(p->s + ns, n, "outputs."))
    return fail(p, p->pos, "expected an output name after '.outputs.'");
  else NODE(p, ni)->flags |= AXF_LENIENT, p->lenient_used = 1;
  NODE(p, ni)->field = intern(p, in ? "inputs" : "outputs", in ? 6 : 7);
  if (add_key(p, sn, wf ? AXW_WF_NOTRUN : AXW_STEP_NOTRUN, id) < 0 ||
      add_op(p, AXS_KEY, wf ? AXW_WF_NOTRUN : AXW_STEP_NOTRUN, id, id, -1) < 0 ||
      add_op(p, AXS_KEY, wf ? (in ? AXW_WF_NOINPUTS : AXW_WF_NOOUTPUTS) : AXW_STEP_NOOUT, NODE(p, ni)->field, id, -1) < 0 ||
      add_name(p, ni, ns, n, in ? AXW_NOINPUT : AXW_NOOUTPUT) < 0)
    return -1;
  return opt_pointer(p, cx, ni);
}

/* $sourceDescriptions.<name>[.<field or operationId>] */
static int parse_sources(parser *p, int cx, int ni) {
  size_t ns, n, sl;
  const char *dot;
  int id;
  if (expect_dot(p, "$sourceDescriptions") < 0) return -1;
  ns = p->pos;
  n = scan_name(p, cx);
  dot = (const char *)memchr(p->s + ns, '.', n);
  sl = dot ? (size_t)(dot - (p->s + ns)) : n;
  if (sl == 0) return fail(p, ns, "expected a source description name after '$sourceDescriptions.'");
  id = NODE(p, ni)->id = intern(p, p->s + ns, sl);
  if (add_key(p, "sourceDescriptions", AXW_NOSOURCE, id) < 0 || add_op(p, AXS_KEY, AXW_NOSOURCE, id, id, -1) < 0)
    return -1;
  if (!dot) return 0;
  if (n == sl + 1) return fail(p, p->pos, "expected a field after '$sourceDescriptions.%.*s.'", clip(sl), p->s + ns);
  NODE(p, ni)->name = intern(p, dot + 1, n - sl - 1);
  return add_op(p, AXS_KEY, AXW_NOFIELD, NODE(p, ni)->name, NODE(p, ni)->name, -1);
}

/* $components.<parameters|successActions|failureActions|inputs>.<key> */
static int parse_components(parser *p, int cx, int ni) {
  static const char *const kinds[] = {"parameters", "successActions", "failureActions", "inputs", NULL};
  size_t ns, n, kl;
  const char *dot;
  int k, arg;
  if (expect_dot(p, "$components") < 0) return -1;
  ns = p->pos;
  n = scan_name(p, cx);
  dot = (const char *)memchr(p->s + ns, '.', n);
  kl = dot ? (size_t)(dot - (p->s + ns)) : n;
  for (k = 0; kinds[k] && !word_is(p->s + ns, kl, kinds[k]); k++) {}
  if (!kinds[k])
    return fail(p, ns, "expected 'parameters', 'successActions', 'failureActions' or 'inputs' after '$components.'");
  if (!dot || n == kl + 1) return fail(p, p->pos, "expected a component name after '$components.%s.'", kinds[k]);
  NODE(p, ni)->field = intern(p, kinds[k], kl);
  NODE(p, ni)->name = intern(p, dot + 1, n - kl - 1);
  arg = intern(p, p->s + ns, n);
  if (add_key(p, "components", AXW_NOCOMPONENTS, 0) < 0) return -1;
  if (add_op(p, AXS_KEY, AXW_NOCOMPONENT, NODE(p, ni)->field, arg, -1) < 0) return -1;
  return add_op(p, AXS_KEY, AXW_NOCOMPONENT, NODE(p, ni)->name, arg, -1);
}

/* Parse one runtime expression starting at the '$' at p->pos into a
 * reference node (*out). Returns 0, or -1 with the error recorded. */
static int parse_ref(parser *p, int cx, int *out) {
  size_t start = p->pos, ws = start + 1, w;
  int src, ni, rc;
  p->pos++;
  if ((w = scan(p, is_id)) == 0) return fail(p, ws, "expected a source name after '$'");
  for (src = 0; source_names[src] && !word_is(p->s + ws, w, source_names[src]); src++) {}
  if (!source_names[src]) return fail(p, start, "unknown source '$%.*s'", clip(w), p->s + ws);
  p->known = 1;
  if ((ni = new_node(p, AXN_REF, start)) < 0) return -1;
  NODE(p, ni)->src = (unsigned char)src;
  NODE(p, ni)->a = p->nops;
  switch (src) {
    case AXR_URL: case AXR_METHOD: case AXR_STATUS: rc = add_key(p, source_names[src], AXW_NOTSET, 0); break;
    case AXR_REQUEST: case AXR_RESPONSE: rc = parse_http(p, cx, ni, src); break;
    case AXR_INPUTS: case AXR_OUTPUTS: rc = parse_io(p, cx, ni, src); break;
    case AXR_STEPS: case AXR_WORKFLOWS: rc = parse_steps(p, cx, ni, src); break;
    case AXR_SOURCES: rc = parse_sources(p, cx, ni); break;
    default: rc = parse_components(p, cx, ni); break;
  }
  if (rc < 0) return -1;
  NODE(p, ni)->len = (int)(p->pos - start);
  NODE(p, ni)->b = p->nops - NODE(p, ni)->a;
  *out = ni;
  return 0;
}

/* ---- conditions ------------------------------------------------------------- */

static int parse_level(parser *p, int level, int *out);

static int bad_op(parser *p, const char *op, const char *use) {
  return fail(p, p->pos, "unknown operator '%s' (use '%s')", op, use);
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
  return fail(p, at, "nesting deeper than %d levels", ARAZZO_EXPR_MAX_DEPTH);
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
  if ((ni = new_node(p, AXN_NUM, st)) < 0) return -1;
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
  return fail(p, st, "invalid number '%.*s'", clip(i - st), p->s + st);
}

/* A '$' operand: a runtime expression, or in a jscondition a '$'-rooted path
 * into the context value; either may be followed by accessors. */
static int parse_dollar(parser *p, int *out) {
  size_t start = p->pos;
  int ni, c = p->pos + 1 < p->len ? CH(p, p->pos + 1) : 0;
  if (p->js && (c == 0 || c == '.' || c == '[' || is_cond_term(c))) {
    if ((ni = new_node(p, AXN_REF, start)) < 0) return -1;
    NODE(p, ni)->flags = AXF_VALUE | AXF_LENIENT;
    NODE(p, ni)->a = p->nops;
    p->lenient_used = 1;
    p->pos++;
  } else if (parse_ref(p, CX_COND, &ni) < 0) {
    return -1;
  }
  if (parse_accessors(p, 1) < 0) return -1;
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
  if (st >= p->len) return fail(p, st, "expected an operand");
  c = CH(p, st);
  if (c == '(') {
    if (++p->depth > ARAZZO_EXPR_MAX_DEPTH) return depth_error(p, st);
    p->pos++;
    if (parse_level(p, 0, out) < 0) return -1;
    skip_ws(p);
    if (!AT(p, ')')) return fail(p, st, "unbalanced parentheses: '(' is never closed");
    p->pos++;
    p->depth--;
    return 0;
  }
  if (c == '\'' || c == '"') {
    int k = parse_string(p);
    if (k < 0 || (ni = new_node(p, AXN_STR, st)) < 0) return -1;
    NODE(p, ni)->a = k;
  } else if (c == '-' || is_digit(c)) {
    return parse_number(p, out);
  } else if (c == '$') {
    return parse_dollar(p, out);
  } else if (is_id(c)) {
    size_t n = scan(p, is_id);
    int t = word_is(p->s + st, n, "null") ? AXN_NULL : word_is(p->s + st, n, "true") || word_is(p->s + st, n, "false") ? AXN_BOOL : -1;
    if (t < 0) return fail(p, st, "unexpected '%.*s' (strings must be quoted)", clip(n), p->s + st);
    if ((ni = new_node(p, t, st)) < 0) return -1;
    NODE(p, ni)->ival = p->s[st] == 't';
  } else if (strchr(")=<>&|!,", c)) {
    return fail(p, st, "expected an operand");
  } else {
    return unexpected(p);
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
  if (parse_unary(p, &child) < 0 || (ni = new_node(p, AXN_NOT, at)) < 0) return -1;
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
      int ni = new_node(p, AXN_CMP, at);
      if (ni < 0) return -1;
      NODE(p, ni)->op = (unsigned char)op;
      NODE(p, ni)->a = left;
      NODE(p, ni)->b = right;
      if (raise_height(p, ni, left, at) < 0 || raise_height(p, ni, right, at) < 0) return -1;
      left = ni;
      continue;
    }
    if (list < 0) {
      if ((list = new_node(p, op == OP_OR ? AXN_OR : AXN_AND, at)) < 0) return -1;
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
  if (p->pos >= p->len) return fail(p, 0, "empty condition");
  if (parse_level(p, 0, root) < 0) return -1;
  skip_ws(p);
  if (p->pos < p->len) {
    if (AT(p, ')')) return fail(p, p->pos, "unbalanced parentheses: unexpected ')'");
    return unexpected(p);
  }
  return 0;
}

/* ---- expressions, templates, values ------------------------------------------- */

static int compile_expression(parser *p, int *root) {
  if (p->len == 0) return fail(p, 0, "empty expression");
  if (p->s[0] != '$') return fail(p, 0, "a runtime expression must start with '$'");
  if (parse_ref(p, CX_EXPR, root) < 0) return -1;
  return p->pos < p->len ? unexpected(p) : 0;
}

static void link_part(parser *p, int *head, int *tail, int ni) {
  if (*head < 0) *head = ni;
  else NODE(p, *tail)->next = ni;
  *tail = ni;
}

static int add_text(parser *p, int *head, int *tail, size_t from, size_t to) {
  int ni;
  if (from >= to) return 0;
  if ((ni = new_node(p, AXN_TEXT, from)) < 0) return -1;
  NODE(p, ni)->a = intern(p, p->s + from, to - from);
  NODE(p, ni)->len = (int)(to - from);
  link_part(p, head, tail, ni);
  return 0;
}

/* Try a bare (lenient) reference at i; on failure undo everything. */
static int try_bare(parser *p, size_t i, int *ni) {
  int nn = p->nnodes, no = p->nops;
  p->pos = i;
  if (parse_ref(p, CX_BARE, ni) == 0 && !(p->pos < p->len && is_id(CH(p, p->pos)))) {
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
  if ((tn = new_node(p, AXN_TEMPLATE, 0)) < 0) return -1;
  while (i < p->len) {
    if (p->s[i] == '{' && i + 1 < p->len && p->s[i + 1] == '$') {
      if (add_text(p, &head, &tail, lit, i) < 0) return -1;
      p->pos = i + 1;
      if (parse_ref(p, CX_TMPL, &ni) < 0) return -1;
      if (p->pos >= p->len) return fail(p, i, "unterminated '{$' (missing '}')");
      if (!AT(p, '}')) return fail(p, p->pos, "expected '}' to close the '{$' at column %d", column_of(p->s, i));
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
    int rc = parse_ref(p, CX_EXPR, root);
    if (rc == 0 && p->pos == p->len) return *kind = AX_EXPRESSION, 0;
    if (rc == 0) unexpected(p);
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
  if ((*root = new_node(p, AXN_STR, 0)) < 0) return -1;
  NODE(p, *root)->a = intern(p, p->s, p->len);
  return 0;
}

/* ---- Lua API ------------------------------------------------------------------ */

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
static void finish(parser *p, int kind, int root) {
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
  if (len > MAX_TEXT) rc = fail(&p, 0, "text longer than %d bytes", MAX_TEXT);
  else if (mode == M_EXPRESSION) rc = compile_expression(&p, &root);
  else if (mode == M_TEMPLATE) rc = compile_template(&p, &root, &nrefs);
  else if (mode == M_VALUE) rc = compile_value(&p, &kind, &root);
  else rc = compile_condition(&p, &root);
  if (rc < 0) {
    int col = column_of(s, p.errpos);
    lua_pushnil(L);
    lua_pushfstring(L, "%s at column %d", p.err, col);
    lua_pushliteral(L, "expr");
    lua_pushinteger(L, col);
    return 4;
  }
  finish(&p, kind, root);
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
