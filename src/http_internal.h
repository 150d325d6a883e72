/* http_internal.h: private declarations shared by http.c, http_request.c and http_response.c.
 * Licence: MIT (see LICENSE). */
#ifndef ARAZZO_HTTP_INTERNAL_H
#define ARAZZO_HTTP_INTERNAL_H

#include <stddef.h>

#include <curl/curl.h>

#include "arazzo.h"

#define CLIENT_MT "arazzo.http.Client"
#define MAX_HEAD (256 * 1024) /* response header block of one response */

/* Upvalues of the client methods (client:request, client:close), set by
 * arazzo_http_open: the client metatable, the registry's key-order table
 * (created by arazzo_value_open, never replaced) and a table of recent
 * response header strings (see http_response.c push_cached). */
#define HTTP_UV_MT lua_upvalueindex(1)
#define HTTP_UV_ORDER lua_upvalueindex(2)
#define HTTP_UV_STRINGS lua_upvalueindex(3)
/* Upvalues 4.. hold the response field names, in this order (HTTP_KEYS in
 * http.c), so building a response needs no string lookups. */
enum { HTTP_K_STATUS, HTTP_K_HEADERS, HTTP_K_BODY, HTTP_K_URL, HTTP_K_VERSION, HTTP_K_TIME, HTTP_K_COUNT };
#define HTTP_UV_KEY(k) lua_upvalueindex(4 + (k))

enum { OV_NONE, OV_BODY, OV_HEAD, OV_NOMEM };

typedef struct {
  char *p;
  size_t len, cap;
} hbuf;

/* A request header list for CURLOPT_HTTPHEADER built without an allocation
 * per line: the lines sit NUL-terminated one after another in text, the
 * list nodes in one array. Both are kept from request to request, so a
 * steady stream of requests allocates nothing here. libcurl only reads the
 * nodes; they are never handed to curl_slist_free_all. */
typedef struct {
  hbuf text;
  struct curl_slist *node; /* cap nodes, n in use */
  size_t n, cap;
} hlist;

/* The client userdata. Every foreign resource hangs off it, so a Lua error
 * raised at any point while building a request leaks nothing. */
typedef struct {
  CURL *easy;               /* NULL once closed */
  hlist hdrs;               /* request headers of the current request */
  hlist safe;               /* the part of hdrs sent to another origin */
  hbuf body, head;          /* response body, final header block */
  size_t max_body;
  long connect_ms, max_redirects;
  long timeout_set, connect_set; /* the handle's current timeouts (ms), 0 = unset */
  int nobody_on, custom_on;      /* the handle has NOBODY / a CUSTOMREQUEST set */
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

/* ---- http.c: the client -------------------------------------------------- */

/* Append n bytes to b without letting it grow beyond limit. Returns OV_NONE,
 * OV_BODY (limit) or OV_NOMEM. Never calls Lua. */
int arazzo_http_buf_add(hbuf *b, const char *s, size_t n, size_t limit);
/* Free b's storage and empty it. */
void arazzo_http_buf_free(hbuf *b);
/* Append the line a b c (three pieces, any may be empty) to h. Returns
 * OV_NONE, or OV_NOMEM with h unchanged. Never calls Lua. */
int arazzo_http_hlist_add(hlist *h, const char *a, size_t al, const char *b, size_t bl, const char *c, size_t cl);
/* Link h's nodes over its lines and return the head for CURLOPT_HTTPHEADER
 * (NULL when h is empty); valid until h changes. */
struct curl_slist *arazzo_http_hlist_link(hlist *h);
/* Empty h for the next request; frees its storage when it has grown beyond
 * what is worth keeping (or always, with keep 0). */
void arazzo_http_hlist_clear(hlist *h, int keep);
/* 1 when u[0..ul) starts with http:// or https:// (ASCII case-insensitive). */
int arazzo_http_has_scheme(const char *u, size_t ul);
/* 1 when libcurl parses url b and it has url a's origin (scheme, host,
 * port with defaults, IPv6 zone; ASCII case-insensitive); 0 for another
 * origin, or when a does not parse or memory runs out; -1 when b does not
 * parse. */
int arazzo_http_same_origin(const char *a, const char *b);
/* Lower-case ASCII letters (header names are ASCII tokens; the C locale's
 * tolower is not used, so a host's setlocale cannot change the result). */
#define ARAZZO_HTTP_LOWER(ch) ((ch) >= 'A' && (ch) <= 'Z' ? (ch) + ('a' - 'A') : (ch))
/* The open client at index 1 (called from a client method, whose upvalue
 * HTTP_UV_MT is the client metatable); raises on anything else and on a
 * closed client. */
client *arazzo_http_check_open(lua_State *L);
/* Seconds (number at idx) to milliseconds, rounded up; raises unless
 * 0 < s <= 30 days (what prefixes the message). */
long arazzo_http_to_ms(lua_State *L, int idx, const char *what);

/* ---- http_request.c ------------------------------------------------------ */

/* client:request(req), registered by arazzo_http_open. */
int arazzo_http_request(lua_State *L);

/* ---- http_response.c ----------------------------------------------------- */

/* Append s[0..n) to b for a message (non-printable bytes as \xHH, cut after
 * 200 bytes). */
void arazzo_http_add_safe(luaL_Buffer *b, const char *s, size_t n);
/* Case-insensitive comparison of a header name with a lower-case literal. */
int arazzo_http_name_is(const char *n, size_t nl, const char *lit);
/* Replace the text on top with nil, "<METHOD url>: <text>", code. [-1,+3] */
int arazzo_http_fail(lua_State *L, const request *r, const char *code);
/* Map a failed transfer to nil, "<METHOD url>: <what>", code. [-0,+3] */
int arazzo_http_push_error(lua_State *L, client *c, const request *r, CURLcode rc);
/* Push the response table of a completed transfer of request r (argument 2
 * is its table); us: the time of all the transfers of its redirect chain.
 * [-0,+1] */
void arazzo_http_push_response(lua_State *L, client *c, const request *r, curl_off_t us);

#endif
