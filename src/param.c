/* param.c: OpenAPI parameter serialization (style/explode, RFC 6570).
 * Licence: MIT (see LICENSE). */
#include <stdio.h>
#include <string.h>

#include "arazzo.h"

/* ---- OpenAPI parameter serialization --------------------------------------
 * One-variable RFC 6570 expansion following the OpenAPI 3.1.1 "Style
 * Examples" table (which corrects 3.1.0's label row). Choices where the
 * table says n/a or is silent:
 * - null (and nil) is the table's "undefined" column, the same text as "";
 *   an empty array or object is undefined in RFC 6570 and expands to "".
 * - spaceDelimited/pipeDelimited need an array or object and explode false;
 *   deepObject needs explode true (nil means true) and an object, or, as
 *   Stripe's own OpenAPI document uses it, an array or nested values, which
 *   take form_encode's indexed bracket form: q[a][0]=x.
 * - other styles refuse nested arrays/objects inside the value.
 * - cookies: pairs are joined with "; " (RFC 6265), not the table's "&",
 *   which OpenAPI 3.1.1 appendix D calls incorrect for cookies.
 * - allowReserved (query only) keeps RFC 3986 reserved characters and %XX
 *   triples in values, but still escapes '#', '[' and ']', which a query
 *   may not hold; names are always strictly encoded. Headers are never
 *   percent-encoded and refuse CR, LF and NUL. */

enum { IN_PATH, IN_QUERY, IN_HEADER, IN_COOKIE };
enum { ST_SIMPLE, ST_LABEL, ST_MATRIX, ST_FORM, ST_SPACE, ST_PIPE, ST_DEEP };
enum { K_UNDEF, K_PRIM, K_ARRAY, K_OBJECT };

static const char *const in_names[] = {"path", "query", "header", "cookie", NULL};
static const char *const style_names[] = {"simple", "label", "matrix", "form", "spaceDelimited",
                                          "pipeDelimited", "deepObject", NULL};
/* Locations each style may be used in (bit per IN_*). */
static const int style_in[] = {(1 << IN_PATH) | (1 << IN_HEADER), 1 << IN_PATH, 1 << IN_PATH,
                               (1 << IN_QUERY) | (1 << IN_COOKIE), 1 << IN_QUERY, 1 << IN_QUERY,
                               1 << IN_QUERY};

typedef struct {
  lua_State *L;
  arazzo_sbuf out;
  const char *name;
  size_t namelen;
  int in, style, explode, kind, enc, triples;
  unsigned char nset[256], vset[256];
} pser;

/* Push "parameter '<name>': <fmt ...>". [-0,+1] */
static void perr(pser *p, const char *fmt, const char *a, const char *b) {
  lua_pushfstring(p->L, "parameter '%s': ", p->name);
  lua_pushfstring(p->L, fmt, a, b);
  lua_concat(p->L, 2);
}

static int find_name(const char *s, const char *const *names) {
  int i;
  for (i = 0; names[i]; i++)
    if (strcmp(s, names[i]) == 0) return i;
  return -1;
}

/* Append s encoded for the location: names with the strict set, values
 * with the value set (allowReserved), nothing encoded in a header. */
static void padd(pser *p, const char *s, size_t n, int is_name) {
  if (!p->enc) arazzo_sbuf_add(&p->out, s, n);
  else arazzo_url_encode_into(&p->out, s, n, is_name ? p->nset : p->vset, 0, is_name ? 0 : p->triples);
}

static int p_named(const pser *p) { return p->style != ST_SIMPLE && p->style != ST_LABEL; }

/* Append "=<text>", or for an empty text RFC 6570's ifemp (matrix: nothing,
 * the form styles: "="). The text is on the top and is popped. */
static void p_value_named(pser *p) {
  size_t vn;
  const char *v = lua_tolstring(p->L, -1, &vn);
  if (vn || p->style != ST_MATRIX) arazzo_sbuf_add(&p->out, "=", 1);
  padd(p, v, vn, 0);
  lua_pop(p->L, 1);
}

/* Push the text of the member at idx (index i, or key k); a nested
 * container or a non-scalar pushes an error message instead (returns 0). */
static int p_item(pser *p, int idx, size_t i, const char *k) {
  lua_State *L = p->L;
  int r = arazzo_url_scalar(L, idx);
  if (r == 1) return 1;
  if (k) lua_pushfstring(L, "%s[%s]", p->name, k);
  else if (i) lua_pushfstring(L, "%s[%d]", p->name, (int)i - 1);
  else lua_pushstring(L, p->name);
  if (lua_type(L, idx) == LUA_TTABLE)
    perr(p, "style '%s' cannot express a nested array or object (at %s)", style_names[p->style],
         lua_tostring(L, -1));
  else
    perr(p, "cannot serialize %s (at %s)", r < 0 ? "NaN or infinity" : luaL_typename(L, idx),
         lua_tostring(L, -1));
  return 0;
}

/* Append one member: text on top, key k (objects) or NULL (arrays). */
static void p_member(pser *p, const char *k, size_t kn) {
  size_t vn;
  const char *v;
  if (!p->explode) { /* k,v,k,v or v,v,v after the name */
    if (k) {
      padd(p, k, kn, 0);
      arazzo_sbuf_add(&p->out, p->style == ST_SPACE ? "%20" : p->style == ST_PIPE ? "%7C" : ",",
                      p->style == ST_SPACE || p->style == ST_PIPE ? 3 : 1);
    }
  } else if (k) { /* exploded pairs: key=value, the key acting as a name */
    padd(p, k, kn, 1);
    if (p_named(p)) {
      p_value_named(p);
      return;
    }
    arazzo_sbuf_add(&p->out, "=", 1);
  } else if (p_named(p)) { /* exploded list, named: name=value each */
    padd(p, p->name, p->namelen, 1);
    p_value_named(p);
    return;
  }
  v = lua_tolstring(p->L, -1, &vn);
  padd(p, v, vn, 0);
  lua_pop(p->L, 1);
}

/* Serialize the array or object at vidx (kind in p). An empty one is
 * undefined in RFC 6570 and expands to nothing. Returns 1, or 0 with an
 * error message pushed. */
static int p_container(pser *p, int vidx) {
  lua_State *L = p->L;
  size_t n = 0, i, mark = 0;
  int keys = 0, marked = 0;
  const char *sep = p->style == ST_LABEL ? "." : p->style == ST_MATRIX ? ";" : p->in == IN_COOKIE ? "; "
                  : p->style == ST_FORM ? "&" : ",";
  const char *join = p->style == ST_SPACE ? "%20" : p->style == ST_PIPE ? "%7C" : ",";
  if (p->kind == K_ARRAY) {
    arazzo_as_array(L, vidx, &n);
  } else {
    arazzo_push_keys_view(L, vidx, 0);
    keys = lua_gettop(L);
    n = (size_t)lua_rawlen(L, keys);
    if (arazzo_form_count_keys(L, vidx) != n) {
      perr(p, "non-string key in object", NULL, NULL);
      return 0;
    }
  }
  if (n == 0) return 1;
  arazzo_sbuf_add(&p->out, p->style == ST_LABEL ? "." : p->style == ST_MATRIX ? ";" : "",
                  p->style == ST_LABEL || p->style == ST_MATRIX);
  if (!p->explode && p_named(p)) {
    padd(p, p->name, p->namelen, 1);
    mark = p->out.len;
    marked = 1;
    arazzo_sbuf_add(&p->out, "=", 1);
  }
  for (i = 1; i <= n; i++) {
    int top = lua_gettop(L);
    const char *k = NULL;
    size_t kn = 0;
    if (i > 1) arazzo_sbuf_add(&p->out, p->explode ? sep : join, strlen(p->explode ? sep : join));
    if (keys) {
      lua_rawgeti(L, keys, (lua_Integer)i);
      k = lua_tolstring(L, -1, &kn);
      lua_pushvalue(L, -1);
      lua_rawget(L, vidx);
    } else {
      lua_rawgeti(L, vidx, (lua_Integer)i);
    }
    if (!p_item(p, lua_gettop(L), i, k)) return 0;
    p_member(p, k, kn);
    lua_settop(L, top);
  }
  if (marked && p->style == ST_MATRIX && p->out.len == mark + 1) p->out.len = mark;
  return 1;
}

/* Serialize a primitive (or undefined as "") whose text is on the top. */
static void p_primitive(pser *p) {
  size_t vn;
  const char *v;
  if (p->style == ST_LABEL) arazzo_sbuf_add(&p->out, ".", 1);
  if (p->style == ST_MATRIX) arazzo_sbuf_add(&p->out, ";", 1);
  if (p_named(p)) {
    padd(p, p->name, p->namelen, 1);
    p_value_named(p);
    return;
  }
  v = lua_tolstring(p->L, -1, &vn);
  padd(p, v, vn, 0);
  lua_pop(p->L, 1);
}

/* deepObject: the bracket form of form_encode with RFC 3986 escaping,
 * "name[key]=value", arrays indexed. Pushes the result (1) or an error
 * message (0). */
static int p_deep(pser *p, int vidx) {
  lua_State *L = p->L;
  fenc e;
  int r;
  arazzo_form_init(L, &e);
  memcpy(e.nset, p->nset, sizeof e.nset);
  memcpy(e.vset, p->vset, sizeof e.vset);
  e.triples = p->triples;
  arazzo_url_encode_into(&e.name, p->name, p->namelen, e.nset, 0, 0);
  arazzo_sbuf_add(&e.path, p->name, p->namelen);
  e.top = lua_absindex(L, vidx);
  r = arazzo_form_children(&e, vidx, 1, 0);
  if (r) {
    lua_pushfstring(L, "parameter '%s'", p->name);
    arazzo_form_error(&e, r, lua_tostring(L, -1));
    return 0;
  }
  arazzo_sbuf_push(&e.out);
  return 1;
}

/* Check the style against the value's kind and explode (the OpenAPI
 * tables' n/a cells). Returns 1, or 0 with a message pushed. */
static int p_check(pser *p) {
  const char *sn = style_names[p->style];
  const char *kn = arazzo_form_kind_name(p->L, 2);
  if (p->style == ST_SPACE || p->style == ST_PIPE) {
    if (p->explode) perr(p, "style '%s' does not support explode true", sn, NULL);
    else if (p->kind != K_ARRAY && p->kind != K_OBJECT)
      perr(p, "style '%s' needs an array or object value, got %s", sn, kn);
    else return 1;
    return 0;
  }
  if (p->style == ST_DEEP) {
    if (!p->explode) perr(p, "style 'deepObject' needs explode true", NULL, NULL);
    else if (p->kind != K_ARRAY && p->kind != K_OBJECT)
      perr(p, "style 'deepObject' needs an object value, got %s", kn, NULL);
    else return 1;
    return 0;
  }
  return 1;
}

/* Resolve in/style/explode/allow_reserved (arguments 3-6) into p. Raises
 * on wrong argument types; returns 0 with a message pushed on an unknown
 * location or style or a style not allowed in the location. */
static int p_setup(pser *p) {
  lua_State *L = p->L;
  const char *in = luaL_checkstring(L, 3), *style = luaL_optstring(L, 4, NULL);
  int reserved;
  if (!lua_isnoneornil(L, 5)) luaL_checktype(L, 5, LUA_TBOOLEAN);
  if (!lua_isnoneornil(L, 6)) luaL_checktype(L, 6, LUA_TBOOLEAN);
  p->in = find_name(in, in_names);
  if (p->in < 0) {
    perr(p, "unknown parameter location '%s'", in, NULL);
    return 0;
  }
  p->style = style ? find_name(style, style_names) : (p->in == IN_PATH || p->in == IN_HEADER) ? ST_SIMPLE : ST_FORM;
  if (p->style < 0) {
    perr(p, "unknown style '%s'", style, NULL);
    return 0;
  }
  if (!(style_in[p->style] & (1 << p->in))) {
    perr(p, "style '%s' is not allowed in %s", style_names[p->style], in_names[p->in]);
    return 0;
  }
  p->explode = lua_isnoneornil(L, 5) ? (p->style == ST_FORM || p->style == ST_DEEP) : lua_toboolean(L, 5);
  reserved = p->in == IN_QUERY && lua_toboolean(L, 6);
  p->enc = p->in != IN_HEADER;
  p->triples = reserved;
  arazzo_url_charset(p->nset, "-._~");
  arazzo_url_charset(p->vset, reserved ? "-._~:/?@!$&'()*+,;=" : "-._~");
  return 1;
}

/* core.param_serialize(name, value, in, style, explode [, allow_reserved])
 * -> the text for a path template, a query fragment "k=v&k=v", a header
 * value or a cookie fragment | nil, msg, "param" (see the section comment).
 * Raises on wrong argument types. */
int arazzo_param_serialize_lua(lua_State *L) {
  pser p;
  size_t n;
  memset(&p, 0, sizeof p);
  p.L = L;
  p.name = luaL_checklstring(L, 1, &p.namelen);
  if (!p_setup(&p)) return arazzo_form_fail3(L, "param");
  lua_settop(L, 6);
  luaL_checkstack(L, 24, "param: out of stack");
  if (lua_isnil(L, 2) || arazzo_is_null(L, 2)) p.kind = K_UNDEF;
  else if (lua_type(L, 2) == LUA_TTABLE) p.kind = arazzo_as_array(L, 2, &n) ? K_ARRAY : K_OBJECT;
  else p.kind = K_PRIM;
  if (!p_check(&p)) return arazzo_form_fail3(L, "param");
  if (p.style == ST_DEEP) return p_deep(&p, 2) ? 1 : arazzo_form_fail3(L, "param");
  arazzo_sbuf_init(L, &p.out);
  if (p.kind == K_ARRAY || p.kind == K_OBJECT) {
    if (!p_container(&p, 2)) return arazzo_form_fail3(L, "param");
  } else {
    if (p.kind == K_UNDEF) lua_pushliteral(L, ""); /* the table's undefined column */
    else if (!p_item(&p, 2, 0, NULL)) return arazzo_form_fail3(L, "param");
    p_primitive(&p);
  }
  if (!p.enc && (memchr(p.out.p, '\r', p.out.len) || memchr(p.out.p, '\n', p.out.len) ||
                 memchr(p.out.p, '\0', p.out.len))) {
    perr(&p, "header value contains CR, LF or NUL", NULL, NULL);
    return arazzo_form_fail3(L, "param");
  }
  arazzo_sbuf_push(&p.out);
  return 1;
}

static const luaL_Reg param_funcs[] = {{"param_serialize", arazzo_param_serialize_lua}, {NULL, NULL}};

void arazzo_param_open(lua_State *L) { luaL_setfuncs(L, param_funcs, 0); }
