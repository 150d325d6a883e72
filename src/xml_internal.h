/* xml_internal.h: private declarations shared by xml.c and xml_replace.c.
 * Licence: MIT (see LICENSE). */
#ifndef ARAZZO_XML_INTERNAL_H
#define ARAZZO_XML_INTERNAL_H

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "arazzo.h"

#define XPATH_MT "arazzo.xml.XPath"
#define MAX_EXPR 16384 /* bytes of XPath expression */

/* First error libxml2 reported during one call; filled by C callbacks only. */
typedef struct {
  int set, line, col, offset;
  char msg[256];
} xerr;

/* Every libxml2 object one call creates: a Lua userdata owns them, so a Lua
 * error (out of memory while building results) leaks nothing. */
typedef struct {
  xmlParserCtxtPtr pctx;
  xmlDocPtr doc;
  xmlXPathContextPtr ctx;
  xmlXPathCompExprPtr comp; /* only when compiled for this call */
  xmlXPathObjectPtr obj;
  xmlBufferPtr buf;
  xmlChar *tmp;
} guard;

/* The XPath userdata (XPATH_MT); its user value is {expr, namespaces|nil}. */
typedef struct {
  xmlXPathCompExprPtr comp;
} xpath_ud;

/* The thread's libxml2 error handlers, saved while ours are installed. */
typedef struct {
  xmlStructuredErrorFunc serr;
  void *sctx;
  xmlGenericErrorFunc gerr;
  void *gctx;
} saved_handlers;

/* ---- xml.c ---------------------------------------------------------------
 * Functions marked "C only" never call Lua; those that parse, compile or
 * evaluate run between arazzo_xml_capture and arazzo_xml_restore. */

/* Record the first error into e (later ones are ignored). C only. */
void arazzo_xml_set_err(xerr *e, const char *msg, int line, int col, int offset);
/* Route libxml2's messages of this thread into e / put the saved handlers
 * back. No Lua call may happen in between. */
void arazzo_xml_capture(saved_handlers *h, xerr *e);
void arazzo_xml_restore(const saved_handlers *h);
/* Push a new, empty guard [-0,+1]; free what a guard owns (idempotent). */
guard *arazzo_xml_new_guard(lua_State *L);
void arazzo_xml_guard_release(guard *g);
/* Push nil, "<prefix>: [line:col: ]<message>", code; returns 3. */
int arazzo_xml_fail(lua_State *L, const char *prefix, const xerr *e, int with_pos, const char *code);
/* Compile expr into *out; 0 with e filled on error. C only. */
int arazzo_xml_compile(const char *expr, xmlXPathCompExprPtr *out, xerr *e);
/* Push "xpath: <msg>[ at offset N] in '<expr>'". [-0,+1] */
void arazzo_xml_push_compile_err(lua_State *L, const char *expr, const xerr *e);
/* Parse text into g and prepare g->ctx for the XPath at stack index xidx
 * (0: none); 0 with nil, msg, "xml" pushed on a parse error. */
int arazzo_xml_prepare(lua_State *L, guard *g, int xidx, const char *text, size_t n);
/* Evaluate comp in g->ctx into g->obj; 0 with e filled. C only. */
int arazzo_xml_run_eval(guard *g, xmlXPathCompExprPtr comp, xerr *e);
/* Push nil, "xpath: <msg> in '<expr>'", "xpath"; returns 3. */
int arazzo_xml_fail_eval_expr(lua_State *L, const char *expr, xerr *e);

/* ---- xml_replace.c -------------------------------------------------------- */

/* core.xml_replace(xml, xpath, value), registered by arazzo_xml_open. */
int arazzo_xml_replace(lua_State *L);

#endif
