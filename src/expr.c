/* expr.c: placeholder until the expr concern lands; registers nothing.
 * Licence: MIT (see LICENSE). */
#include "arazzo.h"

void arazzo_expr_open(lua_State *L) { (void)L; }
