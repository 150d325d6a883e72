/* regex.c: placeholder until the regex concern lands.
 * Licence: MIT (see LICENSE). */
#include <stdio.h>
#include "arazzo.h"

arazzo_regex *arazzo_regex_compile(lua_State *L, const char *pat, size_t len, int full_match,
                                   char *err, size_t errlen) {
  (void)L; (void)pat; (void)len; (void)full_match;
  snprintf(err, errlen, "regex support is not built yet");
  return NULL;
}

int arazzo_regex_exec(arazzo_regex *re, const char *s, size_t len) {
  (void)re; (void)s; (void)len;
  return -1;
}

void arazzo_regex_open(lua_State *L) { (void)L; }
