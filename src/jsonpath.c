/* jsonpath.c: placeholder until the jsonpath concern lands; registers nothing.
 * Licence: MIT (see LICENSE). */
#include "arazzo.h"

void arazzo_jsonpath_open(lua_State *L) { (void)L; }
