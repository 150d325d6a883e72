/* yaml_internal.h: types and functions shared by the YAML loader's files.
 * Licence: MIT (see LICENSE).
 *
 * yaml.c (parser userdata, positions, errors, Lua API), yaml_input.c (input
 * fix-ups, core schema scalars), yaml_build.c (the tree builder) and
 * yaml_merge.c (merge keys). Not installed. */
#ifndef ARAZZO_YAML_INTERNAL_H
#define ARAZZO_YAML_INTERNAL_H

#include <yaml.h>

#include "arazzo.h"

/* The prefix of the core schema tags (!!str is TAG_PREFIX "str"). */
#define TAG_PREFIX "tag:yaml.org,2002:"
#define TAG_PREFIX_LEN 18

/* A position in the caller's text (and a pending key's hash). */
typedef struct {
  unsigned long line, col; /* 1-based, columns already mapped to the input */
  unsigned int hash;       /* mapping keys: hash of the key text */
} ymark;

/* Frame kinds: the document root, a sequence, a mapping. */
enum { K_ROOT, K_SEQ, K_MAP };

/* An open container of the builder (invariants: yaml_build.c). */
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

/* The parser userdata (yaml.c): everything that must be freed when a load
 * ends, normally or by a Lua error. */
typedef struct {
  yaml_parser_t parser;
  yaml_event_t event;
  int parser_live, event_live;
  frame *frames;
  size_t nframes, fcap;
  ymark *marks;
  size_t nmarks, mcap;
} yparser;

/* The text libyaml reads: the caller's, or a rewritten copy (see
 * yaml_input.c). */
typedef struct {
  const char *s; /* the text libyaml reads */
  size_t n;
  size_t *rw;    /* char index (in s) of each rewritten pair, ascending */
  size_t nrw;
} input;

/* The state of one yaml_load: options, counters, and the stack indexes of
 * its side tables (s_*) and of the frame slots (o_*). */
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

/* ---- yaml.c ------------------------------------------------------------- */

/* (Re)start parsing s[0..n) with p; returns 0 when libyaml cannot allocate. */
int arazzo_yaml_start(yparser *p, const char *s, size_t n);
/* Next event into p->event; 0 on a libyaml error. */
int arazzo_yaml_next(yparser *p);
/* Record an error at m: pushes msg and returns 0. [-0,+1] */
int arazzo_yaml_fail(loader *ld, const ymark *m, const char *msg);
/* Like arazzo_yaml_fail, with a quoted name (at most 64 bytes shown)
 * between pre and post. [-0,+1] */
int arazzo_yaml_fail_name(loader *ld, const ymark *m, const char *pre, const char *name,
                          size_t len, const char *post);

/* ---- yaml_input.c ------------------------------------------------------- */

/* Prepare the text libyaml will read into in; pushes 0 to 3 userdata blobs
 * that must stay on the stack while in is used. [-0,+k], raises on memory
 * errors only. */
void arazzo_yaml_prepare(lua_State *L, yparser *p, const char *s, size_t n, input *in);
/* Core schema class of the plain scalar s[0..n) (opaque outside
 * yaml_input.c; compare only through arazzo_yaml_tag_fits). */
int arazzo_yaml_classify(const char *s, size_t n);
/* Which core tag tag is: 's','i','f','b','n', '!' for "!", 0 otherwise. */
int arazzo_yaml_tag_kind(const unsigned char *tag);
/* Does class cls fit tag kind k? */
int arazzo_yaml_tag_fits(int k, int cls);
/* Report that s[0..n) does not fit the core tag of kind tk; returns 0.
 * [-0,+1] */
int arazzo_yaml_tag_misfit(loader *ld, int tk, const char *s, size_t n, const ymark *m);
/* Push the value of scalar event e; returns 1 [-0,+1], or 0 with the
 * error message pushed. */
int arazzo_yaml_push_scalar(loader *ld, const yaml_event_t *e, const ymark *m);

/* ---- yaml_build.c ------------------------------------------------------- */

/* Apply event e (starting at m) to the tree being built. Returns 1, or 0
 * with the message pushed and ld->errmark set. */
int arazzo_yaml_build_event(loader *ld, const yaml_event_t *e, const ymark *m);

/* ---- yaml_merge.c ------------------------------------------------------- */

/* Append the value at vidx to the merge list of f's table. [-0,+0] */
void arazzo_yaml_store_merge(loader *ld, frame *f, int vidx);
/* Check that the value on top is a mapping or a sequence of mappings;
 * returns 1, or 0 with the message pushed. [-0,+0|+1] */
int arazzo_yaml_check_merge_value(loader *ld, const ymark *m);
/* Copy the keys of f's merged mappings that f does not define. [-0,+0] */
void arazzo_yaml_apply_merges(loader *ld, frame *f);

#endif
