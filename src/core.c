/* core.c: luaopen_arazzo_core, builds the module table from each concern.
 * Licence: MIT (see LICENSE). */
#include "arazzo.h"

#if defined(__GNUC__)
#define ARAZZO_EXPORT __attribute__((visibility("default")))
#else
#define ARAZZO_EXPORT
#endif

ARAZZO_EXPORT int luaopen_arazzo_core(lua_State *L);

ARAZZO_EXPORT int luaopen_arazzo_core(lua_State *L) {
  lua_newtable(L);
  lua_pushliteral(L, ARAZZO_VERSION);
  lua_setfield(L, -2, "_VERSION");
  arazzo_value_open(L);
  arazzo_yaml_open(L);
  arazzo_json_open(L);
  arazzo_pointer_open(L);
  arazzo_expr_open(L);
  arazzo_jsonpath_open(L);
  arazzo_regex_open(L);
  arazzo_url_open(L);
  arazzo_form_open(L);
  arazzo_http_open(L);
  arazzo_xml_open(L);
  arazzo_time_open(L);
  arazzo_step_open(L);
  return 1;
}
