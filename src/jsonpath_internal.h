/* jsonpath_internal.h: compiled JSONPath queries and the state the jsonpath*.c files share.
 * Licence: MIT (see LICENSE).
 *
 * jsonpath.c parses queries, segments and selectors; jsonpath_filter.c
 * parses and type-checks filter expressions and function calls;
 * jsonpath_eval.c evaluates segments into nodelists (the Path methods);
 * jsonpath_filter_eval.c evaluates filter expressions. Not installed. */
#ifndef ARAZZO_JSONPATH_INTERNAL_H
#define ARAZZO_JSONPATH_INTERNAL_H

#include "arazzo.h"

#define JP_PATH_MT "arazzo.jsonpath.Path"
#define JP_MAX_NESTING 64 /* parser: nested parentheses, filters, function calls */
#define JP_MAX_DEPTH 1000 /* evaluator: recursion (value depth plus query nesting) */
#define JP_MAX_QUERY 65536 /* bytes: bounds the node array (about 48 bytes a node) */

/* Node kinds. A compiled query is a flat array of nodes; lists (segments of
 * a query, selectors of a segment, operands, arguments) are linked through
 * `next`, children start at `a`; -1 ends a list. */
enum jp_kind {
  JP_QUERY,       /* a: first segment; flags: JP_F_ABS, JP_F_SINGULAR, JP_F_SPACED */
  JP_SEG_CHILD,   /* a: first selector */
  JP_SEG_DESC,    /* a: first selector */
  JP_SEL_NAME,    /* ref: the name (a string in the user value); flags: JP_F_JSLENGTH */
  JP_SEL_WILD,    /* no operands */
  JP_SEL_INDEX,   /* u.i[0]: the index, may be negative */
  JP_SEL_SLICE,   /* u.i[0..2]: start, end, step; flags: JP_F_START, JP_F_END */
  JP_SEL_FILTER,  /* a: the logical expression */
  JP_SEL_FROMEND, /* goessner [(@.length-N)]: u.i[0] = N */
  JP_OR,          /* a: first operand (two or more) */
  JP_AND,         /* a: first operand (two or more) */
  JP_NOT,         /* a: the operand */
  JP_CMP,         /* op: JP_EQ..JP_GE; a: left operand, its next: right operand */
  JP_LIT,         /* op: JP_L_*; u.i[0] (integer), u.d (float) or ref (string) */
  JP_FUNC         /* op: JP_FN_*; a: first argument; u.re: precompiled regex */
};

enum { JP_EQ, JP_NE, JP_LT, JP_LE, JP_GT, JP_GE };
enum { JP_L_NULL, JP_L_TRUE, JP_L_FALSE, JP_L_INT, JP_L_NUM, JP_L_STR };
enum { JP_FN_LENGTH, JP_FN_COUNT, JP_FN_MATCH, JP_FN_SEARCH, JP_FN_VALUE };

#define JP_F_ABS 0x01       /* JP_QUERY starts at $ (else @) */
#define JP_F_SINGULAR 0x02  /* JP_QUERY has only single name/index segments */
#define JP_F_START 0x01     /* JP_SEL_SLICE has a start */
#define JP_F_END 0x02       /* JP_SEL_SLICE has an end */
#define JP_F_JSLENGTH 0x04  /* JP_SEL_NAME "length" in goessner mode */
#define JP_F_BADRE 0x08     /* JP_FUNC match/search with an invalid literal I-Regexp */
#define JP_F_SPACED 0x10    /* JP_SEG_CHILD "[ x ]" with blank space inside the brackets;
                             * JP_QUERY that is not singular only because of that */

typedef struct jp_node {
  unsigned char kind, op, flags, pad;
  int next;
  int a;
  int ref;         /* index in the Path's user value table, 0 for none */
  int pos;         /* byte offset in the query, for diagnostics */
  union {
    lua_Integer i[3];
    lua_Number d;
    arazzo_regex *re; /* owned by a userdata in the user value table */
  } u;
} jp_node;

/* The full userdata arazzo.jsonpath.Path; its user value is a table:
 * [1] = the query text, [k] = strings and regexes referenced by nodes. */
typedef struct jp_path {
  int n;    /* number of nodes */
  int root; /* the top-level JP_QUERY node */
  jp_node node[];
} jp_path;

/* ---- parser (jsonpath.c, jsonpath_filter.c) ------------------------------
 * Syntax errors raise (inside the protected call of core.jsonpath) after
 * recording their byte offset in errpos. */
typedef struct jp_parser {
  lua_State *L;
  const char *s;
  size_t len, pos;
  int goessner;
  int nesting;
  jp_node *nodes;
  int n, cap;
  int arena, uv, nref; /* stack slots of the node arena and the user value */
  size_t errpos;       /* (size_t)-1 until arazzo_jsonpath_fail() */
} jp_parser;

#define ND(p, i) ((p)->nodes[(i)])

/* The byte at p->pos, or -1 at the end of the query. */
static inline int peek(const jp_parser *p) {
  return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static inline int is_ws(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static inline int is_digit(int c) { return c >= '0' && c <= '9'; }

static inline void skip_ws(jp_parser *p) {
  while (p->pos < p->len && is_ws((unsigned char)p->s[p->pos])) p->pos++;
}

/* jsonpath.c: raise a syntax error at byte offset pos. Never returns. */
int arazzo_jsonpath_fail(jp_parser *p, size_t pos, const char *fmt, ...);
/* jsonpath.c: raise "expected <what>, found <the character at p->pos>". */
int arazzo_jsonpath_expected(jp_parser *p, const char *what);
/* jsonpath.c: append a node of the given kind at byte offset pos; returns
 * its index. The arena may move: never hold node pointers across it. */
int arazzo_jsonpath_new_node(jp_parser *p, int kind, size_t pos);
/* jsonpath.c: move the value on top into the user value table; returns its
 * index there. [-1,+0] */
int arazzo_jsonpath_add_ref(jp_parser *p);
/* jsonpath.c: parse the string literal at p->pos and push its value. [-0,+1] */
void arazzo_jsonpath_parse_string(jp_parser *p);
/* jsonpath.c: parse an integer within +-(2^53-1); "-0" only with allow_neg0. */
lua_Integer arazzo_jsonpath_parse_int(jp_parser *p, int allow_neg0);
/* jsonpath.c: parse a query starting with '$' or '@' at p->pos. */
int arazzo_jsonpath_parse_query(jp_parser *p);
/* jsonpath_filter.c: parse a logical-or expression (a filter); in a
 * function argument (arg), a bare literal or function value is allowed. */
int arazzo_jsonpath_parse_or(jp_parser *p, int arg);

/* ---- evaluator (jsonpath_eval.c, jsonpath_filter_eval.c) -----------------
 * Evaluation runs inside a protected call; failures (depth, regex limits)
 * raise and become nil, "jsonpath: <msg>", "jsonpath". */
enum { SINK_COLLECT, SINK_PATHS, SINK_EXISTS, SINK_COUNT, SINK_VALUE };
enum { JT_NULL, JT_BOOL, JT_NUM, JT_STR, JT_ARR, JT_OBJ, JT_OTHER };

/* Where selected nodes go. */
typedef struct jp_sink {
  int mode;
  int out;       /* COLLECT/PATHS: result table; VALUE: slot for the value */
  lua_Integer n; /* nodes seen so far */
} jp_sink;

typedef struct jp_eval {
  lua_State *L;
  const jp_path *path;
  int root, uv, comps, cache; /* stack slots */
  int order;                  /* stack slot of the key-order table, 0 if none */
  int depth;
} jp_eval;

#define NODE(e, i) (&(e)->path->node[(i)])

/* jsonpath_eval.c: count one level of recursion; raises past JP_MAX_DEPTH. */
void arazzo_jsonpath_enter(jp_eval *e);
/* jsonpath_eval.c: JSON type (JT_*) of the value at idx; for arrays *n is
 * the length. [-0,+0] */
int arazzo_jsonpath_jtype(lua_State *L, int idx, size_t *n);
/* jsonpath_eval.c: push element i (0-based) of the array at absolute index
 * v; a hole reads as null. [-0,+1] */
void arazzo_jsonpath_push_elem(lua_State *L, int v, lua_Integer i);
/* jsonpath_eval.c: number of string keys of the table at absolute index v. */
lua_Integer arazzo_jsonpath_object_size(lua_State *L, int v);
/* jsonpath_eval.c: push the length of the string (in Unicode scalar
 * values), array or object at absolute index v, of type t (array length
 * n). [-0,+1] */
void arazzo_jsonpath_push_length(lua_State *L, int v, int t, size_t n);
/* jsonpath_eval.c: run the segments from seg (-1: none left) on the node
 * at v (path depth pd) into the sink s. [-0,+0] */
void arazzo_jsonpath_run_segs(jp_eval *e, int seg, int v, int pd, jp_sink *s);
/* jsonpath_filter_eval.c: evaluate the logical expression x with @ at
 * stack index cur. [-0,+0] */
int arazzo_jsonpath_eval_logical(jp_eval *e, int x, int cur);
/* jsonpath_eval.c: set the Path methods (query, paths, exists) and
 * metamethods into the metatable on top of the stack. [-0,+0] */
void arazzo_jsonpath_methods(lua_State *L);

#endif
