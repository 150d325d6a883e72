/* yaml_build.c: the non-recursive tree builder of yaml_load (libyaml events -> Lua tables).
 * Licence: MIT (see LICENSE).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yaml_internal.h"

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

/* ---- the tree builder --------------------------------------------------- */

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
  return arazzo_yaml_fail(ld, m, "document too deeply nested for the Lua stack");
}

static frame *top_frame(loader *ld) { return &ld->p->frames[ld->p->nframes - 1]; }

static int push_mark(loader *ld, const ymark *m) {
  yparser *p = ld->p;
  if (p->nmarks == p->mcap) {
    size_t nc = p->mcap ? p->mcap * 2 : 256;
    ymark *nm = (ymark *)realloc(p->marks, nc * sizeof *nm);
    if (!nm) return arazzo_yaml_fail(ld, m, "out of memory");
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
      arazzo_yaml_store_merge(ld, f, k + 1);
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
      if (is_sentinel(ld->L, -2, &merge_sentinel) && !arazzo_yaml_check_merge_value(ld, m))
        return 0;
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
    return arazzo_yaml_fail_name(ld, m, "duplicate key '", k, len, "'");
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
  return arazzo_yaml_fail(ld, m, msg);
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
    int tk = arazzo_yaml_tag_kind(e->data.scalar.tag);
    int merge = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && n == 2 && s[0] == '<' &&
                s[1] == '<' && (!tag || !strcmp(tag, TAG_PREFIX "merge"));
    if (tk && tk != 's' && tk != '!' && !arazzo_yaml_tag_fits(tk, arazzo_yaml_classify(s, n)))
      return arazzo_yaml_tag_misfit(ld, tk, s, n, &m);
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
  if (!arazzo_yaml_push_scalar(ld, e, &m)) return 0;
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
  if (lua_isnil(L, -1))
    return arazzo_yaml_fail_name(ld, &m, "unknown alias '", name, strlen(name), "'");
  if (is_sentinel(L, -1, &open_sentinel))
    return arazzo_yaml_fail_name(ld, &m, "recursive alias '", name, strlen(name),
                                 "' (inside its own anchor)");
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
    if (lua_type(L, -1) != LUA_TSTRING)
      return arazzo_yaml_fail(ld, &m, "mapping key must be a scalar");
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
  int tk = arazzo_yaml_tag_kind(tag), i;
  frame *f = top_frame(ld), *c;
  ymark m = *mp;
  if (f->kind == K_MAP && f->pending % 2 == 0)
    return arazzo_yaml_fail(ld, &m, "mapping key must be a scalar");
  if (tk && tk != '!') {
    char msg[64];
    const char *tn = tk == 's' ? "str" : tk == 'i' ? "int" : tk == 'f' ? "float" : tk == 'b' ? "bool" : "null";
    snprintf(msg, sizeof msg, "tag !!%s cannot apply to a %s", tn, kind == K_SEQ ? "sequence" : "mapping");
    return arazzo_yaml_fail(ld, &m, msg);
  }
  if (!count_nodes(ld, 1, &m)) return 0;
  if ((long long)p->nframes > ld->max_depth) {
    char msg[64];
    snprintf(msg, sizeof msg, "nesting deeper than %lld levels (max_depth)", ld->max_depth);
    return arazzo_yaml_fail(ld, &m, msg);
  }
  if (f->pending && lua_gettop(L) - ld->stack0 > STACK_BUDGET) flush(ld, f);
  if (!ensure_stack(ld, ld->nslots, &m)) return 0;
  if (p->nframes == p->fcap) {
    size_t nc = p->fcap * 2;
    frame *nf = (frame *)realloc(p->frames, nc * sizeof *nf);
    if (!nf) return arazzo_yaml_fail(ld, &m, "out of memory");
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

/* End the innermost container: final flush, merges, key order, anchor; the
 * finished table becomes an item of the parent. */
static int close_container(loader *ld) {
  lua_State *L = ld->L;
  yparser *p = ld->p;
  frame *f = top_frame(ld);
  ymark m = f->start;
  flush(ld, f);
  if (f->kind == K_MAP) {
    if (f->has_merge) arazzo_yaml_apply_merges(ld, f);
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

/* ---- events ------------------------------------------------------------- */

/* One event of the loop in yaml.c: stack room, then the handler. The
 * stream end builds nothing (the caller stops there). Returns 1, or 0 with
 * the message pushed and ld->errmark set. */
int arazzo_yaml_build_event(loader *ld, const yaml_event_t *e, const ymark *mp) {
  ymark m = *mp;
  int ok = 1;
  if (!ensure_stack(ld, 8, &m)) return 0;
  switch (e->type) {
    case YAML_DOCUMENT_START_EVENT:
      if (++ld->ndocs > 1) return arazzo_yaml_fail(ld, &m, "more than one document in the stream");
      break;
    case YAML_SCALAR_EVENT: ok = on_scalar(ld, e, &m); break;
    case YAML_ALIAS_EVENT: ok = on_alias(ld, e, &m); break;
    case YAML_SEQUENCE_START_EVENT: ok = open_container(ld, K_SEQ, e, &m); break;
    case YAML_MAPPING_START_EVENT: ok = open_container(ld, K_MAP, e, &m); break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: ok = close_container(ld); break;
    default: break;
  }
  return ok;
}
