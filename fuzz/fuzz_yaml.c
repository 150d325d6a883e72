/* fuzz_yaml.c: libFuzzer target for core.yaml_load and core.yaml_events.
 * Licence: MIT (see LICENSE).
 *
 * One Lua 5.4 state for the whole run; each input is loaded under lua_pcall
 * with options chosen by its last byte (the text is used whole), then the garbage collector runs so
 * every parser userdata is released (LeakSanitizer sees the module linked
 * in statically). yaml_load must either return a value or nil, msg, "yaml":
 * a raised error (other than out of memory) is a bug and traps. When bit 4
 * of the last byte is set, the Lua allocator fails after a number of
 * allocations taken from the first byte, so memory errors strike at many
 * points inside the loader (the parser must still be freed). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lua.h"
#include "lualib.h"
#include "lauxlib.h"

int luaopen_arazzo_core(lua_State *L);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *L;
static long budget = -1; /* allocations left before failing; -1: unlimited */

static void *fuzz_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  (void)osize;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  if (budget == 0) return NULL;
  if (budget > 0) budget--;
  return realloc(ptr, nsize);
}

/* run(core, text, flags): call yaml_load with options from flags and check
 * the result shape; then yaml_events. Raises on a contract violation. */
static int run(lua_State *S) {
  int flags = (int)lua_tointeger(S, 3), n;
  lua_getfield(S, 1, "yaml_load");
  lua_pushvalue(S, 2);
  lua_pushliteral(S, "fuzz");
  lua_createtable(S, 0, 4);
  lua_pushboolean(S, flags & 1);
  lua_setfield(S, -2, "positions");
  lua_pushboolean(S, !(flags & 2));
  lua_setfield(S, -2, "order");
  if (flags & 4) {
    lua_pushinteger(S, 8);
    lua_setfield(S, -2, "max_depth");
  }
  if (flags & 8) {
    lua_pushinteger(S, 1000);
    lua_setfield(S, -2, "max_nodes");
  }
  n = lua_gettop(S);
  lua_call(S, 3, LUA_MULTRET);
  n = lua_gettop(S) - n + 4; /* results */
  if (lua_isnil(S, -n)) {
    if (n != 3 || !lua_isstring(S, -2) || strncmp(lua_tostring(S, -2), "fuzz:", 5) != 0 ||
        strcmp(lua_tostring(S, -1), "yaml") != 0)
      luaL_error(S, "bad failure shape");
  } else if ((flags & 1) ? n != 2 || !lua_istable(S, -1) : n != 1) {
    luaL_error(S, "bad success shape");
  }
  lua_settop(S, 3);
  lua_getfield(S, 1, "yaml_events");
  lua_pushvalue(S, 2);
  lua_call(S, 1, 3);
  if (!lua_isinteger(S, -3) && !(lua_isnil(S, -3) && lua_isstring(S, -2)))
    luaL_error(S, "bad yaml_events result");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int flags = size ? data[size - 1] : 0;
  if (!L) {
    L = lua_newstate(fuzz_alloc, NULL);
    luaL_openlibs(L);
    luaL_requiref(L, "arazzo.core", luaopen_arazzo_core, 0);
    lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.core");
  }
  lua_pushcfunction(L, run);
  lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.core");
  lua_pushlstring(L, (const char *)data, size);
  lua_pushinteger(L, flags);
  if (flags & 16) budget = 20 + 4 * (long)(size ? data[0] : 0);
  if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (!msg || !strstr(msg, "not enough memory")) __builtin_trap();
    lua_pop(L, 1);
  }
  budget = -1;
  lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
