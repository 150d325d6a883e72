/* compat.h: shims so one C source builds for Lua 5.4, 5.1 and LuaJIT.
 * Licence: MIT (see LICENSE). */
#ifndef ARAZZO_COMPAT_H
#define ARAZZO_COMPAT_H

#include "lua.h"
#include "lauxlib.h"

#if LUA_VERSION_NUM < 503
/* lua-compat53-dev: static-inline variant, renamed compat53_* so it never
 * clashes with LuaJIT's own 5.2 extensions. */
#include "compat-5.3.h"
#endif

#if LUA_VERSION_NUM >= 504
#define ARAZZO_CLOSE_METAMETHOD 1
#else
#define ARAZZO_CLOSE_METAMETHOD 0
#endif

#endif
