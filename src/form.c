/* form.c: application/x-www-form-urlencoded bodies (bracket form for nested
 * values) and multipart/form-data bodies.
 * Licence: MIT (see LICENSE). */
#include <stdio.h>
#include <string.h>

#include "arazzo.h"

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
size_t arazzo_form_count_keys(lua_State *L, int idx) {
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
int arazzo_form_children(fenc *e, int idx, int depth, int top) {
  lua_State *L = e->L;
  size_t n, i, nl = e->name.len, pl = e->path.len;
  int keys;
  if (arazzo_as_array(L, idx, &n) && n > 0) return fenc_array(e, idx, n, depth);
  arazzo_push_keys_view(L, idx, 0);
  keys = lua_gettop(L);
  n = (size_t)lua_rawlen(L, keys);
  if (arazzo_form_count_keys(L, idx) != n) return FE_KEY;
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
    if (!arazzo_form_enter(e, idx)) return FE_CYCLE;
    r = arazzo_form_children(e, idx, depth, 0);
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

/* Set up e (three buffers and the slot of the seen set: pushes 4 values). */
void arazzo_form_init(lua_State *L, fenc *e) {
  e->L = L;
  arazzo_sbuf_init(L, &e->out);
  arazzo_sbuf_init(L, &e->name);
  arazzo_sbuf_init(L, &e->path);
  lua_pushnil(L);
  e->seen = lua_gettop(L);
  e->top = 0;
  e->plus = e->triples = e->arrays = e->blank = e->raw = e->pairs = 0;
  e->tname = NULL;
}

/* Enter the nested table at idx: 0 when it is already on the current path
 * (a cycle), else it is added. The set is created at the first nested
 * table, with the top table in it; flat values never need one. */
int arazzo_form_enter(fenc *e, int idx) {
  lua_State *L = e->L;
  if (lua_isnil(L, e->seen)) {
    if (e->top && lua_rawequal(L, idx, e->top)) return 0;
    lua_createtable(L, 0, 4);
    lua_replace(L, e->seen);
    if (e->top) {
      lua_pushvalue(L, e->top);
      lua_pushboolean(L, 1);
      lua_rawset(L, e->seen);
    }
  } else {
    lua_pushvalue(L, idx);
    if (lua_rawget(L, e->seen) != LUA_TNIL) return 0;
    lua_pop(L, 1);
  }
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, e->seen);
  return 1;
}

/* Push "<prefix>: <what> at '<path>'" for error kind r. [-0,+1] */
void arazzo_form_error(fenc *e, int r, const char *prefix) {
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
int arazzo_form_fail3(lua_State *L, const char *code) {
  lua_pushnil(L);
  lua_insert(L, -2);
  lua_pushstring(L, code);
  return 3;
}

const char *arazzo_form_kind_name(lua_State *L, int idx) {
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
  arazzo_form_init(L, &e);
  form_opts(L, 2, &e);
  arazzo_url_charset(e.nset, "*-._");
  memcpy(e.vset, e.nset, sizeof e.vset);
  e.plus = 1;
  if (lua_type(L, 1) != LUA_TTABLE || arazzo_as_array(L, 1, &n)) {
    lua_pushfstring(L, "form: top-level value must be an object, got %s", arazzo_form_kind_name(L, 1));
    return arazzo_form_fail3(L, "form");
  }
  e.top = 1;
  r = arazzo_form_children(&e, 1, 1, 1);
  if (r) {
    arazzo_form_error(&e, r, "form");
    return arazzo_form_fail3(L, "form");
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
        return arazzo_form_fail3(L, "form");
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
    lua_pushfstring(L, "multipart: top-level value must be an object, got %s", arazzo_form_kind_name(L, 1));
    return arazzo_form_fail3(L, "form");
  }
  arazzo_sbuf_init(L, &m.out);
  arazzo_push_keys_view(L, 1, 0);
  keys = lua_gettop(L);
  n = (size_t)lua_rawlen(L, keys);
  if (arazzo_form_count_keys(L, 1) != n) {
    lua_pushliteral(L, "multipart: non-string key in object");
    return arazzo_form_fail3(L, "form");
  }
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, keys, (lua_Integer)i);
    lua_pushvalue(L, -1);
    lua_rawget(L, 1);
    if (!mp_member(&m, keys + 1, keys + 2)) return arazzo_form_fail3(L, "form");
    lua_settop(L, keys);
  }
  arazzo_sbuf_add(&m.out, "--", 2);
  arazzo_sbuf_add(&m.out, m.bnd, m.bn);
  arazzo_sbuf_add(&m.out, "--\r\n", 4);
  arazzo_sbuf_push(&m.out);
  return 1;
}

static const luaL_Reg form_funcs[] = {{"form_encode", l_form_encode},
                                      {"form_decode", l_form_decode},
                                      {"multipart_encode", l_multipart_encode},
                                                                            {NULL, NULL}};

void arazzo_form_open(lua_State *L) {
  luaL_setfuncs(L, form_funcs, 0);
  arazzo_param_open(L);
}
