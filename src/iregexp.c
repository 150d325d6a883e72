/* iregexp.c: translate I-Regexp (RFC 9485) patterns for JSONPath match()/search() to PCRE2.
 * Licence: MIT (see LICENSE).
 *
 * The translation checks the full I-Regexp grammar (a pattern outside it is
 * refused, so match()/search() give LogicalFalse) and emits a pattern for
 * arazzo_regex_compile: '(' becomes '(?:', '.' outside a class becomes
 * [^\n\r], every other ASCII character but a letter or digit is written as
 * \xHH (literal inside and outside a class), other characters are copied as
 * UTF-8, \p{..}/\P{..} keep their PCRE2 spelling. '^' and '$' outside a class
 * stay anchors (start and very end of the subject): the grammar makes them
 * ordinary characters, but the RFC's own mappings to ECMAScript and PCRE keep
 * them as anchors and the JSONPath Compliance Test Suite expects that. */
#include <stdio.h>
#include <string.h>

#include "arazzo.h"

/* Decode the UTF-8 scalar value at s[*i] and advance *i; -1 when the bytes
 * are not a well-formed scalar value (overlong, surrogate, > U+10FFFF). */
static long utf8_next(const char *s, size_t len, size_t *i) {
  const unsigned char *u = (const unsigned char *)s + *i;
  size_t left = len - *i, n, k;
  long cp, min;
  if (u[0] < 0x80) {
    (*i)++;
    return u[0];
  }
  if (u[0] >= 0xC2 && u[0] <= 0xDF) n = 2, cp = u[0] & 0x1F, min = 0x80;
  else if (u[0] >= 0xE0 && u[0] <= 0xEF) n = 3, cp = u[0] & 0x0F, min = 0x800;
  else if (u[0] >= 0xF0 && u[0] <= 0xF4) n = 4, cp = u[0] & 0x07, min = 0x10000;
  else return -1;
  if (left < n) return -1;
  for (k = 1; k < n; k++) {
    if ((u[k] & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (u[k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *i += n;
  return cp;
}

/* Append the character cp (UTF-8 source src[0..n)) so that it stands for
 * itself anywhere in a PCRE2 pattern. */
static void add_literal(luaL_Buffer *b, long cp, const char *src, size_t n) {
  if ((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) {
    luaL_addchar(b, (char)cp);
  } else if (cp < 0x80) {
    char tmp[8];
    snprintf(tmp, sizeof tmp, "\\x%02x", (unsigned)cp);
    luaL_addlstring(b, tmp, 4);
  } else {
    luaL_addlstring(b, src, n);
  }
}

/* Is s[0..n) a category name allowed by I-Regexp's IsCategory? */
static int is_category(const char *s, size_t n) {
  static const char *const subs[] = {"L", "lmotu", "M", "cen", "N", "dlo", "P", "cdefios",
                                     "Z", "lps", "S", "ckmo", "C", "cfno"};
  size_t k;
  if (n < 1 || n > 2) return 0;
  for (k = 0; k < sizeof subs / sizeof *subs; k += 2) {
    if (s[0] == subs[k][0]) return n == 1 || (s[1] && strchr(subs[k + 1], s[1]) != NULL);
  }
  return 0;
}

/* Parse the escape at s[*i] ('\\'). Returns 1 for a single-character escape
 * (code point in *cp), 2 for \p{..} or \P{..}, 0 when invalid; advances *i. */
static int parse_escape(const char *s, size_t len, size_t *i, long *cp) {
  char c;
  if (*i + 1 >= len) return 0;
  c = s[*i + 1];
  if (c == 'p' || c == 'P') {
    size_t start = *i + 3, end = start;
    if (*i + 2 >= len || s[*i + 2] != '{') return 0;
    while (end < len && s[end] != '}') end++;
    if (end >= len || !is_category(s + start, end - start)) return 0;
    *i = end + 1;
    return 2;
  }
  if (c == 'n' || c == 'r' || c == 't') *cp = c == 'n' ? '\n' : c == 'r' ? '\r' : '\t';
  else if (c && strchr("()*+-.?[\\]^{|}", c)) *cp = c;
  else return 0;
  *i += 2;
  return 1;
}

/* Read one class item at s[*i]: a character (kind 1, *cp) or a category
 * escape (kind 2, appended to b at once). 0 when invalid. */
static int class_item(luaL_Buffer *b, const char *s, size_t len, size_t *i, long *cp,
                      size_t *src) {
  *src = *i;
  if (s[*i] == '\\') {
    int k = parse_escape(s, len, i, cp);
    if (k == 2) luaL_addlstring(b, s + *src, *i - *src);
    return k;
  }
  if (s[*i] == '[' || s[*i] == ']' || s[*i] == '-') return 0;
  *cp = utf8_next(s, len, i);
  return *cp < 0 ? 0 : 1;
}

/* Translate the character class starting at s[*i] ('['). 1 on success. */
static int add_class(luaL_Buffer *b, const char *s, size_t len, size_t *pi) {
  size_t i = *pi + 1, src;
  int first = 1;
  long lo, hi;
  luaL_addchar(b, '[');
  if (i < len && s[i] == '^') luaL_addchar(b, '^'), i++;
  for (;;) {
    int k;
    if (i >= len) return 0;
    if (s[i] == ']' && !first) break;
    if (s[i] == '-' && (first || (i + 1 < len && s[i + 1] == ']'))) {
      luaL_addstring(b, "\\x2d");
      i++;
      first = 0;
      continue;
    }
    first = 0;
    k = class_item(b, s, len, &i, &lo, &src);
    if (k == 0) return 0;
    if (k == 2) continue;
    if (i + 1 < len && s[i] == '-' && s[i + 1] != ']') {
      size_t hsrc, lend = i;
      i++;
      if (class_item(b, s, len, &i, &hi, &hsrc) != 1 || hi < lo) return 0;
      add_literal(b, lo, s + src, lend - src);
      luaL_addchar(b, '-');
      add_literal(b, hi, s + hsrc, i - hsrc);
    } else {
      add_literal(b, lo, s + src, i - src);
    }
  }
  luaL_addchar(b, ']');
  *pi = i + 1;
  return 1;
}

/* Translate the quantity {n}, {n,} or {n,m} at s[*i]. 1 on success. */
static int add_quantity(luaL_Buffer *b, const char *s, size_t len, size_t *pi) {
  size_t i = *pi + 1, d0 = i, d1;
  unsigned long lo = 0, hi = 0;
  while (i < len && s[i] >= '0' && s[i] <= '9' && lo < 100000) lo = lo * 10 + (unsigned long)(s[i++] - '0');
  if (i == d0 || i >= len) return 0;
  if (s[i] == ',') {
    d1 = ++i;
    while (i < len && s[i] >= '0' && s[i] <= '9' && hi < 100000) hi = hi * 10 + (unsigned long)(s[i++] - '0');
    if (i > d1 && hi < lo) return 0;
  }
  if (i >= len || s[i] != '}') return 0;
  luaL_addlstring(b, s + *pi, i + 1 - *pi);
  *pi = i + 1;
  return 1;
}

/* Translate one I-Regexp token at s[*i] into b; *atom tells whether a
 * quantifier may follow, *depth counts open groups. 1 on success. */
static int add_token(luaL_Buffer *b, const char *s, size_t len, size_t *i, int *atom, int *depth) {
  size_t st = *i;
  long cp;
  int was_atom = *atom;
  *atom = 0;
  switch (s[*i]) {
  case '(': luaL_addstring(b, "(?:"), ++*depth, ++*i; return 1;
  case ')': if (*depth == 0) return 0;
    luaL_addchar(b, ')'), --*depth, ++*i, *atom = 1; return 1;
  case '|': luaL_addchar(b, '|'), ++*i; return 1;
  case '*': case '+': case '?': if (!was_atom) return 0;
    luaL_addchar(b, s[*i]), ++*i; return 1;
  case '{': return was_atom && add_quantity(b, s, len, i);
  case '.': luaL_addstring(b, "[^\\n\\r]"), ++*i, *atom = 1; return 1;
  case '[': *atom = 1; return add_class(b, s, len, i);
  case ']': case '}': return 0;
  case '\\':
    *atom = 1;
    switch (parse_escape(s, len, i, &cp)) {
    case 1: add_literal(b, cp, NULL, 0); return 1;
    case 2: luaL_addlstring(b, s + st, *i - st); return 1;
    default: return 0;
    }
  case '^': case '$': /* anchors, as in the RFC 9485 section 5 mappings */
    luaL_addchar(b, s[*i]), ++*i, *atom = 1; return 1;
  default:
    *atom = 1;
    cp = utf8_next(s, len, i);
    if (cp < 0) return 0;
    add_literal(b, cp, s + st, *i - st);
    return 1;
  }
}

int arazzo_regex_push_iregexp(lua_State *L, const char *s, size_t len) {
  luaL_Buffer b;
  size_t i = 0;
  int atom = 0, depth = 0, ok = 1;
  luaL_buffinit(L, &b);
  while (ok && i < len) ok = add_token(&b, s, len, &i, &atom, &depth);
  luaL_pushresult(&b);
  if (!ok || depth != 0) {
    lua_pop(L, 1);
    return 0;
  }
  return 1;
}
