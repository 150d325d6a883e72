/* http_request.c: client:request: validate the request table, build headers and method, run the transfer.
 * Licence: MIT (see LICENSE). */
#include <string.h>

#include <curl/curl.h>

#include "http_internal.h"

#define MAX_LINE (256 * 1024)     /* one request header line */
#define KEEP_CAP (1024 * 1024)    /* body capacity kept between requests */

/* The string value of request field k (at -1); raises on other types. */
static const char *req_string(lua_State *L, const char *k, size_t *n) {
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_error(L, "request: %s: string expected, got %s", k, luaL_typename(L, -1));
  return lua_tolstring(L, -1, n);
}

enum { F_UNKNOWN, F_METHOD, F_URL, F_BODY, F_TIMEOUT, F_CONNECT, F_HEADERS };

/* Which request field the name k[0..n) is (exact bytes). */
static int field_id(const char *k, size_t n) {
  switch (n) {
  case 3: return memcmp(k, "url", 3) ? F_UNKNOWN : F_URL;
  case 4: return memcmp(k, "body", 4) ? F_UNKNOWN : F_BODY;
  case 6: return memcmp(k, "method", 6) ? F_UNKNOWN : F_METHOD;
  case 7: return !memcmp(k, "timeout", 7) ? F_TIMEOUT : !memcmp(k, "headers", 7) ? F_HEADERS : F_UNKNOWN;
  case 15: return memcmp(k, "connect_timeout", 15) ? F_UNKNOWN : F_CONNECT;
  default: return F_UNKNOWN;
  }
}

/* Raise "request: unknown field '<k>'" (the name made printable). */
static void unknown_field(lua_State *L, const char *k, size_t n) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "request: unknown field '");
  arazzo_http_add_safe(&b, k, n);
  luaL_addchar(&b, '\'');
  luaL_pushresult(&b);
  lua_error(L);
}

/* Read the request table (argument 2) into r; raises on unknown fields and
 * wrong types. Leaves the headers table on the stack when there is one
 * (moved below the traversal key as it is met). */
static void parse_request(lua_State *L, client *c, request *r) {
  luaL_checktype(L, 2, LUA_TTABLE);
  memset(r, 0, sizeof *r);
  r->method = "GET";
  r->mlen = 3;
  r->timeout_ms = 30000;
  r->connect_ms = c->connect_ms;
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    size_t kl;
    const char *k;
    if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "request: field names must be strings");
    k = lua_tolstring(L, -2, &kl);
    switch (field_id(k, kl)) {
    case F_METHOD: r->method = req_string(L, "method", &r->mlen); break;
    case F_URL: r->url = req_string(L, "url", &r->ulen); break;
    case F_BODY: r->body = req_string(L, "body", &r->blen); break;
    case F_TIMEOUT: r->timeout_ms = arazzo_http_to_ms(L, -1, "request: timeout"); break;
    case F_CONNECT: r->connect_ms = arazzo_http_to_ms(L, -1, "request: connect_timeout"); break;
    case F_HEADERS:
      if (!lua_istable(L, -1)) luaL_error(L, "request: headers: table expected, got %s", luaL_typename(L, -1));
      lua_insert(L, -2); /* [headers, key]: the table is referenced by argument 2 anyway */
      r->headers = lua_gettop(L) - 1;
      continue;
    default: unknown_field(L, k, kl);
    }
    lua_pop(L, 1);
  }
  if (!r->url) luaL_error(L, "request: url: string expected, got nil");
}

/* RFC 9110 tchar: ASCII letters, digits and !#$%&'*+-.^_`|~ (a table, so
 * the C locale cannot widen it). */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1,
    ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
    ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
    ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1};

/* Why header value v[0..vl) cannot be sent, or NULL. */
static const char *bad_value(const char *v, size_t vl) {
  size_t i;
  for (i = 0; i < vl; i++)
    if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0') return "value contains CR, LF or NUL";
  return NULL;
}

enum { N_TYPE = 1, N_EXPECT = 2, N_MANAGED = 4 };

/* The names the transport treats specially: N_TYPE (Content-Type),
 * N_EXPECT, N_MANAGED (Content-Length, Transfer-Encoding), else 0. */
static unsigned name_class(const char *n, size_t nl) {
  switch (nl) {
  case 6: return arazzo_http_name_is(n, nl, "expect") ? N_EXPECT : 0;
  case 12: return arazzo_http_name_is(n, nl, "content-type") ? N_TYPE : 0;
  case 14: return arazzo_http_name_is(n, nl, "content-length") ? N_MANAGED : 0;
  case 17: return arazzo_http_name_is(n, nl, "transfer-encoding") ? N_MANAGED : 0;
  default: return 0;
  }
}

/* Append one request header to c->hdrs; *seen collects the name classes
 * sent. Returns 0, or 1 with the reason pushed; raises only on
 * out-of-memory (c owns the list). */
static int add_header(lua_State *L, client *c, const char *n, size_t nl, const char *v, size_t vl,
                      unsigned *seen) {
  size_t i;
  unsigned cls = 0;
  const char *why = NULL;
  luaL_Buffer b;
  for (i = 0; i < nl; i++)
    if (!tchar[(unsigned char)n[i]]) break;
  if (nl == 0 || i < nl) why = "has an invalid name";
  else if ((why = bad_value(v, vl)) != NULL) {
  } else if ((cls = name_class(n, nl)) == N_MANAGED)
    why = "is set by the transport";
  else if (nl + vl > MAX_LINE) why = "is too long";
  if (why) {
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "header '");
    arazzo_http_add_safe(&b, n, nl);
    luaL_addstring(&b, "' ");
    luaL_addstring(&b, why);
    luaL_pushresult(&b);
    return 1;
  }
  *seen |= cls;
  if (arazzo_http_hlist_add(&c->hdrs, n, nl, vl ? ": " : ";", vl ? 2 : 1, v, vl)) luaL_error(L, "not enough memory");
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

/* Append a fixed header line to *h; raises on out-of-memory (h kept). */
static void add_line(lua_State *L, hlist *h, const char *line) {
  if (arazzo_http_hlist_add(h, line, strlen(line), "", 0, "", 0)) luaL_error(L, "not enough memory");
}

/* ---- a map's headers in key order without building a key list ------------
 * arazzo_push_keys (a new list, a seen-set and a sort buffer per call) is
 * the general path. A map with no recorded order and at most MAP_FAST
 * string keys, the runner's case, is collected onto the C stack instead and
 * sorted there, in the same bytewise order. */

#define MAP_FAST 32

typedef struct {
  const char *k, *v; /* v NULL: the value is not a string (checked later) */
  size_t kl, vl;
} hpair;

/* Bytewise order of names that may hold NULs (arazzo_push_keys' order). */
static int name_cmp(const hpair *x, const hpair *y) {
  int d = memcmp(x->k, y->k, x->kl < y->kl ? x->kl : y->kl);
  return d ? d : (x->kl > y->kl) - (x->kl < y->kl);
}

/* Collect the string-keyed entries of the map at t into p, sorted by name.
 * Returns their count, or -1 when t has a recorded key order or more than
 * MAP_FAST string keys. The pointers stay valid while t is unchanged: t
 * references every key and string value. [-0,+0] */
static int collect_map(lua_State *L, int t, hpair *p) {
  int n = 0, j, ordered = 1;
  if (lua_istable(L, HTTP_UV_ORDER)) {
    lua_pushvalue(L, t);
    lua_rawget(L, HTTP_UV_ORDER);
    ordered = lua_istable(L, -1);
    lua_pop(L, 1);
  }
  if (ordered) return -1;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) == LUA_TSTRING) {
      hpair e;
      if (n == MAP_FAST) {
        lua_pop(L, 2);
        return -1;
      }
      e.k = lua_tolstring(L, -2, &e.kl);
      e.v = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &e.vl) : NULL;
      if (!e.v) e.vl = 0;
      for (j = n++; j > 0 && name_cmp(&p[j - 1], &e) > 0; j--) p[j] = p[j - 1];
      p[j] = e;
    }
    lua_pop(L, 1);
  }
  return n;
}

/* add_header for each entry of p in turn; a non-string value is fetched
 * from the map at t for add_pair's checks. Returns 0, or 1 with the reason
 * on top. [-0,+0|1] */
static int add_collected(lua_State *L, client *c, int t, const hpair *p, int n, unsigned *seen) {
  int i, fail = 0, top = lua_gettop(L);
  for (i = 0; i < n && !fail; i++) {
    if (p[i].v) {
      fail = add_header(L, c, p[i].k, p[i].kl, p[i].v, p[i].vl, seen);
    } else {
      lua_pushlstring(L, p[i].k, p[i].kl);
      lua_pushvalue(L, -1);
      lua_rawget(L, t);
      if ((fail = add_pair(L, c, i + 1, 1, seen)) != 0) lua_replace(L, top + 1);
      lua_settop(L, top + fail);
    }
  }
  return fail;
}

/* The map at t in arazzo_push_keys order -> add_pair. Returns 0, or 1 with
 * the reason on top. [-0,+0|1] */
static int add_map(lua_State *L, client *c, int t, unsigned *seen) {
  hpair p[MAP_FAST];
  int top = lua_gettop(L), fail = 0, n = collect_map(L, t, p);
  lua_Integer i, len;
  if (n >= 0) return add_collected(L, c, t, p, n, seen);
  arazzo_push_keys(L, t);
  len = (lua_Integer)lua_rawlen(L, top + 1);
  for (i = 1; i <= len && !fail; i++, lua_settop(L, top + 1)) {
    lua_rawgeti(L, top + 1, i);
    lua_pushvalue(L, -1);
    lua_rawget(L, t);
    if ((fail = add_pair(L, c, i, 1, seen)) != 0) lua_replace(L, top + 1);
  }
  lua_settop(L, top + fail);
  return fail;
}

/* Build c->hdrs from the headers table (array of {name, value} pairs, in
 * order; or a name -> value map, in arazzo_push_keys order) plus the
 * headers the transport controls. Returns 0, or 1 with the reason pushed. */
static int build_headers(lua_State *L, client *c, const request *r, int send_body) {
  int t = r->headers, top = lua_gettop(L), fail = 0;
  unsigned seen = 0;
  lua_Integer i, n;
  arazzo_http_hlist_clear(&c->hdrs, 1);
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
      lua_pop(L, 1);
      fail = add_map(L, c, t, &seen); /* the reason, if any, is at top + 1 */
    }
    lua_settop(L, top + fail);
    if (fail) return 1;
  }
  if (!(seen & N_EXPECT)) add_line(L, &c->hdrs, "Expect:");
  if (send_body && !(seen & N_TYPE)) add_line(L, &c->hdrs, "Content-Type:");
  return 0;
}

static int method_is(const request *r, const char *m) {
  return r->mlen == strlen(m) && memcmp(r->method, m, r->mlen) == 0;
}

/* Set the method and body options. GET/HEAD/POST use libcurl's own modes;
 * any other token goes through CUSTOMREQUEST. A body is sent when one is
 * given, and an empty one for POST/PUT/PATCH (Content-Length: 0). NOBODY
 * and CUSTOMREQUEST are reset only when the previous transfer set them
 * (c->nobody_on, c->custom_on track the handle). */
static void set_method(client *c, const request *r, int send_body) {
  CURL *e = c->easy;
  int head = method_is(r, "HEAD");
  int custom = !(method_is(r, "GET") && !send_body) && !head && !method_is(r, "POST");
  if (c->nobody_on && !head) curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
  if (c->custom_on && !custom) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (char *)NULL);
  c->nobody_on = head;
  c->custom_on = custom;
  if (head) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (!send_body) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->blen);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
  }
  if (custom) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
}

/* ---- redirects ------------------------------------------------------------
 * Followed here rather than by libcurl: libcurl's own following resends
 * every custom header (it drops only Authorization and Cookie) to whatever
 * host a Location names, and 7.88 has no hook to change the header list
 * between the hops of one transfer. */

/* One request chain: what the next transfer sends and what it has cost. */
typedef struct {
  request req;      /* method and body of the next transfer */
  const char *url;  /* its url (the request's, then libcurl's Location) */
  struct curl_slist *hdrs; /* its header list: c->hdrs or c->safe */
  int send_body;
  int changed;      /* a redirect changed the method and dropped the body */
  int foreign;      /* a redirect left the request url's origin */
  long hops;        /* redirects followed */
  curl_off_t us;    /* total time of the transfers so far */
} chain;

/* Build c->safe, the header list sent once a chain has left the request
 * url's origin: the caller's Accept, Accept-Language and User-Agent lines
 * of c->hdrs, its Content-Type line (or the transport's empty one) while
 * the method and body are unchanged, and an empty Expect. Everything else
 * the caller set (keys, tokens, cookies, custom headers) is dropped.
 * Returns the list head (c->hdrs must be linked). Raises on out-of-memory
 * (the client owns the list). */
static struct curl_slist *build_safe(lua_State *L, client *c, int keep_type) {
  size_t i;
  arazzo_http_hlist_clear(&c->safe, 1);
  for (i = 0; i < c->hdrs.n; i++) {
    const char *line = c->hdrs.node[i].data;
    size_t nl = strcspn(line, ":;"); /* "Name: value" or "Name;" */
    if (arazzo_http_name_is(line, nl, "accept") || arazzo_http_name_is(line, nl, "accept-language") ||
        arazzo_http_name_is(line, nl, "user-agent") ||
        (keep_type && arazzo_http_name_is(line, nl, "content-type")))
      add_line(L, &c->safe, line);
  }
  add_line(L, &c->safe, "Expect:");
  return arazzo_http_hlist_link(&c->safe);
}

/* The method of the transfer after a redirect with status st (RFC 9110
 * 15.4): 301 and 302 turn POST into GET, 303 turns anything but HEAD into a
 * bodiless GET; every other status keeps the method and the body. */
static void redirect_method(chain *ch, long st) {
  request *q = &ch->req;
  int to_get = ((st == 301 || st == 302) && method_is(q, "POST")) ||
               (st == 303 && !method_is(q, "HEAD") && (ch->send_body || !method_is(q, "GET")));
  if (!to_get) return;
  q->method = "GET";
  q->mlen = 3;
  q->body = NULL;
  q->blen = 0;
  ch->send_body = 0;
  ch->changed = 1;
}

/* Run the next transfer of ch with at most timeout_ms left. Pointers into
 * Lua strings and the header list are dropped from the handle before it
 * returns. Raises (out of memory) only before the transfer starts. */
static CURLcode run_hop(lua_State *L, client *c, chain *ch, long timeout_ms) {
  CURL *e = c->easy;
  CURLcode rc;
  curl_off_t us = 0;
  if (curl_easy_setopt(e, CURLOPT_URL, ch->url) != CURLE_OK) luaL_error(L, "not enough memory");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, ch->hdrs);
  set_method(c, &ch->req, ch->send_body);
  if (c->timeout_set != timeout_ms) {
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    c->timeout_set = timeout_ms;
  }
  if (c->connect_set != ch->req.connect_ms) {
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ch->req.connect_ms);
    c->connect_set = ch->req.connect_ms;
  }
  c->body.len = c->head.len = 0;
  c->overflow = OV_NONE;
  c->errbuf[0] = '\0';
  rc = curl_easy_perform(e);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, (char *)NULL);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
  curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &us);
  ch->us += us;
  return rc;
}

/* After a completed transfer: CURLE_OK with ch->url NULL when the response
 * is final (redirects off, or no Location libcurl would follow), or with
 * ch set up for the transfer to its Location; or why the redirect is
 * refused: CURLE_TOO_MANY_REDIRECTS, CURLE_UNSUPPORTED_PROTOCOL (not http
 * or https), CURLE_URL_MALFORMAT. Raises on out-of-memory. */
static CURLcode next_hop(lua_State *L, client *c, const request *r, chain *ch) {
  char *to = NULL;
  long st = 0;
  int same;
  ch->url = NULL;
  if (c->max_redirects > 0) curl_easy_getinfo(c->easy, CURLINFO_REDIRECT_URL, &to);
  if (!to) return CURLE_OK;
  if (ch->hops >= c->max_redirects) return CURLE_TOO_MANY_REDIRECTS;
  if (!arazzo_http_has_scheme(to, strlen(to))) return CURLE_UNSUPPORTED_PROTOCOL;
  if ((same = arazzo_http_same_origin(r->url, to)) < 0) return CURLE_URL_MALFORMAT;
  if (!same) ch->foreign = 1;
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &st);
  redirect_method(ch, st);
  if (ch->foreign) {
    ch->hdrs = build_safe(L, c, !ch->changed);
  }
  ch->hops++;
  ch->url = to; /* libcurl's string: valid until the next transfer */
  return CURLE_OK;
}

/* Run request r (headers in c->hdrs) and the redirects it leads to, all
 * within r's timeout. Pushes the response table, or nil, message, code.
 * Frees the header lists. [-0,+1|3] */
static int run_chain(lua_State *L, client *c, const request *r, int send_body) {
  chain ch;
  CURLcode rc;
  memset(&ch, 0, sizeof ch);
  ch.req = *r;
  ch.url = r->url;
  ch.hdrs = arazzo_http_hlist_link(&c->hdrs);
  ch.send_body = send_body;
  do {
    long left = r->timeout_ms - (long)(ch.us / 1000);
    if (left <= 0) rc = CURLE_OPERATION_TIMEDOUT;
    else if ((rc = run_hop(L, c, &ch, left)) == CURLE_OK) rc = next_hop(L, c, r, &ch);
  } while (rc == CURLE_OK && ch.url);
  arazzo_http_hlist_clear(&c->hdrs, 1);
  arazzo_http_hlist_clear(&c->safe, 1);
  if (rc != CURLE_OK) return arazzo_http_push_error(L, c, r, rc);
  arazzo_http_push_response(L, c, r, ch.us);
  if (c->body.cap > KEEP_CAP) arazzo_http_buf_free(&c->body);
  return 1;
}

/* client:request(req) -> response | nil, message, code. Raises on a closed
 * client and on malformed request tables (types, unknown fields). With
 * max_redirects > 0 the client follows redirects itself (run_chain): once a
 * Location leaves the request url's origin, only the caller's Accept,
 * Accept-Language, User-Agent and (method and body unchanged) Content-Type
 * headers go on. */
int arazzo_http_request(lua_State *L) {
  client *c = arazzo_http_check_open(L);
  request r;
  size_t i;
  int send_body;
  parse_request(L, c, &r);
  for (i = 0; i < r.mlen && tchar[(unsigned char)r.method[i]]; i++) {
  }
  if (r.mlen == 0 || i < r.mlen)
    return lua_pushliteral(L, "invalid method"), arazzo_http_fail(L, &r, "http");
  if (!arazzo_http_has_scheme(r.url, r.ulen))
    return lua_pushliteral(L, "url scheme must be http or https"), arazzo_http_fail(L, &r, "http");
  if (memchr(r.url, '\0', r.ulen))
    return lua_pushliteral(L, "malformed url"), arazzo_http_fail(L, &r, "http");
  if (r.body && method_is(&r, "HEAD"))
    return lua_pushliteral(L, "a HEAD request cannot have a body"), arazzo_http_fail(L, &r, "http");
  send_body = r.body || method_is(&r, "POST") || method_is(&r, "PUT") || method_is(&r, "PATCH");
  if (build_headers(L, c, &r, send_body)) return arazzo_http_fail(L, &r, "http");
  return run_chain(L, c, &r, send_body);
}
