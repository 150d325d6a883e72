/* json_number.c: locale-independent, exact JSON number decoding.
 * Licence: MIT (see LICENSE). */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json_internal.h"

/* ---- decoder: numbers (json_decode.c calls arazzo_json_dec_number) ------- */

/* Convert the number text [num, num+len) with strtod, independent of the
 * C locale: '.' is replaced by the locale's decimal point first. */
static double dec_strtod(dec *d, const unsigned char *num, size_t len) {
  const char *dp = localeconv()->decimal_point;
  size_t dplen = (dp && *dp) ? strlen(dp) : 1, i;
  d->s->len = 0;
  for (i = 0; i < len; i++) {
    if (num[i] == '.' && dp && *dp) json_put(d->L, d->s, dp, dplen);
    else json_putc(d->L, d->s, (char)num[i]);
  }
  json_putc(d->L, d->s, '\0');
  return strtod(d->s->buf, NULL);
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

typedef struct {
  unsigned long long mant; /* significant digits, while they fit */
  int sig;                 /* significant digits seen (capped) */
  long frac;               /* digits after the point that scale mant */
  long exp;                /* explicit exponent */
  int integral, neg;
  int capped;              /* frac or exp hit its cap: only strtod is exact */
} num_parts;

#define NUM_CAP 100000000L

/* Scan digits at *pp into n (frac: after the decimal point). Returns the
 * number of digits. */
static size_t scan_digits(const unsigned char **pp, const unsigned char *e, num_parts *n, int frac) {
  const unsigned char *p = *pp;
  while (p < e && *p >= '0' && *p <= '9') {
    if (n->sig > 0 || *p != '0') {
      if (n->sig < 19) n->mant = n->mant * 10 + (unsigned)(*p - '0');
      if (n->sig < 1000) n->sig++;
      if (frac && n->sig <= 19) n->frac++;
    } else if (frac) {
      if (n->frac < NUM_CAP) n->frac++; /* leading zeros after the point scale too */
      else n->capped = 1;
    }
    p++;
  }
  frac = (int)(p - *pp);
  *pp = p;
  return (size_t)frac;
}

/* Check the grammar of the number at d->p and fill n; d->p moves past it. */
static int dec_number_scan(dec *d, num_parts *n) {
  const unsigned char *p = d->p, *e = d->end;
  memset(n, 0, sizeof *n);
  n->integral = 1;
  if (*p == '-') {
    n->neg = 1;
    if (++p < e && *p == 'I') return json_dec_fail(d, d->p, "Infinity is not valid JSON", 0);
    if (p == e || *p < '0' || *p > '9') return json_dec_fail(d, p, "expected a digit after '-'", 1);
  }
  if (*p == '0' && p + 1 < e && p[1] >= '0' && p[1] <= '9')
    return json_dec_fail(d, p, "leading zeros are not allowed", 0);
  scan_digits(&p, e, n, 0);
  if (p < e && *p == '.') {
    n->integral = 0;
    p++;
    if (scan_digits(&p, e, n, 1) == 0) return json_dec_fail(d, p, "expected a digit after '.'", 1);
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    int eneg = 0;
    n->integral = 0;
    if (++p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
    if (p == e || *p < '0' || *p > '9') return json_dec_fail(d, p, "expected a digit in the exponent", 1);
    while (p < e && *p >= '0' && *p <= '9') {
      if (n->exp < NUM_CAP) n->exp = n->exp * 10 + (*p - '0');
      else n->capped = 1;
      p++;
    }
    if (eneg) n->exp = -n->exp;
  }
  d->p = p;
  return 0;
}

/* Parse the number at d->p and push it: an int64 when integral and in range
 * (Lua 5.4), else the correctly rounded double (exact fast path for short
 * mantissas and small exponents, strtod otherwise). Overflow to infinity is
 * an error. [-0,+1] or -1; a selecting pass pushes nothing. */
int arazzo_json_dec_number(dec *d) {
  const unsigned char *num = d->p;
  num_parts n;
  double v;
  long e10;
  if (dec_number_scan(d, &n)) return -1;
  if (n.integral && n.sig <= 19 && n.mant <= (n.neg ? 0x8000000000000000ULL : 0x7fffffffffffffffULL)) {
    if (!d->build) return 0;
#if LUA_VERSION_NUM >= 503 && !defined(LUAJIT_VERSION)
    if (n.neg) lua_pushinteger(d->L, n.mant == 0x8000000000000000ULL ? LUA_MININTEGER : -(lua_Integer)n.mant);
    else lua_pushinteger(d->L, (lua_Integer)n.mant);
#else
    lua_pushnumber(d->L, (n.neg && n.mant) ? -(lua_Number)n.mant : (lua_Number)n.mant); /* "-0" is 0 */
#endif
    return 0;
  }
  e10 = n.exp - n.frac;
  if (!n.capped && n.sig <= 19 && n.mant <= (1ULL << 53) && e10 >= -22 && e10 <= 22) {
    if (!d->build) return 0;
    v = (double)n.mant;
    v = e10 < 0 ? v / pow10_exact[-e10] : v * pow10_exact[e10];
    if (n.neg) v = -v;
  } else {
    v = dec_strtod(d, num, (size_t)(d->p - num));
    if (v == HUGE_VAL || v == -HUGE_VAL) return json_dec_fail(d, num, "number out of range", 0);
  }
  if (d->build) lua_pushnumber(d->L, (lua_Number)v);
  return 0;
}

