/* json_decode.c: the strict RFC 8259 JSON decoder: exact integers, marked arrays, key order.
 * Licence: MIT (see LICENSE).
 *
 * Iterative over an explicit frame stack (see json_internal.h). The same
 * parser also runs as a selecting pass (d->build == 0: check everything,
 * push nothing, note where the nodes a JSON pointer selects start), which
 * arazzo_json_decode_at_run follows with a building pass over that node
 * only; sharing the code keeps the errors identical. */
#include <string.h>

#include "json_internal.h"

/* Largest size hint a decoded table inherits from its predecessor. */
#define JSON_MAX_HINT 64

typedef struct {
  int tidx, lidx;    /* stack slots of the container and its key list (0: none) */
  int is_object;
  lua_Integer count; /* elements stored (arrays) or keys listed (objects) */
  int members;       /* values stored, repeats included */
  int hint;          /* members of the last container closed at this depth:
                        the size a sibling is created with (kept on pop) */
} dec_frame;

#define DEC_TOP(d) (((dec_frame *)(d)->s->dframes)[(d)->depth - 1])

static void skip_ws(dec *d) {
  const unsigned char *p = d->p, *e = d->end;
  while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  d->p = p;
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Read the 4 hex digits after "\u" at p (p points at the backslash) into
 * *cp. Returns 0 or fails at the first bad digit. */
static int dec_hex4(dec *d, const unsigned char *p, unsigned *cp) {
  int i, v;
  *cp = 0;
  for (i = 2; i < 6; i++) {
    if (p + i >= d->end || (v = hexval(p[i])) < 0)
      return json_dec_fail(d, p + i, "expected 4 hex digits after \\u", 1);
    *cp = *cp * 16 + (unsigned)v;
  }
  return 0;
}

/* Append code point cp as UTF-8 to the scratch buffer. */
static void put_utf8(lua_State *L, json_scratch *s, unsigned cp) {
  char *w = json_room(L, s, 4);
  if (cp < 0x80) {
    w[0] = (char)cp;
    s->len += 1;
  } else if (cp < 0x800) {
    w[0] = (char)(0xc0 | (cp >> 6));
    w[1] = (char)(0x80 | (cp & 0x3f));
    s->len += 2;
  } else if (cp < 0x10000) {
    w[0] = (char)(0xe0 | (cp >> 12));
    w[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    w[2] = (char)(0x80 | (cp & 0x3f));
    s->len += 3;
  } else {
    w[0] = (char)(0xf0 | (cp >> 18));
    w[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    w[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    w[3] = (char)(0x80 | (cp & 0x3f));
    s->len += 4;
  }
}

/* Decode the escape at *pp (a backslash) into the scratch buffer and move
 * *pp past it. q is the opening quote, for "unterminated string". */
static int dec_escape(dec *d, const unsigned char **pp, const unsigned char *q) {
  const unsigned char *p = *pp;
  unsigned cp, lo;
  if (p + 1 >= d->end) return json_dec_fail(d, q, "unterminated string", 0);
  switch (p[1]) {
  case '"': case '\\': case '/': json_putc(d->L, d->s, (char)p[1]); break;
  case 'b': json_putc(d->L, d->s, '\b'); break;
  case 'f': json_putc(d->L, d->s, '\f'); break;
  case 'n': json_putc(d->L, d->s, '\n'); break;
  case 'r': json_putc(d->L, d->s, '\r'); break;
  case 't': json_putc(d->L, d->s, '\t'); break;
  case 'u':
    if (dec_hex4(d, p, &cp)) return -1;
    if (cp >= 0xdc00 && cp <= 0xdfff) return json_dec_fail(d, p, "unpaired UTF-16 surrogate in \\u escape", 0);
    if (cp >= 0xd800 && cp <= 0xdbff) {
      if (p + 7 >= d->end || p[6] != '\\' || p[7] != 'u')
        return json_dec_fail(d, p, "unpaired UTF-16 surrogate in \\u escape", 0);
      if (dec_hex4(d, p + 6, &lo)) return -1;
      if (lo < 0xdc00 || lo > 0xdfff) return json_dec_fail(d, p, "unpaired UTF-16 surrogate in \\u escape", 0);
      cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      p += 6;
    }
    put_utf8(d->L, d->s, cp);
    p += 4;
    break;
  default:
    return json_dec_fail(d, p + 1, "expected one of \" \\ / b f n r t u after '\\'", 1);
  }
  *pp = p + 2;
  return 0;
}

/* Parse the string at d->p (its opening quote) into *out, *n: a slice of
 * the input when it has no escapes, else the text as assembled in the
 * scratch buffer (valid until the next scratch write). [-0,+0] or -1 */
static int dec_string_scan(dec *d, const char **out, size_t *n) {
  const unsigned char *q = d->p, *p = q + 1, *e = d->end, *run = p;
  int copied = 0;
  for (;;) {
    size_t k;
    p = json_skip_plain(p, e);
    if (p == e) return json_dec_fail(d, q, "unterminated string", 0);
    if (*p >= 0x80) {
      if ((k = json_utf8_len(p, (size_t)(e - p))) == 0) return json_dec_fail(d, p, "invalid UTF-8 in string", 0);
      p += k;
      continue;
    }
    if (*p < 0x20) return json_dec_fail(d, p, "control characters in strings must be escaped", 1);
    if (*p == '"') break;
    if (!copied) d->s->len = 0;
    copied = 1;
    json_put(d->L, d->s, (const char *)run, (size_t)(p - run));
    if (dec_escape(d, &p, q)) return -1;
    run = p;
  }
  if (copied) {
    json_put(d->L, d->s, (const char *)run, (size_t)(p - run));
    *out = d->s->buf;
    *n = d->s->len;
  } else {
    *out = (const char *)run;
    *n = (size_t)(p - run);
  }
  d->p = p + 1;
  return 0;
}

/* Parse the string at d->p and push it (selecting pass: only check it).
 * [-0,+1|0] or -1 */
static int dec_string(dec *d) {
  const char *t;
  size_t n;
  if (dec_string_scan(d, &t, &n)) return -1;
  if (d->build) lua_pushlstring(d->L, t, n);
  return 0;
}

/* Push the literal true/false/null at d->p. [-0,+1] or -1 */
static int dec_literal(dec *d) {
  static const char *const words[] = {"true", "false", "null"};
  static const char *const msgs[] = {"invalid literal, expected true", "invalid literal, expected false",
                                     "invalid literal, expected null"};
  int w = *d->p == 't' ? 0 : *d->p == 'f' ? 1 : 2;
  size_t n = strlen(words[w]);
  if ((size_t)(d->end - d->p) < n || memcmp(d->p, words[w], n) != 0) return json_dec_fail(d, d->p, msgs[w], 0);
  if (d->build) {
    if (w == 2) arazzo_push_null(d->L);
    else lua_pushboolean(d->L, w == 0);
  }
  d->p += n;
  return 0;
}

/* Selecting pass: parse the key at d->p and note whether it is the next
 * token, when the object is on the selected path. -1 on error. */
static int dec_key_select(dec *d) {
  const char *k;
  size_t n;
  const arazzo_json_token *t;
  if (dec_string_scan(d, &k, &n)) return -1;
  if (d->ix && d->depth == 1) {
    d->ixkey = k;
    d->ixklen = n;
  }
  d->keymatch = 0;
  if (d->depth == d->path && d->path <= d->ntok) {
    t = &d->toks[d->path - 1];
    d->keymatch = t->len == n && (n == 0 || memcmp(t->s, k, n) == 0);
  }
  return 0;
}

/* Parse an object key at d->p (a '"') and the ':' after it; the key is
 * pushed. Creates the object's key list first when order is recorded. */
static int dec_key(dec *d) {
  dec_frame *f = &DEC_TOP(d);
  if (!d->build) {
    if (dec_key_select(d)) return -1;
  } else {
    if (d->order && f->lidx == 0) {
      lua_createtable(d->L, f->hint, 0);
      f->lidx = lua_gettop(d->L);
    }
    if (dec_string(d)) return -1;
  }
  skip_ws(d);
  if (d->p == d->end || *d->p != ':') return json_dec_fail(d, d->p, "expected ':'", 1);
  d->p++;
  return 0;
}

/* Pop the innermost frame: its table (with the key list recorded as its
 * order) is left on top as a complete value. */
static void dec_close(dec *d) {
  dec_frame *f = &DEC_TOP(d);
  if (!d->build) {
    d->vslots -= f->is_object ? 2 + (d->order != 0) : 1;
    if (d->depth == d->path) d->path--;
  }
  if (f->lidx) arazzo_set_order(d->L, f->tidx);
  f->hint = f->members < JSON_MAX_HINT ? f->members : JSON_MAX_HINT;
  d->depth--;
}

/* Whether the Lua stack has room for one more level: 8 free slots above
 * what a building pass holds. A selecting pass asks for as many slots as
 * the building pass would need at this point, so both fail alike. */
static int dec_room(dec *d) {
  if (d->build) return lua_checkstack(d->L, 8);
  if (d->vslots + 8 <= d->vhigh) return 1;
  if (d->vslots + 8 > 0x7fffffff || !lua_checkstack(d->L, (int)(d->vslots + 8))) return 0;
  d->vhigh = d->vslots + 8;
  return 1;
}

/* Selecting pass, at the start of a value: when it is the member that the
 * next token names in the innermost frame on the path (or the root), note
 * its offset as cand[depth] and forget deeper ones (a later duplicate key
 * replaces an earlier one, subtree and all). */
static void dec_select(dec *d) {
  size_t k = d->depth;
  int match;
  if (d->ix && k == 1 && DEC_TOP(d).is_object) arazzo_json_ix_add(d);
  if (k == 0) match = 1;
  else if (k != d->path || k > d->ntok) match = 0;
  else if (DEC_TOP(d).is_object) match = d->keymatch;
  else match = d->toks[k - 1].index == DEC_TOP(d).count;
  d->pending = match;
  if (match) {
    d->cand[k] = (size_t)(d->p - d->start);
    d->ncand = k + 1;
  }
}

/* Open an array or object at d->p. Returns 0 when it closed at once (the
 * empty table is on top), 1 when a value must follow, -1 on error. */
static int dec_open(dec *d) {
  lua_State *L = d->L;
  dec_frame f;
  int is_object = *d->p == '{';
  if (d->depth >= d->max_depth) {
    json_dec_fail(d, d->p, "nesting too deep", 0);
    d->code = DEC_DEPTH;
    return -1;
  }
  /* a level holds table, key list, key, value, plus 2 temporaries */
  if (!dec_room(d)) return json_dec_fail(d, d->p, "nesting too deep for the Lua stack", 0);
  if (d->depth == d->s->dfcap) arazzo_json_grow(L, &d->s->dframes, &d->s->dfcap, d->depth + 1, sizeof f);
  if (d->depth == d->hinted) ((dec_frame *)d->s->dframes)[d->hinted++].hint = 0;
  f.hint = ((dec_frame *)d->s->dframes)[d->depth].hint;
  f.tidx = 0;
  if (d->build) {
    lua_createtable(L, is_object ? 0 : f.hint, is_object ? f.hint : 0);
    if (!is_object) arazzo_mark_array(L, -1);
    f.tidx = lua_gettop(L);
  } else {
    d->vslots += is_object ? 2 + (d->order != 0) : 1;
    if (d->pending) { /* this container is the node cand[depth] */
      d->path++;
      d->pending = 0;
    }
  }
  f.lidx = 0;
  f.is_object = is_object;
  f.count = 0;
  f.members = 0;
  ((dec_frame *)d->s->dframes)[d->depth++] = f;
  d->p++;
  skip_ws(d);
  if (d->p < d->end && *d->p == (is_object ? '}' : ']')) {
    d->p++;
    dec_close(d);
    return 0;
  }
  if (!is_object) return 1;
  if (d->p == d->end || *d->p != '"') return json_dec_fail(d, d->p, "expected a string key or '}'", 1);
  return dec_key(d) ? -1 : 1;
}

/* Parse the value at d->p: scalars are pushed (0), containers opened (see
 * dec_open). -1 on error. */
static int dec_value(dec *d) {
  skip_ws(d);
  if (d->p == d->end) return json_dec_fail(d, d->p, "expected a value", 1);
  if (!d->build) dec_select(d);
  switch (*d->p) {
  case '[': case '{': return dec_open(d);
  case '"': return dec_string(d);
  case 't': case 'f': case 'n': return dec_literal(d);
  case '-': case '0': case '1': case '2': case '3': case '4':
  case '5': case '6': case '7': case '8': case '9':
    if (!d->build && json_quick_number(d)) return 0;
    return arazzo_json_dec_number(d);
  default: break;
  }
  if ((size_t)(d->end - d->p) >= 3 && memcmp(d->p, "NaN", 3) == 0) return json_dec_fail(d, d->p, "NaN is not valid JSON", 0);
  if ((size_t)(d->end - d->p) >= 8 && memcmp(d->p, "Infinity", 8) == 0)
    return json_dec_fail(d, d->p, "Infinity is not valid JSON", 0);
  return json_dec_fail(d, d->p, "expected a value", 1);
}

/* Store the complete value on top into the innermost container (objects:
 * the first occurrence of a key fixes its position, the last value wins). */
static void dec_store(dec *d) {
  lua_State *L = d->L;
  dec_frame *f = &DEC_TOP(d);
  if (f->members < JSON_MAX_HINT) f->members++;
  if (!d->build) {
    f->count++; /* array elements: the index of the next one */
    return;
  }
  if (!f->is_object) {
    lua_rawseti(L, f->tidx, ++f->count);
    return;
  }
  if (f->lidx) {
    lua_pushvalue(L, -2);
    lua_rawget(L, f->tidx);
    if (lua_isnil(L, -1)) {
      lua_pushvalue(L, -3);
      lua_rawseti(L, f->lidx, ++f->count);
    }
    lua_pop(L, 1);
  }
  lua_rawset(L, f->tidx);
}

/* After a complete value inside a container: store it, then read ',' (1:
 * another value follows, key already read for objects) or the closing
 * bracket (0: the container is now the complete value on top). */
static int dec_after(dec *d) {
  int is_object = DEC_TOP(d).is_object;
  char close = is_object ? '}' : ']';
  const unsigned char *comma;
  dec_store(d);
  skip_ws(d);
  if (d->p < d->end && *d->p == close) {
    d->p++;
    dec_close(d);
    return 0;
  }
  if (d->p == d->end || *d->p != ',')
    return json_dec_fail(d, d->p, is_object ? "expected ',' or '}'" : "expected ',' or ']'", 1);
  comma = d->p++;
  skip_ws(d);
  if (d->p < d->end && *d->p == close)
    return json_dec_fail(d, comma, is_object ? "trailing comma before '}'" : "trailing comma before ']'", 0);
  if (!is_object) return 1;
  if (d->p == d->end || *d->p != '"') return json_dec_fail(d, d->p, "expected a string key", 1);
  return dec_key(d) ? -1 : 1;
}

/* Push a scratch and point d at s[0..len), past a leading BOM. [-0,+1] */
static void dec_start(lua_State *L, dec *d, const char *s, size_t len) {
  luaL_checkstack(L, 8, "json: stack overflow");
  d->L = L;
  d->s = arazzo_json_scratch_new(L);
  d->start = (const unsigned char *)s;
  d->p = d->start;
  d->end = d->start + len;
  if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) d->p += 3;
}

/* Parse the value at d->p up to its end, then (whole) require the end of
 * the input. Returns >= 0, or -1 with the error recorded. */
static int dec_drive(dec *d, int whole) {
  int r = dec_value(d);
  while (r >= 0 && d->depth > 0) {
    if (r == 0) r = dec_after(d);
    else r = dec_value(d);
  }
  if (r >= 0 && whole) {
    skip_ws(d);
    if (d->p != d->end) r = json_dec_fail(d, d->p, "expected end of input", 1);
  }
  return r;
}

/* Free the scratch and leave the result: the value on top in place of the
 * scratch at base + 1 (returns 1), or nothing (returns 0). */
static int dec_finish(lua_State *L, dec *d, int base, int r) {
  arazzo_json_scratch_free(d->s);
  if (r < 0) {
    lua_settop(L, base);
    return 0;
  }
  lua_replace(L, base + 1);
  lua_settop(L, base + 1);
  return 1;
}

/* Decode s[0..len) with the settings in d. On success the value is on top
 * (returns 1, [-0,+1]); on failure nothing is left (returns 0, d->msg and
 * d->errpos set). Scratch memory is freed either way; raises memory errors
 * only (the scratch's __gc then frees). */
int arazzo_json_decode_run(lua_State *L, dec *d, const char *s, size_t len) {
  int base = lua_gettop(L);
  dec_start(L, d, s, len);
  d->build = 1;
  return dec_finish(L, d, base, dec_drive(d, 1));
}

/* Like arazzo_json_decode_run, but push only the node toks[0..ntok)
 * select (see arazzo_json_decode_at in arazzo.h). A selecting pass checks
 * the whole text and notes where the nodes along the pointer start; a
 * building pass then parses only the node reached. With from > 0 the text
 * is known to be valid JSON (json_index.c checked it) and both passes cover
 * only the value that starts at offset from. */
int arazzo_json_decode_at_run(lua_State *L, dec *d, const char *s, size_t len, size_t from,
                              const arazzo_json_token *toks, size_t ntok, size_t *used) {
  int base = lua_gettop(L), r, whole = from == 0;
  size_t local[JSON_AT_LOCAL], k;
  unsigned char c;
  dec_start(L, d, s, len);
  if (from) d->p = d->start + from;
  if (ntok == 0) {
    *used = 0;
    d->build = 1;
    return dec_finish(L, d, base, dec_drive(d, whole));
  }
  d->cand = local;
  if (ntok >= JSON_AT_LOCAL) {
    if (ntok >= ((size_t)-1) / sizeof(size_t)) luaL_error(L, "json: not enough memory");
    arazzo_json_grow(L, (void **)&d->s->offs, &d->s->ocap, ntok + 1, sizeof(size_t));
    d->cand = d->s->offs;
  }
  d->build = 0;
  d->toks = toks;
  d->ntok = ntok;
  d->path = d->ncand = d->vslots = d->vhigh = 0;
  r = dec_drive(d, whole);
  if (r >= 0) {
    k = d->ncand - 1; /* the root always counts: ncand >= 1 */
    *used = k;
    c = d->start[d->cand[k]];
    if (k < ntok && (c == '{' || c == '[')) {
      lua_pushnil(L); /* that container lacks token k */
    } else {
      d->build = 1;
      d->depth = 0;
      d->p = d->start + d->cand[k];
      r = dec_drive(d, 0); /* checked: only the Lua stack limit can stop it */
    }
  }
  return dec_finish(L, d, base, r);
}

/* A selecting pass over all of s[0..len) that selects nothing: checks the
 * text with the errors arazzo_json_decode_run would give, builds nothing
 * (d->ix, when set, records the root members). Returns 1, or 0 with the
 * error in d. [-0,+0] */
int arazzo_json_check_run(lua_State *L, dec *d, const char *s, size_t len) {
  int base = lua_gettop(L), r;
  size_t local[1];
  dec_start(L, d, s, len);
  d->cand = local;
  d->build = 0;
  d->toks = NULL;
  d->ntok = 0;
  d->path = d->ncand = d->vslots = d->vhigh = 0;
  r = dec_drive(d, 1);
  arazzo_json_scratch_free(d->s);
  lua_settop(L, base);
  return r >= 0;
}

/* Decode s[0..len) with the defaults (max_depth 1000, key order recorded)
 * and push the value ([-0,+1], returns 1), or push nothing and return 0
 * with a static message in *msg and the byte offset of the error in
 * *errpos. s need not be NUL-terminated but must stay alive during the
 * call (the decoder allocates, so a Lua string must be anchored, e.g. on
 * the stack). Any stack above the caller's top is fine, but like every
 * push this one must not land above a luaL_Buffer in use. Raises memory
 * errors only. */
int arazzo_json_decode(lua_State *L, const char *s, size_t len, const char **msg, size_t *errpos) {
  dec d;
  memset(&d, 0, sizeof d);
  d.max_depth = JSON_DEFAULT_DEPTH;
  d.order = 1;
  if (arazzo_json_decode_run(L, &d, s, len)) return 1;
  *msg = d.msg;
  *errpos = d.errpos;
  return 0;
}


/* Decode only the node that toks[0..ntok) select in s[0..len), with the
 * defaults of arazzo_json_decode; see arazzo.h. */
int arazzo_json_decode_at(lua_State *L, const char *s, size_t len, const arazzo_json_token *toks, size_t ntok,
                          size_t *used, const char **msg, size_t *errpos) {
  dec d;
  memset(&d, 0, sizeof d);
  d.max_depth = JSON_DEFAULT_DEPTH;
  d.order = 1;
  if (arazzo_json_decode_at_run(L, &d, s, len, 0, toks, ntok, used)) return 1;
  *msg = d.msg;
  *errpos = d.errpos;
  return 0;
}
