/* yaml.c: libyaml events -> Lua values (YAML 1.2 core schema), with positions.
 * Licence: MIT (see LICENSE).
 *
 * core.yaml_load(text [, chunkname [, opts]]) -> value [, pos] | nil, msg, "yaml"
 * core.yaml_events(text) -> number of events | nil, msg, "yaml"
 *
 * Sections: parser userdata; input fix-ups (JSON compatibility: surrogate
 * pairs, tabs) and mark arithmetic; scalar resolution; the tree builder
 * (frames, flushes, keys, anchors, merge keys); the event loop; the Lua API.
 * The fix-up and scalar sections are meant to move to a second file of this
 * concern once CMakeLists.txt lists one.
 *
 * Builder invariants. Every open container is a frame whose slots sit on the
 * Lua stack: [table][order list][positions table] (the last two only when the
 * options ask for them), followed by its pending items: values (sequence) or
 * key,value pairs (mapping) not yet stored in the table. Pending items are
 * moved into the table by a flush: at the end of the container (so most tables
 * are created with lua_createtable at their exact size), when a frame holds
 * too many, or when a child opens while the stack is crowded. Only the
 * innermost frame ever receives items, so a flush always works on the top of
 * the stack. Nothing here recurses per nesting level: the frames live in a
 * malloc'd array owned by the parser userdata, which also owns the libyaml
 * parser, the current event and the mark stack, so a Lua error (memory) at
 * any point leaks nothing. */
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "arazzo.h"

#define YAML_PARSER_MT "arazzo.yaml.Parser"
#define TAG_PREFIX "tag:yaml.org,2002:"
#define TAG_PREFIX_LEN 18

/* Flush thresholds (stack slots). LuaJIT allows a C function about 8000
 * slots, so pending items are bounded: a frame flushes past its chunk, and a
 * parent flushes before a child opens once the stack holds STACK_BUDGET. */
#define SEQ_CHUNK 256
#define MAP_CHUNK 128
#define STACK_BUDGET 2048
#define STACK_MARGIN 16
#define STACK_GROW 512

/* Sentinels: a pending "<<" key, and an anchor whose node is still open. */
static const char merge_sentinel = 'm';
static const char open_sentinel = 'o';

/* ---- parser userdata ----------------------------------------------------- */

typedef struct {
  unsigned long line, col; /* 1-based, columns already mapped to the input */
  unsigned int hash;       /* mapping keys: hash of the key text */
} ymark;

enum { K_ROOT, K_SEQ, K_MAP };

typedef struct {
  int kind;
  int base;          /* stack index of the table slot */
  int pending;       /* item slots above the frame's own slots */
  int has_tbl;       /* the table has been created */
  int has_merge;     /* mapping: a "<<" key was seen */
  int anchored;      /* the node carries an anchor (name in anames[depth]) */
  lua_Integer stored; /* sequence: items stored; mapping: keys in the order list */
  size_t mbase;      /* first mark of this frame's pending items */
  long long nodes0;  /* node counter before this node */
  ymark start;
} frame;

typedef struct {
  yaml_parser_t parser;
  yaml_event_t event;
  int parser_live, event_live;
  frame *frames;
  size_t nframes, fcap;
  ymark *marks;
  size_t nmarks, mcap;
} yparser;

/* Release everything the userdata owns; idempotent. Bound to __gc and
 * __close. [-0,+0] */
static void yp_release(yparser *p) {
  if (p->event_live) yaml_event_delete(&p->event);
  if (p->parser_live) yaml_parser_delete(&p->parser);
  p->event_live = p->parser_live = 0;
  free(p->frames);
  free(p->marks);
  p->frames = NULL;
  p->marks = NULL;
  p->nframes = p->fcap = p->nmarks = p->mcap = 0;
}

static int yp_gc(lua_State *L) {
  yparser *p = (yparser *)luaL_checkudata(L, 1, YAML_PARSER_MT);
  yp_release(p);
  return 0;
}

/* Push a new parser userdata in the released state. [-0,+1], raises on
 * memory errors only. On 5.4 the slot is also marked to-be-closed so an
 * error frees libyaml's memory at once rather than at the next GC. */
static yparser *yp_new(lua_State *L) {
  yparser *p = (yparser *)lua_newuserdata(L, sizeof *p);
  memset(p, 0, sizeof *p);
  if (luaL_newmetatable(L, YAML_PARSER_MT)) {
    lua_pushcfunction(L, yp_gc);
    lua_setfield(L, -2, "__gc");
#if ARAZZO_CLOSE_METAMETHOD
    lua_pushcfunction(L, yp_gc);
    lua_setfield(L, -2, "__close");
#endif
  }
  lua_setmetatable(L, -2);
#if ARAZZO_CLOSE_METAMETHOD
  lua_toclose(L, -1);
#endif
  return p;
}

/* (Re)start parsing s[0..n) with p; returns 0 when libyaml cannot allocate. */
static int yp_start(yparser *p, const char *s, size_t n) {
  if (p->event_live) yaml_event_delete(&p->event);
  if (p->parser_live) yaml_parser_delete(&p->parser);
  p->event_live = p->parser_live = 0;
  if (!yaml_parser_initialize(&p->parser)) return 0;
  p->parser_live = 1;
  yaml_parser_set_input_string(&p->parser, (const unsigned char *)s, n);
  return 1;
}

/* Next event into p->event; 0 on a libyaml error. */
static int yp_next(yparser *p) {
  if (p->event_live) {
    yaml_event_delete(&p->event);
    p->event_live = 0;
  }
  if (!yaml_parser_parse(&p->parser, &p->event)) return 0;
  p->event_live = 1;
  return 1;
}

/* ---- input fix-ups and marks --------------------------------------------
 * libyaml rejects two things JSON allows: UTF-16 surrogate pairs written as
 * two \u escapes, and tabs in the whitespace before or after a top-level
 * value. Surrogate pairs in double-quoted scalars are rewritten to one
 * \UXXXXXXXX escape (two characters shorter; later columns on that line are
 * mapped back); leading/trailing tabs of a JSON-looking input become spaces
 * (same length). libyaml marks count characters (not bytes, BOM excluded). */

typedef struct {
  const char *s; /* the text libyaml reads */
  size_t n;
  size_t *rw;    /* char index (in s) of each rewritten pair, ascending */
  size_t nrw;
} input;

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Value of the 4 hex digits at s, or -1. */
static long hex4(const char *s) {
  long v = 0;
  int i;
  for (i = 0; i < 4; i++) {
    int h = hexval((unsigned char)s[i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/* Offset of the next "\uD8xx\uDCxx" escape pair at or after from (the first
 * backslash of an odd run), storing its code point; n when none. */
static size_t find_pair(const char *s, size_t n, size_t from, long *cp) {
  while (from < n) {
    const char *b = (const char *)memchr(s + from, '\\', n - from);
    size_t i, j;
    long hi, lo;
    if (!b) return n;
    i = (size_t)(b - s);
    for (j = i; j < n && s[j] == '\\'; j++) {}
    from = j;
    if ((j - i) % 2 == 0 || n - j < 11 || s[j] != 'u') continue;
    hi = hex4(s + j + 1);
    if (hi < 0xD800 || hi > 0xDBFF || s[j + 5] != '\\' || s[j + 6] != 'u') continue;
    lo = hex4(s + j + 7);
    if (lo < 0xDC00 || lo > 0xDFFF) continue;
    *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    return j - 1;
  }
  return n;
}

static size_t count_chars(const char *s, size_t n) {
  size_t i, c = 0;
  for (i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
  return c;
}

/* Copy src to dst rewriting the candidate pairs at off[i] not marked in skip;
 * stores each rewrite's char index in rw. Returns the new length. */
static size_t rewrite_pairs(const char *src, size_t n, size_t bom, const size_t *off,
                            const long *cps, const char *skip, size_t nc, char *dst,
                            size_t *rw, size_t *nrw) {
  size_t i, from = 0, o = 0, chars = 0;
  static const char hexd[] = "0123456789ABCDEF";
  *nrw = 0;
  for (i = 0; i < nc; i++) {
    int k;
    if (skip[i]) continue;
    memcpy(dst + o, src + from, off[i] - from);
    chars += count_chars(src + from, off[i] - from);
    o += off[i] - from;
    rw[(*nrw)++] = chars - (bom ? 1 : 0);
    dst[o++] = '\\';
    dst[o++] = 'U';
    for (k = 7; k >= 0; k--) dst[o++] = hexd[(cps[i] >> (4 * k)) & 15];
    chars += 10;
    from = off[i] + 12;
  }
  memcpy(dst + o, src + from, n - from);
  return o + (n - from);
}

/* Events-only pass over in, where every candidate pair was rewritten (so
 * rewrite c is candidate c): a rewrite inside a scalar that is not
 * double-quoted (a literal "\uD83D\uDE00" in a plain or single-quoted
 * scalar) is marked in skip. Returns the number of such rewrites. A parse
 * error ends the pass early; the real load reports it. */
static size_t verify_pairs(yparser *p, const input *in, char *skip) {
  size_t bad = 0, c = 0;
  if (!yp_start(p, in->s, in->n)) return 0;
  while (c < in->nrw && yp_next(p)) {
    yaml_event_t *e = &p->event;
    if (e->type == YAML_STREAM_END_EVENT) break;
    if (e->type != YAML_SCALAR_EVENT) continue;
    while (c < in->nrw && in->rw[c] < e->start_mark.index) c++;
    for (; c < in->nrw && in->rw[c] < e->end_mark.index; c++) {
      if (e->data.scalar.style != YAML_DOUBLE_QUOTED_SCALAR_STYLE) {
        skip[c] = 1;
        bad++;
      }
    }
  }
  return bad;
}

/* Replace tabs by spaces in the whitespace before and after the top-level
 * value when the text starts like JSON ('{', '[' or '"'). */
static void fix_tabs(char *s, size_t n, size_t bom) {
  size_t i = bom, j = n;
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
  if (i == n || (s[i] != '{' && s[i] != '[' && s[i] != '"')) return;
  while (j > i && (s[j - 1] == ' ' || s[j - 1] == '\t' || s[j - 1] == '\r' || s[j - 1] == '\n'))
    j--;
  for (; i > bom; i--)
    if (s[i - 1] == '\t') s[i - 1] = ' ';
  for (; j < n; j++)
    if (s[j] == '\t') s[j] = ' ';
}

/* 1 when fix_tabs would change something. */
static int needs_tab_fix(const char *s, size_t n, size_t bom) {
  size_t i = bom, j = n;
  int tab = 0;
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) tab |= s[i++] == '\t';
  if (i == n || (s[i] != '{' && s[i] != '[' && s[i] != '"')) return 0;
  while (j > i && (s[j - 1] == ' ' || s[j - 1] == '\t' || s[j - 1] == '\r' || s[j - 1] == '\n'))
    tab |= s[--j] == '\t';
  return tab;
}

/* Prepare the text libyaml will read. Pushes 0 to 3 userdata blobs (the
 * rewritten text and index arrays) that must stay on the stack while in is
 * used. [-0,+k], raises on memory errors only. */
static void prepare_input(lua_State *L, yparser *p, const char *s, size_t n, input *in) {
  size_t bom = (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
  size_t nc = 0, at = 0, i;
  long cp;
  size_t *off;
  long *cps;
  char *skip, *buf;
  in->s = s;
  in->n = n;
  in->rw = NULL;
  in->nrw = 0;
  if (n >= 2 && (((unsigned char)s[0] == 0xFE && (unsigned char)s[1] == 0xFF) ||
                 ((unsigned char)s[0] == 0xFF && (unsigned char)s[1] == 0xFE)))
    return; /* UTF-16: left to libyaml as is */
  while ((at = find_pair(s, n, at, &cp)) < n) nc++, at += 12;
  if (nc == 0) {
    if (!needs_tab_fix(s, n, bom)) return;
    buf = (char *)lua_newuserdata(L, n ? n : 1);
    memcpy(buf, s, n);
    fix_tabs(buf, n, bom);
    in->s = buf;
    return;
  }
  /* one blob: offsets, rewrite indices, code points, skip flags */
  off = (size_t *)lua_newuserdata(L, nc * (2 * sizeof(size_t) + sizeof(long) + 1));
  in->rw = off + nc;
  cps = (long *)(in->rw + nc);
  skip = (char *)(cps + nc);
  memset(skip, 0, nc);
  for (i = 0, at = 0; i < nc; i++) {
    off[i] = find_pair(s, n, at, &cps[i]);
    at = off[i] + 12;
  }
  buf = (char *)lua_newuserdata(L, n);
  in->n = rewrite_pairs(s, n, bom, off, cps, skip, nc, buf, in->rw, &in->nrw);
  in->s = buf;
  fix_tabs(buf, in->n, bom);
  if (verify_pairs(p, in, skip)) {
    in->n = rewrite_pairs(s, n, bom, off, cps, skip, nc, buf, in->rw, &in->nrw);
    fix_tabs(buf, in->n, bom);
  }
}

/* Number of entries of the ascending array a[0..n) below v. */
static size_t lower_bound(const size_t *a, size_t n, size_t v) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (a[mid] < v)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Convert a libyaml mark to 1-based line and column of the caller's text:
 * each rewritten pair earlier on the same line was two characters longer. */
static void to_ymark(const input *in, const yaml_mark_t *m, ymark *out) {
  unsigned long col = (unsigned long)m->column;
  if (in->nrw && m->index >= m->column) {
    size_t a = lower_bound(in->rw, in->nrw, m->index - m->column);
    size_t b = lower_bound(in->rw, in->nrw, m->index);
    col += 2 * (unsigned long)(b - a);
  }
  out->line = (unsigned long)m->line + 1;
  out->col = col + 1;
  out->hash = 0;
}

/* The libyaml-style mark (line, column and index in characters, BOM not
 * counted) of byte offset off of in->s; reader errors only give an offset. */
static void offset_mark(const input *in, size_t off, yaml_mark_t *m) {
  const unsigned char *s = (const unsigned char *)in->s;
  size_t n = off < in->n ? off : in->n, i = 0;
  memset(m, 0, sizeof *m);
  if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) i = 3;
  while (i < n) {
    size_t w = 0;
    if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
      w = 2;
    else if (s[i] == '\r' || s[i] == '\n')
      w = 1;
    else if (s[i] == 0xC2 && i + 1 < n && s[i + 1] == 0x85)
      w = 2;
    else if (s[i] == 0xE2 && i + 2 < n && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9))
      w = 3;
    if (w) {
      m->line++;
      m->column = 0;
      m->index += w == 2 && s[i] == '\r' ? 2 : 1;
      i += w;
      continue;
    }
    if ((s[i] & 0xC0) != 0x80) m->column++, m->index++;
    i++;
  }
}

/* Byte offset of character index idx of in->s (BOM not counted). */
static size_t index_offset(const input *in, size_t idx) {
  size_t i = (in->n >= 3 && memcmp(in->s, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0, c = 0;
  for (; i < in->n; i++) {
    if (((unsigned char)in->s[i] & 0xC0) == 0x80) continue;
    if (c++ == idx) return i;
  }
  return in->n;
}

/* ---- scalars: YAML 1.2 core schema ------------------------------------- */

enum { S_STR, S_NULL, S_TRUE, S_FALSE, S_DEC, S_OCT, S_HEX, S_FLOAT, S_INF, S_NINF, S_NAN };

static int all_digits(const char *s, size_t n, int base) {
  size_t i;
  if (n == 0) return 0;
  for (i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    if (base == 8 ? (c < '0' || c > '7') : base == 16 ? hexval(c) < 0 : (c < '0' || c > '9'))
      return 0;
  }
  return 1;
}

static int eq3(const char *s, const char *a, const char *b, const char *c) {
  return !strcmp(s, a) || !strcmp(s, b) || !strcmp(s, c);
}

/* Match [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? on s[0..n). */
static int is_float(const char *s, size_t n) {
  size_t i = 0, d = 0;
  if (i < n && (s[i] == '-' || s[i] == '+')) i++;
  while (i < n && s[i] >= '0' && s[i] <= '9') i++, d++;
  if (i < n && s[i] == '.') {
    size_t f = 0;
    i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, f++;
    if (d == 0 && f == 0) return 0;
  } else if (d == 0) {
    return 0;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    size_t e = 0;
    i++;
    if (i < n && (s[i] == '-' || s[i] == '+')) i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, e++;
    if (e == 0) return 0;
  }
  return i == n;
}

/* Classify a plain scalar by the core schema. Hand-written: first byte
 * decides which forms can match. */
static int classify(const char *s, size_t n) {
  char w[8];
  if (n == 0) return S_NULL;
  switch (s[0]) {
    case '~':
      return n == 1 ? S_NULL : S_STR;
    case 'n': case 'N': case 't': case 'T': case 'f': case 'F':
      if (n < 4 || n > 5) return S_STR;
      memcpy(w, s, n);
      w[n] = 0;
      if (eq3(w, "null", "Null", "NULL")) return S_NULL;
      if (eq3(w, "true", "True", "TRUE")) return S_TRUE;
      if (eq3(w, "false", "False", "FALSE")) return S_FALSE;
      return S_STR;
    case '.': case '+': case '-':
      if (n >= 4 && n <= 5) {
        size_t k = s[0] == '.' ? 0 : 1;
        if (s[k] == '.' && n - k == 4) {
          memcpy(w, s + k + 1, 3);
          w[3] = 0;
          if (eq3(w, "inf", "Inf", "INF")) return s[0] == '-' ? S_NINF : S_INF;
          if (k == 0 && eq3(w, "nan", "NaN", "NAN")) return S_NAN;
        }
      }
      break;
    default:
      if (s[0] < '0' || s[0] > '9') return S_STR;
  }
  if (n > 2 && s[0] == '0' && s[1] == 'o' && all_digits(s + 2, n - 2, 8)) return S_OCT;
  if (n > 2 && s[0] == '0' && s[1] == 'x' && all_digits(s + 2, n - 2, 16)) return S_HEX;
  if (s[0] == '-' || s[0] == '+') {
    if (all_digits(s + 1, n - 1, 10)) return S_DEC;
  } else if (all_digits(s, n, 10)) {
    return S_DEC;
  }
  return is_float(s, n) ? S_FLOAT : S_STR;
}

/* strtod on s[0..n) in the "C" number syntax whatever the locale: the text
 * is copied (NUL-terminated) with '.' replaced by the locale's point. Long
 * texts are copied into a userdata. [-0,+0], raises on memory errors. */
static double to_double(lua_State *L, const char *s, size_t n) {
  char small[96], *b = small;
  const char *dp = localeconv()->decimal_point;
  char point = dp && dp[0] ? dp[0] : '.';
  double d;
  size_t i;
  if (n >= sizeof small) b = (char *)lua_newuserdata(L, n + 1);
  memcpy(b, s, n);
  b[n] = 0;
  if (point != '.')
    for (i = 0; i < n; i++)
      if (b[i] == '.') b[i] = point;
  d = strtod(b, NULL);
  if (b != small) lua_pop(L, 1);
  return d;
}

/* Push an octal numeral (digits only) too large for an integer as the
 * nearest double: the bits are regrouped into a hex numeral for strtod. */
static void push_big_octal(lua_State *L, const char *s, size_t n) {
  static const char hexd[] = "0123456789abcdef";
  luaL_Buffer b;
  size_t i;
  int bits = (int)((4 - (3 * n) % 4) % 4), nib = 0, k;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "0x");
  for (i = 0; i < n; i++) {
    for (k = 2; k >= 0; k--) {
      nib = nib * 2 + (((s[i] - '0') >> k) & 1);
      if (++bits == 4) {
        luaL_addchar(&b, hexd[nib]);
        bits = nib = 0;
      }
    }
  }
  luaL_pushresult(&b);
  {
    size_t len;
    const char *h = lua_tolstring(L, -1, &len);
    double d = strtod(h, NULL);
    lua_pop(L, 1);
    lua_pushnumber(L, d);
  }
}

/* Push an integer of the given base from digits s[0..n) (sign handled by
 * neg): a Lua integer when it fits int64, else the nearest float. LuaJIT
 * numbers are doubles either way. [-0,+1] */
static void push_int(lua_State *L, const char *text, size_t tlen, const char *s, size_t n,
                     int base, int neg) {
  unsigned long long u = 0, lim = neg ? (unsigned long long)LLONG_MAX + 1u : (unsigned long long)LLONG_MAX;
  size_t i;
  for (i = 0; i < n; i++) {
    unsigned d = (unsigned)hexval((unsigned char)s[i]);
    if (u > (lim - d) / (unsigned)base) break;
    u = u * (unsigned)base + d;
  }
  if (i < n) {
    if (base == 8)
      push_big_octal(L, s, n);
    else
      lua_pushnumber(L, to_double(L, text, tlen)); /* decimal or 0x: strtod rounds */
    return;
  }
#if LUA_VERSION_NUM >= 503 && !defined(LUAJIT_VERSION)
  if (neg)
    lua_pushinteger(L, u == (unsigned long long)LLONG_MAX + 1u ? LUA_MININTEGER : -(lua_Integer)u);
  else
    lua_pushinteger(L, (lua_Integer)u);
#else
  lua_pushnumber(L, neg ? -(double)u : (double)u);
#endif
}

/* Push the value of s[0..n) classified as cls (not S_STR). [-0,+1] */
static void push_class(lua_State *L, int cls, const char *s, size_t n) {
  switch (cls) {
    case S_NULL: arazzo_push_null(L); break;
    case S_TRUE: lua_pushboolean(L, 1); break;
    case S_FALSE: lua_pushboolean(L, 0); break;
    case S_OCT: push_int(L, s, n, s + 2, n - 2, 8, 0); break;
    case S_HEX: push_int(L, s, n, s + 2, n - 2, 16, 0); break;
    case S_DEC:
      if (s[0] == '-' || s[0] == '+')
        push_int(L, s, n, s + 1, n - 1, 10, s[0] == '-');
      else
        push_int(L, s, n, s, n, 10, 0);
      break;
    case S_FLOAT: lua_pushnumber(L, to_double(L, s, n)); break;
    case S_INF: lua_pushnumber(L, HUGE_VAL); break;
    case S_NINF: lua_pushnumber(L, -HUGE_VAL); break;
    default: lua_pushnumber(L, (double)NAN); break;
  }
}

/* Which of the five core scalar tags tag is: 's','i','f','b','n', '!' for
 * the non-specific "!", 0 for none/any other tag (ignored). */
static int tag_kind(const unsigned char *tag) {
  const char *t = (const char *)tag;
  if (!t) return 0;
  if (t[0] == '!' && t[1] == 0) return '!';
  if (strncmp(t, TAG_PREFIX, TAG_PREFIX_LEN) != 0) return 0;
  t += TAG_PREFIX_LEN;
  if (!strcmp(t, "str")) return 's';
  if (!strcmp(t, "int")) return 'i';
  if (!strcmp(t, "float")) return 'f';
  if (!strcmp(t, "bool")) return 'b';
  if (!strcmp(t, "null")) return 'n';
  return 0;
}

/* Does class cls fit tag kind k? (!!float also takes integers.) */
static int tag_fits(int k, int cls) {
  switch (k) {
    case 'i': return cls == S_DEC || cls == S_OCT || cls == S_HEX;
    case 'f': return cls == S_FLOAT || cls == S_INF || cls == S_NINF || cls == S_NAN || cls == S_DEC ||
                     cls == S_OCT || cls == S_HEX;
    case 'b': return cls == S_TRUE || cls == S_FALSE;
    case 'n': return cls == S_NULL;
    default: return 1;
  }
}

/* ---- the tree builder -------------------------------------------------- */

typedef struct {
  lua_State *L;
  yparser *p;
  const input *in;
  int positions, order;
  long long max_depth, max_nodes, nodes;
  int ndocs;
  int stack0;  /* top before the root value */
  int limit;   /* the stack has room up to this index */
  int nslots, o_ord, o_pos; /* frame slots; offsets 0 = unused */
  int s_anchors, s_acnt, s_atext, s_anames, s_merges, s_pos;
  ymark errmark;
} loader;

/* Record an error at m: pushes msg. Returns 0 so callers can `return fail`.
 * There is always room: the loop keeps STACK_MARGIN free slots. [-0,+1] */
static int fail(loader *ld, const ymark *m, const char *msg) {
  ld->errmark = *m;
  lua_pushstring(ld->L, msg);
  return 0;
}

/* Like fail, with a quoted name (at most 64 bytes shown) between pre and
 * post. [-0,+1] */
static int fail_name(loader *ld, const ymark *m, const char *pre, const char *name, size_t len,
                     const char *post) {
  lua_State *L = ld->L;
  ld->errmark = *m;
  lua_pushstring(L, pre);
  lua_pushlstring(L, name, len > 64 ? 64 : len);
  lua_pushstring(L, len > 64 ? "..." : "");
  lua_pushstring(L, post);
  lua_concat(L, 4);
  return 0;
}

/* Make sure extra slots (plus the margin) are free; on LuaJIT a C function
 * has about 8000 slots in all, so a failure is an error, not a crash. */
static int ensure_stack(loader *ld, int extra, const ymark *m) {
  lua_State *L = ld->L;
  int top = lua_gettop(L);
  if (top + extra + STACK_MARGIN <= ld->limit) return 1;
  if (lua_checkstack(L, extra + STACK_MARGIN + STACK_GROW)) {
    ld->limit = top + extra + STACK_MARGIN + STACK_GROW;
    return 1;
  }
  if (lua_checkstack(L, extra + 2 * STACK_MARGIN)) {
    ld->limit = top + extra + 2 * STACK_MARGIN;
    return 1;
  }
  return fail(ld, m, "document too deeply nested for the Lua stack");
}

static frame *top_frame(loader *ld) { return &ld->p->frames[ld->p->nframes - 1]; }

static int push_mark(loader *ld, const ymark *m) {
  yparser *p = ld->p;
  if (p->nmarks == p->mcap) {
    size_t nc = p->mcap ? p->mcap * 2 : 256;
    ymark *nm = (ymark *)realloc(p->marks, nc * sizeof *nm);
    if (!nm) return fail(ld, m, "out of memory");
    p->marks = nm;
    p->mcap = nc;
  }
  p->marks[p->nmarks++] = *m;
  return 1;
}

/* Push "line:col". [-0,+1] */
static void push_pos(lua_State *L, const ymark *m) {
  char buf[48];
  int i = (int)sizeof buf;
  unsigned long v = m->col;
  do buf[--i] = (char)('0' + v % 10); while ((v /= 10) != 0);
  buf[--i] = ':';
  v = m->line;
  do buf[--i] = (char)('0' + v % 10); while ((v /= 10) != 0);
  lua_pushlstring(L, buf + i, sizeof buf - (size_t)i);
}

static unsigned int hash_bytes(const char *s, size_t n) {
  unsigned int h = 2166136261u;
  size_t i;
  for (i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h | 1u; /* 0 is reserved for the merge key */
}

static int is_sentinel(lua_State *L, int idx, const char *which) {
  return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == (void *)which;
}

/* Create f's table (and order list, positions table) sized for n pending
 * slots, in the frame's slots. [-0,+0] */
static void create_tbl(loader *ld, frame *f, int n) {
  lua_State *L = ld->L;
  int seq = f->kind == K_SEQ;
  lua_createtable(L, seq ? n : 0, seq ? 0 : n / 2);
  if (seq) arazzo_mark_array(L, -1);
  lua_replace(L, f->base);
  if (ld->o_ord && !seq) {
    lua_createtable(L, n / 2, 0);
    lua_replace(L, f->base + ld->o_ord);
  }
  if (ld->o_pos) {
    lua_createtable(L, seq ? n : 0, seq ? 1 : n / 2 + 1);
    push_pos(L, &f->start);
    lua_rawseti(L, -2, 0);
    lua_pushvalue(L, f->base);
    lua_pushvalue(L, -2);
    lua_rawset(L, ld->s_pos);
    lua_replace(L, f->base + ld->o_pos);
  }
  f->has_tbl = 1;
}

/* Move a sequence frame's pending items (the top of the stack) into its
 * table. [-pending,+0] */
static void flush_seq(loader *ld, frame *f) {
  lua_State *L = ld->L;
  int n = f->pending, i;
  if (!f->has_tbl) create_tbl(ld, f, n);
  for (i = n; i >= 1; i--) {
    if (ld->o_pos) {
      push_pos(L, &ld->p->marks[f->mbase + (size_t)i - 1]);
      lua_rawseti(L, f->base + ld->o_pos, f->stored + i);
    }
    lua_rawseti(L, f->base, f->stored + i);
  }
  f->stored += n;
  f->pending = 0;
  ld->p->nmarks = f->mbase;
}

/* Append the value at vidx to the merge list of f's table. [-0,+0] */
static void store_merge(loader *ld, frame *f, int vidx) {
  lua_State *L = ld->L;
  lua_pushvalue(L, f->base);
  lua_rawget(L, ld->s_merges);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, f->base);
    lua_pushvalue(L, -2);
    lua_rawset(L, ld->s_merges);
  }
  lua_pushvalue(L, vidx);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  lua_pop(L, 1);
}

/* Move a mapping frame's complete pending pairs into its table, keeping a
 * trailing key that still waits for its value. [-2*pairs,+0] */
static void flush_map(loader *ld, frame *f) {
  lua_State *L = ld->L;
  yparser *p = ld->p;
  int first = f->base + ld->nslots, np = f->pending / 2, j;
  if (!f->has_tbl) create_tbl(ld, f, f->pending);
  for (j = 0; j < np; j++) {
    int k = first + 2 * j;
    if (is_sentinel(L, k, &merge_sentinel)) {
      store_merge(ld, f, k + 1);
      continue;
    }
    lua_pushvalue(L, k);
    lua_pushvalue(L, k + 1);
    lua_rawset(L, f->base);
    if (ld->o_ord) {
      lua_pushvalue(L, k);
      lua_rawseti(L, f->base + ld->o_ord, ++f->stored);
    }
    if (ld->o_pos) {
      lua_pushvalue(L, k);
      push_pos(L, &p->marks[f->mbase + (size_t)j]);
      lua_rawset(L, f->base + ld->o_pos);
    }
  }
  if (f->pending % 2) {
    if (np > 0) {
      p->marks[f->mbase] = p->marks[f->mbase + (size_t)np];
      lua_replace(L, first);
      lua_settop(L, first);
    }
    p->nmarks = f->mbase + 1;
    f->pending = 1;
  } else {
    lua_settop(L, first - 1);
    p->nmarks = f->mbase;
    f->pending = 0;
  }
}

static void flush(loader *ld, frame *f) {
  if (f->kind == K_SEQ)
    flush_seq(ld, f);
  else if (f->kind == K_MAP)
    flush_map(ld, f);
}

/* A merge value must be a mapping or a sequence of mappings. Checks the
 * value on top. [-0,+0] */
static int check_merge_value(loader *ld, const ymark *m) {
  lua_State *L = ld->L;
  int t = lua_gettop(L), ok = lua_type(L, t) == LUA_TTABLE;
  if (ok && arazzo_is_marked_array(L, t)) {
    lua_Integer i, n = (lua_Integer)lua_rawlen(L, t);
    for (i = 1; ok && i <= n; i++) {
      lua_rawgeti(L, t, i);
      ok = lua_type(L, -1) == LUA_TTABLE && !arazzo_is_marked_array(L, -1);
      lua_pop(L, 1);
    }
  }
  return ok ? 1 : fail(ld, m, "merge value must be a mapping or a sequence of mappings");
}

/* The value on top becomes the next item of the innermost frame. [-0,+0]
 * (the value stays pending on the stack or is flushed into the table) */
static int append_item(loader *ld, const ymark *m) {
  frame *f = top_frame(ld);
  switch (f->kind) {
    case K_ROOT:
      f->pending = 1;
      return 1;
    case K_SEQ:
      if (ld->o_pos && !push_mark(ld, m)) return 0;
      if (++f->pending >= SEQ_CHUNK) flush_seq(ld, f);
      return 1;
    default:
      if (is_sentinel(ld->L, -2, &merge_sentinel) && !check_merge_value(ld, m)) return 0;
      if (++f->pending >= MAP_CHUNK) flush_map(ld, f);
      return 1;
  }
}

/* The key on top (a string, or the merge sentinel with hash 0) becomes the
 * pending key of mapping frame f, unless it repeats an earlier key: the
 * table is probed for flushed keys, the pending keys by hash. [-0,+0] */
static int add_key(loader *ld, frame *f, unsigned int hash, const ymark *m) {
  lua_State *L = ld->L;
  yparser *p = ld->p;
  ymark km = *m;
  int dup = 0, j, first = f->base + ld->nslots;
  if (hash == 0) {
    dup = f->has_merge;
    f->has_merge = 1;
  } else {
    if (f->has_tbl) {
      lua_pushvalue(L, -1);
      lua_rawget(L, f->base);
      dup = !lua_isnil(L, -1);
      lua_pop(L, 1);
    }
    for (j = 0; !dup && j < f->pending / 2; j++)
      dup = p->marks[f->mbase + (size_t)j].hash == hash && lua_rawequal(L, first + 2 * j, -1);
  }
  if (dup) {
    size_t len = 2;
    const char *k = hash ? lua_tolstring(L, -1, &len) : "<<";
    return fail_name(ld, m, "duplicate key '", k, len, "'");
  }
  km.hash = hash;
  if (!push_mark(ld, &km)) return 0;
  f->pending++;
  return 1;
}

/* Add k expanded nodes to the count. */
static int count_nodes(loader *ld, long long k, const ymark *m) {
  char msg[96];
  ld->nodes += k;
  if (ld->nodes <= ld->max_nodes) return 1;
  snprintf(msg, sizeof msg, "more than %lld nodes after alias expansion (max_nodes)", ld->max_nodes);
  return fail(ld, m, msg);
}

/* anchors[name] = value at vidx, its expanded size, and for scalars the
 * text (so an alias can serve as a mapping key). [-0,+0] */
static void set_anchor(loader *ld, const char *name, int vidx, long long size, const char *text,
                       size_t tlen) {
  lua_State *L = ld->L;
  vidx = lua_absindex(L, vidx);
  lua_pushstring(L, name);
  lua_pushvalue(L, -1);
  lua_pushvalue(L, vidx);
  lua_rawset(L, ld->s_anchors);
  lua_pushvalue(L, -1);
  lua_pushnumber(L, (lua_Number)size);
  lua_rawset(L, ld->s_acnt);
  if (text)
    lua_pushlstring(L, text, tlen);
  else
    lua_pushnil(L);
  lua_rawset(L, ld->s_atext);
}

/* Report that s[0..n) does not fit the core tag of kind tk. [-0,+1] */
static int tag_misfit(loader *ld, int tk, const char *s, size_t n, const ymark *m) {
  const char *pre = tk == 'i' ? "invalid !!int value '" : tk == 'f' ? "invalid !!float value '"
                    : tk == 'b' ? "invalid !!bool value '" : "invalid !!null value '";
  return fail_name(ld, m, pre, s, n, "'");
}

/* Push the value of scalar event e: quoted scalars and !!str are strings,
 * plain ones resolve by the core schema, !!int/!!float/!!bool/!!null must
 * fit. [-0,+1] or pushes the error message and returns 0. */
static int push_scalar(loader *ld, const yaml_event_t *e, const ymark *m) {
  lua_State *L = ld->L;
  const char *s = (const char *)e->data.scalar.value;
  size_t n = e->data.scalar.length;
  int tk = tag_kind(e->data.scalar.tag), cls;
  if (tk == 's' || tk == '!' || (tk == 0 && e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)) {
    lua_pushlstring(L, s, n);
    return 1;
  }
  cls = classify(s, n);
  if (tk && !tag_fits(tk, cls)) return tag_misfit(ld, tk, s, n, m);
  if (cls == S_STR) {
    lua_pushlstring(L, s, n);
    return 1;
  }
  push_class(L, cls, s, n);
#if LUA_VERSION_NUM >= 503 && !defined(LUAJIT_VERSION)
  if (tk == 'f' && lua_isinteger(L, -1)) {
    lua_Number d = (lua_Number)lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_pushnumber(L, d);
  }
#endif
  return 1;
}

/* A scalar event: a mapping key (always its text) or a value. */
static int on_scalar(loader *ld, const yaml_event_t *e, const ymark *mp) {
  lua_State *L = ld->L;
  const char *s = (const char *)e->data.scalar.value;
  size_t n = e->data.scalar.length;
  const char *anchor = (const char *)e->data.scalar.anchor;
  frame *f = top_frame(ld);
  ymark m = *mp;
  if (!count_nodes(ld, 1, &m)) return 0;
  if (f->kind == K_MAP && f->pending % 2 == 0) {
    const char *tag = (const char *)e->data.scalar.tag;
    int tk = tag_kind(e->data.scalar.tag);
    int merge = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && n == 2 && s[0] == '<' &&
                s[1] == '<' && (!tag || !strcmp(tag, TAG_PREFIX "merge"));
    if (tk && tk != 's' && tk != '!' && !tag_fits(tk, classify(s, n)))
      return tag_misfit(ld, tk, s, n, &m);
    if (merge)
      lua_pushlightuserdata(L, (void *)&merge_sentinel);
    else
      lua_pushlstring(L, s, n);
    if (!add_key(ld, f, merge ? 0u : hash_bytes(s, n), &m)) return 0;
    if (anchor) {
      lua_pushlstring(L, s, n);
      set_anchor(ld, anchor, -1, 1, s, n);
      lua_pop(L, 1);
    }
    return 1;
  }
  if (!push_scalar(ld, e, &m)) return 0;
  if (anchor) set_anchor(ld, anchor, -1, 1, s, n);
  return append_item(ld, &m);
}

/* An alias event: the anchored value itself (tables are shared). */
static int on_alias(loader *ld, const yaml_event_t *e, const ymark *mp) {
  lua_State *L = ld->L;
  const char *name = (const char *)e->data.alias.anchor;
  frame *f = top_frame(ld);
  long long size;
  ymark m = *mp;
  lua_pushstring(L, name);
  lua_pushvalue(L, -1);
  lua_rawget(L, ld->s_anchors); /* name value */
  if (lua_isnil(L, -1)) return fail_name(ld, &m, "unknown alias '", name, strlen(name), "'");
  if (is_sentinel(L, -1, &open_sentinel))
    return fail_name(ld, &m, "recursive alias '", name, strlen(name), "' (inside its own anchor)");
  lua_pushvalue(L, -2);
  lua_rawget(L, ld->s_acnt);
  size = (long long)lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!count_nodes(ld, size, &m)) return 0;
  if (f->kind == K_MAP && f->pending % 2 == 0) {
    size_t len;
    const char *k;
    lua_pop(L, 1);
    lua_rawget(L, ld->s_atext); /* name -> text */
    if (lua_type(L, -1) != LUA_TSTRING) return fail(ld, &m, "mapping key must be a scalar");
    k = lua_tolstring(L, -1, &len);
    return add_key(ld, f, hash_bytes(k, len), &m);
  }
  lua_remove(L, -2);
  return append_item(ld, &m);
}

/* Start a sequence or mapping: a new frame with its slots on the stack. */
static int open_container(loader *ld, int kind, const yaml_event_t *e, const ymark *mp) {
  lua_State *L = ld->L;
  yparser *p = ld->p;
  const unsigned char *tag = kind == K_SEQ ? e->data.sequence_start.tag : e->data.mapping_start.tag;
  const char *anchor = (const char *)(kind == K_SEQ ? e->data.sequence_start.anchor
                                                    : e->data.mapping_start.anchor);
  int tk = tag_kind(tag), i;
  frame *f = top_frame(ld), *c;
  ymark m = *mp;
  if (f->kind == K_MAP && f->pending % 2 == 0) return fail(ld, &m, "mapping key must be a scalar");
  if (tk && tk != '!') {
    char msg[64];
    const char *tn = tk == 's' ? "str" : tk == 'i' ? "int" : tk == 'f' ? "float" : tk == 'b' ? "bool" : "null";
    snprintf(msg, sizeof msg, "tag !!%s cannot apply to a %s", tn, kind == K_SEQ ? "sequence" : "mapping");
    return fail(ld, &m, msg);
  }
  if (!count_nodes(ld, 1, &m)) return 0;
  if ((long long)p->nframes > ld->max_depth) {
    char msg[64];
    snprintf(msg, sizeof msg, "nesting deeper than %lld levels (max_depth)", ld->max_depth);
    return fail(ld, &m, msg);
  }
  if (f->pending && lua_gettop(L) - ld->stack0 > STACK_BUDGET) flush(ld, f);
  if (!ensure_stack(ld, ld->nslots, &m)) return 0;
  if (p->nframes == p->fcap) {
    size_t nc = p->fcap * 2;
    frame *nf = (frame *)realloc(p->frames, nc * sizeof *nf);
    if (!nf) return fail(ld, &m, "out of memory");
    p->frames = nf;
    p->fcap = nc;
  }
  c = &p->frames[p->nframes++];
  memset(c, 0, sizeof *c);
  c->kind = kind;
  c->base = lua_gettop(L) + 1;
  c->mbase = p->nmarks;
  c->nodes0 = ld->nodes - 1;
  c->start = m;
  for (i = 0; i < ld->nslots; i++) lua_pushnil(L);
  if (anchor) {
    c->anchored = 1;
    lua_pushstring(L, anchor);
    lua_pushvalue(L, -1);
    lua_rawseti(L, ld->s_anames, (lua_Integer)p->nframes);
    lua_pushlightuserdata(L, (void *)&open_sentinel);
    lua_rawset(L, ld->s_anchors);
  }
  return 1;
}

/* Apply f's merge keys: keys of the merged mappings that f does not define,
 * earlier merged mappings first. Order and positions follow the source. */
static void merge_from(loader *ld, frame *f, int src) {
  lua_State *L = ld->L;
  int keys, spos = 0, top = lua_gettop(L);
  lua_Integer i, n;
  if (ld->o_pos) {
    lua_pushvalue(L, src);
    lua_rawget(L, ld->s_pos);
    spos = lua_gettop(L);
  }
  arazzo_push_keys(L, src); /* recorded order first, then sorted */
  keys = lua_gettop(L);
  n = (lua_Integer)lua_rawlen(L, keys);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, keys, i);
    lua_pushvalue(L, -1);
    lua_rawget(L, f->base);
    if (!lua_isnil(L, -1)) {
      lua_pop(L, 2);
      continue;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_pushvalue(L, -1);
    lua_rawget(L, src);
    lua_rawset(L, f->base);
    if (ld->o_ord) {
      lua_pushvalue(L, -1);
      lua_rawseti(L, f->base + ld->o_ord, ++f->stored);
    }
    if (spos && lua_istable(L, spos)) {
      lua_pushvalue(L, -1);
      lua_pushvalue(L, -1);
      lua_rawget(L, spos);
      lua_rawset(L, f->base + ld->o_pos);
    }
    lua_pop(L, 1);
  }
  lua_settop(L, top);
}

static void apply_merges(loader *ld, frame *f) {
  lua_State *L = ld->L;
  lua_Integer i, j, n;
  lua_pushvalue(L, f->base);
  lua_rawget(L, ld->s_merges);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return;
  }
  lua_pushvalue(L, f->base);
  lua_pushnil(L);
  lua_rawset(L, ld->s_merges);
  n = (lua_Integer)lua_rawlen(L, -1);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    if (arazzo_is_marked_array(L, -1)) {
      lua_Integer m = (lua_Integer)lua_rawlen(L, -1);
      for (j = 1; j <= m; j++) {
        lua_rawgeti(L, -1, j);
        merge_from(ld, f, lua_gettop(L));
        lua_pop(L, 1);
      }
    } else {
      merge_from(ld, f, lua_gettop(L));
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* End the innermost container: final flush, merges, key order, anchor; the
 * finished table becomes an item of the parent. */
static int close_container(loader *ld) {
  lua_State *L = ld->L;
  yparser *p = ld->p;
  frame *f = top_frame(ld);
  ymark m = f->start;
  flush(ld, f);
  if (f->kind == K_MAP) {
    if (f->has_merge) apply_merges(ld, f);
    if (ld->o_ord && f->stored > 0) {
      lua_pushvalue(L, f->base + ld->o_ord);
      arazzo_set_order(L, f->base);
    }
  }
  if (f->anchored) {
    lua_rawgeti(L, ld->s_anames, (lua_Integer)p->nframes);
    lua_pushvalue(L, -1);
    lua_rawget(L, ld->s_anchors);
    if (is_sentinel(L, -1, &open_sentinel)) {
      lua_pop(L, 1);
      set_anchor(ld, lua_tostring(L, -1), f->base, ld->nodes - f->nodes0, NULL, 0);
    } else {
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawseti(L, ld->s_anames, (lua_Integer)p->nframes);
  }
  lua_settop(L, f->base);
  p->nframes--;
  return append_item(ld, &m);
}

/* ---- event loop and errors --------------------------------------------- */

/* Push the message of the libyaml error in p and store its position in m.
 * Reader errors carry a byte offset, the others a mark; the context (what
 * libyaml was parsing, and where it started) is appended. [-0,+1] */
static void push_parser_error(lua_State *L, yparser *p, const input *in, ymark *m) {
  yaml_parser_t *ps = &p->parser;
  const char *problem = ps->problem ? ps->problem : "out of memory";
  yaml_mark_t mk = ps->problem_mark;
  char tail[160];
  tail[0] = 0;
  if (ps->error == YAML_READER_ERROR) {
    offset_mark(in, ps->problem_offset, &mk);
    if (ps->problem_value >= 0) snprintf(tail, sizeof tail, " (0x%02X)", (unsigned)ps->problem_value);
  } else if (ps->error == YAML_MEMORY_ERROR) {
    memset(&mk, 0, sizeof mk);
  } else if (ps->context) {
    size_t at = index_offset(in, mk.index);
    ymark cm;
    to_ymark(in, &ps->context_mark, &cm);
    snprintf(tail, sizeof tail, " (%s at %lu:%lu)", ps->context, cm.line, cm.col);
    if (!strcmp(problem, "did not find expected ',' or '}'") &&
        !strcmp(ps->context, "while parsing a flow mapping") &&
        at < in->n && in->s[at] == ':') {
      problem = "a mapping key and its ':' must be on one line, within 1024 characters";
      tail[0] = 0;
    }
  }
  to_ymark(in, &mk, m);
  lua_pushstring(L, problem);
  lua_pushstring(L, tail);
  lua_concat(L, 2);
}

/* Run the parser to the end of the stream, building the value at the root
 * frame's base. Returns 1, or 0 with the message pushed and ld->errmark
 * set. */
static int load_events(loader *ld) {
  yparser *p = ld->p;
  for (;;) {
    yaml_event_t *e = &p->event;
    ymark m;
    int ok = 1;
    if (!yp_next(p)) {
      push_parser_error(ld->L, p, ld->in, &ld->errmark);
      return 0;
    }
    to_ymark(ld->in, &e->start_mark, &m);
    if (!ensure_stack(ld, 8, &m)) return 0;
    switch (e->type) {
      case YAML_STREAM_END_EVENT:
        return 1;
      case YAML_DOCUMENT_START_EVENT:
        if (++ld->ndocs > 1) return fail(ld, &m, "more than one document in the stream");
        break;
      case YAML_SCALAR_EVENT: ok = on_scalar(ld, e, &m); break;
      case YAML_ALIAS_EVENT: ok = on_alias(ld, e, &m); break;
      case YAML_SEQUENCE_START_EVENT: ok = open_container(ld, K_SEQ, e, &m); break;
      case YAML_MAPPING_START_EVENT: ok = open_container(ld, K_MAP, e, &m); break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: ok = close_container(ld); break;
      default: break;
    }
    if (!ok) return 0;
  }
}

/* ---- Lua API ------------------------------------------------------------ */

/* Read a non-negative integer option (value on top). Raises. */
static long long opt_count(lua_State *L, const char *name, long long cap) {
  lua_Number d;
  if (lua_type(L, -1) != LUA_TNUMBER)
    luaL_error(L, "yaml_load: option '%s' must be a non-negative integer", name);
  d = lua_tonumber(L, -1);
  if (!(d >= 0) || d != floor(d))
    luaL_error(L, "yaml_load: option '%s' must be a non-negative integer", name);
  return d > (lua_Number)cap ? cap : (long long)d;
}

/* Parse yaml_load's options table at idx into ld. Raises on unknown names
 * and wrong types (programmer errors). [-0,+0] */
static void read_opts(lua_State *L, int idx, loader *ld) {
  ld->positions = 0;
  ld->order = 1;
  ld->max_depth = 1000;
  ld->max_nodes = 10000000;
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
    if (!strcmp(k, "positions") || !strcmp(k, "order")) {
      if (!lua_isboolean(L, -1)) luaL_error(L, "yaml_load: option '%s' must be a boolean", k);
      *(k[0] == 'p' ? &ld->positions : &ld->order) = lua_toboolean(L, -1);
    } else if (!strcmp(k, "max_depth")) {
      ld->max_depth = opt_count(L, k, 100000000);
    } else if (!strcmp(k, "max_nodes")) {
      ld->max_nodes = opt_count(L, k, (long long)1 << 53);
    } else {
      luaL_error(L, "yaml_load: unknown option '%s'", k);
    }
    lua_pop(L, 1);
  }
}

/* Push a fresh table and return its index. [-0,+1] */
static int new_slot(lua_State *L) {
  lua_newtable(L);
  return lua_gettop(L);
}

/* Return nil, "<chunk>:<line>:<col>: <message>", "yaml" from the message on
 * top. */
static int return_error(lua_State *L, const char *chunk, size_t clen, const ymark *m) {
  char buf[64];
  snprintf(buf, sizeof buf, ":%lu:%lu: ", m->line, m->col);
  lua_pushnil(L);
  lua_pushlstring(L, chunk, clen);
  lua_pushstring(L, buf);
  lua_pushvalue(L, -4);
  lua_concat(L, 3);
  lua_pushliteral(L, "yaml");
  return 3;
}

/* core.yaml_load(text [, chunkname [, opts]]) -> value [, pos]
 * or nil, "<chunk>:<line>:<col>: <message>", "yaml". Raises on bad
 * arguments and memory errors. */
static int l_yaml_load(lua_State *L) {
  size_t n, clen;
  const char *s = luaL_checklstring(L, 1, &n);
  const char *chunk = luaL_optlstring(L, 2, "yaml", &clen);
  loader ld;
  input in;
  frame *root;
  memset(&ld, 0, sizeof ld);
  read_opts(L, 3, &ld);
  lua_settop(L, 3);
  ld.L = L;
  ld.p = yp_new(L);
  ld.in = &in;
  prepare_input(L, ld.p, s, n, &in);
  ld.s_anchors = new_slot(L);
  ld.s_acnt = new_slot(L);
  ld.s_atext = new_slot(L);
  ld.s_anames = new_slot(L);
  ld.s_merges = new_slot(L);
  ld.nslots = 1;
  if (ld.order) ld.o_ord = ld.nslots++;
  if (ld.positions) {
    ld.o_pos = ld.nslots++;
    ld.s_pos = new_slot(L);
    lua_newtable(L);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, ld.s_pos);
  }
  ld.stack0 = ld.limit = lua_gettop(L);
  ld.p->frames = (frame *)malloc(16 * sizeof(frame));
  if (!ld.p->frames || !yp_start(ld.p, in.s, in.n)) return luaL_error(L, "not enough memory");
  ld.p->fcap = 16;
  ld.p->nframes = 1;
  root = &ld.p->frames[0];
  memset(root, 0, sizeof *root);
  root->kind = K_ROOT;
  root->base = ld.stack0 + 1;
  if (!load_events(&ld)) {
    yp_release(ld.p);
    return return_error(L, chunk, clen, &ld.errmark);
  }
  if (!ld.p->frames[0].pending) arazzo_push_null(L);
  yp_release(ld.p);
  if (!ld.positions) return 1;
  lua_pushvalue(L, ld.s_pos);
  return 2;
}

/* core.yaml_events(text) -> number of libyaml events, or nil, msg, "yaml".
 * A bare parse that builds nothing: the floor yaml_load is measured
 * against. */
static int l_yaml_events(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  yparser *p;
  input in;
  lua_Integer count = 0;
  lua_settop(L, 1);
  p = yp_new(L);
  in.s = s;
  in.n = n;
  in.rw = NULL;
  in.nrw = 0;
  if (!yp_start(p, s, n)) return luaL_error(L, "not enough memory");
  for (;;) {
    if (!yp_next(p)) {
      ymark m;
      push_parser_error(L, p, &in, &m);
      yp_release(p);
      return return_error(L, "yaml", 4, &m);
    }
    count++;
    if (p->event.type == YAML_STREAM_END_EVENT) break;
  }
  yp_release(p);
  lua_pushinteger(L, count);
  return 1;
}

static const luaL_Reg yaml_funcs[] = {
    {"yaml_load", l_yaml_load}, {"yaml_events", l_yaml_events}, {NULL, NULL}};

void arazzo_yaml_open(lua_State *L) { luaL_setfuncs(L, yaml_funcs, 0); }
