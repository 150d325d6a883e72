/* http.c: placeholder until the http concern lands; registers nothing.
 * Licence: MIT (see LICENSE). */
#include "arazzo.h"

void arazzo_http_open(lua_State *L) { (void)L; }
