/* url_parse.c: RFC 3986 URL parsing and reference resolution (section 5.2).
 * Licence: MIT (see LICENSE). */
#include <stdio.h>
#include <string.h>

#include "arazzo.h"

static int hexdigit_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* ---- parsing ------------------------------------------------------------ */

typedef struct {
  size_t off, len;
  int def;
} span;

typedef struct {
  const char *s;
  span scheme, auth, user, host, port, path, query, frag;
  long portnum;
} urlparts;

static int is_alpha(int c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_unreserved(int c) { return is_alpha(c) || is_digit(c) || (c && strchr("-._~", c)); }
static int is_subdelim(int c) { return c && strchr("!$&'()*+,;=", c) != NULL; }

/* Write "what at position n: 'c'" style messages; bytes outside printable
 * ASCII show as \xNN so messages stay readable. */
static void bad_char(char *err, size_t errlen, const char *what, const char *s, size_t i) {
  unsigned char c = (unsigned char)s[i];
  if (c > 32 && c < 127)
    snprintf(err, errlen, "bad character '%c' in %s at position %lu", c, what, (unsigned long)i + 1);
  else
    snprintf(err, errlen, "bad character '\\x%02X' in %s at position %lu", c, what,
             (unsigned long)i + 1);
}

/* Check s[off..off+len) holds only unreserved, sub-delims, the bytes in
 * extra and valid %XX escapes. Returns 1, or 0 with err filled. */
static int check_chars(const char *s, span sp, const char *extra, const char *what, char *err,
                       size_t errlen) {
  size_t i, end = sp.off + sp.len;
  for (i = sp.off; i < end; i++) {
    int c = (unsigned char)s[i];
    if (c == '%') {
      if (i + 2 >= end || hexdigit_value((unsigned char)s[i + 1]) < 0 || hexdigit_value((unsigned char)s[i + 2]) < 0) {
        snprintf(err, errlen, "bad percent escape in %s at position %lu", what, (unsigned long)i + 1);
        return 0;
      }
      i += 2;
    } else if (!is_unreserved(c) && !is_subdelim(c) && !(c && strchr(extra, c))) {
      bad_char(err, errlen, what, s, i);
      return 0;
    }
  }
  return 1;
}

/* RFC 3986 IPv4address: four dec-octets 0-255 without leading zeros. */
static int valid_ipv4(const char *s, size_t n) {
  size_t i = 0;
  int part;
  for (part = 0; part < 4; part++) {
    size_t st = i;
    int v = 0;
    while (i < n && is_digit((unsigned char)s[i]) && i - st < 3) v = v * 10 + (s[i++] - '0');
    if (i == st || v > 255 || (i - st > 1 && s[st] == '0')) return 0;
    if (part < 3) {
      if (i >= n || s[i] != '.') return 0;
      i++;
    }
  }
  return i == n;
}

/* RFC 3986 IPv6address: eight 16-bit hex groups, one "::" standing for one
 * or more zero groups, an optional dotted IPv4 tail counting as two. */
static int valid_ipv6(const char *s, size_t n) {
  size_t i = 0;
  int groups = 0, dbl = 0;
  if (n >= 2 && s[0] == ':' && s[1] == ':') {
    dbl = 1;
    i = 2;
  } else if (n && s[0] == ':') {
    return 0;
  }
  while (i < n) {
    size_t j = i;
    while (j < n && hexdigit_value((unsigned char)s[j]) >= 0) j++;
    if (j < n && s[j] == '.') {
      if (!valid_ipv4(s + i, n - i)) return 0;
      groups += 2;
      break;
    }
    if (j == i || j - i > 4) return 0;
    groups++;
    i = j;
    if (i == n) break;
    if (s[i++] != ':' || i == n) return 0;
    if (s[i] == ':') {
      if (dbl) return 0;
      dbl = 1;
      i++;
    }
  }
  return dbl ? groups <= 7 : groups == 8;
}

/* Validate an IP-literal's inside (between the brackets): IPvFuture, or
 * IPv6 with an optional RFC 6874 zone ("%25" then unreserved/escapes). */
static int valid_ip_literal(const char *s, size_t n) {
  size_t i, z;
  if (n && (s[0] == 'v' || s[0] == 'V')) {
    for (i = 1; i < n && hexdigit_value((unsigned char)s[i]) >= 0; i++) continue;
    if (i == 1 || i + 1 >= n || s[i] != '.') return 0;
    for (i++; i < n; i++)
      if (!is_unreserved((unsigned char)s[i]) && !is_subdelim((unsigned char)s[i]) && s[i] != ':') return 0;
    return 1;
  }
  for (z = 0; z + 2 < n && !(s[z] == '%' && s[z + 1] == '2' && s[z + 2] == '5'); z++) continue;
  if (z + 2 >= n) return valid_ipv6(s, n);
  if (z + 3 == n || !valid_ipv6(s, z)) return 0;
  for (i = z + 3; i < n; i++) {
    if (s[i] == '%') {
      if (i + 2 >= n || hexdigit_value((unsigned char)s[i + 1]) < 0 || hexdigit_value((unsigned char)s[i + 2]) < 0) return 0;
      i += 2;
    } else if (!is_unreserved((unsigned char)s[i])) {
      return 0;
    }
  }
  return 1;
}

/* Split and check host and port inside the authority u->auth. */
static int parse_hostport(urlparts *u, char *err, size_t errlen) {
  const char *s = u->s;
  size_t i = u->auth.off, end = u->auth.off + u->auth.len, at, h;
  for (at = i; at < end && s[at] != '@'; at++) continue;
  if (at < end) {
    u->user.off = i;
    u->user.len = at - i;
    u->user.def = 1;
    if (!check_chars(s, u->user, ":", "userinfo", err, errlen)) return 0;
    i = at + 1;
  }
  u->host.off = i;
  u->host.def = 1;
  if (i < end && s[i] == '[') {
    for (h = i; h < end && s[h] != ']'; h++) continue;
    if (h == end || !valid_ip_literal(s + i + 1, h - i - 1)) {
      snprintf(err, errlen, "bad IP literal in host at position %lu", (unsigned long)i + 1);
      return 0;
    }
    h++;
    if (h < end && s[h] != ':') {
      bad_char(err, errlen, "authority", s, h);
      return 0;
    }
  } else {
    for (h = i; h < end && s[h] != ':'; h++) continue;
  }
  u->host.len = h - i;
  if ((i == end || s[i] != '[') && !check_chars(s, u->host, "", "host", err, errlen)) return 0;
  if (h < end) { /* ':' port */
    size_t k;
    u->port.off = h + 1;
    u->port.len = end - h - 1;
    u->portnum = 0;
    for (k = h + 1; k < end; k++) {
      if (!is_digit((unsigned char)s[k])) {
        bad_char(err, errlen, "port", s, k);
        return 0;
      }
      u->portnum = u->portnum * 10 + (s[k] - '0');
      if (u->portnum > 65535) {
        snprintf(err, errlen, "port out of range at position %lu", (unsigned long)h + 2);
        return 0;
      }
    }
    u->port.def = u->port.len > 0;
  }
  return 1;
}

/* Parse the URI-reference s[0..n) into u (spans into s). Returns 1, or 0
 * with a message in err naming the part and the 1-based position. */
static int parse_url(const char *s, size_t n, urlparts *u, char *err, size_t errlen) {
  size_t i = 0, j;
  memset(u, 0, sizeof *u);
  u->s = s;
  while (i < n && (is_alpha((unsigned char)s[i]) || (i > 0 && (is_digit((unsigned char)s[i]) ||
                                                                s[i] == '+' || s[i] == '-' || s[i] == '.'))))
    i++;
  if (i > 0 && i < n && s[i] == ':') {
    u->scheme.len = i;
    u->scheme.def = 1;
    i++;
  } else {
    for (j = 0; j < n && s[j] != '/' && s[j] != '?' && s[j] != '#'; j++) {
      if (s[j] == ':') {
        snprintf(err, errlen, "bad scheme at position 1");
        return 0;
      }
    }
    i = 0;
  }
  if (i + 1 < n && s[i] == '/' && s[i + 1] == '/') {
    for (j = i + 2; j < n && s[j] != '/' && s[j] != '?' && s[j] != '#'; j++) continue;
    u->auth.off = i + 2;
    u->auth.len = j - i - 2;
    u->auth.def = 1;
    if (!parse_hostport(u, err, errlen)) return 0;
    i = j;
  }
  for (j = i; j < n && s[j] != '?' && s[j] != '#'; j++) continue;
  u->path.off = i;
  u->path.len = j - i;
  u->path.def = 1;
  if (!check_chars(s, u->path, ":@/", "path", err, errlen)) return 0;
  i = j;
  if (i < n && s[i] == '?') {
    for (j = i + 1; j < n && s[j] != '#'; j++) continue;
    u->query.off = i + 1;
    u->query.len = j - i - 1;
    u->query.def = 1;
    if (!check_chars(s, u->query, ":@/?", "query", err, errlen)) return 0;
    i = j;
  }
  if (i < n) { /* '#' */
    u->frag.off = i + 1;
    u->frag.len = n - i - 1;
    u->frag.def = 1;
    if (!check_chars(s, u->frag, ":@/?", "fragment", err, errlen)) return 0;
  }
  return 1;
}

static void set_span(lua_State *L, const urlparts *u, span sp, const char *key) {
  if (!sp.def) return;
  lua_pushlstring(L, u->s + sp.off, sp.len);
  lua_setfield(L, -2, key);
}

/* core.url_parse(url) -> {scheme, userinfo, host, port, path, query,
 * fragment} (absent parts nil, path always a string) | nil, msg, "url". */
static int l_url_parse(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  urlparts u;
  char err[160];
  if (!parse_url(s, n, &u, err, sizeof err)) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    lua_pushliteral(L, "url");
    return 3;
  }
  lua_createtable(L, 0, 7);
  set_span(L, &u, u.scheme, "scheme");
  set_span(L, &u, u.user, "userinfo");
  set_span(L, &u, u.host, "host");
  if (u.port.def) {
    lua_pushinteger(L, (lua_Integer)u.portnum);
    lua_setfield(L, -2, "port");
  }
  set_span(L, &u, u.path, "path");
  set_span(L, &u, u.query, "query");
  set_span(L, &u, u.frag, "fragment");
  return 1;
}

/* ---- reference resolution (RFC 3986 section 5.2) ------------------------- */

/* RFC 3986 5.2.4 on the mutable copy in[0..n), writing to out (at least n
 * bytes; the result is never longer). Returns the output length. */
static size_t remove_dots(char *in, size_t n, char *out) {
  size_t i = 0, o = 0;
  while (i < n) {
    size_t left = n - i;
    char *p = in + i;
    if (left >= 3 && memcmp(p, "../", 3) == 0) {
      i += 3;
    } else if (left >= 2 && memcmp(p, "./", 2) == 0) {
      i += 2;
    } else if (left >= 3 && memcmp(p, "/./", 3) == 0) {
      i += 2; /* "/./" -> "/" */
    } else if (left == 2 && memcmp(p, "/.", 2) == 0) {
      in[++i] = '/'; /* "/." -> "/" */
    } else if ((left >= 4 && memcmp(p, "/../", 4) == 0) || (left == 3 && memcmp(p, "/..", 3) == 0)) {
      i += left == 3 ? 2 : 3; /* "/../" or "/.." -> "/", drop the last output segment */
      in[i] = '/';
      while (o > 0 && out[o - 1] != '/') o--;
      if (o > 0) o--;
    } else if ((left == 1 && p[0] == '.') || (left == 2 && memcmp(p, "..", 2) == 0)) {
      i = n;
    } else {
      size_t j = i + 1;
      while (j < n && in[j] != '/') j++;
      memcpy(out + o, in + i, j - i);
      o += j - i;
      i = j;
    }
  }
  return o;
}

/* Append remove_dot_segments(a ++ b) to sb, using scratch userdata. */
static void add_clean_path(arazzo_sbuf *sb, const char *a, size_t an, const char *b, size_t bn) {
  lua_State *L = sb->L;
  char *in = (char *)lua_newuserdata(L, an + bn + 1);
  char *out = (char *)lua_newuserdata(L, an + bn + 1);
  size_t o;
  if (an) memcpy(in, a, an);
  if (bn) memcpy(in + an, b, bn);
  o = remove_dots(in, an + bn, out);
  arazzo_sbuf_add(sb, out, o);
  lua_pop(L, 2);
}

static void add_span(arazzo_sbuf *b, const urlparts *u, span sp, const char *pre) {
  if (!sp.def) return;
  arazzo_sbuf_add(b, pre, strlen(pre));
  arazzo_sbuf_add(b, u->s + sp.off, sp.len);
}

/* Append the merged, dot-free target path of ref r against base bu. */
static void add_target_path(arazzo_sbuf *sb, const urlparts *bu, const urlparts *r) {
  const char *rp = r->s + r->path.off;
  if (r->path.len > 0 && rp[0] == '/') {
    add_clean_path(sb, "", 0, rp, r->path.len);
  } else if (bu->auth.def && bu->path.len == 0) {
    add_clean_path(sb, "/", 1, rp, r->path.len);
  } else {
    size_t k = bu->path.len;
    while (k > 0 && bu->s[bu->path.off + k - 1] != '/') k--;
    add_clean_path(sb, bu->s + bu->path.off, k, rp, r->path.len);
  }
}

/* Build the target of ref r against base bu into sb (RFC 3986 5.2.2 strict
 * and 5.3 recomposition). */
static void resolve_into(arazzo_sbuf *sb, const urlparts *bu, const urlparts *r) {
  const urlparts *sch = r->scheme.def ? r : bu;
  add_span(sb, sch, sch->scheme, "");
  arazzo_sbuf_add(sb, ":", 1);
  if (r->scheme.def || r->auth.def) {
    add_span(sb, r, r->auth, "//");
    add_clean_path(sb, "", 0, r->s + r->path.off, r->path.len);
    add_span(sb, r, r->query, "?");
  } else {
    add_span(sb, bu, bu->auth, "//");
    if (r->path.len == 0) {
      arazzo_sbuf_add(sb, bu->s + bu->path.off, bu->path.len);
      if (r->query.def)
        add_span(sb, r, r->query, "?");
      else
        add_span(sb, bu, bu->query, "?");
    } else {
      add_target_path(sb, bu, r);
      add_span(sb, r, r->query, "?");
    }
  }
  add_span(sb, r, r->frag, "#");
}

/* core.url_resolve(base, ref) -> absolute URL | nil, msg, "url". */
static int l_url_resolve(lua_State *L) {
  size_t bn, rn;
  const char *base = luaL_checklstring(L, 1, &bn);
  const char *ref = luaL_checklstring(L, 2, &rn);
  urlparts bu, r;
  char err[160];
  arazzo_sbuf sb;
  const char *which = "base url";
  int ok = parse_url(base, bn, &bu, err, sizeof err);
  if (ok && !bu.scheme.def) {
    snprintf(err, sizeof err, "has no scheme");
    ok = 0;
  }
  if (ok) {
    which = "reference";
    ok = parse_url(ref, rn, &r, err, sizeof err);
  }
  if (!ok) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", which, err);
    lua_pushliteral(L, "url");
    return 3;
  }
  arazzo_sbuf_init(L, &sb);
  resolve_into(&sb, &bu, &r);
  arazzo_sbuf_push(&sb);
  return 1;
}

static const luaL_Reg url_parse_funcs[] = {{"url_parse", l_url_parse}, {"url_resolve", l_url_resolve}, {NULL, NULL}};

void arazzo_url_parse_open(lua_State *L) { luaL_setfuncs(L, url_parse_funcs, 0); }
