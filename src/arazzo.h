/* arazzo.h: internal declarations shared by the C sources (not installed).
 * Licence: MIT (see LICENSE). */
#ifndef ARAZZO_H
#define ARAZZO_H

#include <stddef.h>
#include "compat.h"

#define ARAZZO_VERSION "0.1.0"

/* ---- data model (value.c) -----------------------------------------------
 * null      lightuserdata NULL (== cjson.null), exposed as core.null
 * array     a table whose metatable is the shared array metatable
 *           (registry "arazzo.array", __name "arazzo.array"); an empty marked
 *           table is [] and an unmarked empty table is {}
 * object    a plain table; its key order, when known, is recorded in a
 *           weak-keyed side table (registry "arazzo.order"): order[t] is a
 *           sequence of the keys as written. Keys never recorded come after
 *           the recorded ones, sorted, so output is always deterministic.
 * integer   a Lua integer (5.4) or an integral double (LuaJIT)
 */
#define ARAZZO_ARRAY_MT "arazzo.array"
#define ARAZZO_ORDER_KEY "arazzo.order"

void arazzo_value_open(lua_State *L);

/* Push the null sentinel. [-0,+1] */
void arazzo_push_null(lua_State *L);
int arazzo_is_null(lua_State *L, int idx);

/* Set the array metatable on the table at idx. [-0,+0] */
void arazzo_mark_array(lua_State *L, int idx);
/* 1 if the table at idx carries the array metatable. [-0,+0] */
int arazzo_is_marked_array(lua_State *L, int idx);
/* 1 if the table at idx should encode as an array: marked, or a non-empty
 * pure sequence 1..n with no other keys. Sets *n to the length. [-0,+0] */
int arazzo_as_array(lua_State *L, int idx, size_t *n);

/* Push the registry's weak order table. [-0,+1] */
void arazzo_push_order_table(lua_State *L);
/* Record key order for the table at idx: pushes nothing; pops the key list
 * (a sequence of strings) from the top. [-1,+0] */
void arazzo_set_order(lua_State *L, int idx);
/* Push a sequence of the keys of the object at idx in encoding order:
 * recorded order first (keys still present), then the remaining string keys
 * sorted bytewise, then non-string keys are skipped. [-0,+1], may raise
 * memory errors only. */
void arazzo_push_keys(lua_State *L, int idx);
/* value.c: like arazzo_push_keys, for callers that only read the list by
 * index and skip keys no longer present: the recorded key list itself when
 * it names every string key exactly once (up to 64 keys), a presized
 * sorted list when there is none, else arazzo_push_keys. order is the
 * stack index of the key-order table, or 0 to look it up. Never modify
 * the list pushed. [-0,+1] */
void arazzo_push_keys_view(lua_State *L, int v, int order);

/* Decide whether a number at idx is an integer (by subtype on 5.4, by
 * value on LuaJIT). On success stores it in *out. [-0,+0] */
int arazzo_number_is_integer(lua_State *L, int idx, long long *out);

/* Append to b the shortest %.*g text (precision 1..17) that reads back as
 * d, with '.' as the decimal point whatever the C locale says (no NaN/Inf:
 * caller checks). Integral values below 2^53 print without ".0", -0 as "0".
 * Test hook: core._format_double(x). */
void arazzo_format_double(luaL_Buffer *b, double d);

/* ---- module openers: each registers its functions into the table on top
 * of the stack (the core module table). [-0,+0] ---------------------------- */
void arazzo_yaml_open(lua_State *L);
void arazzo_json_open(lua_State *L);
void arazzo_pointer_open(lua_State *L);
void arazzo_expr_open(lua_State *L);
void arazzo_jsonpath_open(lua_State *L);
void arazzo_regex_open(lua_State *L);
void arazzo_url_open(lua_State *L);
void arazzo_form_open(lua_State *L);
void arazzo_http_open(lua_State *L);
void arazzo_xml_open(lua_State *L);
void arazzo_time_open(lua_State *L);

/* The compiled-expression layout is private to the expr*.c files: see
 * expr_internal.h. */

/* ---- cross-module C APIs ------------------------------------------------ */

/* expr_eval.c: evaluate the compiled expression at eidx against the context
 * table at ctx, as e:eval(ctx) does: pushes exactly two values (the value
 * or nil, then nil or the message/note) and returns 2. Raises when eidx is
 * not an expression or ctx not a table. */
int arazzo_expr_eval_call(lua_State *L, int eidx, int ctx);
/* step.c: the run-time helpers core.render_template, core.eval_outputs,
 * core.eval_conds and core.build_request. */
void arazzo_step_open(lua_State *L);
/* step.c: render the template lits/exprs (stack indexes of the two lists)
 * against ctx as JSON (json) or form text: pushes the text and returns 1,
 * or pushes nothing and returns 0 when a value is missing, is a table or
 * does not encode. */
int arazzo_step_render(lua_State *L, int json, int lits, int exprs, int ctx);
/* step_request.c: core.build_request (see there). */
int arazzo_step_build_request(lua_State *L);
/* param.c: core.param_serialize, for C callers through lua_call. */
int arazzo_param_serialize_lua(lua_State *L);

/* json_encode.c: encode the value at idx (compact, max_depth 1000) and append
 * the text to b, which the caller initialised and which must be the top of
 * the stack (nothing pushed above it). Success: returns NULL, stack as
 * before, text added to b. Error (cycle, NaN, bad type or key, sparse
 * array, invalid UTF-8, too deep): returns the message "json: ... at
 * <pointer>" and leaves exactly that one string pushed above b, nothing
 * added to b; the pointer is valid while the string stays there, and the
 * caller must pop it before touching b again. Raises memory errors only. */
const char *arazzo_json_encode_value(lua_State *L, int idx, luaL_Buffer *b);
/* json_decode.c: decode s[0..len) (strict RFC 8259, max_depth 1000, key order
 * recorded) and push the value, returning 1; on error pushes nothing and
 * returns 0 with a static message in *msg and the 0-based byte offset in
 * *errpos. s must stay alive during the call (anchor a Lua string on the
 * stack). Raises memory errors only. */
int arazzo_json_decode(lua_State *L, const char *s, size_t len,
                       const char **msg, size_t *errpos);
/* One RFC 6901 reference token, already decoded ("~1" is '/', "~0" '~'):
 * an object member name, or an array index when index >= 0 (the token is
 * "0" or [1-9][0-9]*; "-" and "01" have index -1 and select nothing in an
 * array). */
typedef struct {
  const char *s;
  size_t len;
  lua_Integer index;
} arazzo_json_token;
/* json_decode.c: like arazzo_json_decode (same checks over the whole text,
 * same failures: nothing pushed, returns 0, *msg and *errpos set), but
 * builds only the node that toks[0..ntok) select, as a full decode
 * followed by the pointer would (last duplicate key wins). Returns 1 and
 * pushes one value, with *used the number of tokens applied: when *used ==
 * ntok the value is the selected node; otherwise token *used could not be
 * applied, and the value is nil when the node reached by the first *used
 * tokens is an array or object without that member, or that node itself
 * when it is a scalar (a caller may step on into it, e.g. a string holding
 * JSON). The token strings and s must stay alive during the call. [-0,+1]
 * or [-0,+0]; raises memory errors only. */
int arazzo_json_decode_at(lua_State *L, const char *s, size_t len,
                          const arazzo_json_token *toks, size_t ntok, size_t *used,
                          const char **msg, size_t *errpos);
/* json_index.c: arazzo_json_decode_at on the string at stack index sidx,
 * with the same results, for texts read many times (response bodies): the
 * first read of a JSON object text checks it whole and indexes its root
 * members; later reads of the same string find the member from the index
 * and read only its value. The last few such strings (up to 1 MiB each)
 * and their indexes are kept in the registry. [-0,+1] or [-0,+0]. */
int arazzo_json_decode_at_cached(lua_State *L, int sidx, const arazzo_json_token *toks, size_t ntok,
                                 size_t *used, const char **msg, size_t *errpos);

/* pointer.c: resolve an RFC 6901 pointer (already-unescaped tokens are not
 * assumed: p is the raw pointer text, "" or starting with '/') against the
 * value at idx. Pushes the value (nil when absent) and returns 1, or returns
 * 0 and pushes nothing when the pointer text is malformed. Uses raw access
 * only: never calls metamethods. */
int arazzo_pointer_resolve(lua_State *L, int idx, const char *p, size_t len);

/* url.c: growable byte buffer for url.c and form.c. It starts in its own
 * inline storage; past that its storage is a userdata kept at a fixed
 * stack slot (b->slot, reserved at init), replaced when it grows, so the
 * caller may push and pop freely above it and a raised error (memory)
 * never leaks. Never copy one, nor keep it past the current C call. */
#define ARAZZO_SBUF_INLINE 192
typedef struct arazzo_sbuf {
  lua_State *L;
  char *p;
  size_t len, cap;
  int slot;
  char inline_[ARAZZO_SBUF_INLINE];
} arazzo_sbuf;
/* Start an empty buffer: pushes its storage slot (nil until it grows). [-0,+1] */
void arazzo_sbuf_init(lua_State *L, arazzo_sbuf *b);
/* Append n bytes (never from b's own storage); may raise a memory error. */
void arazzo_sbuf_add(arazzo_sbuf *b, const char *s, size_t n);
/* Push the contents as a Lua string. [-0,+1] */
void arazzo_sbuf_push(arazzo_sbuf *b);
/* url.c: fill set[256] with 1 for ASCII letters and digits and for each
 * byte of extra (NUL-terminated), 0 elsewhere. */
void arazzo_url_charset(unsigned char set[256], const char *extra);
/* url.c: append s[0..n) to b, bytes with set[c] kept, a space as '+' when
 * plus is set, every other byte as %XX (upper-case hex). When triples is
 * set, a '%' that starts a valid %XX escape is kept too. */
void arazzo_url_encode_into(arazzo_sbuf *b, const char *s, size_t n, const unsigned char *set,
                            int plus, int triples);
/* url.c: percent-decode s[0..n) into b ('+' as space when plus is set).
 * Returns 0, or the 1-based position of the first bad '%' escape. */
size_t arazzo_url_decode_into(arazzo_sbuf *b, const char *s, size_t n, int plus);
/* url.c: push the wire text of the scalar at idx: a string as is, an
 * integer exactly, a float shortest, true/false, core.null as "". Returns 1
 * [-0,+1]; 0 when the value is not a scalar and -1 for NaN or an infinity,
 * pushing nothing [-0,+0]. */
int arazzo_url_scalar(lua_State *L, int idx);

/* regex.c: compile/match helpers usable from other C files (jsonpath's
 * match()/search()). A compiled pattern is an opaque pointer owned by a
 * userdata that the caller keeps alive. */
typedef struct arazzo_regex arazzo_regex;
/* Push a userdata owning the compiled pattern, return its pointer; on a bad
 * pattern push nothing, return NULL and fill err (size errlen). */
arazzo_regex *arazzo_regex_compile(lua_State *L, const char *pat, size_t len,
                                   int full_match, char *err, size_t errlen);
/* 1 match, 0 no match, -1 error (e.g. match limit). */
int arazzo_regex_exec(arazzo_regex *re, const char *s, size_t len);
/* Describe the error of the last arazzo_regex_exec that returned -1 into
 * buf (size len); returns buf. */
const char *arazzo_regex_error(arazzo_regex *re, char *buf, size_t len);
/* iregexp.c: translate the I-Regexp (RFC 9485) s[0..len) into the pattern
 * dialect of arazzo_regex_compile and push it; returns 0 and pushes nothing when s is
 * not a valid I-Regexp. [-0,+(1|0)], raises only on memory errors. */
int arazzo_regex_push_iregexp(lua_State *L, const char *s, size_t len);

/* ---- form.c internals shared with param.c (deepObject uses the bracket
 * form encoder) ------------------------------------------------------------ */
#define FORM_MAX_DEPTH 32

enum { ARR_INDEXED, ARR_BRACKETS, ARR_REPEAT };
enum { FE_OK, FE_CYCLE, FE_DEPTH, FE_TYPE, FE_NUM, FE_KEY };

/* One bracket-form encoding run. name holds the encoded name of the value
 * being visited, path its raw spelling for messages (always indexed). */
typedef struct {
  lua_State *L;
  arazzo_sbuf out, name, path;
  unsigned char nset[256], vset[256];
  int plus, triples, arrays, blank, raw;
  int seen;  /* stack slot of the set of tables on the current path (a
                table only once a nested table is met: see arazzo_form_enter) */
  int top;   /* stack index of the top table of the run, or 0 */
  int pairs; /* pairs written so far */
  const char *tname;
} fenc;

void arazzo_form_init(lua_State *L, fenc *e);
int arazzo_form_enter(fenc *e, int idx);
int arazzo_form_children(fenc *e, int idx, int depth, int top);
void arazzo_form_error(fenc *e, int r, const char *prefix);
/* Push nil, msg (on top before the call), code; returns 3. */
int arazzo_form_fail3(lua_State *L, const char *code);
const char *arazzo_form_kind_name(lua_State *L, int idx);
size_t arazzo_form_count_keys(lua_State *L, int idx);
void arazzo_param_open(lua_State *L);
void arazzo_url_parse_open(lua_State *L);

#endif
