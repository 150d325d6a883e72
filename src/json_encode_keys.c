/* json_encode_keys.c: the JSON encoder's object keys (recorded or sorted order) and array checks.
 * Licence: MIT (see LICENSE). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_internal.h"

/* Recorded key lists up to this long are checked without allocating. */
#define JSON_FAST_KEYS 64

/* Describe the Lua value at idx for an error message ("number key 1",
 * "string key \"x\"", "table key"), into out. [-0,+0] */
static void describe_key(lua_State *L, int idx, char *out, size_t n) {
  int t = lua_type(L, idx);
  long long iv;
  if (t == LUA_TNUMBER && arazzo_number_is_integer(L, idx, &iv)) {
    snprintf(out, n, "number key %lld", iv);
  } else if (t == LUA_TNUMBER) {
    snprintf(out, n, "number key %.17g", (double)lua_tonumber(L, idx));
  } else if (t == LUA_TBOOLEAN) {
    snprintf(out, n, "boolean key %s", lua_toboolean(L, idx) ? "true" : "false");
  } else if (t == LUA_TSTRING) {
    size_t len;
    const char *k = lua_tolstring(L, idx, &len);
    snprintf(out, n, "string key \"%.*s%s\"", len > 32 ? 32 : (int)len, k, len > 32 ? "..." : "");
  } else {
    snprintf(out, n, "%s key", lua_typename(L, t));
  }
}

/* 1 when the value at idx is an integer k with 1 <= k <= n. [-0,+0] */
static int is_index(lua_State *L, int idx, size_t n) {
  long long k;
  return lua_type(L, idx) == LUA_TNUMBER && arazzo_number_is_integer(L, idx, &k) && k >= 1 &&
         (unsigned long long)k <= (unsigned long long)n;
}

/* Check that the marked array at t (raw length n) has exactly the keys
 * 1..n. Returns 0, or fails naming the first stray key. [-0,+0] */
int arazzo_json_encode_check_array(enc *e, int t, size_t n) {
  lua_State *L = e->L;
  size_t count = 0;
  char what[96], desc[64];
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    if (!is_index(L, -1, n)) {
      long long k;
      if (lua_type(L, -1) == LUA_TNUMBER && arazzo_number_is_integer(L, -1, &k) && k > 0) {
        lua_pop(L, 1);
        return arazzo_json_encode_fail(e, "cannot encode sparse array", 1);
      }
      describe_key(L, -1, desc, sizeof desc);
      lua_pop(L, 1);
      snprintf(what, sizeof what, "cannot encode array with %s", desc);
      return arazzo_json_encode_fail(e, what, 1);
    }
    count++;
  }
  return count == n ? 0 : arazzo_json_encode_fail(e, "cannot encode sparse array", 1);
}

/* The first non-string key of the unmarked table at t decides the error:
 * all positive integer keys mean a sparse array, anything else a bad key.
 * The offending key is on top of the stack. Returns -1. [-1,+0] */
static int enc_bad_key(enc *e, int t) {
  lua_State *L = e->L;
  char what[96], desc[64];
  int sparse = 1;
  describe_key(L, -1, desc, sizeof desc);
  lua_pop(L, 1);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    long long k;
    lua_pop(L, 1);
    if (!(lua_type(L, -1) == LUA_TNUMBER && arazzo_number_is_integer(L, -1, &k) && k > 0)) sparse = 0;
  }
  if (sparse) return arazzo_json_encode_fail(e, "cannot encode sparse array", 1);
  snprintf(what, sizeof what, "cannot encode %s", desc);
  return arazzo_json_encode_fail(e, what, 1);
}

static int cmp_json_keys(const void *a, const void *b) {
  const json_key *x = (const json_key *)a, *y = (const json_key *)b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->s, y->s, n);
  if (c) return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

/* Sort n json_keys bytewise: insertion sort for the usual small objects,
 * qsort beyond. */
static void sort_keys(json_key *k, size_t n) {
  size_t i, j;
  if (n > 16) {
    qsort(k, n, sizeof *k, cmp_json_keys);
    return;
  }
  for (i = 1; i < n; i++) {
    json_key x = k[i];
    for (j = i; j > 0 && cmp_json_keys(&k[j - 1], &x) > 0; j--) k[j] = k[j - 1];
    k[j] = x;
  }
}

/* Count the string keys of the object at t into *n; fails on the first
 * key of another type. [-0,+0] */
static int enc_count_keys(enc *e, int t, size_t *n) {
  lua_State *L = e->L;
  *n = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) return enc_bad_key(e, t);
    (*n)++;
  }
  return 0;
}

/* Recorded order without allocating: when the recorded list (on top, so
 * it anchors its strings) names every one of the n string keys of t, its
 * entries become the frame's json_keys in recorded order, skipping entries
 * no longer in t and repeats. Returns 1 with f filled, or 0 with no
 * json_key kept when the general path is needed. No Lua allocation happens
 * between reading a string pointer and its last comparison. [-0,+0] */
static int enc_recorded_keys(enc *e, int t, enc_frame *f, size_t n) {
  lua_State *L = e->L;
  json_scratch *s = e->s;
  lua_Integer i, k = (lua_Integer)lua_rawlen(L, f->lidx);
  if ((size_t)k < n || k > JSON_FAST_KEYS) return 0;
  if (s->kcap - s->nkeys < (size_t)k) arazzo_json_grow(L, (void **)&s->keys, &s->kcap, s->nkeys + (size_t)k, sizeof *s->keys);
  for (i = 1; i <= k; i++) {
    json_key jk;
    size_t j;
    int keep = 0;
    lua_rawgeti(L, f->lidx, i);
    if (lua_type(L, -1) == LUA_TSTRING) {
      jk.s = lua_tolstring(L, -1, &jk.len);
      jk.pos = i;
      lua_pushvalue(L, -1);
      lua_rawget(L, t);
      keep = !lua_isnil(L, -1);
      lua_pop(L, 1);
      for (j = f->kbase; keep && j < s->nkeys; j++)
        if (s->keys[j].len == jk.len && (s->keys[j].s == jk.s || memcmp(s->keys[j].s, jk.s, jk.len) == 0)) keep = 0;
      if (keep) s->keys[s->nkeys++] = jk;
    }
    lua_pop(L, 1);
  }
  if (s->nkeys - f->kbase == n) {
    f->n = n;
    return 1;
  }
  s->nkeys = f->kbase;
  return 0;
}

/* Collect the string keys of the object at t into a new key list (pushed)
 * and json_keys sorted bytewise, the order arazzo_push_keys gives an
 * object without recorded order. Fails on a non-string key. The list is
 * presized, so no Lua allocation happens between reading the string
 * pointers and sorting them. [-0,+1] */
static int enc_sorted_keys(enc *e, int t, enc_frame *f) {
  lua_State *L = e->L;
  json_scratch *s = e->s;
  size_t n;
  if (enc_count_keys(e, t, &n)) return -1;
  lua_createtable(L, n < 0x7fffffff ? (int)n : 0, 0);
  f->lidx = lua_gettop(L);
  f->n = 0;
  if (s->kcap - s->nkeys < n) arazzo_json_grow(L, (void **)&s->keys, &s->kcap, s->nkeys + n, sizeof *s->keys);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING || f->n == n) {
      lua_pop(L, 1); /* only a __gc finalizer could have changed t */
      return arazzo_json_encode_fail(e, "object changed while being encoded", 1);
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, f->lidx, (lua_Integer)++f->n); /* presized: no allocation */
    s->keys[s->nkeys].s = lua_tolstring(L, -1, &s->keys[s->nkeys].len);
    s->keys[s->nkeys++].pos = (lua_Integer)f->n;
  }
  if (f->n > 1) sort_keys(s->keys + f->kbase, f->n);
  f->kind = ENC_KEYED;
  return 0;
}

/* Push the key list of the object at t and fill the frame: recorded order
 * (fast path, else arazzo_push_keys), or all string keys sorted bytewise.
 * Fails on a non-string key. [-0,+1] */
int arazzo_json_encode_keys(enc *e, int t, enc_frame *f) {
  lua_State *L = e->L;
  size_t n;
  f->kbase = e->s->nkeys;
  if (e->order) {
    lua_pushvalue(L, t);
    lua_rawget(L, e->order);
    if (lua_istable(L, -1)) {
      f->lidx = lua_gettop(L);
      if (enc_count_keys(e, t, &n)) return -1;
      f->kind = ENC_KEYED;
      if (enc_recorded_keys(e, t, f, n)) return 0;
      lua_pop(L, 1);
      arazzo_push_keys(L, t);
      f->lidx = lua_gettop(L);
      f->n = (size_t)lua_rawlen(L, -1);
      f->kind = ENC_LISTED;
      return 0;
    }
    lua_pop(L, 1);
  }
  return enc_sorted_keys(e, t, f);
}
