/* xml.c: placeholder until the xml concern lands; registers nothing.
 * Licence: MIT (see LICENSE). */
#include "arazzo.h"

void arazzo_xml_open(lua_State *L) { (void)L; }
