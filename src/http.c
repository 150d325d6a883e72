/* http.c: libcurl transport: a client userdata owning one easy handle, kept
 * across requests for keep-alive; a request table in, a response table out.
 * Licence: MIT (see LICENSE). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "arazzo.h"

#define CLIENT_MT "arazzo.http.Client"
#define MAX_HEAD (256 * 1024)     /* response header block of one response */
#define MAX_LINE (256 * 1024)     /* one request header line */
#define KEEP_CAP (1024 * 1024)    /* body capacity kept between requests */
#define MAX_SECONDS 2592000.0     /* 30 days: upper bound of any timeout */

enum { OV_NONE, OV_BODY, OV_HEAD, OV_NOMEM };

typedef struct {
  char *p;
  size_t len, cap;
} hbuf;

/* The client userdata. Every foreign resource hangs off it, so a Lua error
 * raised at any point while building a request leaks nothing. */
typedef struct {
  CURL *easy;               /* NULL once closed */
  struct curl_slist *hdrs;  /* request headers of the current request */
  hbuf body, head, line;    /* response body, final header block, scratch */
  size_t max_body;
  long connect_ms, max_redirects;
  int overflow;             /* OV_*: why a callback aborted the transfer */
  char errbuf[CURL_ERROR_SIZE];
} client;

/* One request, validated; strings point into the request table. */
typedef struct {
  const char *method, *url, *body;
  size_t mlen, ulen, blen;
  long timeout_ms, connect_ms;
  int headers; /* stack index of the headers table, or 0 */
} request;

/* Append n bytes to b without letting it grow beyond limit.
 * Returns OV_NONE, OV_BODY (limit) or OV_NOMEM. Never calls Lua. */
static int buf_add(hbuf *b, const char *s, size_t n, size_t limit) {
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
  memcpy(b->p + b->len, s, n);
  b->len += n;
  return OV_NONE;
}

static void buf_free(hbuf *b) {
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

/* libcurl write callback: body bytes into c->body, capped at max_body. */
static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud) {
  client *c = (client *)ud;
  int r = buf_add(&c->body, ptr, size * nmemb, c->max_body);
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
  r = buf_add(&c->head, ptr, n, MAX_HEAD);
  if (r == OV_NONE) return n;
  c->overflow = r == OV_BODY ? OV_HEAD : r;
  return 0;
}

/* Free everything the client owns; idempotent. */
static void client_release(client *c) {
  if (c->easy) curl_easy_cleanup(c->easy);
  c->easy = NULL;
  if (c->hdrs) curl_slist_free_all(c->hdrs);
  c->hdrs = NULL;
  buf_free(&c->body);
  buf_free(&c->head);
  buf_free(&c->line);
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

/* The open client at index 1; raises on a closed one. */
static client *check_open(lua_State *L) {
  client *c = (client *)luaL_checkudata(L, 1, CLIENT_MT);
  if (!c->easy) luaL_error(L, CLIENT_MT ": attempt to use a closed client");
  return c;
}

/* Seconds (number at idx) to milliseconds, rounded up; raises unless
 * 0 < s <= 30 days. */
static long to_ms(lua_State *L, int idx, const char *what) {
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
    c->connect_ms = to_ms(L, -1, "http_client: connect_timeout");
  } else if (!strcmp(k, "max_redirects")) {
    c->max_redirects = (long)opt_count(L, -1, "http_client: max_redirects", 0, 1000, "from 0 to 1000");
    setopt_ok(L, curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, c->max_redirects > 0 ? 1L : 0L), k);
    setopt_ok(L, curl_easy_setopt(e, CURLOPT_MAXREDIRS, c->max_redirects), k);
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

/* ---- requests ---------------------------------------------------------- */

/* Append s[0..n) to b for a message: bytes outside printable ASCII become
 * \xHH and the text is cut after 200 bytes, so messages stay one line. */
static void add_safe(luaL_Buffer *b, const char *s, size_t n) {
  size_t i;
  char hex[5];
  for (i = 0; i < n && i < 200; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch >= 0x20 && ch < 0x7f) {
      luaL_addchar(b, (char)ch);
    } else {
      snprintf(hex, sizeof hex, "\\x%02x", ch);
      luaL_addstring(b, hex);
    }
  }
  if (n > 200) luaL_addstring(b, "...");
}

/* Push "METHOD url" for messages, the url without userinfo, query or
 * fragment (any of them may carry secrets). [-0,+1] */
static void push_where(lua_State *L, const request *r) {
  const char *u = r->url, *end = u + r->ulen, *auth = u, *p, *at = NULL;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  add_safe(&b, r->method, r->mlen);
  luaL_addchar(&b, ' ');
  for (p = u; p + 2 < end && p - u < 32; p++)
    if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
      auth = p + 3;
      break;
    }
  for (p = auth; p < end && *p != '/' && *p != '?' && *p != '#'; p++)
    if (*p == '@') at = p;
  add_safe(&b, u, (size_t)(auth - u));
  if (at) auth = at + 1;
  for (p = auth; p < end && *p != '?' && *p != '#'; p++) {
  }
  add_safe(&b, auth, (size_t)(p - auth));
  if (p < end && *p == '?') luaL_addstring(&b, "?...");
  luaL_pushresult(&b);
}

/* Replace the text on top with nil, "<where>: <text>", code. [-1,+3] */
static int fail_msg(lua_State *L, const request *r, const char *code) {
  push_where(L, r);
  lua_pushliteral(L, ": ");
  lua_pushvalue(L, -3);
  lua_concat(L, 3);
  lua_remove(L, -2);
  lua_pushnil(L);
  lua_insert(L, -2);
  lua_pushstring(L, code);
  return 3;
}

/* The string value of request field k (at -1); raises on other types. */
static const char *req_string(lua_State *L, const char *k, size_t *n) {
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_error(L, "request: %s: string expected, got %s", k, luaL_typename(L, -1));
  return lua_tolstring(L, -1, n);
}

/* Read the request table (argument 2) into r; raises on unknown fields and
 * wrong types. Pushes the headers table when there is one. */
static void parse_request(lua_State *L, client *c, request *r) {
  int has_headers = 0;
  luaL_checktype(L, 2, LUA_TTABLE);
  memset(r, 0, sizeof *r);
  r->method = "GET";
  r->mlen = 3;
  r->timeout_ms = 30000;
  r->connect_ms = c->connect_ms;
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    const char *k;
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "request: field names must be strings");
    k = lua_tostring(L, -2);
    if (!strcmp(k, "method")) r->method = req_string(L, k, &r->mlen);
    else if (!strcmp(k, "url")) r->url = req_string(L, k, &r->ulen);
    else if (!strcmp(k, "body")) r->body = req_string(L, k, &r->blen);
    else if (!strcmp(k, "timeout")) r->timeout_ms = to_ms(L, -1, "request: timeout");
    else if (!strcmp(k, "connect_timeout")) r->connect_ms = to_ms(L, -1, "request: connect_timeout");
    else if (!strcmp(k, "headers")) {
      if (!lua_istable(L, -1)) luaL_error(L, "request: headers: table expected, got %s", luaL_typename(L, -1));
      has_headers = 1;
    } else luaL_error(L, "request: unknown field '%s'", k);
    lua_pop(L, 1);
  }
  if (!r->url) luaL_error(L, "request: url: string expected, got nil");
  if (has_headers) {
    lua_pushliteral(L, "headers");
    lua_rawget(L, 2);
    r->headers = lua_gettop(L);
  }
}

static int is_tchar(unsigned char ch) {
  return ch && (isalnum(ch) || strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Case-insensitive comparison of a header name with a lower-case literal. */
static int name_is(const char *n, size_t nl, const char *lit) {
  size_t i;
  if (nl != strlen(lit)) return 0;
  for (i = 0; i < nl; i++)
    if (tolower((unsigned char)n[i]) != lit[i]) return 0;
  return 1;
}

/* Append one request header to c->hdrs. Returns 0, or 1 with the reason
 * pushed; raises only on out-of-memory (c owns the list). */
static int add_header(lua_State *L, client *c, const char *n, size_t nl, const char *v, size_t vl,
                      unsigned *seen) {
  size_t i;
  const char *why = NULL;
  struct curl_slist *s;
  luaL_Buffer b;
  for (i = 0; i < nl; i++)
    if (!is_tchar((unsigned char)n[i])) break;
  if (nl == 0 || i < nl) why = "has an invalid name";
  else if (memchr(v, '\r', vl) || memchr(v, '\n', vl) || memchr(v, '\0', vl))
    why = "value contains CR, LF or NUL";
  else if (name_is(n, nl, "content-length") || name_is(n, nl, "transfer-encoding"))
    why = "is set by the transport";
  else if (nl + vl > MAX_LINE) why = "is too long";
  if (why) {
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "header '");
    add_safe(&b, n, nl);
    luaL_addstring(&b, "' ");
    luaL_addstring(&b, why);
    luaL_pushresult(&b);
    return 1;
  }
  if (name_is(n, nl, "content-type")) *seen |= 1;
  if (name_is(n, nl, "expect")) *seen |= 2;
  c->line.len = 0;
  if (buf_add(&c->line, n, nl, (size_t)-1) || buf_add(&c->line, vl ? ": " : ";", vl ? 2 : 1, (size_t)-1) ||
      buf_add(&c->line, v, vl, (size_t)-1) || buf_add(&c->line, "", 1, (size_t)-1))
    luaL_error(L, "not enough memory");
  s = curl_slist_append(c->hdrs, c->line.p);
  if (!s) luaL_error(L, "not enough memory");
  c->hdrs = s;
  return 0;
}

/* The name/value pair on the top two slots -> add_header. Raises unless
 * the name is a string and the value a string or number; i is the array
 * position (map = 0) or the map form (map = 1) for the message. */
static int add_pair(lua_State *L, client *c, lua_Integer i, int map, unsigned *seen) {
  size_t nl, vl;
  const char *n, *v;
  int vt = lua_type(L, -1);
  if (map && vt != LUA_TSTRING && vt != LUA_TNUMBER)
    luaL_error(L, "request: headers['%s']: string expected, got %s", lua_tostring(L, -2), luaL_typename(L, -1));
  if (!map && (lua_type(L, -2) != LUA_TSTRING || (vt != LUA_TSTRING && vt != LUA_TNUMBER)))
    luaL_error(L, "request: headers[%d]: {name, value} strings expected", (int)i);
  n = lua_tolstring(L, -2, &nl);
  v = lua_tolstring(L, -1, &vl);
  return add_header(L, c, n, nl, v, vl, seen);
}

/* Append a fixed header line; raises on out-of-memory (list kept). */
static void add_fixed(lua_State *L, client *c, const char *line) {
  struct curl_slist *s = curl_slist_append(c->hdrs, line);
  if (!s) luaL_error(L, "not enough memory");
  c->hdrs = s;
}

/* Build c->hdrs from the headers table (array of {name, value} pairs, in
 * order; or a name -> value map, in arazzo_push_keys order) plus the
 * headers the transport controls. Returns 0, or 1 with the reason pushed. */
static int build_headers(lua_State *L, client *c, const request *r, int send_body) {
  int t = r->headers, top = lua_gettop(L), fail = 0;
  unsigned seen = 0;
  lua_Integer i, n;
  if (c->hdrs) curl_slist_free_all(c->hdrs);
  c->hdrs = NULL;
  if (t) {
    lua_rawgeti(L, t, 1);
    if (!lua_isnil(L, -1)) {
      n = (lua_Integer)lua_rawlen(L, t);
      for (i = 1; i <= n && !fail; i++, lua_settop(L, top + 1)) {
        lua_rawgeti(L, t, i);
        if (!lua_istable(L, -1)) luaL_error(L, "request: headers[%d]: {name, value} expected", (int)i);
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        if ((fail = add_pair(L, c, i, 0, &seen)) != 0) lua_replace(L, top + 1);
      }
    } else {
      arazzo_push_keys(L, t);
      n = (lua_Integer)lua_rawlen(L, top + 2);
      for (i = 1; i <= n && !fail; i++, lua_settop(L, top + 2)) {
        lua_rawgeti(L, top + 2, i);
        lua_pushvalue(L, -1);
        lua_rawget(L, t);
        if ((fail = add_pair(L, c, i, 1, &seen)) != 0) lua_replace(L, top + 1);
      }
    }
    lua_settop(L, top + fail);
    if (fail) return 1;
  }
  if (!(seen & 2)) add_fixed(L, c, "Expect:");
  if (send_body && !(seen & 1)) add_fixed(L, c, "Content-Type:");
  return 0;
}

static int method_is(const request *r, const char *m) {
  return r->mlen == strlen(m) && memcmp(r->method, m, r->mlen) == 0;
}

/* 1 when the url starts with http:// or https:// (any case): libcurl
 * would otherwise guess a scheme for "host/path". */
static int has_scheme(const request *r) {
  static const char *const schemes[] = {"http://", "https://"};
  size_t k, i, n;
  for (k = 0; k < 2; k++) {
    n = strlen(schemes[k]);
    for (i = 0; i < n && i < r->ulen && tolower((unsigned char)r->url[i]) == schemes[k][i]; i++) {
    }
    if (i == n) return 1;
  }
  return 0;
}

/* Set the method and body options. GET/HEAD/POST use libcurl's own modes;
 * any other token goes through CUSTOMREQUEST. A body is sent when one is
 * given, and an empty one for POST/PUT/PATCH (Content-Length: 0). */
static void set_method(CURL *e, const request *r, int send_body) {
  curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (char *)NULL);
  if (method_is(r, "HEAD")) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (!send_body) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->blen);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
  }
  if (!(method_is(r, "GET") && !send_body) && !method_is(r, "HEAD") && !method_is(r, "POST"))
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
}

/* Push the text of libcurl's error buffer (or strerror), first letter
 * lower-cased when it starts a word. [-0,+1] */
static void push_curl_text(lua_State *L, client *c, CURLcode rc) {
  const char *t = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
  size_t n = strlen(t), i;
  luaL_Buffer b;
  while (n && (t[n - 1] == '\n' || t[n - 1] == '\r')) n--;
  luaL_buffinit(L, &b);
  for (i = 1; i < n && islower((unsigned char)t[i]); i++) {
  }
  if (i >= 2 && isupper((unsigned char)t[0]) && (i == n || !isalpha((unsigned char)t[i]))) {
    luaL_addchar(&b, (char)tolower((unsigned char)t[0]));
    t++;
    n--;
  }
  add_safe(&b, t, n);
  luaL_pushresult(&b);
}

static int is_tls_error(CURLcode rc) {
  switch (rc) {
  case CURLE_SSL_CONNECT_ERROR: case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER: case CURLE_SSL_CACERT_BADFILE: case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_CRL_BADFILE: case CURLE_SSL_PINNEDPUBKEYNOTMATCH: case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_ENGINE_NOTFOUND: case CURLE_SSL_ENGINE_SETFAILED: case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED: case CURLE_USE_SSL_FAILED:
    return 1;
  default:
    return 0;
  }
}

/* Map a failed transfer to nil, "<where>: <what>", code. [-0,+3] */
static int push_error(lua_State *L, client *c, const request *r, CURLcode rc) {
  const char *code = "http";
  long err = 0, sent = 0;
  char num[48];
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    code = "timeout";
    curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &sent);
    if (sent == 0)
      lua_pushfstring(L, "connect timed out (limit %d ms)",
                      (int)(r->connect_ms < r->timeout_ms ? r->connect_ms : r->timeout_ms));
    else
      lua_pushfstring(L, "timed out (limit %d ms)", (int)r->timeout_ms);
  } else if (rc == CURLE_COULDNT_CONNECT) {
    code = "connect";
    curl_easy_getinfo(c->easy, CURLINFO_OS_ERRNO, &err);
    if (err == ECONNREFUSED || err == 0) lua_pushliteral(L, "connection refused");
    else lua_pushfstring(L, "could not connect (%s)", strerror((int)err));
  } else if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY) {
    code = "connect";
    lua_pushstring(L, rc == CURLE_COULDNT_RESOLVE_HOST ? "could not resolve host" : "could not resolve proxy");
  } else if (c->overflow == OV_BODY || rc == CURLE_FILESIZE_EXCEEDED) {
    code = "too_large";
    snprintf(num, sizeof num, "%llu", (unsigned long long)c->max_body);
    lua_pushfstring(L, "response body exceeds max_body (%s bytes)", num);
  } else if (c->overflow == OV_HEAD) {
    lua_pushfstring(L, "response headers exceed %d bytes", MAX_HEAD);
  } else if (c->overflow == OV_NOMEM) {
    lua_pushliteral(L, "not enough memory for the response");
  } else if (rc == CURLE_TOO_MANY_REDIRECTS) {
    lua_pushfstring(L, "too many redirects (max_redirects %d)", (int)c->max_redirects);
  } else if (rc == CURLE_UNSUPPORTED_PROTOCOL) {
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &err);
    lua_pushstring(L, err ? "redirect refused: protocol not allowed (only http and https)"
                          : "protocol not allowed (only http and https)");
  } else if (rc == CURLE_URL_MALFORMAT) {
    lua_pushliteral(L, "malformed url");
  } else if (is_tls_error(rc)) {
    code = "tls";
    lua_pushliteral(L, "tls: ");
    push_curl_text(L, c, rc);
    lua_concat(L, 2);
  } else {
    push_curl_text(L, c, rc);
  }
  return fail_msg(L, r, code);
}

/* Parse the final header block into a table of lower-case names; repeats
 * joined with ", " (set-cookie with "\n"), obsolete folding joined with a
 * space. Lower-cases names in place in c->head. [-0,+1] */
static void push_headers(lua_State *L, client *c) {
  char *p = c->head.p, *end = p + c->head.len, *eol, *colon, *v, *ve;
  int t;
  lua_createtable(L, 0, 8);
  t = lua_gettop(L);
  lua_pushnil(L); /* t + 1: name of the last header, for folded lines */
  for (; p < end; p = eol + 1) {
    if (!(eol = (char *)memchr(p, '\n', (size_t)(end - p)))) eol = end;
    if (eol - p >= 5 && memcmp(p, "HTTP/", 5) == 0) continue;
    colon = (*p == ' ' || *p == '\t') ? p : (char *)memchr(p, ':', (size_t)(eol - p));
    if (!colon || (colon == p && lua_isnil(L, t + 1))) continue; /* status line, blank, junk */
    for (v = colon + (*colon == ':'); v < eol && (*v == ' ' || *v == '\t'); v++) {
    }
    for (ve = eol; ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'); ve--) {
    }
    if (colon != p) {
      char *k;
      for (k = p; k < colon; k++) *k = (char)tolower((unsigned char)*k);
      lua_pushlstring(L, p, (size_t)(colon - p));
      lua_replace(L, t + 1);
    }
    lua_pushvalue(L, t + 1);
    lua_rawget(L, t);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_pushvalue(L, t + 1);
      lua_pushlstring(L, v, (size_t)(ve - v));
    } else {
      const char *sep = colon == p ? " " : ", ";
      if (colon != p && name_is(p, (size_t)(colon - p), "set-cookie")) sep = "\n";
      lua_pushstring(L, sep);
      lua_pushlstring(L, v, (size_t)(ve - v));
      lua_concat(L, 3);
      lua_pushvalue(L, t + 1);
      lua_insert(L, -2);
    }
    lua_rawset(L, t);
  }
  lua_settop(L, t);
}

/* Push the response table of a completed transfer. [-0,+1] */
static void push_response(lua_State *L, client *c) {
  long status = 0, ver = 0;
  char *url = NULL;
  curl_off_t us = 0;
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(c->easy, CURLINFO_EFFECTIVE_URL, &url);
  curl_easy_getinfo(c->easy, CURLINFO_HTTP_VERSION, &ver);
  curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME_T, &us);
  lua_createtable(L, 0, 6);
  lua_pushinteger(L, (lua_Integer)status);
  lua_setfield(L, -2, "status");
  push_headers(L, c);
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, c->body.p ? c->body.p : "", c->body.len);
  lua_setfield(L, -2, "body");
  lua_pushstring(L, url ? url : "");
  lua_setfield(L, -2, "url");
  lua_pushstring(L, ver == CURL_HTTP_VERSION_1_0 ? "1.0" : ver == CURL_HTTP_VERSION_2_0 ? "2"
                    : ver == CURL_HTTP_VERSION_3 ? "3" : "1.1");
  lua_setfield(L, -2, "http_version");
  lua_pushnumber(L, (lua_Number)us / 1e6);
  lua_setfield(L, -2, "time");
}

/* client:request(req) -> response | nil, message, code. Raises on a closed
 * client and on malformed request tables (types, unknown fields). */
static int l_request(lua_State *L) {
  client *c = check_open(L);
  CURL *e = c->easy;
  request r;
  size_t i;
  int send_body;
  CURLcode rc;
  parse_request(L, c, &r);
  for (i = 0; i < r.mlen && is_tchar((unsigned char)r.method[i]); i++) {
  }
  if (r.mlen == 0 || i < r.mlen) return lua_pushliteral(L, "invalid method"), fail_msg(L, &r, "http");
  if (!has_scheme(&r)) return lua_pushliteral(L, "url scheme must be http or https"), fail_msg(L, &r, "http");
  if (memchr(r.url, '\0', r.ulen)) return lua_pushliteral(L, "malformed url"), fail_msg(L, &r, "http");
  if (r.body && method_is(&r, "HEAD"))
    return lua_pushliteral(L, "a HEAD request cannot have a body"), fail_msg(L, &r, "http");
  send_body = r.body || method_is(&r, "POST") || method_is(&r, "PUT") || method_is(&r, "PATCH");
  if (build_headers(L, c, &r, send_body)) return fail_msg(L, &r, "http");
  if (curl_easy_setopt(e, CURLOPT_URL, r.url) != CURLE_OK) return luaL_error(L, "not enough memory");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdrs);
  set_method(e, &r, send_body);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r.timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, r.connect_ms);
  c->body.len = c->head.len = 0;
  c->overflow = OV_NONE;
  c->errbuf[0] = '\0';
  rc = curl_easy_perform(e);
  /* Drop pointers into Lua strings and the header list before anything
   * else can run. */
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, (char *)NULL);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
  curl_slist_free_all(c->hdrs);
  c->hdrs = NULL;
  if (rc != CURLE_OK) return push_error(L, c, &r, rc);
  push_response(L, c);
  if (c->body.cap > KEEP_CAP) buf_free(&c->body);
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

static const luaL_Reg client_methods[] = {{"request", l_request}, {"close", l_close}, {NULL, NULL}};

static const luaL_Reg http_funcs[] = {
    {"http_client", l_http_client}, {"http_version", l_http_version}, {NULL, NULL}};

/* Register core.http_client / core.http_version and the client metatable;
 * initialise libcurl once per process (never torn down). [-0,+0] */
void arazzo_http_open(lua_State *L) {
  static int curl_ready = 0;
  if (!curl_ready) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) luaL_error(L, "curl_global_init failed");
    curl_ready = 1;
  }
  if (luaL_newmetatable(L, CLIENT_MT)) {
    luaL_setfuncs(L, client_meta, 0);
    lua_pushliteral(L, CLIENT_MT);
    lua_setfield(L, -2, "__name");
    lua_newtable(L);
    luaL_setfuncs(L, client_methods, 0);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, http_funcs, 0);
}
