/* url.c: placeholder until the url concern lands; registers nothing.
 * Licence: MIT (see LICENSE). */
#include "arazzo.h"

void arazzo_url_open(lua_State *L) { (void)L; }
