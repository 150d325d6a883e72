/* expr_internal.h: the compiled-program layout and the functions shared by
 * the expression files only: expr.c, expr_prog.c, expr_cond.c (compile),
 * expr_eval.c, expr_cmp.c (evaluate). Not installed.
 * Licence: MIT (see LICENSE). */
#ifndef ARAZZO_EXPR_INTERNAL_H
#define ARAZZO_EXPR_INTERNAL_H

#include <string.h>

#include "arazzo.h"

/* ---- compiled program ------------------------------------------------------
 * A compiled expression is a full userdata (ARAZZO_EXPR_MT) holding an
 * arazzo_expr header followed by its node and op arrays; its user value is a
 * table of the interned strings the nodes refer to by index (1-based; 0 means
 * none) plus "source" = the original text. Nothing in it owns foreign
 * memory, so it needs no __gc. */
#define ARAZZO_EXPR_MT "arazzo.expr.Expr"
#define ARAZZO_EXPR_MAX_DEPTH 200

enum { AX_EXPRESSION, AX_TEMPLATE, AX_LITERAL, AX_CONDITION, AX_JSCONDITION };
/* node types */
enum { AXN_NULL, AXN_BOOL, AXN_INT, AXN_NUM, AXN_STR, AXN_REF, AXN_TEXT, AXN_TEMPLATE,
       AXN_NOT, AXN_AND, AXN_OR, AXN_CMP };
/* comparison operators (AXN_CMP .op) */
enum { AXO_EQ, AXO_NE, AXO_LT, AXO_LE, AXO_GT, AXO_GE };
/* reference steps (arazzo_expr_op .code) */
enum { AXS_KEY, AXS_NAME, AXS_TOK, AXS_LEN };
/* reference sources (node .src), in the order of the names refs() reports */
enum { AXR_URL, AXR_METHOD, AXR_STATUS, AXR_REQUEST, AXR_RESPONSE, AXR_INPUTS, AXR_OUTPUTS,
       AXR_STEPS, AXR_WORKFLOWS, AXR_SOURCES, AXR_COMPONENTS };
/* what a step reports when its value is missing (op .what) */
enum { AXW_NOTSET, AXW_NOREQ, AXW_NORESP, AXW_NOHEADER, AXW_NOQUERY, AXW_NOPATH, AXW_NOBODY,
       AXW_STEP_NOTRUN, AXW_STEP_NOOUT, AXW_NOOUTPUT, AXW_WF_NOTRUN, AXW_WF_NOINPUTS,
       AXW_WF_NOOUTPUTS, AXW_NOINPUT, AXW_NOSOURCE, AXW_NOFIELD, AXW_NOCOMPONENTS,
       AXW_NOCOMPONENT, AXW_AT };
#define AXF_LENIENT 1 /* node flag: a lenient-only form */
#define AXF_VALUE 2   /* ref node flag: rooted at the jscondition value */

typedef struct {
  unsigned char type, op, src, flags;
  int next;            /* next sibling in an AND/OR/template list, -1 none */
  int a, b;            /* children, first op + op count, or string index */
  int start, len;      /* byte slice of the source text */
  int col;             /* 1-based character column of start */
  int id, field, name, ptr; /* refs(): string indexes, 0 none */
  int height;          /* evaluation depth of this subtree */
  lua_Integer ival;
  lua_Number dval;
} arazzo_expr_node;

typedef struct {
  unsigned char code, what; /* AXS_*, missing-message kind */
  unsigned char wk;    /* key is well-known: eval's upvalue index, 0 none */
  int nseg;            /* AXS_NAME: dotted segments following (AXS_TOK) */
  int key;             /* string index of the key to look up */
  int arg;             /* string index of the message argument, 0 none */
  lua_Integer index;   /* AXS_TOK: 0-based array index, -1 when not one */
} arazzo_expr_op;

typedef struct {
  unsigned long long magic; /* ARAZZO_EXPR_MAGIC: with the self-pointer
                               below, how methods recognise an Expr */
  int kind, lenient, root, height, nnodes, nops;
  int needs_uv;            /* evaluation reads the string table (else only
                              failure messages do) */
  int fast;                /* root is <context keys> <op> <int literal> with
                              well-known keys: eval's shortcut applies */
  arazzo_expr_node *nodes; /* both point into this same userdata */
  arazzo_expr_op *ops;
} arazzo_expr;
/* Keys eval holds as upvalues (1..n), so the common steps need not read
 * the string table. */
#define ARAZZO_EXPR_WELL_KNOWN                                                             \
  "url", "method", "statusCode", "request", "response", "header", "query", "path", "body", \
      "inputs", "outputs", "steps", "workflows", "sourceDescriptions", "components",       \
      "parameters", "successActions", "failureActions"
#define ARAZZO_EXPR_MAGIC 0x4172617a7a6f4578ULL
#define ARAZZO_EXPR_HEADER ((sizeof(arazzo_expr) + 15) & ~(size_t)15)

/* expr_eval.c: fill the metatable on top of the stack with the methods of
 * a compiled expression (eval, kind, refs, lenient, source, __tostring).
 * [-0,+0] */
void arazzo_expr_methods(lua_State *L);

/* ---- compiler state (expr.c, expr_prog.c, expr_cond.c) -------------------- */
#define CLIP 40            /* longest quoted fragment in an error message */
/* Where a runtime expression is embedded decides where it ends: the whole
 * text, a {$...} template slot, bare text (lenient), or a condition. */
enum { CX_EXPR, CX_TMPL, CX_BARE, CX_COND };

/* Compiler state. Nodes and steps grow in userdata kept at fixed stack slots
 * (nslot, oslot) so that a memory error cannot leak them; strings go to the
 * string table (strs, deduplicated through dedupe), which becomes the Expr's
 * user value. Every parse_* / compile_* function returns 0 (or a node index),
 * or -1 with the first error recorded here; none leaves anything on the Lua
 * stack ([-0,+0]) and none raises except on memory errors. */
typedef struct {
  lua_State *L;
  const char *s;
  size_t len, pos;
  int js, lenient_opt, lenient_used, known, depth, failed;
  int strs, dedupe, nslot, oslot, nstr; /* stack slots, string count */
  arazzo_expr_node *nodes;
  arazzo_expr_op *ops;
  int nnodes, capnodes, nops, capops;
  size_t errpos, colpos; /* error position; column cache position */
  int colnum;            /* column of colpos */
  char err[240];
} parser;

#define NODE(p, i) (&(p)->nodes[i])
#define CH(p, i) ((unsigned char)(p)->s[i])
#define AT(p, c) ((p)->pos < (p)->len && (p)->s[(p)->pos] == (c))

static inline int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static inline int is_digit(int c) { return c >= '0' && c <= '9'; }
static inline int is_id(int c) { return is_alpha(c) || is_digit(c) || c == '_' || c == '-'; }
static inline int is_ws(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static inline int is_cond_term(int c) { return is_ws(c) || (c && strchr(")=!<>&|,", c)); }
static inline int word_is(const char *s, size_t n, const char *w) {
  return strlen(w) == n && memcmp(s, w, n) == 0;
}

static inline int clip(size_t n) { return n > CLIP ? CLIP : (int)n; }

/* expr.c: lexing and reference parsing. Each returns 0 (or what is said),
 * or -1 with the first error recorded in p; [-0,+0], raising only memory
 * errors. */
/* Record the first error (message and byte position); returns -1. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int arazzo_expr_fail(parser *p, size_t pos, const char *fmt, ...);
/* Report the character at p->pos as unexpected; returns -1. */
int arazzo_expr_unexpected(parser *p);
/* Advance p->pos over characters of class cls; returns the count. */
size_t arazzo_expr_scan(parser *p, int (*cls)(int));
/* 1-based character column of byte offset pos of s. */
int arazzo_expr_column(const char *s, size_t pos);
/* The same for p's text, cached near the last position asked for. */
int arazzo_expr_column_at(parser *p, size_t pos);
/* Parse the runtime expression at the '$' at p->pos, ending where the
 * context cx (CX_*) says, into a reference node (*out). */
int arazzo_expr_parse_ref(parser *p, int cx, int *out);
/* Parse a quoted string; returns its interned text's index or -1. */
int arazzo_expr_parse_string(parser *p);
/* Parse accessors after a reference (.name, and [n] ['k'] ["k"] when
 * brackets is set) into steps of the reference being built. */
int arazzo_expr_parse_accessors(parser *p, int brackets);

/* expr_prog.c: program building (same conventions; intern* return string
 * indexes, new_node a node index). */
int arazzo_expr_new_node(parser *p, int type, size_t start);
int arazzo_expr_add_op(parser *p, int code, int what, int key, int arg, lua_Integer index);
/* Intern the string on top of the stack. [-1,+0] */
int arazzo_expr_intern_top(parser *p);
int arazzo_expr_intern(parser *p, const char *s, size_t n);
int arazzo_expr_add_key(parser *p, const char *k, int what, int arg);
/* RFC 6901 array index of s[0..n), else -1. */
lua_Integer arazzo_expr_token_index(const char *s, size_t n);
/* Add the steps of the name at p->s[ns..ns+nl) to reference node ni. */
int arazzo_expr_add_name(parser *p, int ni, size_t ns, size_t nl, int what);
/* Move the program into a new arazzo.expr.Expr userdata. [-0,+1] */
void arazzo_expr_finish(parser *p, int kind, int root);

/* ---- evaluator state (expr_eval.c, expr_cmp.c) ----------------------------- */
enum { NOTE_NONE, NOTE_MISSING, NOTE_TYPES, NOTE_NOTBOOL, NOTE_DEEP };

typedef struct {
  int kind, node, op, notjson, ta, tb;
} note;

typedef struct {
  lua_State *L;
  const arazzo_expr *e;
  int uv, ctx, val;      /* stack indexes */
  int miss_op, notjson;  /* where the last eval_ref failed */
  int deep;              /* a deep comparison hit the depth limit */
  note nt;
} est;

/* Whether a comparison result c (-1, 0, 1) satisfies operator op (AXO_*). */
static inline int apply_op(int op, int c) {
  switch (op) {
    case AXO_EQ: return c == 0;
    case AXO_NE: return c != 0;
    case AXO_LT: return c < 0;
    case AXO_LE: return c <= 0;
    case AXO_GT: return c > 0;
    default: return c >= 0;
  }
}

/* expr_eval.c: push the value of reference node n: 1, or 0 with nil pushed
 * and the failing step in st->miss_op. */
int arazzo_expr_eval_ref(est *st, const arazzo_expr_node *n);
/* Push the source text of node n. [-0,+1] */
void arazzo_expr_push_text(est *st, const arazzo_expr_node *n);
/* Push "<reference>: <what is missing>" for ref node n whose step k failed.
 * [-0,+1] */
void arazzo_expr_push_missing(est *st, const arazzo_expr_node *n, int k, int notjson);

/* expr_cmp.c: evaluate comparison node ni (operands left on the stack,
 * [-0,+1|2]) / node ni as a condition ([-0,+0]); either may record a note
 * explaining a false result, which push_note pushes ([-0,+1]). */
int arazzo_expr_eval_cmp(est *st, int ni);
int arazzo_expr_eval_bool(est *st, int ni);
void arazzo_expr_push_note(est *st);

#endif
