/* json_internal.h: private declarations shared by json.c, json_encode.c,
 * json_encode_keys.c and json_decode.c. Not installed.
 * Licence: MIT (see LICENSE).
 *
 * Both directions are iterative: nesting lives in an explicit frame stack in
 * malloc'd memory (owned by a "scratch" userdata with __gc) plus one or two
 * Lua stack slots per level, so depth is bounded by max_depth and by
 * lua_checkstack, never by the C stack. No Lua code and no metamethod is
 * called; tables are read with raw access only. All bytes are built in the
 * scratch buffer, never in a luaL_Buffer, because traversal keeps values
 * above the buffer; a finished text is copied into a Lua string once.
 *
 * The byte writers (json_room, json_put, json_putc), json_utf8_len and the
 * decoder's json_skip_plain and json_quick_number are static inline here,
 * so each file keeps its own inlined copy as before the split (no external
 * symbol, hence no arazzo_ prefix): they sit in the hot loops. Functions
 * with external linkage are arazzo_json_<verb>. */
#ifndef ARAZZO_JSON_INTERNAL_H
#define ARAZZO_JSON_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "arazzo.h"

#define JSON_DEFAULT_DEPTH 1000

/* ---- shared: byte classes and UTF-8 (json.c) ----------------------------- */

/* Byte classes: 0 plain ASCII, 1 needs escaping in a string (control, '"',
 * '\\'), 2..4 lead byte of a UTF-8 sequence of that length, 5 never valid
 * as a lead byte (continuation, C0/C1 overlong leads, F5..FF). */
extern const unsigned char arazzo_json_byte_class[256];

/* Length of the valid UTF-8 sequence at p (at most avail bytes), or 0 when
 * it is malformed: truncated, overlong, a surrogate or above U+10FFFF. */
static inline size_t json_utf8_len(const unsigned char *p, size_t avail) {
  unsigned char lo = 0x80, hi = 0xbf;
  size_t n = arazzo_json_byte_class[p[0]], i;
  if (n < 2 || n > 4 || avail < n) return 0;
  if (p[0] == 0xe0) lo = 0xa0;
  else if (p[0] == 0xed) hi = 0x9f;
  else if (p[0] == 0xf0) lo = 0x90;
  else if (p[0] == 0xf4) hi = 0x8f;
  if (p[1] < lo || p[1] > hi) return 0;
  for (i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xbf) return 0;
  return n;
}

/* ---- decoder: plain string bytes, 8 at a time (json_decode.c) ---------- */

#define SWAR_ONES 0x0101010101010101ULL
#define SWAR_HIGH 0x8080808080808080ULL
/* Nonzero when some byte of x is zero (exact as a yes/no answer). */
#define SWAR_ZERO(x) (((x) - SWAR_ONES) & ~(x) & SWAR_HIGH)

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR_FIRST(m) ((size_t)__builtin_ctzll(m) >> 3)
#endif

/* Move p over plain string bytes (class 0), 8 at a time: a block's mask
 * flags each '"', '\\', control character and byte >= 0x80 (and maybe
 * bytes after the first one flagged, never before it); returns the first
 * byte that is not plain (or e). */
static inline const unsigned char *json_skip_plain(const unsigned char *p, const unsigned char *e) {
  while (e - p >= 8) {
    uint64_t x, m;
    memcpy(&x, p, 8);
    m = (((x - 0x2020202020202020ULL) & ~x) | x) & SWAR_HIGH; /* < 0x20 or >= 0x80 */
    m |= SWAR_ZERO(x ^ (SWAR_ONES * '"')) | SWAR_ZERO(x ^ (SWAR_ONES * '\\'));
    if (m != 0) {
#ifdef SWAR_FIRST
      return p + SWAR_FIRST(m);
#else
      break;
/* Check s[0..len) whole without building anything; see json_decode.c. */
int arazzo_json_check_run(lua_State *L, dec *d, const char *s, size_t len);

#endif
    }
    p += 8;
  }
  while (p < e && arazzo_json_byte_class[*p] == 0) p++;
  return p;
}

/* ---- scratch memory owned by a userdata (json.c) ------------------------- */

typedef struct {
  const char *s; /* a key string in the object's key list; valid only until
                    the next Lua allocation, afterwards use pos */
  size_t len;
  lua_Integer pos; /* its index in that key list */
} json_key;

typedef struct {
  char *buf; /* output text (encode), unescaped string or number (decode) */
  size_t len, cap;
  void *frames; /* enc_frame[] */
  size_t fcap;  /* in frames */
  void *dframes; /* dec_frame[] */
  size_t dfcap;
  json_key *keys;
  size_t nkeys, kcap;
  size_t *offs; /* decode_at: node offsets along the pointer, when many */
  size_t ocap;
  int shared;   /* the state's reusable scratch (see json.c) */
  int busy;     /* shared and handed out */
} json_scratch;

/* Done with a scratch (the normal path of every run): the shared scratch
 * is handed back, keeping its smaller blocks for the next run; any other
 * is freed. One left busy by a raised error is replaced by a new shared
 * one at the next run; __gc frees everything in any case. */
void arazzo_json_scratch_free(json_scratch *s);
/* Push an empty scratch userdata and return it: the Lua state's shared one
 * (kept in the registry, so runs need not allocate), or when that one is
 * busy a new one that becomes the shared one. Its metatable is created on first use, so C callers work
 * whatever order modules were opened in. [-0,+1], raises memory errors
 * only. */
json_scratch *arazzo_json_scratch_new(lua_State *L);
/* Grow the array *p (elements of size sz, capacity *cap) to hold need
 * elements. Raises "json: not enough memory" on overflow or OOM; the old
 * block stays owned by the scratch, so nothing leaks. */
void arazzo_json_grow(lua_State *L, void **p, size_t *cap, size_t need, size_t sz);

/* Make room for n more bytes in the scratch buffer; returns the write
 * position. Raises memory errors only. */
static inline char *json_room(lua_State *L, json_scratch *s, size_t n) {
  if (s->cap - s->len < n) {
    if (n > (size_t)-1 - s->len) luaL_error(L, "json: not enough memory");
    arazzo_json_grow(L, (void **)&s->buf, &s->cap, s->len + n, 1);
  }
  return s->buf + s->len;
}

static inline void json_put(lua_State *L, json_scratch *s, const char *p, size_t n) {
  if (n == 0) return; /* the buffer may still be NULL */
  memcpy(json_room(L, s, n), p, n);
  s->len += n;
}

static inline void json_putc(lua_State *L, json_scratch *s, char c) {
  if (s->len == s->cap) json_room(L, s, 1);
  s->buf[s->len++] = c;
}

#define JSON_PUTLIT(L, s, lit) json_put((L), (s), "" lit, sizeof(lit) - 1)

/* ---- encoder (json_encode.c, json_encode_keys.c) ------------------------- */

/* ENC_KEYED: the json_key entries give the key order (indexes into the key
 * list); ENC_LISTED: the key list is already in order. */
enum { ENC_ARRAY, ENC_KEYED, ENC_LISTED };

typedef struct {
  const void *ptr; /* table identity, for cycle detection */
  size_t i, n;     /* children started so far, child count */
  size_t kbase;    /* first json_key of a keyed object */
  int tidx, lidx;  /* stack slots of the table and of its key list */
  int kind;
} enc_frame;

typedef struct {
  lua_State *L;
  json_scratch *s;
  const char *indent; /* NULL: compact */
  size_t indent_len;
  size_t max_depth;
  size_t depth; /* frames in use */
  int order;    /* stack slot of the key-order table, 0 when absent */
  int seen;     /* stack slot of the set of open tables beyond JSON_SCAN_DEPTH
                   (nil until first needed) */
} enc;

/* Encode the value at idx with the settings in e. Leaves the JSON text
 * (returns 1) or the error message (returns 0) on top, in place of the
 * scratch it used; scratch memory is freed before returning.
 * [-0,+1], raises memory errors only (the scratch's __gc then frees). */
int arazzo_json_encode_run(lua_State *L, enc *e, int idx);
/* Replace the output with "json: <what> at <pointer>" where the pointer
 * names the child being encoded in each open frame (all frames, or all but
 * the innermost when whole is 0). Returns -1 for the caller to pass on. */
int arazzo_json_encode_fail(enc *e, const char *what, int whole);
/* json_encode_keys.c: check that the marked array at t (raw length n) has
 * exactly the keys 1..n. Returns 0, or fails naming the first stray key.
 * [-0,+0] */
int arazzo_json_encode_check_array(enc *e, int t, size_t n);
/* json_encode_keys.c: push the key list of the object at t and fill the
 * frame f (kind, lidx, n, json_keys from f->kbase): recorded order, or all
 * string keys sorted bytewise. Fails on a non-string key. [-0,+1] */
int arazzo_json_encode_keys(enc *e, int t, enc_frame *f);

/* ---- decoder (json_decode.c) --------------------------------------------- */

enum { DEC_OK, DEC_SYNTAX, DEC_DEPTH };

/* Pointer tokens up to this many keep their node offsets on the C stack. */
#define JSON_AT_LOCAL 16

typedef struct {
  lua_State *L;
  json_scratch *s;
  const unsigned char *start, *p, *end;
  size_t max_depth, depth;
  size_t hinted;   /* frame slots whose hint has been set */
  int order;       /* record key order of objects */
  int build;       /* 1: build Lua values; 0: a selecting pass (below) */
  int code;        /* DEC_SYNTAX or DEC_DEPTH once failed */
  int found;       /* the message reads "unexpected <char at errpos>, <msg>" */
  const char *msg; /* static text */
  size_t errpos;   /* byte offset into the input */
  /* A selecting pass (build 0) checks the text exactly like a building one
   * but pushes nothing; it records where the nodes that the pointer tokens
   * select start. The frames on the selected path are always the bottom
   * `path` frames of the stack. */
  const arazzo_json_token *toks;
  size_t ntok;
  size_t path;     /* frames on the selected path */
  size_t *cand;    /* cand[j]: offset of the node the first j tokens select */
  size_t ncand;    /* cand[0..ncand) are current */
  int keymatch;    /* the key just read equals the next token */
  int pending;     /* the value about to be parsed is cand[depth] */
  size_t vslots;   /* Lua stack slots a building pass would hold now */
  size_t vhigh;    /* free slots already ensured above the real top */
  /* With ix set, a selecting pass records every member of a root object
   * (json_index.c): the key just read, then its value's offset. */
  struct json_rootix *ix;
  const char *ixkey;
  size_t ixklen;
} dec;

/* json_index.c: record the member whose key dec_key_select just read and
 * whose value starts at d->p. Raises memory errors only. */
void arazzo_json_ix_add(dec *d);

/* Record a syntax error at p; returns -1. */
static inline int json_dec_fail(dec *d, const unsigned char *p, const char *msg, int found) {
  d->code = DEC_SYNTAX;
  d->errpos = (size_t)(p - d->start);
  d->msg = msg;
  d->found = found;
  return -1;
}

/* Selecting pass: step over a number of the form [-]int[.frac] with fewer
 * than 300 integer digits (it cannot overflow), checking its grammar, and
 * return 1; 0 for any other text (the full parse then checks and reports
 * it). */
static inline int json_quick_number(dec *d) {
  const unsigned char *p = d->p, *e = d->end, *s;
  if (*p == '-') p++;
  for (s = p; p < e && *p >= '0' && *p <= '9'; p++) {}
  if (p == s || p - s >= 300 || (*s == '0' && p - s > 1)) return 0;
  if (p < e && *p == '.') {
    for (s = ++p; p < e && *p >= '0' && *p <= '9'; p++) {}
    if (p == s) return 0;
  }
  if (p < e && (*p == 'e' || *p == 'E')) return 0;
  d->p = p;
  return 1;
}

/* json.c: parse the number at d->p (a '-' or digit) and push it (a
 * selecting pass only checks it); d->p moves past it. [-0,+1|0] or -1 */
int arazzo_json_dec_number(dec *d);

/* Decode s[0..len) with the settings in d. On success the value is on top
 * (returns 1, [-0,+1]); on failure nothing is left (returns 0, d->msg and
 * d->errpos set). Scratch memory is freed either way; raises memory errors
 * only (the scratch's __gc then frees). */
int arazzo_json_decode_run(lua_State *L, dec *d, const char *s, size_t len);
/* The same, but the value pushed is only the node that toks[0..ntok)
 * select (see arazzo_json_decode_at in arazzo.h for *used and what is
 * pushed). The whole text is checked first, with the same errors and
 * positions as arazzo_json_decode_run; then only that node is built.
 * from > 0: s is known to be valid and the tokens apply to the value that
 * starts at offset from (only that value is read). */
int arazzo_json_decode_at_run(lua_State *L, dec *d, const char *s, size_t len, size_t from,
                              const arazzo_json_token *toks, size_t ntok, size_t *used);

/* Check s[0..len) whole without building anything; see json_decode.c. */
int arazzo_json_check_run(lua_State *L, dec *d, const char *s, size_t len);

/* Check s[0..len) whole without building anything; see json_decode.c. */
int arazzo_json_check_run(lua_State *L, dec *d, const char *s, size_t len);

#endif
