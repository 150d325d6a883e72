/* form.c: application/x-www-form-urlencoded bodies (bracket form for nested
 * values), multipart/form-data bodies and OpenAPI parameter serialization.
 * Licence: MIT (see LICENSE). */
#include <stdio.h>
#include <string.h>

#include "arazzo.h"

#define FORM_MAX_DEPTH 32

enum { ARR_INDEXED, ARR_BRACKETS, ARR_REPEAT };
enum { FE_OK, FE_CYCLE, FE_DEPTH, FE_TYPE, FE_NUM, FE_KEY };

/* One bracket-form encoding run. name holds the encoded name of the value
 * being visited, path its raw spelling for messages (always indexed). */
typedef struct {
  lua_State *L;
  arazzo_sbuf out, name, path;
  unsigned char nset[256], vset[256];
  int plus, triples, arrays, blank, raw;
  int seen;  /* stack slot of the set of tables on the current path */
  int pairs; /* pairs written so far */
  const char *tname;
} fenc;

/* Write "&name=value" for the scalar text on the stack top, then pop it. */
static void fenc_emit(fenc *e) {
  size_t n;
  const char *v = lua_tolstring(e->L, -1, &n);
  if (e->pairs++) arazzo_sbuf_add(&e->out, "&", 1);
  arazzo_sbuf_add(&e->out, e->name.p, e->name.len);
  arazzo_sbuf_add(&e->out, "=", 1);
  arazzo_url_encode_into(&e->out, v, n, e->vset, e->plus, e->triples);
  lua_pop(e->L, 1);
}

/* Extend name and path by one key (top: no brackets around it). The key
 * text is encoded with the name set; structural brackets are literal only
 * with raw. brackets_only writes "[]" (the "brackets" array mode). */
static void fenc_key(fenc *e, const char *k, size_t kn, int top, int brackets_only) {
  const char *open = e->raw ? "[" : "%5B", *close = e->raw ? "]" : "%5D";
  size_t bl = e->raw ? 1 : 3;
  if (!top) arazzo_sbuf_add(&e->name, open, bl);
  if (!brackets_only) arazzo_url_encode_into(&e->name, k, kn, e->nset, e->plus, 0);
  if (!top) arazzo_sbuf_add(&e->name, close, bl);
  if (!top) arazzo_sbuf_add(&e->path, "[", 1);
  arazzo_sbuf_add(&e->path, k, kn);
  if (!top) arazzo_sbuf_add(&e->path, "]", 1);
}

static int fenc_value(fenc *e, int idx, int depth);

/* Count every key of the table at idx. [-0,+0] */
static size_t count_keys(lua_State *L, int idx) {
  size_t c = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    c++;
  }
  return c;
}

/* Encode the elements of the array at idx (n of them). */
static int fenc_array(fenc *e, int idx, size_t n, int depth) {
  size_t i, nl = e->name.len, pl = e->path.len;
  for (i = 1; i <= n; i++) {
    char tmp[32];
    int r;
    snprintf(tmp, sizeof tmp, "%lu", (unsigned long)(i - 1));
    if (e->arrays == ARR_REPEAT) {
      arazzo_sbuf_add(&e->path, "[", 1);
      arazzo_sbuf_add(&e->path, tmp, strlen(tmp));
      arazzo_sbuf_add(&e->path, "]", 1);
    } else {
      fenc_key(e, tmp, strlen(tmp), 0, e->arrays == ARR_BRACKETS);
    }
    lua_rawgeti(e->L, idx, (lua_Integer)i);
    r = fenc_value(e, lua_gettop(e->L), depth + 1);
    if (r) return r;
    lua_pop(e->L, 1);
    e->name.len = nl;
    e->path.len = pl;
  }
  return FE_OK;
}

/* Encode the children of the table at idx: array elements or object
 * members in arazzo_push_keys order. An empty container writes "name="
 * with blank (never at the top level). [-0,+0] on success. */
static int fenc_children(fenc *e, int idx, int depth, int top) {
  lua_State *L = e->L;
  size_t n, i, nl = e->name.len, pl = e->path.len;
  int keys;
  if (arazzo_as_array(L, idx, &n) && n > 0) return fenc_array(e, idx, n, depth);
  arazzo_push_keys(L, idx);
  keys = lua_gettop(L);
  n = (size_t)lua_rawlen(L, keys);
  if (count_keys(L, idx) != n) return FE_KEY;
  if (n == 0 && e->blank && !top) {
    lua_pushliteral(L, "");
    fenc_emit(e);
  }
  for (i = 1; i <= n; i++) {
    size_t kn;
    const char *k;
    int r;
    lua_rawgeti(L, keys, (lua_Integer)i);
    k = lua_tolstring(L, -1, &kn);
    fenc_key(e, k, kn, top, 0);
    lua_rawget(L, idx);
    r = fenc_value(e, lua_gettop(L), depth + 1);
    if (r) return r;
    lua_pop(L, 1);
    e->name.len = nl;
    e->path.len = pl;
  }
  lua_pop(L, 1);
  return FE_OK;
}

/* Encode the value at idx under the current name: scalars as one pair,
 * tables through their children. Returns FE_OK or an error kind, leaving
 * path at the failing value (the stack is then left unbalanced). */
static int fenc_value(fenc *e, int idx, int depth) {
  lua_State *L = e->L;
  int r;
  if (lua_type(L, idx) == LUA_TTABLE) {
    if (depth > FORM_MAX_DEPTH) return FE_DEPTH;
    luaL_checkstack(L, 8, "form: nesting too deep"); /* each level holds a few slots */
    lua_pushvalue(L, idx);
    lua_rawget(L, e->seen);
    if (!lua_isnil(L, -1)) return FE_CYCLE;
    lua_pop(L, 1);
    lua_pushvalue(L, idx);
    lua_pushboolean(L, 1);
    lua_rawset(L, e->seen);
    r = fenc_children(e, idx, depth, 0);
    if (r) return r;
    lua_pushvalue(L, idx);
    lua_pushnil(L);
    lua_rawset(L, e->seen);
    return FE_OK;
  }
  r = arazzo_url_scalar(L, idx);
  if (r == 1) {
    fenc_emit(e);
    return FE_OK;
  }
  e->tname = luaL_typename(L, idx);
  return r < 0 ? FE_NUM : FE_TYPE;
}

/* Set up e (three buffers and the seen set: pushes 4 values). */
static void fenc_init(lua_State *L, fenc *e) {
  memset(e, 0, sizeof *e);
  e->L = L;
  arazzo_sbuf_init(L, &e->out);
  arazzo_sbuf_init(L, &e->name);
  arazzo_sbuf_init(L, &e->path);
  lua_newtable(L);
  e->seen = lua_gettop(L);
}

/* Push "<prefix>: <what> at '<path>'" for error kind r. [-0,+1] */
static void fenc_error(fenc *e, int r, const char *prefix) {
  lua_State *L = e->L;
  switch (r) {
  case FE_CYCLE: lua_pushfstring(L, "%s: cycle at '", prefix); break;
  case FE_DEPTH: lua_pushfstring(L, "%s: nesting deeper than %d at '", prefix, FORM_MAX_DEPTH); break;
  case FE_TYPE: lua_pushfstring(L, "%s: cannot encode a %s at '", prefix, e->tname); break;
  case FE_NUM: lua_pushfstring(L, "%s: cannot encode NaN or infinity at '", prefix); break;
  default: lua_pushfstring(L, "%s: non-string key in object at '", prefix); break;
  }
  lua_pushlstring(L, e->path.p, e->path.len);
  lua_pushliteral(L, "'");
  lua_concat(L, 3);
}

/* Push nil, msg, code and return 3 (the expected-failure shape). */
static int fail3(lua_State *L, const char *code) {
  lua_pushnil(L);
  lua_insert(L, -2);
  lua_pushstring(L, code);
  return 3;
}

static const char *kind_name(lua_State *L, int idx) {
  size_t n;
  if (arazzo_is_null(L, idx)) return "null";
  if (lua_type(L, idx) == LUA_TTABLE) return arazzo_as_array(L, idx, &n) ? "array" : "object";
  return luaL_typename(L, idx);
}

/* Index of the string on the stack top in names, or -1 (also for a
 * non-string). [-0,+0] */
static int top_option(lua_State *L, const char *const *names) {
  int i;
  if (lua_type(L, -1) != LUA_TSTRING) return -1;
  for (i = 0; names[i]; i++)
    if (strcmp(lua_tostring(L, -1), names[i]) == 0) return i;
  return -1;
}

/* Read form_encode's options table at idx into e; raises on an unknown
 * option or a bad option value. */
static void form_opts(lua_State *L, int idx, fenc *e) {
  static const char *const amodes[] = {"indexed", "brackets", "repeat", NULL};
  static const char *const emodes[] = {"omit", "blank", NULL};
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    if (strcmp(k, "arrays") == 0) {
      e->arrays = top_option(L, amodes);
      luaL_argcheck(L, e->arrays >= 0, idx, "arrays must be 'indexed', 'brackets' or 'repeat'");
    } else if (strcmp(k, "empty") == 0) {
      e->blank = top_option(L, emodes);
      luaL_argcheck(L, e->blank >= 0, idx, "empty must be 'omit' or 'blank'");
    } else if (strcmp(k, "raw_brackets") == 0) {
      luaL_argcheck(L, lua_type(L, -1) == LUA_TBOOLEAN, idx, "raw_brackets must be a boolean");
      e->raw = lua_toboolean(L, -1);
    } else {
      luaL_error(L, "unknown form option '%s'", k);
    }
    lua_pop(L, 1);
  }
}

/* core.form_encode(value [, opts]) -> urlencoded string | nil, msg, "form".
 * opts: arrays = "indexed"|"brackets"|"repeat", empty = "omit"|"blank",
 * raw_brackets = boolean. Raises on bad options. */
static int l_form_encode(lua_State *L) {
  fenc e;
  size_t n;
  int r;
  lua_settop(L, 2);
  luaL_checkstack(L, 16, "form: out of stack");
  fenc_init(L, &e);
  form_opts(L, 2, &e);
  arazzo_url_charset(e.nset, "*-._");
  memcpy(e.vset, e.nset, sizeof e.vset);
  e.plus = 1;
  if (lua_type(L, 1) != LUA_TTABLE || arazzo_as_array(L, 1, &n)) {
    lua_pushfstring(L, "form: top-level value must be an object, got %s", kind_name(L, 1));
    return fail3(L, "form");
  }
  lua_pushvalue(L, 1);
  lua_pushboolean(L, 1);
  lua_rawset(L, e.seen);
  r = fenc_children(&e, 1, 1, 1);
  if (r) {
    fenc_error(&e, r, "form");
    return fail3(L, "form");
  }
  arazzo_sbuf_push(&e.out);
  return 1;
}

/* core.form_decode(s) -> array of {name, value} pairs | nil, msg, "form". */
static int l_form_decode(lua_State *L) {
  size_t n, i = 0, count = 0;
  const char *s = luaL_checklstring(L, 1, &n);
  arazzo_sbuf b;
  lua_settop(L, 1);
  lua_newtable(L);
  arazzo_mark_array(L, 2);
  arazzo_sbuf_init(L, &b);
  while (i <= n) {
    size_t j = i, eq, bad;
    while (j < n && s[j] != '&') j++;
    if (j > i) {
      for (eq = i; eq < j && s[eq] != '='; eq++) continue;
      lua_createtable(L, 2, 0);
      b.len = 0;
      bad = arazzo_url_decode_into(&b, s + i, eq - i, 1);
      if (!bad) {
        arazzo_sbuf_push(&b);
        lua_rawseti(L, -2, 1);
        b.len = 0;
        bad = eq < j ? arazzo_url_decode_into(&b, s + eq + 1, j - eq - 1, 1) : 0;
        if (bad) bad += eq + 1 - i;
      }
      if (bad) {
        lua_pushfstring(L, "form: bad percent escape at position %d", (int)(i + bad));
        return fail3(L, "form");
      }
      arazzo_sbuf_push(&b);
      lua_rawseti(L, -2, 2);
      lua_rawseti(L, 2, (lua_Integer)++count);
    }
    i = j + 1;
  }
  lua_settop(L, 2);
  return 1;
}

/* ---- multipart/form-data (RFC 7578) -------------------------------------- */

typedef struct {
  lua_State *L;
  arazzo_sbuf out;
  const char *bnd;
  size_t bn;
} mpart;

static int contains(const char *h, size_t hn, const char *nd, size_t nn) {
  size_t i;
  if (nn == 0 || hn < nn) return 0;
  for (i = 0; i + nn <= hn; i++)
    if (h[i] == nd[0] && memcmp(h + i, nd, nn) == 0) return 1;
  return 0;
}

/* Append a quoted header parameter value: '"' CR LF NUL as %22 %0D %0A %00
 * (the HTML form-data convention), every other byte as is. */
static void add_quoted(arazzo_sbuf *b, const char *s, size_t n) {
  size_t i;
  arazzo_sbuf_add(b, "\"", 1);
  for (i = 0; i < n; i++) {
    char c = s[i];
    if (c == '"') arazzo_sbuf_add(b, "%22", 3);
    else if (c == '\r') arazzo_sbuf_add(b, "%0D", 3);
    else if (c == '\n') arazzo_sbuf_add(b, "%0A", 3);
    else if (c == '\0') arazzo_sbuf_add(b, "%00", 3);
    else arazzo_sbuf_add(b, &c, 1);
  }
  arazzo_sbuf_add(b, "\"", 1);
}

/* Push t[name] for the table at idx without metamethods. [-0,+1] */
static void raw_field(lua_State *L, int idx, const char *name) {
  lua_pushstring(L, name);
  lua_rawget(L, idx);
}

/* 1 when the table at idx is {data = string [, filename = string]
 * [, content_type = string]} and nothing else. [-0,+0] */
static int is_file(lua_State *L, int idx) {
  int has_data = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
    if (lua_type(L, -1) != LUA_TSTRING ||
        (strcmp(k, "data") && strcmp(k, "filename") && strcmp(k, "content_type"))) {
      lua_pop(L, 2);
      return 0;
    }
    has_data |= strcmp(k, "data") == 0;
    lua_pop(L, 1);
  }
  return has_data;
}

/* Push the JSON text of the value at idx (1), or an error message (0). */
static int json_text(lua_State *L, int idx) {
  int top = lua_gettop(L);
  luaL_Buffer jb;
  const char *err;
  char msg[200];
  luaL_buffinit(L, &jb);
  err = arazzo_json_encode_value(L, idx, &jb);
  if (err) {
    snprintf(msg, sizeof msg, "%s", err);
    lua_settop(L, top);
    lua_pushstring(L, msg);
    return 0;
  }
  luaL_pushresult(&jb);
  return 1;
}

/* Write one part named by the string at kidx for the value at vidx.
 * Returns 1, or 0 with an error message pushed. Leaves values on the
 * stack either way (the caller resets the top). */
static int mp_part(mpart *m, int kidx, int vidx) {
  lua_State *L = m->L;
  size_t kn, dn, cl = 0;
  const char *k = lua_tolstring(L, kidx, &kn), *ct = NULL, *d;
  int r;
  arazzo_sbuf_add(&m->out, "--", 2);
  arazzo_sbuf_add(&m->out, m->bnd, m->bn);
  arazzo_sbuf_add(&m->out, "\r\nContent-Disposition: form-data; name=", 39);
  add_quoted(&m->out, k, kn);
  if (lua_type(L, vidx) == LUA_TTABLE && is_file(L, vidx)) {
    raw_field(L, vidx, "filename");
    if (lua_isstring(L, -1)) {
      size_t fn;
      const char *f = lua_tolstring(L, -1, &fn);
      arazzo_sbuf_add(&m->out, "; filename=", 11);
      add_quoted(&m->out, f, fn);
    }
    raw_field(L, vidx, "content_type");
    if (lua_isnil(L, -1)) lua_pushliteral(L, "application/octet-stream");
    ct = lua_tolstring(L, -1, &cl);
    raw_field(L, vidx, "data");
  } else if ((r = arazzo_url_scalar(L, vidx)) == 0 && lua_type(L, vidx) == LUA_TTABLE) {
    ct = "application/json";
    cl = 16;
    if (!json_text(L, vidx)) {
      lua_pushfstring(L, "multipart: part '%s': %s", k, lua_tostring(L, -1));
      return 0;
    }
  } else if (r != 1) {
    lua_pushfstring(L, "multipart: part '%s': cannot encode %s", k,
                    r < 0 ? "NaN or infinity" : luaL_typename(L, vidx));
    return 0;
  }
  d = lua_tolstring(L, -1, &dn);
  if (ct) {
    if (memchr(ct, '\r', cl) || memchr(ct, '\n', cl) || memchr(ct, '\0', cl)) {
      lua_pushfstring(L, "multipart: part '%s': content_type contains CR, LF or NUL", k);
      return 0;
    }
    arazzo_sbuf_add(&m->out, "\r\nContent-Type: ", 16);
    arazzo_sbuf_add(&m->out, ct, cl);
  }
  if (contains(d, dn, m->bnd, m->bn)) {
    lua_pushfstring(L, "multipart: boundary occurs in the data of part '%s'", k);
    return 0;
  }
  arazzo_sbuf_add(&m->out, "\r\n\r\n", 4);
  arazzo_sbuf_add(&m->out, d, dn);
  arazzo_sbuf_add(&m->out, "\r\n", 2);
  return 1;
}

/* RFC 2046 boundary: 1-70 of DIGIT ALPHA '()+_,-./:=? and space, not
 * ending in a space. */
static int valid_boundary(const char *b, size_t n) {
  size_t i;
  if (n < 1 || n > 70 || b[n - 1] == ' ') return 0;
  for (i = 0; i < n; i++) {
    int c = (unsigned char)b[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          (c && strchr("'()+_,-./:=? ", c))))
      return 0;
  }
  return 1;
}

/* Write the parts for member k (at kidx) whose value is at vidx: one part,
 * or one per element of an array. Returns 1, or 0 with a message pushed. */
static int mp_member(mpart *m, int kidx, int vidx) {
  lua_State *L = m->L;
  size_t n, i;
  int top = lua_gettop(L);
  if (lua_type(L, vidx) == LUA_TTABLE && arazzo_as_array(L, vidx, &n)) {
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, vidx, (lua_Integer)i);
      if (!mp_part(m, kidx, lua_gettop(L))) return 0;
      lua_settop(L, top);
    }
    return 1;
  }
  if (!mp_part(m, kidx, vidx)) return 0;
  lua_settop(L, top);
  return 1;
}

/* core.multipart_encode(value, boundary) -> body | nil, msg, "form".
 * Raises on a boundary that RFC 2046 does not allow. */
static int l_multipart_encode(lua_State *L) {
  mpart m;
  size_t n, i;
  int keys;
  m.L = L;
  m.bnd = luaL_checklstring(L, 2, &m.bn);
  luaL_argcheck(L, valid_boundary(m.bnd, m.bn), 2, "invalid multipart boundary");
  lua_settop(L, 2);
  luaL_checkstack(L, 24, "multipart: out of stack");
  if (lua_type(L, 1) != LUA_TTABLE || arazzo_as_array(L, 1, &n)) {
    lua_pushfstring(L, "multipart: top-level value must be an object, got %s", kind_name(L, 1));
    return fail3(L, "form");
  }
  arazzo_sbuf_init(L, &m.out);
  arazzo_push_keys(L, 1);
  keys = lua_gettop(L);
  n = (size_t)lua_rawlen(L, keys);
  if (count_keys(L, 1) != n) {
    lua_pushliteral(L, "multipart: non-string key in object");
    return fail3(L, "form");
  }
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, keys, (lua_Integer)i);
    lua_pushvalue(L, -1);
    lua_rawget(L, 1);
    if (!mp_member(&m, keys + 1, keys + 2)) return fail3(L, "form");
    lua_settop(L, keys);
  }
  arazzo_sbuf_add(&m.out, "--", 2);
  arazzo_sbuf_add(&m.out, m.bnd, m.bn);
  arazzo_sbuf_add(&m.out, "--\r\n", 4);
  arazzo_sbuf_push(&m.out);
  return 1;
}

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
    arazzo_push_keys(L, vidx);
    keys = lua_gettop(L);
    n = (size_t)lua_rawlen(L, keys);
    if (count_keys(L, vidx) != n) {
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
  fenc_init(L, &e);
  memcpy(e.nset, p->nset, sizeof e.nset);
  memcpy(e.vset, p->vset, sizeof e.vset);
  e.triples = p->triples;
  arazzo_url_encode_into(&e.name, p->name, p->namelen, e.nset, 0, 0);
  arazzo_sbuf_add(&e.path, p->name, p->namelen);
  lua_pushvalue(L, vidx);
  lua_pushboolean(L, 1);
  lua_rawset(L, e.seen);
  r = fenc_children(&e, vidx, 1, 0);
  if (r) {
    lua_pushfstring(L, "parameter '%s'", p->name);
    fenc_error(&e, r, lua_tostring(L, -1));
    return 0;
  }
  arazzo_sbuf_push(&e.out);
  return 1;
}

/* Check the style against the value's kind and explode (the OpenAPI
 * tables' n/a cells). Returns 1, or 0 with a message pushed. */
static int p_check(pser *p) {
  const char *sn = style_names[p->style];
  const char *kn = kind_name(p->L, 2);
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
static int l_param_serialize(lua_State *L) {
  pser p;
  size_t n;
  memset(&p, 0, sizeof p);
  p.L = L;
  p.name = luaL_checklstring(L, 1, &p.namelen);
  if (!p_setup(&p)) return fail3(L, "param");
  lua_settop(L, 6);
  luaL_checkstack(L, 24, "param: out of stack");
  if (lua_isnil(L, 2) || arazzo_is_null(L, 2)) p.kind = K_UNDEF;
  else if (lua_type(L, 2) == LUA_TTABLE) p.kind = arazzo_as_array(L, 2, &n) ? K_ARRAY : K_OBJECT;
  else p.kind = K_PRIM;
  if (!p_check(&p)) return fail3(L, "param");
  if (p.style == ST_DEEP) return p_deep(&p, 2) ? 1 : fail3(L, "param");
  arazzo_sbuf_init(L, &p.out);
  if (p.kind == K_ARRAY || p.kind == K_OBJECT) {
    if (!p_container(&p, 2)) return fail3(L, "param");
  } else {
    if (p.kind == K_UNDEF) lua_pushliteral(L, ""); /* the table's undefined column */
    else if (!p_item(&p, 2, 0, NULL)) return fail3(L, "param");
    p_primitive(&p);
  }
  if (!p.enc && (memchr(p.out.p, '\r', p.out.len) || memchr(p.out.p, '\n', p.out.len) ||
                 memchr(p.out.p, '\0', p.out.len))) {
    perr(&p, "header value contains CR, LF or NUL", NULL, NULL);
    return fail3(L, "param");
  }
  arazzo_sbuf_push(&p.out);
  return 1;
}

static const luaL_Reg form_funcs[] = {{"form_encode", l_form_encode},
                                      {"form_decode", l_form_decode},
                                      {"multipart_encode", l_multipart_encode},
                                      {"param_serialize", l_param_serialize},
                                      {NULL, NULL}};

void arazzo_form_open(lua_State *L) { luaL_setfuncs(L, form_funcs, 0); }
