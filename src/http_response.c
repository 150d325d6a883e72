/* http_response.c: a finished transfer as a response table, or as nil, message, code.
 * Licence: MIT (see LICENSE). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "http_internal.h"

/* Append s[0..n) to b for a message: bytes outside printable ASCII become
 * \xHH and the text is cut after 200 bytes, so messages stay one line. */
void arazzo_http_add_safe(luaL_Buffer *b, const char *s, size_t n) {
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
  arazzo_http_add_safe(&b, r->method, r->mlen);
  luaL_addchar(&b, ' ');
  for (p = u; p + 2 < end && p - u < 32; p++)
    if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
      auth = p + 3;
      break;
    }
  for (p = auth; p < end && *p != '/' && *p != '?' && *p != '#'; p++)
    if (*p == '@') at = p;
  arazzo_http_add_safe(&b, u, (size_t)(auth - u));
  if (at) auth = at + 1;
  for (p = auth; p < end && *p != '?' && *p != '#'; p++) {
  }
  arazzo_http_add_safe(&b, auth, (size_t)(p - auth));
  if (p < end && *p == '?') luaL_addstring(&b, "?...");
  luaL_pushresult(&b);
}

/* Replace the text on top with nil, "<where>: <text>", code. [-1,+3] */
int arazzo_http_fail(lua_State *L, const request *r, const char *code) {
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

/* Case-insensitive comparison of a header name with a lower-case literal. */
int arazzo_http_name_is(const char *n, size_t nl, const char *lit) {
  size_t i;
  if (nl != strlen(lit)) return 0;
  for (i = 0; i < nl; i++)
    if (ARAZZO_HTTP_LOWER(n[i]) != lit[i]) return 0;
  return 1;
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
  arazzo_http_add_safe(&b, t, n);
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
int arazzo_http_push_error(lua_State *L, client *c, const request *r, CURLcode rc) {
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
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &err);
    lua_pushstring(L, err ? "redirect refused: malformed location" : "malformed url");
  } else if (is_tls_error(rc)) {
    code = "tls";
    lua_pushliteral(L, "tls: ");
    push_curl_text(L, c, rc);
    lua_concat(L, 2);
  } else {
    push_curl_text(L, c, rc);
  }
  return arazzo_http_fail(L, r, code);
}

#define SEEN_MAX 32 /* names remembered per header block for the repeat check */
#define CACHE_LINES 16 /* header lines whose name and value strings are cached */
#define CACHE_LEN 64   /* longest string cached */

/* Push s[0..n), reusing slot k of the header string cache (the table at
 * index cache, 0 for none) when it holds those bytes; otherwise a new
 * string, which goes into the slot. Responses of one API repeat their
 * header lines (names, and most values) in the same order, so slot = line
 * position hits mostly; a hit skips hashing and interning the string.
 * [-0,+1] */
static void push_cached(lua_State *L, int cache, int k, const char *s, size_t n) {
  if (cache && n <= CACHE_LEN) {
    size_t cl;
    const char *cs;
    if (lua_rawgeti(L, cache, k) == LUA_TSTRING) {
      cs = lua_tolstring(L, -1, &cl);
      if (cl == n && memcmp(cs, s, n) == 0) return;
    }
    lua_pop(L, 1);
    lua_pushlstring(L, s, n);
    lua_pushvalue(L, -1);
    lua_rawseti(L, cache, k);
    return;
  }
  lua_pushlstring(L, s, n);
}

typedef struct {
  const char *p;
  size_t n;
} hname;

/* 1 when name p[0..n) is new to this block for certain: not among the
 * *ns names in seen, which still had room for it (it is added). 0 when it
 * was seen, or when seen is full and only the table can tell. */
static int first_time(hname *seen, size_t *ns, const char *p, size_t n) {
  size_t i;
  for (i = 0; i < *ns; i++)
    if (seen[i].n == n && memcmp(seen[i].p, p, n) == 0) return 0;
  if (*ns == SEEN_MAX) return 0;
  seen[*ns].p = p;
  seen[(*ns)++].n = n;
  return 1;
}

/* Set t[name] to v, or append v to the value already there: after a space
 * for a folded line, "\n" for set-cookie, ", " otherwise. [-0,+0] */
static void add_repeat(lua_State *L, int t, const char *name, size_t nl, const char *v, size_t vl, int folded) {
  lua_pushlstring(L, name, nl);
  lua_pushvalue(L, -1);
  lua_rawget(L, t);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushlstring(L, v, vl);
  } else {
    const char *sep = folded ? " " : ", ";
    if (!folded && arazzo_http_name_is(name, nl, "set-cookie")) sep = "\n";
    lua_pushstring(L, sep);
    lua_pushlstring(L, v, vl);
    lua_concat(L, 3);
  }
  lua_rawset(L, t);
}

/* Parse the final header block into a table of lower-case names; repeats
 * joined with ", " (set-cookie with "\n"), obsolete folding joined with a
 * space. Lower-cases names in place in c->head. A name met for the first
 * time (known without asking the table, see first_time) is set directly.
 * [-0,+1] */
static void push_headers(lua_State *L, client *c) {
  char *p = c->head.p, *end = p + c->head.len, *eol, *colon, *v, *ve, *name = NULL;
  size_t nl = 0, ns = 0;
  hname seen[SEEN_MAX];
  int t, line = 0, cache = 0;
  lua_createtable(L, 0, 8);
  t = lua_gettop(L);
  lua_pushvalue(L, HTTP_UV_STRINGS); /* t + 1: an upvalue of client:request, which runs this */
  if (lua_istable(L, t + 1)) cache = t + 1;
  for (; p < end; p = eol + 1) {
    if (!(eol = (char *)memchr(p, '\n', (size_t)(end - p)))) eol = end;
    if (eol - p >= 5 && memcmp(p, "HTTP/", 5) == 0) continue;
    colon = (*p == ' ' || *p == '\t') ? p : (char *)memchr(p, ':', (size_t)(eol - p));
    if (!colon || (colon == p && !name)) continue; /* status line, blank, junk */
    for (v = colon + (*colon == ':'); v < eol && (*v == ' ' || *v == '\t'); v++) {
    }
    for (ve = eol; ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'); ve--) {
    }
    if (colon != p) {
      char *k;
      for (k = p; k < colon; k++) *k = (char)ARAZZO_HTTP_LOWER(*k);
      name = p;
      nl = (size_t)(colon - p);
      if (first_time(seen, &ns, name, nl)) {
        if (line < CACHE_LINES) {
          push_cached(L, cache, 2 * line + 1, name, nl);
          /* cookies (session tokens) are never kept beyond their response */
          push_cached(L, arazzo_http_name_is(name, nl, "set-cookie") ? 0 : cache, 2 * line + 2, v, (size_t)(ve - v));
          line++;
        } else {
          lua_pushlstring(L, name, nl);
          lua_pushlstring(L, v, (size_t)(ve - v));
        }
        lua_rawset(L, t);
        continue;
      }
    }
    add_repeat(L, t, name, nl, v, (size_t)(ve - v), colon == p);
  }
  lua_settop(L, t);
}

/* Push the effective url u: the request's own url string when they are
 * the same bytes (no redirect, nothing normalised), which spares a copy.
 * [-0,+1] */
static void push_url(lua_State *L, const request *r, const char *u) {
  size_t n = strlen(u);
  if (n == r->ulen && memcmp(u, r->url, n) == 0) {
    lua_pushvalue(L, HTTP_UV_KEY(HTTP_K_URL));
    lua_rawget(L, 2);
    if (lua_tostring(L, -1) == r->url) return;
    lua_pop(L, 1);
  }
  lua_pushlstring(L, u, n);
}

/* Push the response table of a completed transfer; us: the time of all the
 * transfers of its redirect chain. [-0,+1] */
void arazzo_http_push_response(lua_State *L, client *c, const request *r, curl_off_t us) {
  long status = 0, ver = 0;
  char *url = NULL;
  curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(c->easy, CURLINFO_EFFECTIVE_URL, &url);
  curl_easy_getinfo(c->easy, CURLINFO_HTTP_VERSION, &ver);
  lua_createtable(L, 0, 6);
  lua_pushvalue(L, HTTP_UV_KEY(HTTP_K_STATUS));
  lua_pushinteger(L, (lua_Integer)status);
  lua_rawset(L, -3);
  lua_pushvalue(L, HTTP_UV_KEY(HTTP_K_HEADERS));
  push_headers(L, c);
  lua_rawset(L, -3);
  lua_pushvalue(L, HTTP_UV_KEY(HTTP_K_BODY));
  lua_pushlstring(L, c->body.p ? c->body.p : "", c->body.len);
  lua_rawset(L, -3);
  lua_pushvalue(L, HTTP_UV_KEY(HTTP_K_URL));
  push_url(L, r, url ? url : "");
  lua_rawset(L, -3);
  lua_pushvalue(L, HTTP_UV_KEY(HTTP_K_VERSION));
  lua_pushstring(L, ver == CURL_HTTP_VERSION_1_0 ? "1.0" : ver == CURL_HTTP_VERSION_2_0 ? "2"
                    : ver == CURL_HTTP_VERSION_3 ? "3" : "1.1");
  lua_rawset(L, -3);
  lua_pushvalue(L, HTTP_UV_KEY(HTTP_K_TIME));
  lua_pushnumber(L, (lua_Number)us / 1e6);
  lua_rawset(L, -3);
}
