/* time.c: monotonic clock and sleep for retry waits and step timing.
 * Licence: MIT (see LICENSE). */
#include <errno.h>
#include <math.h>
#include <time.h>

#include "arazzo.h"

/* core.now() -> seconds (float) on a monotonic clock; only differences mean
 * anything. */
static int l_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* core.sleep(seconds): blocks the calling thread (not for OpenResty, which
 * passes ngx.sleep as opts.sleep instead). Negative, NaN or more than a day
 * raise: the caller clamps. Interrupted sleeps resume for the remaining time. */
static int l_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  struct timespec req, rem;
  luaL_argcheck(L, s >= 0 && s <= 86400, 1, "seconds must be between 0 and 86400");
  req.tv_sec = (time_t)floor(s);
  req.tv_nsec = (long)((s - floor(s)) * 1e9);
  if (req.tv_nsec > 999999999L) req.tv_nsec = 999999999L;
  while (nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
  return 0;
}

/* core.wallclock() -> seconds since the epoch (float), for HTTP dates. */
static int l_wallclock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

static const luaL_Reg time_funcs[] = {
    {"now", l_now}, {"sleep", l_sleep}, {"wallclock", l_wallclock}, {NULL, NULL}};

void arazzo_time_open(lua_State *L) { luaL_setfuncs(L, time_funcs, 0); }
