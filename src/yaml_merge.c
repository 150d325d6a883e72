/* yaml_merge.c: merge keys ("<<") for the YAML tree builder: record, check and apply them.
 * Licence: MIT (see LICENSE).
 *
 * A "<<" key is not stored as a key: its values are listed per mapping
 * (ld->s_merges[table]) while the mapping is built, and their keys are copied
 * in when it closes, so keys the mapping defines itself win wherever they
 * appear. */
#include "yaml_internal.h"

/* Append the value at vidx to the merge list of f's table. [-0,+0] */
void arazzo_yaml_store_merge(loader *ld, frame *f, int vidx) {
  lua_State *L = ld->L;
  lua_pushvalue(L, f->base);
  lua_rawget(L, ld->s_merges);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, f->base);
    lua_pushvalue(L, -2);
    lua_rawset(L, ld->s_merges);
  }
  lua_pushvalue(L, vidx);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  lua_pop(L, 1);
}

/* A merge value must be a mapping or a sequence of mappings. Checks the
 * value on top. [-0,+0] */
int arazzo_yaml_check_merge_value(loader *ld, const ymark *m) {
  lua_State *L = ld->L;
  int t = lua_gettop(L), ok = lua_type(L, t) == LUA_TTABLE;
  if (ok && arazzo_is_marked_array(L, t)) {
    lua_Integer i, n = (lua_Integer)lua_rawlen(L, t);
    for (i = 1; ok && i <= n; i++) {
      lua_rawgeti(L, t, i);
      ok = lua_type(L, -1) == LUA_TTABLE && !arazzo_is_marked_array(L, -1);
      lua_pop(L, 1);
    }
  }
  if (ok) return 1;
  return arazzo_yaml_fail(ld, m, "merge value must be a mapping or a sequence of mappings");
}

/* Apply f's merge keys: keys of the merged mappings that f does not define,
 * earlier merged mappings first. Order and positions follow the source. */
static void merge_from(loader *ld, frame *f, int src) {
  lua_State *L = ld->L;
  int keys, spos = 0, top = lua_gettop(L);
  lua_Integer i, n;
  if (ld->o_pos) {
    lua_pushvalue(L, src);
    lua_rawget(L, ld->s_pos);
    spos = lua_gettop(L);
  }
  arazzo_push_keys(L, src); /* recorded order first, then sorted */
  keys = lua_gettop(L);
  n = (lua_Integer)lua_rawlen(L, keys);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, keys, i);
    lua_pushvalue(L, -1);
    lua_rawget(L, f->base);
    if (!lua_isnil(L, -1)) {
      lua_pop(L, 2);
      continue;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_pushvalue(L, -1);
    lua_rawget(L, src);
    lua_rawset(L, f->base);
    if (ld->o_ord) {
      lua_pushvalue(L, -1);
      lua_rawseti(L, f->base + ld->o_ord, ++f->stored);
    }
    if (spos && lua_istable(L, spos)) {
      lua_pushvalue(L, -1);
      lua_pushvalue(L, -1);
      lua_rawget(L, spos);
      lua_rawset(L, f->base + ld->o_pos);
    }
    lua_pop(L, 1);
  }
  lua_settop(L, top);
}

/* Apply the merge list of f's table (each entry a mapping or a sequence of
 * mappings) at the close of f, and drop it. [-0,+0] */
void arazzo_yaml_apply_merges(loader *ld, frame *f) {
  lua_State *L = ld->L;
  lua_Integer i, j, n;
  lua_pushvalue(L, f->base);
  lua_rawget(L, ld->s_merges);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  lua_pushvalue(L, f->base);
  lua_pushnil(L);
  lua_rawset(L, ld->s_merges);
  n = (lua_Integer)lua_rawlen(L, -1);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    if (arazzo_is_marked_array(L, -1)) {
      lua_Integer m = (lua_Integer)lua_rawlen(L, -1);
      for (j = 1; j <= m; j++) {
        lua_rawgeti(L, -1, j);
        merge_from(ld, f, lua_gettop(L));
        lua_pop(L, 1);
      }
    } else {
      merge_from(ld, f, lua_gettop(L));
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}
