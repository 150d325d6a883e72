/* json_index.c: root-member indexes of JSON texts that are read many times.
 * Licence: MIT (see LICENSE).
 *
 * A step's outputs and criteria often read several members of the same
 * response body through pointers (#/id, #/status, #/amount_due). Each read
 * of undecoded text must check the whole text, so N reads cost N full
 * scans. Here the first read of an object text checks it once and records
 * where each root member's value starts; the later reads of the same Lua
 * string look the member up and parse only its value. The cache keeps the
 * last IX_SLOTS strings (a string is immutable, so holding a reference
 * makes identity imply content) in a registry table. */
#include <stdlib.h>
#include <string.h>

#include "json_internal.h"

#define IX_SLOTS 4
#define IX_MIN_LEN 64                 /* shorter texts: a scan is as cheap */
#define IX_MAX_LEN ((size_t)1 << 20)  /* longer texts are not kept alive */

typedef struct {
  size_t koff, klen, voff;
} ix_entry;

typedef struct json_rootix {
  size_t n, cap;
  ix_entry *e;
  int escaped; /* a key held an escape: lookups go the plain way */
} json_rootix;

static const char cache_key = 'i';

static int ix_gc(lua_State *L) {
  json_rootix *ix = (json_rootix *)lua_touserdata(L, 1);
  free(ix->e);
  ix->e = NULL;
  ix->n = ix->cap = 0;
  return 0;
}

void arazzo_json_ix_add(dec *d) {
  json_rootix *ix = d->ix;
  const unsigned char *k = (const unsigned char *)d->ixkey;
  if (ix->escaped) return;
  if (k < d->start || k + d->ixklen > d->end) { /* unescaped into scratch */
    ix->escaped = 1;
    return;
  }
  if (ix->n == ix->cap) {
    size_t ncap = ix->cap ? ix->cap * 2 : 32;
    ix_entry *ne;
    if (ncap > ((size_t)-1) / sizeof *ne) luaL_error(d->L, "json: not enough memory");
    ne = (ix_entry *)realloc(ix->e, ncap * sizeof *ne);
    if (ne == NULL) luaL_error(d->L, "json: not enough memory");
    ix->e = ne;
    ix->cap = ncap;
  }
  ix->e[ix->n].koff = (size_t)(k - d->start);
  ix->e[ix->n].klen = d->ixklen;
  ix->e[ix->n].voff = (size_t)(d->p - d->start);
  ix->n++;
}

/* Push the cache table (slots 1..IX_SLOTS: strings, IX_SLOTS+1..: their
 * indexes, [0]: the next slot to replace). [-0,+1] */
static void push_cache(lua_State *L) {
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &cache_key) == LUA_TTABLE) return;
  lua_pop(L, 1);
  lua_createtable(L, 2 * IX_SLOTS + 1, 0);
  lua_pushinteger(L, 1);
  lua_rawseti(L, -2, 0);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &cache_key);
}

/* The index of the string at sidx from the cache, or NULL. [-0,+0] */
static json_rootix *cache_find(lua_State *L, int sidx) {
  json_rootix *ix = NULL;
  int i;
  push_cache(L);
  for (i = 1; i <= IX_SLOTS; i++) {
    int t = lua_rawgeti(L, -1, i);
    if (t == LUA_TSTRING && lua_rawequal(L, -1, sidx)) {
      lua_rawgeti(L, -2, i + IX_SLOTS);
      ix = (json_rootix *)lua_touserdata(L, -1);
      lua_pop(L, 3);
      return ix;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return ix;
}

/* Check the text at sidx and index its root members; on success the index
 * is cached and returned, else NULL with *msg and *errpos set. [-0,+0] */
static json_rootix *build(lua_State *L, int sidx, const char *s, size_t len, const char **msg,
                          size_t *errpos) {
  json_rootix *ix;
  dec d;
  lua_Integer slot;
  ix = (json_rootix *)lua_newuserdata(L, sizeof *ix);
  memset(ix, 0, sizeof *ix);
  if (luaL_newmetatable(L, "arazzo.json.rootix")) {
    lua_pushcfunction(L, ix_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  memset(&d, 0, sizeof d);
  d.max_depth = JSON_DEFAULT_DEPTH;
  d.order = 1;
  d.ix = ix;
  if (!arazzo_json_check_run(L, &d, s, len)) {
    lua_pop(L, 1);
    *msg = d.msg;
    *errpos = d.errpos;
    return NULL;
  }
  push_cache(L);
  lua_rawgeti(L, -1, 0);
  slot = lua_tointeger(L, -1);
  lua_pop(L, 1);
  lua_pushvalue(L, sidx);
  lua_rawseti(L, -2, slot);
  lua_pushvalue(L, -2);
  lua_rawseti(L, -2, slot + IX_SLOTS);
  lua_pushinteger(L, slot % IX_SLOTS + 1);
  lua_rawseti(L, -2, 0);
  lua_pop(L, 2); /* cache, index (now held by the cache) */
  return ix;
}

/* The last entry for key k (a later duplicate wins, as in a full decode). */
static const ix_entry *ix_find(const json_rootix *ix, const char *s, const char *k, size_t klen) {
  size_t i = ix->n;
  while (i-- > 0) {
    const ix_entry *e = &ix->e[i];
    if (e->klen == klen && (klen == 0 || memcmp(s + e->koff, k, klen) == 0)) return e;
  }
  return NULL;
}

int arazzo_json_decode_at_cached(lua_State *L, int sidx, const arazzo_json_token *toks, size_t ntok,
                                 size_t *used, const char **msg, size_t *errpos) {
  size_t len, i = 0, u = 0;
  const char *s;
  json_rootix *ix;
  const ix_entry *e;
  dec d;
  sidx = lua_absindex(L, sidx);
  s = lua_tolstring(L, sidx, &len);
  if (ntok > 0 && len >= IX_MIN_LEN && len <= IX_MAX_LEN) {
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
  }
  if (ntok == 0 || len < IX_MIN_LEN || len > IX_MAX_LEN || i == len || s[i] != '{')
    return arazzo_json_decode_at(L, s, len, toks, ntok, used, msg, errpos);
  luaL_checkstack(L, 4, "json: stack overflow");
  ix = cache_find(L, sidx);
  if (ix == NULL && (ix = build(L, sidx, s, len, msg, errpos)) == NULL) return 0;
  if (ix->escaped) return arazzo_json_decode_at(L, s, len, toks, ntok, used, msg, errpos);
  e = ix_find(ix, s, toks[0].s, toks[0].len);
  if (e == NULL) { /* the root object lacks token 0 */
    lua_pushnil(L);
    *used = 0;
    return 1;
  }
  memset(&d, 0, sizeof d);
  d.max_depth = JSON_DEFAULT_DEPTH;
  d.order = 1;
  if (!arazzo_json_decode_at_run(L, &d, s, len, e->voff, toks + 1, ntok - 1, &u)) {
    *msg = d.msg;
    *errpos = d.errpos;
    return 0;
  }
  *used = u + 1;
  return 1;
}
