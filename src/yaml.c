/* yaml.c: placeholder until the yaml concern lands; registers nothing.
 * Licence: MIT (see LICENSE). */
#include "arazzo.h"

void arazzo_yaml_open(lua_State *L) { (void)L; }
