/* expr.c: lex runtime expressions and compile their references (sources,
 * names, JSON pointers, accessors) into program steps (expr_prog.c builds
 * the program; expr_cond.c compiles conditions and templates around them).
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
 * - Errors: "<what> at column N", N the 1-based character (UTF-8 code point)
 *   column of the offending character. Limits: 1 MiB of text, 65536 nodes
 *   and 65536 reference steps. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "expr_internal.h"

static const char *const source_names[] = {"url",     "method",  "statusCode", "request",
                                           "response", "inputs",  "outputs",    "steps",
                                           "workflows", "sourceDescriptions", "components", NULL};

/* ---- character classes ---------------------------------------------------- */
static int is_name(int c) { return is_id(c) || c == '.'; }
static int is_acc(int c) { return is_id(c) || c >= 0x80; }
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
int arazzo_expr_column(const char *s, size_t pos) {
  size_t i;
  int col = 1;
  for (i = 0; i < pos; i++)
    if ((s[i] & 0xC0) != 0x80) col++;
  return col;
}

/* arazzo_expr_column relative to the last position asked for (nodes are created
 * near each other), so long texts do not cost quadratic time. */
int arazzo_expr_column_at(parser *p, size_t pos) {
  if (pos < p->colpos) p->colnum -= arazzo_expr_column(p->s + pos, p->colpos - pos) - 1;
  else p->colnum += arazzo_expr_column(p->s + p->colpos, pos - p->colpos) - 1;
  p->colpos = pos;
  return p->colnum;
}

/* Record the first error (message and byte position); returns -1. */
int arazzo_expr_fail(parser *p, size_t pos, const char *fmt, ...) {
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
int arazzo_expr_unexpected(parser *p) {
  size_t st = p->pos, e = st;
  int c = CH(p, st);
  if (is_id(c)) {
    while (e < p->len && is_id(CH(p, e))) e++;
    return arazzo_expr_fail(p, st, "unexpected '%.*s'", clip(e - st), p->s + st);
  }
  if (is_ws(c)) return arazzo_expr_fail(p, st, "unexpected whitespace");
  if (c > 0x20 && c < 0x7f) return arazzo_expr_fail(p, st, "unexpected character '%c'", c);
  return arazzo_expr_fail(p, st, "unexpected byte 0x%02x", (unsigned)c);
}

size_t arazzo_expr_scan(parser *p, int (*cls)(int)) {
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

/* Intern an RFC 6901 reference token with ~0/~1 decoded (already validated). */
static int intern_token(parser *p, const char *s, size_t n) {
  luaL_Buffer b;
  size_t i;
  if (!memchr(s, '~', n)) return arazzo_expr_intern(p, s, n);
  luaL_buffinit(p->L, &b);
  for (i = 0; i < n; i++) {
    if (s[i] == '~') luaL_addchar(&b, s[++i] == '0' ? '~' : '/');
    else luaL_addchar(&b, s[i]);
  }
  luaL_pushresult(&b);
  return arazzo_expr_intern_top(p);
}

/* Parse '#' + JSON pointer (ends where the context says); one token step
 * each, pre-decoded, with its array index precomputed. */
static int parse_pointer(parser *p, int cx, int ni) {
  const char *s = p->s;
  size_t ps = ++p->pos, pe = ps, i, ts, te;
  int implicit;
  while (pe < p->len && ptr_char(cx, CH(p, pe))) pe++;
  /* `#access_token` (no '/') is seen in real documents: lenient mode reads
   * it as `#/access_token`; the token loop below starts one byte early, on
   * the '#', which it never reads. */
  implicit = pe > ps && s[ps] != '/';
  if (implicit && !p->lenient_opt)
    return arazzo_expr_fail(p, ps, "a JSON pointer must be empty or start with '/'");
  for (i = ps; i < pe; i++)
    if (s[i] == '~' && (i + 1 >= pe || (s[i + 1] != '0' && s[i + 1] != '1')))
      return arazzo_expr_fail(p, i, "'~' in a JSON pointer must be followed by '0' or '1'");
  if (implicit) {
    NODE(p, ni)->flags |= AXF_LENIENT;
    p->lenient_used = 1;
    lua_pushliteral(p->L, "/");
    lua_pushlstring(p->L, s + ps, pe - ps);
    lua_concat(p->L, 2);
    NODE(p, ni)->ptr = arazzo_expr_intern_top(p);
  } else {
    NODE(p, ni)->ptr = arazzo_expr_intern(p, s + ps, pe - ps);
  }
  for (ts = implicit ? ps - 1 : ps; ts < pe; ts = te) {
    int key;
    for (te = ts + 1; te < pe && s[te] != '/'; te++) {}
    key = intern_token(p, s + ts + 1, te - ts - 1);
    if (arazzo_expr_add_op(p, AXS_TOK, AXW_AT, key, arazzo_expr_intern(p, s + ps, te - ps),
                           arazzo_expr_token_index(s + ts + 1, te - ts - 1)) < 0)
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
int arazzo_expr_parse_string(parser *p) {
  char q = p->s[p->pos];
  size_t open = p->pos, i = p->pos + 1;
  luaL_Buffer b;
  luaL_buffinit(p->L, &b);
  for (;;) {
    char c;
    if (i >= p->len) {
      luaL_pushresult(&b);
      lua_pop(p->L, 1);
      return arazzo_expr_fail(p, open, "unterminated string");
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
  return arazzo_expr_intern_top(p);
}

/* Accessors after a reference: .name, and with brackets also [n], ['k'],
 * ["k"]. In a jscondition .length becomes the length step. */
int arazzo_expr_parse_accessors(parser *p, int brackets) {
  size_t as = p->pos;
  for (;;) {
    size_t ks;
    int key, code = AXS_TOK;
    lua_Integer index = -1;
    if (AT(p, '.')) {
      size_t n;
      ks = ++p->pos;
      n = arazzo_expr_scan(p, is_acc);
      if (n == 0) {
        if (!brackets) return p->pos--, 0;
        return arazzo_expr_fail(p, ks, "expected a member name after '.'");
      }
      key = arazzo_expr_intern(p, p->s + ks, n);
      index = arazzo_expr_token_index(p->s + ks, n);
      if (p->js && word_is(p->s + ks, n, "length")) code = AXS_LEN;
    } else if (brackets && AT(p, '[')) {
      ks = ++p->pos;
      if (p->pos < p->len && is_digit(CH(p, p->pos))) {
        size_t n = arazzo_expr_scan(p, is_digit);
        if ((index = arazzo_expr_token_index(p->s + ks, n)) < 0)
          return arazzo_expr_fail(p, ks, "invalid index '%.*s'", clip(n), p->s + ks);
        key = arazzo_expr_intern(p, p->s + ks, n);
      } else if (AT(p, '\'') || AT(p, '"')) {
        if ((key = arazzo_expr_parse_string(p)) < 0) return -1;
      } else {
        return arazzo_expr_fail(p, ks, "expected an index or a quoted key after '['");
      }
      if (!AT(p, ']')) return arazzo_expr_fail(p, p->pos, "expected ']'");
      p->pos++;
    } else {
      return 0;
    }
    if (arazzo_expr_add_op(p, code, AXW_AT, key, arazzo_expr_intern(p, p->s + as, p->pos - as), index) < 0) return -1;
  }
}

/* ---- runtime expressions ---------------------------------------------------- */

static int expect_dot(parser *p, const char *after) {
  if (AT(p, '.')) return p->pos++, 0;
  return arazzo_expr_fail(p, p->pos, "expected '.' after '%s'", after);
}

static int parse_header(parser *p, int cx, int ni, const char *sn) {
  size_t ns, n, i;
  int arg, hk = arazzo_expr_intern(p, "header", 6);
  luaL_Buffer b;
  NODE(p, ni)->field = hk;
  if (!AT(p, '.')) return arazzo_expr_fail(p, p->pos, "expected '.' after '$%s.header'", sn);
  ns = ++p->pos;
  while (p->pos < p->len && header_char(cx, CH(p, p->pos))) p->pos++;
  if (cx == CX_BARE)
    while (p->pos > ns && p->s[p->pos - 1] == '.') p->pos--;
  if ((n = p->pos - ns) == 0) return arazzo_expr_fail(p, ns, "expected a header name after '$%s.header.'", sn);
  arg = NODE(p, ni)->name = arazzo_expr_intern(p, p->s + ns, n);
  if (arazzo_expr_add_op(p, AXS_KEY, AXW_NOHEADER, hk, arg, -1) < 0) return -1;
  luaL_buffinit(p->L, &b);
  for (i = 0; i < n; i++) {
    char c = p->s[ns + i];
    luaL_addchar(&b, (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c);
  }
  luaL_pushresult(&b);
  return arazzo_expr_add_op(p, AXS_KEY, AXW_NOHEADER, arazzo_expr_intern_top(p), arg, -1);
}

/* $request. / $response. + header.<token> | query.<name> | path.<name> | body */
static int parse_http(parser *p, int cx, int ni, int src) {
  const char *sn = source_names[src];
  size_t ws, w, n;
  int arg, field, what;
  if (expect_dot(p, src == AXR_REQUEST ? "$request" : "$response") < 0) return -1;
  ws = p->pos;
  w = arazzo_expr_scan(p, is_id);
  if (arazzo_expr_add_key(p, sn, src == AXR_REQUEST ? AXW_NOREQ : AXW_NORESP, 0) < 0) return -1;
  if (word_is(p->s + ws, w, "header")) return parse_header(p, cx, ni, sn);
  if (word_is(p->s + ws, w, "headers") && p->lenient_opt) { /* `$response.headers.X`, seen in real documents */
    NODE(p, ni)->flags |= AXF_LENIENT;
    p->lenient_used = 1;
    return parse_header(p, cx, ni, sn);
  }
  if (word_is(p->s + ws, w, "body")) {
    NODE(p, ni)->field = arazzo_expr_intern(p, "body", 4);
    if (arazzo_expr_add_key(p, "body", AXW_NOBODY, 0) < 0) return -1;
    if (AT(p, '#')) return opt_pointer(p, cx, ni);
    if (cx == CX_COND || !AT(p, '.') || p->pos + 1 >= p->len || !is_acc(CH(p, p->pos + 1))) return 0;
    NODE(p, ni)->flags |= AXF_LENIENT;
    p->lenient_used = 1;
    return arazzo_expr_parse_accessors(p, 0);
  }
  if (!word_is(p->s + ws, w, "query") && !word_is(p->s + ws, w, "path"))
    return arazzo_expr_fail(p, ws, "expected 'header', 'query', 'path' or 'body' after '$%s.'", sn);
  what = p->s[ws] == 'q' ? AXW_NOQUERY : AXW_NOPATH;
  field = NODE(p, ni)->field = arazzo_expr_intern(p, p->s + ws, w);
  if (expect_dot(p, what == AXW_NOQUERY ? "query" : "path") < 0) return -1;
  ws = p->pos;
  if ((n = scan_name(p, cx)) == 0)
    return arazzo_expr_fail(p, ws, "expected a parameter name after '$%s.%s.'", sn,
                            what == AXW_NOQUERY ? "query" : "path");
  arg = NODE(p, ni)->name = arazzo_expr_intern(p, p->s + ws, n);
  if (arazzo_expr_add_op(p, AXS_KEY, what, field, arg, -1) < 0 || arazzo_expr_add_op(p, AXS_KEY, what, arg, arg, -1) < 0)
    return -1;
  return opt_pointer(p, cx, ni);
}

/* $inputs.<name> / $outputs.<name> [#ptr] */
static int parse_io(parser *p, int cx, int ni, int src) {
  const char *sn = source_names[src];
  size_t ns, n;
  if (!AT(p, '.') && cx != CX_BARE) { /* the whole object, as in `context: $inputs` (lenient) */
    NODE(p, ni)->flags |= AXF_LENIENT;
    p->lenient_used = 1;
    if (arazzo_expr_add_key(p, sn, AXW_NOTSET, 0) < 0) return -1;
    return opt_pointer(p, cx, ni);
  }
  if (expect_dot(p, src == AXR_INPUTS ? "$inputs" : "$outputs") < 0) return -1;
  ns = p->pos;
  if ((n = scan_name(p, cx)) == 0) return arazzo_expr_fail(p, ns, "expected a name after '$%s.'", sn);
  if (arazzo_expr_add_key(p, sn, AXW_NOTSET, 0) < 0 || arazzo_expr_add_name(p, ni, ns, n, AXW_NOTSET) < 0) return -1;
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
  if ((idl = arazzo_expr_scan(p, is_id)) == 0)
    return arazzo_expr_fail(p, is, "expected a %s id after '$%s.'", wf ? "workflow" : "step", sn);
  id = NODE(p, ni)->id = arazzo_expr_intern(p, p->s + is, idl);
  if (!AT(p, '.')) {
    if (wf)
      return arazzo_expr_fail(p, p->pos, "expected '.inputs.<name>' or '.outputs.<name>' after '$workflows.%.*s'",
                              clip(idl), p->s + is);
    return arazzo_expr_fail(p, p->pos, "expected '.outputs.<name>' after '$steps.%.*s'", clip(idl), p->s + is);
  }
  ns = ++p->pos;
  if ((n = scan_name(p, cx)) == 0) {
    if (wf)
      return arazzo_expr_fail(p, ns, "expected 'inputs.<name>' or 'outputs.<name>' after '$workflows.%.*s.'",
                              clip(idl), p->s + is);
    return arazzo_expr_fail(p, ns, "expected 'outputs.<name>' after '$steps.%.*s.'", clip(idl), p->s + is);
  }
  if (wf && n > 7 && memcmp(p->s + ns, "inputs.", 7) == 0) in = 1, ns += 7, n -= 7;
  else if (n > 8 && memcmp(p->s + ns, "outputs.", 8) == 0) ns += 8, n -= 8;
  else if (wf)
    return arazzo_expr_fail(p, ns, "expected 'inputs.<name>' or 'outputs.<name>' after '$workflows.%.*s.'",
                            clip(idl), p->s + is);
  else if (word_is(p->s + ns, n, "outputs") || word_is(p->s + ns, n, "outputs."))
    return arazzo_expr_fail(p, p->pos, "expected an output name after '.outputs.'");
  else NODE(p, ni)->flags |= AXF_LENIENT, p->lenient_used = 1;
  NODE(p, ni)->field = arazzo_expr_intern(p, in ? "inputs" : "outputs", in ? 6 : 7);
  if (arazzo_expr_add_key(p, sn, wf ? AXW_WF_NOTRUN : AXW_STEP_NOTRUN, id) < 0 ||
      arazzo_expr_add_op(p, AXS_KEY, wf ? AXW_WF_NOTRUN : AXW_STEP_NOTRUN, id, id, -1) < 0 ||
      arazzo_expr_add_op(p, AXS_KEY, wf ? (in ? AXW_WF_NOINPUTS : AXW_WF_NOOUTPUTS) : AXW_STEP_NOOUT,
                         NODE(p, ni)->field, id, -1) < 0 ||
      arazzo_expr_add_name(p, ni, ns, n, in ? AXW_NOINPUT : AXW_NOOUTPUT) < 0)
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
  if (sl == 0) return arazzo_expr_fail(p, ns, "expected a source description name after '$sourceDescriptions.'");
  id = NODE(p, ni)->id = arazzo_expr_intern(p, p->s + ns, sl);
  if (arazzo_expr_add_key(p, "sourceDescriptions", AXW_NOSOURCE, id) < 0 ||
      arazzo_expr_add_op(p, AXS_KEY, AXW_NOSOURCE, id, id, -1) < 0)
    return -1;
  if (!dot) return 0;
  if (n == sl + 1)
    return arazzo_expr_fail(p, p->pos, "expected a field after '$sourceDescriptions.%.*s.'", clip(sl), p->s + ns);
  NODE(p, ni)->name = arazzo_expr_intern(p, dot + 1, n - sl - 1);
  return arazzo_expr_add_op(p, AXS_KEY, AXW_NOFIELD, NODE(p, ni)->name, NODE(p, ni)->name, -1);
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
    return arazzo_expr_fail(p, ns,
                            "expected 'parameters', 'successActions', 'failureActions' or 'inputs' after '$components.'");
  if (!dot || n == kl + 1)
    return arazzo_expr_fail(p, p->pos, "expected a component name after '$components.%s.'", kinds[k]);
  NODE(p, ni)->field = arazzo_expr_intern(p, kinds[k], kl);
  NODE(p, ni)->name = arazzo_expr_intern(p, dot + 1, n - kl - 1);
  arg = arazzo_expr_intern(p, p->s + ns, n);
  if (arazzo_expr_add_key(p, "components", AXW_NOCOMPONENTS, 0) < 0) return -1;
  if (arazzo_expr_add_op(p, AXS_KEY, AXW_NOCOMPONENT, NODE(p, ni)->field, arg, -1) < 0) return -1;
  return arazzo_expr_add_op(p, AXS_KEY, AXW_NOCOMPONENT, NODE(p, ni)->name, arg, -1);
}

/* Parse one runtime expression starting at the '$' at p->pos into a
 * reference node (*out). Returns 0, or -1 with the error recorded. */
int arazzo_expr_parse_ref(parser *p, int cx, int *out) {
  size_t start = p->pos, ws = start + 1, w;
  int src, ni, rc;
  p->pos++;
  if ((w = arazzo_expr_scan(p, is_id)) == 0) return arazzo_expr_fail(p, ws, "expected a source name after '$'");
  for (src = 0; source_names[src] && !word_is(p->s + ws, w, source_names[src]); src++) {}
  if (!source_names[src]) return arazzo_expr_fail(p, start, "unknown source '$%.*s'", clip(w), p->s + ws);
  p->known = 1;
  if ((ni = arazzo_expr_new_node(p, AXN_REF, start)) < 0) return -1;
  NODE(p, ni)->src = (unsigned char)src;
  NODE(p, ni)->a = p->nops;
  switch (src) {
    case AXR_URL: case AXR_METHOD: case AXR_STATUS:
      rc = arazzo_expr_add_key(p, source_names[src], AXW_NOTSET, 0);
      break;
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
