/* yaml.c: libyaml events -> Lua values (YAML 1.2 core schema), with positions.
 * Licence: MIT (see LICENSE).
 *
 * core.yaml_load(text [, chunkname [, opts]]) -> value [, pos] | nil, msg, "yaml"
 * core.yaml_events(text) -> number of events | nil, msg, "yaml"
 *
 * This file: the parser userdata, mark arithmetic (positions in the caller's
 * text), errors, the event loop and the Lua API. yaml_input.c holds the input
 * fix-ups (JSON compatibility: surrogate pairs, tabs) and scalar resolution
 * by the core schema; yaml_build.c the tree builder (frames, flushes, keys,
 * anchors) and yaml_merge.c its merge keys. Shared types: yaml_internal.h.
 *
 * The parser userdata owns the libyaml parser, the current event, the
 * builder's frames and its mark stack, so a Lua error (memory) at any point
 * leaks nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_internal.h"

#define YAML_PARSER_MT "arazzo.yaml.Parser"

/* ---- parser userdata ---------------------------------------------------- */

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
int arazzo_yaml_start(yparser *p, const char *s, size_t n) {
  if (p->event_live) yaml_event_delete(&p->event);
  if (p->parser_live) yaml_parser_delete(&p->parser);
  p->event_live = p->parser_live = 0;
  if (!yaml_parser_initialize(&p->parser)) return 0;
  p->parser_live = 1;
  yaml_parser_set_input_string(&p->parser, (const unsigned char *)s, n);
  return 1;
}

/* Next event into p->event; 0 on a libyaml error. */
int arazzo_yaml_next(yparser *p) {
  if (p->event_live) {
    yaml_event_delete(&p->event);
    p->event_live = 0;
  }
  if (!yaml_parser_parse(&p->parser, &p->event)) return 0;
  p->event_live = 1;
  return 1;
}

/* ---- positions ---------------------------------------------------------- */

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

/* ---- errors and the event loop ------------------------------------------ */

/* Record an error at m: pushes msg. Returns 0 so callers can `return arazzo_yaml_fail(...)`.
 * There is always room: the builder keeps STACK_MARGIN free slots. [-0,+1] */
int arazzo_yaml_fail(loader *ld, const ymark *m, const char *msg) {
  ld->errmark = *m;
  lua_pushstring(ld->L, msg);
  return 0;
}

/* Like arazzo_yaml_fail, with a quoted name (at most 64 bytes shown) between pre and
 * post. [-0,+1] */
int arazzo_yaml_fail_name(loader *ld, const ymark *m, const char *pre, const char *name,
                          size_t len, const char *post) {
  lua_State *L = ld->L;
  ld->errmark = *m;
  lua_pushstring(L, pre);
  lua_pushlstring(L, name, len > 64 ? 64 : len);
  lua_pushstring(L, len > 64 ? "..." : "");
  lua_pushstring(L, post);
  lua_concat(L, 4);
  return 0;
}

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
    if (!arazzo_yaml_next(p)) {
      push_parser_error(ld->L, p, ld->in, &ld->errmark);
      return 0;
    }
    to_ymark(ld->in, &e->start_mark, &m);
    if (!arazzo_yaml_build_event(ld, e, &m)) return 0;
    if (e->type == YAML_STREAM_END_EVENT) return 1;
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
  arazzo_yaml_prepare(L, ld.p, s, n, &in);
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
  if (!ld.p->frames || !arazzo_yaml_start(ld.p, in.s, in.n))
    return luaL_error(L, "not enough memory");
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
  if (!arazzo_yaml_start(p, s, n)) return luaL_error(L, "not enough memory");
  for (;;) {
    if (!arazzo_yaml_next(p)) {
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
