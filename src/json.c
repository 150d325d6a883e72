/* json.c: placeholder until the json concern lands.
 * Licence: MIT (see LICENSE). */
#include "arazzo.h"

const char *arazzo_json_encode_value(lua_State *L, int idx, luaL_Buffer *b) {
  (void)L; (void)idx; (void)b;
  return "json encoding is not built yet";
}

int arazzo_json_decode(lua_State *L, const char *s, size_t len, const char **msg, size_t *errpos) {
  (void)L; (void)s; (void)len;
  *msg = "json decoding is not built yet";
  *errpos = 0;
  return 0;
}

void arazzo_json_open(lua_State *L) { (void)L; }
