/* form.c: placeholder until the form concern lands; registers nothing.
 * Licence: MIT (see LICENSE). */
#include "arazzo.h"

void arazzo_form_open(lua_State *L) { (void)L; }
