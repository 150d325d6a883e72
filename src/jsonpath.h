/* jsonpath.h: the compiled form of a JSONPath query, shared by jsonpath.c
 * (parser, type checker) and jsonpath_eval.c (evaluator). Not installed.
 * Licence: MIT (see LICENSE). */
#ifndef ARAZZO_JSONPATH_H
#define ARAZZO_JSONPATH_H

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

/* jsonpath_eval.c: set the Path methods (query, paths, exists) and
 * metamethods into the metatable on top of the stack. [-0,+0] */
void arazzo_jsonpath_methods(lua_State *L);

#endif
