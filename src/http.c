/* http.c: libcurl client userdata (one easy handle, keep-alive), options, registration; shared buffers, header lists, url checks.
 * Licence: MIT (see LICENSE). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http_internal.h"

#define MAX_SECONDS 2592000.0 /* 30 days: upper bound of any timeout */
#define KEEP_HEADERS (64 * 1024) /* header text capacity kept between requests */
#define MAX_LINE_TEXT ((size_t)1 << 30) /* no piece of a header line is longer (no overflow) */

/* Make room for n more bytes in b without letting it grow beyond limit.
 * Returns OV_NONE, OV_BODY (limit) or OV_NOMEM. Never calls Lua. */
static int buf_reserve(hbuf *b, size_t n, size_t limit) {
  if (n > limit - b->len) return OV_BODY;
  if (n > b->cap - b->len) {
    size_t cap = b->cap ? b->cap : 4096;
    char *np;
    while (cap < b->len + n) cap *= 2;
    if (cap > limit) cap = limit;
    np = (char *)realloc(b->p, cap);
    if (!np) return OV_NOMEM;
    b->p = np;
    b->cap = cap;
  }
  return OV_NONE;
}

/* Append n bytes to b without letting it grow beyond limit.
 * Returns OV_NONE, OV_BODY (limit) or OV_NOMEM. Never calls Lua. */
int arazzo_http_buf_add(hbuf *b, const char *s, size_t n, size_t limit) {
  int r = buf_reserve(b, n, limit);
  if (r != OV_NONE) return r;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  return OV_NONE;
}

void arazzo_http_buf_free(hbuf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* Append the line a b c to h, NUL-terminated. Returns OV_NONE, or OV_NOMEM
 * with h unchanged. Never calls Lua. */
int arazzo_http_hlist_add(hlist *h, const char *a, size_t al, const char *b, size_t bl, const char *c, size_t cl) {
  char *p;
  if (h->n == h->cap) {
    size_t ncap = h->cap ? h->cap * 2 : 8;
    struct curl_slist *nn = (struct curl_slist *)realloc(h->node, ncap * sizeof *nn);
    if (!nn) return OV_NOMEM;
    h->node = nn;
    h->cap = ncap;
  }
  if (al > MAX_LINE_TEXT || bl > MAX_LINE_TEXT || cl > MAX_LINE_TEXT ||
      buf_reserve(&h->text, al + bl + cl + 1, (size_t)-1) != OV_NONE)
    return OV_NOMEM;
  p = h->text.p + h->text.len;
  memcpy(p, a, al);
  memcpy(p + al, b, bl);
  memcpy(p + al + bl, c, cl);
  p[al + bl + cl] = '\0';
  h->text.len += al + bl + cl + 1;
  h->n++;
  return OV_NONE;
}

/* Link h's nodes over its lines; returns the list head, NULL when empty.
 * The nodes are linked only once every line is in: adding a line may move
 * the text. */
struct curl_slist *arazzo_http_hlist_link(hlist *h) {
  char *p = h->text.p;
  size_t i;
  for (i = 0; i < h->n; i++) {
    h->node[i].data = p;
    h->node[i].next = i + 1 < h->n ? &h->node[i + 1] : NULL;
    p += strlen(p) + 1;
  }
  return h->n ? h->node : NULL;
}

/* Empty h; keep its storage (keep 1) unless it has outgrown KEEP_HEADERS. */
void arazzo_http_hlist_clear(hlist *h, int keep) {
  h->n = 0;
  h->text.len = 0;
  if (keep && h->text.cap <= KEEP_HEADERS && h->cap <= KEEP_HEADERS / 16) return;
  arazzo_http_buf_free(&h->text);
  free(h->node);
  h->node = NULL;
  h->cap = 0;
}

/* libcurl write callback: body bytes into c->body, capped at max_body. */
static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud) {
  client *c = (client *)ud;
  int r = arazzo_http_buf_add(&c->body, ptr, size * nmemb, c->max_body);
  if (r == OV_NONE) return size * nmemb;
  c->overflow = r;
  return 0;
}

/* libcurl header callback: one complete line per call. A status line starts
 * a new response (1xx, redirect, proxy CONNECT), so only the final
 * response's header block survives. */
static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *ud) {
  client *c = (client *)ud;
  size_t n = size * nmemb;
  int r;
  if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) c->head.len = 0;
  r = arazzo_http_buf_add(&c->head, ptr, n, MAX_HEAD);
  if (r == OV_NONE) return n;
  c->overflow = r == OV_BODY ? OV_HEAD : r;
  return 0;
}

/* Free everything the client owns; idempotent. */
static void client_release(client *c) {
  if (c->easy) curl_easy_cleanup(c->easy);
  c->easy = NULL;
  arazzo_http_hlist_clear(&c->hdrs, 0);
  arazzo_http_hlist_clear(&c->safe, 0);
  arazzo_http_buf_free(&c->body);
  arazzo_http_buf_free(&c->head);
}

/* __gc, __close and client:close(). [-0,+0] */
static int l_close(lua_State *L) {
  client_release((client *)luaL_checkudata(L, 1, CLIENT_MT));
  return 0;
}

static int l_tostring(lua_State *L) {
  client *c = (client *)luaL_checkudata(L, 1, CLIENT_MT);
  if (c->easy) lua_pushfstring(L, CLIENT_MT ": %p", (void *)c);
  else lua_pushliteral(L, CLIENT_MT ": closed");
  return 1;
}

/* The open client at index 1; raises on a closed one. The metatable is
 * compared with the method's upvalue rather than looked up by name. */
client *arazzo_http_check_open(lua_State *L) {
  client *c = (client *)lua_touserdata(L, 1);
  int ok = lua_type(L, 1) == LUA_TUSERDATA && lua_getmetatable(L, 1);
  if (ok) {
    ok = lua_rawequal(L, -1, HTTP_UV_MT);
    lua_pop(L, 1);
  }
  if (!ok) c = (client *)luaL_checkudata(L, 1, CLIENT_MT); /* raises the usual message */
  if (!c->easy) luaL_error(L, CLIENT_MT ": attempt to use a closed client");
  return c;
}

/* ---- urls ---------------------------------------------------------------- */

/* 1 when u[0..ul) starts with http:// or https:// (any case): libcurl
 * would otherwise guess a scheme for "host/path". ASCII case only (no
 * locale). */
int arazzo_http_has_scheme(const char *u, size_t ul) {
  static const char *const schemes[] = {"http://", "https://"};
  size_t k, i, n;
  for (k = 0; k < 2; k++) {
    n = strlen(schemes[k]);
    for (i = 0; i < n && i < ul && ARAZZO_HTTP_LOWER(u[i]) == schemes[k][i]; i++) {
    }
    if (i == n) return 1;
  }
  return 0;
}

/* 1 when a and b are equal but for ASCII case (NULL equals nothing). */
static int same_text(const char *a, const char *b) {
  if (!a || !b) return 0;
  for (; *a && ARAZZO_HTTP_LOWER(*a) == ARAZZO_HTTP_LOWER(*b); a++, b++) {
  }
  return *a == '\0' && *b == '\0';
}

/* 1 when libcurl can parse url b and it has the same origin (scheme, host,
 * port with defaults filled in, IPv6 zone; scheme and host compared without
 * ASCII case) as url a; 0 for another origin (and when a does not parse or
 * memory runs out: the safe answer); -1 when b does not parse. C only. */
int arazzo_http_same_origin(const char *a, const char *b) {
  static const CURLUPart parts[] = {CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT, CURLUPART_ZONEID};
  CURLU *ua = curl_url(), *ub = curl_url();
  int same = ua && ub && curl_url_set(ua, CURLUPART_URL, a, 0) == CURLUE_OK;
  size_t i;
  if (ub && curl_url_set(ub, CURLUPART_URL, b, 0) != CURLUE_OK) same = -1;
  for (i = 0; same == 1 && i < sizeof parts / sizeof parts[0]; i++) {
    char *pa = NULL, *pb = NULL;
    unsigned flags = parts[i] == CURLUPART_PORT ? CURLU_DEFAULT_PORT : 0;
    CURLUcode ra = curl_url_get(ua, parts[i], &pa, flags), rb = curl_url_get(ub, parts[i], &pb, flags);
    if (ra != rb || (ra == CURLUE_OK && !same_text(pa, pb))) same = 0;
    curl_free(pa);
    curl_free(pb);
  }
  curl_url_cleanup(ua);
  curl_url_cleanup(ub);
  return same;
}

/* Seconds (number at idx) to milliseconds, rounded up; raises unless
 * 0 < s <= 30 days. */
long arazzo_http_to_ms(lua_State *L, int idx, const char *what) {
  double s;
  if (lua_type(L, idx) != LUA_TNUMBER)
    luaL_error(L, "%s: number expected, got %s", what, luaL_typename(L, idx));
  s = lua_tonumber(L, idx);
  if (!(s > 0 && s <= MAX_SECONDS)) luaL_error(L, "%s: seconds must be > 0 and <= 2592000", what);
  return (long)ceil(s * 1000.0);
}

/* The string at idx with no CR, LF or NUL; raises otherwise. */
static const char *opt_string(lua_State *L, int idx, const char *what) {
  size_t n;
  const char *s;
  if (lua_type(L, idx) != LUA_TSTRING)
    luaL_error(L, "%s: string expected, got %s", what, luaL_typename(L, idx));
  s = lua_tolstring(L, idx, &n);
  if (strlen(s) != n || strpbrk(s, "\r\n")) luaL_error(L, "%s: contains CR, LF or NUL", what);
  return s;
}

/* A whole number at idx in [lo, hi] (range: the same as text); raises
 * otherwise. */
static double opt_count(lua_State *L, int idx, const char *what, double lo, double hi, const char *range) {
  double d;
  if (lua_type(L, idx) != LUA_TNUMBER)
    luaL_error(L, "%s: number expected, got %s", what, luaL_typename(L, idx));
  d = lua_tonumber(L, idx);
  if (!(d >= lo && d <= hi) || d != floor(d))
    luaL_error(L, "%s: integer %s expected", what, range);
  return d;
}

static void setopt_ok(lua_State *L, CURLcode rc, const char *what) {
  if (rc != CURLE_OK) luaL_error(L, "http_client: cannot set %s: %s", what, curl_easy_strerror(rc));
}

/* Apply one client option (key at -2, value at -1). Raises on unknown
 * names and bad values. [-0,+0] */
static void client_option(lua_State *L, client *c) {
  CURL *e = c->easy;
  const char *k;
  if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "http_client: option names must be strings");
  k = lua_tostring(L, -2);
  if (!strcmp(k, "user_agent")) {
    setopt_ok(L, curl_easy_setopt(e, CURLOPT_USERAGENT, opt_string(L, -1, "http_client: user_agent")), k);
  } else if (!strcmp(k, "max_body")) {
    c->max_body = (size_t)opt_count(L, -1, "http_client: max_body", 1, 1099511627776.0, "from 1 to 2^40");
    setopt_ok(L, curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_body), k);
  } else if (!strcmp(k, "connect_timeout")) {
    c->connect_ms = arazzo_http_to_ms(L, -1, "http_client: connect_timeout");
  } else if (!strcmp(k, "max_redirects")) {
    /* followed by http_request.c, never by libcurl */
    c->max_redirects = (long)opt_count(L, -1, "http_client: max_redirects", 0, 1000, "from 0 to 1000");
  } else if (!strcmp(k, "verify")) {
    long v;
    if (lua_type(L, -1) != LUA_TBOOLEAN)
      luaL_error(L, "http_client: verify: boolean expected, got %s", luaL_typename(L, -1));
    v = lua_toboolean(L, -1);
    setopt_ok(L, curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, v), k);
    setopt_ok(L, curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, v ? 2L : 0L), k);
  } else if (!strcmp(k, "ca_file")) {
    setopt_ok(L, curl_easy_setopt(e, CURLOPT_CAINFO, opt_string(L, -1, "http_client: ca_file")), k);
  } else if (!strcmp(k, "proxy")) {
    setopt_ok(L, curl_easy_setopt(e, CURLOPT_PROXY, opt_string(L, -1, "http_client: proxy")), k);
  } else {
    luaL_error(L, "http_client: unknown option '%s'", k);
  }
}

/* Options every client starts with. Raises if libcurl refuses one. */
static void client_defaults(lua_State *L, client *c) {
  CURL *e = c->easy;
  setopt_ok(L, curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L), "nosignal");
  setopt_ok(L, curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L), "max_redirects");
#if LIBCURL_VERSION_NUM >= 0x075500
  setopt_ok(L, curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"), "protocols");
  setopt_ok(L, curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"), "protocols");
#else
  setopt_ok(L, curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)), "protocols");
  setopt_ok(L, curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)), "protocols");
#endif
  setopt_ok(L, curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""), "accept_encoding");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)c);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)c);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
  setopt_ok(L, curl_easy_setopt(e, CURLOPT_USERAGENT, "arazzo/" ARAZZO_VERSION), "user_agent");
  setopt_ok(L, curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_body), "max_body");
  setopt_ok(L, curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L), "verify");
  setopt_ok(L, curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L), "verify");
}

/* core.http_client([opts]) -> client. Raises on bad options. [-0,+1] */
static int l_http_client(lua_State *L) {
  client *c;
  int has = !lua_isnoneornil(L, 1);
  if (has) luaL_checktype(L, 1, LUA_TTABLE);
  c = (client *)lua_newuserdata(L, sizeof *c);
  memset(c, 0, sizeof *c);
  c->max_body = 16 * 1024 * 1024;
  c->connect_ms = 10000;
  luaL_getmetatable(L, CLIENT_MT);
  lua_setmetatable(L, -2);
  c->easy = curl_easy_init();
  if (!c->easy) return luaL_error(L, "http_client: curl_easy_init failed");
  client_defaults(L, c);
  if (has) {
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      client_option(L, c);
      lua_pop(L, 1);
    }
  }
  return 1;
}

/* core.http_version() -> "7.88.1", full libcurl version text. [-0,+2] */
static int l_http_version(lua_State *L) {
  lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
  lua_pushstring(L, curl_version());
  return 2;
}

static const luaL_Reg client_meta[] = {
    {"__gc", l_close},
    {"__tostring", l_tostring},
#if ARAZZO_CLOSE_METAMETHOD
    {"__close", l_close},
#endif
    {NULL, NULL}};

static const luaL_Reg client_methods[] = {{"request", arazzo_http_request}, {"close", l_close}, {NULL, NULL}};

static const luaL_Reg http_funcs[] = {
    {"http_client", l_http_client}, {"http_version", l_http_version}, {NULL, NULL}};

/* Register core.http_client / core.http_version and the client metatable;
 * initialise libcurl once per process (never torn down). [-0,+0] */
void arazzo_http_open(lua_State *L) {
  static const char *const response_keys[HTTP_K_COUNT] = {"status", "headers", "body", "url", "http_version", "time"};
  static int curl_ready = 0;
  int i;
  if (!curl_ready) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) luaL_error(L, "curl_global_init failed");
    curl_ready = 1;
  }
  if (luaL_newmetatable(L, CLIENT_MT)) {
    luaL_setfuncs(L, client_meta, 0);
    lua_pushliteral(L, CLIENT_MT);
    lua_setfield(L, -2, "__name");
    lua_newtable(L);
    lua_pushvalue(L, -2);          /* upvalue 1: this metatable (HTTP_UV_MT) */
    arazzo_push_order_table(L);    /* upvalue 2: the key-order table (HTTP_UV_ORDER) */
    lua_newtable(L);               /* upvalue 3: header string cache (HTTP_UV_STRINGS) */
    for (i = 0; i < HTTP_K_COUNT; i++) lua_pushstring(L, response_keys[i]); /* HTTP_UV_KEY(i) */
    luaL_setfuncs(L, client_methods, 3 + HTTP_K_COUNT);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, http_funcs, 0);
}
