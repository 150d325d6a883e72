/* xml.c: XPath 1.0 criteria via libxml2 (no entities, no DTDs): compiled once, evaluated per response.
 * Licence: MIT (see LICENSE). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xpathInternals.h>

#include "xml_internal.h"

#define GUARD_MT "arazzo.xml.Guard"
#define MAX_XML (16 * 1024 * 1024)   /* bytes of XML text accepted */
#define MAX_RESULT (64 * 1024 * 1024) /* bytes of node-set strings from eval */
#define OP_LIMIT 50000000UL          /* XPath evaluation steps */

/* Keep the first error of a call in e; trims trailing newlines. C only. */
void arazzo_xml_set_err(xerr *e, const char *msg, int line, int col, int offset) {
  size_t n;
  if (e->set) return;
  e->set = 1;
  e->line = line;
  e->col = col;
  e->offset = offset;
  snprintf(e->msg, sizeof e->msg, "%s", msg ? msg : "unknown error");
  n = strlen(e->msg);
  while (n && (e->msg[n - 1] == '\n' || e->msg[n - 1] == ' ')) e->msg[--n] = '\0';
}

/* Structured error handler: keeps the first error, never calls Lua. */
static void on_error(void *ud, xmlErrorPtr err) {
  if (err && err->level >= XML_ERR_ERROR)
    arazzo_xml_set_err((xerr *)ud, err->message, err->line, err->int2, err->int1);
}

static void on_generic(void *ud, const char *msg, ...) {
  (void)ud;
  (void)msg;
}

/* Route libxml2's messages of this thread into e until arazzo_xml_restore().
 * No Lua call may happen in between (e lives in the caller's C frame). */
void arazzo_xml_capture(saved_handlers *h, xerr *e) {
  h->serr = xmlStructuredError;
  h->sctx = xmlStructuredErrorContext;
  h->gerr = xmlGenericError;
  h->gctx = xmlGenericErrorContext;
  xmlSetStructuredErrorFunc(e, on_error);
  xmlSetGenericErrorFunc(NULL, on_generic);
}

/* Put back the handlers arazzo_xml_capture saved. */
void arazzo_xml_restore(const saved_handlers *h) {
  xmlSetStructuredErrorFunc(h->sctx, h->serr);
  xmlSetGenericErrorFunc(h->gctx, h->gerr);
}

/* SAX entityDecl/unparsedEntityDecl replacement: any entity declaration
 * (internal, external, parameter) stops the parse, so neither XXE nor
 * entity expansion bombs get anywhere. */
static void refuse_entity(xmlParserCtxtPtr p) {
  xerr *e = (xerr *)p->_private;
  int line = p->input ? p->input->line : 0, col = p->input ? p->input->col : 0;
  arazzo_xml_set_err(e, "entity declarations are not allowed", line, col, 0);
  xmlStopParser(p);
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *pub, const xmlChar *sys,
                           xmlChar *content) {
  refuse_entity((xmlParserCtxtPtr)ctx);
}

static void on_unparsed_decl(void *ctx, const xmlChar *name, const xmlChar *pub, const xmlChar *sys,
                             const xmlChar *notation) {
  refuse_entity((xmlParserCtxtPtr)ctx);
}

/* Free every libxml2 object g owns; idempotent. */
void arazzo_xml_guard_release(guard *g) {
  if (g->tmp) xmlFree(g->tmp);
  if (g->buf) xmlBufferFree(g->buf);
  if (g->obj) xmlXPathFreeObject(g->obj);
  if (g->ctx) xmlXPathFreeContext(g->ctx);
  if (g->comp) xmlXPathFreeCompExpr(g->comp);
  if (g->doc) xmlFreeDoc(g->doc);
  if (g->pctx) xmlFreeParserCtxt(g->pctx);
  memset(g, 0, sizeof *g);
}

static int l_guard_gc(lua_State *L) {
  arazzo_xml_guard_release((guard *)luaL_checkudata(L, 1, GUARD_MT));
  return 0;
}

/* Push a new, empty guard. [-0,+1] */
guard *arazzo_xml_new_guard(lua_State *L) {
  guard *g = (guard *)lua_newuserdata(L, sizeof *g);
  memset(g, 0, sizeof *g);
  luaL_getmetatable(L, GUARD_MT);
  lua_setmetatable(L, -2);
  return g;
}

/* Parse s[0..n) into g->doc (C only; call between arazzo_xml_capture and
 * arazzo_xml_restore). Returns 0 and fills e on failure. */
static int parse_doc(guard *g, const char *s, size_t n, xerr *e) {
  if (n > MAX_XML) {
    arazzo_xml_set_err(e, "document larger than 16 MiB", 0, 0, 0);
    return 0;
  }
  if (!(g->pctx = xmlNewParserCtxt())) {
    arazzo_xml_set_err(e, "out of memory", 0, 0, 0);
    return 0;
  }
  g->pctx->_private = e;
  g->pctx->sax->entityDecl = on_entity_decl;
  g->pctx->sax->unparsedEntityDecl = on_unparsed_decl;
  /* No NOENT (no substitution), no DTDLOAD/DTDATTR, no HUGE (libxml2's
   * default depth and size limits stay on), no network. */
  g->doc = xmlCtxtReadMemory(g->pctx, s, (int)n, NULL, NULL, XML_PARSE_NONET);
  if (g->doc && !e->set) return 1;
  arazzo_xml_set_err(e, "not well-formed", 0, 0, 0);
  return 0;
}

/* Register every namespace prefix the document declares (the first
 * declaration of a prefix in document order wins). Iterative walk. */
static void register_doc_ns(xmlXPathContextPtr ctx, xmlDocPtr doc) {
  xmlNodePtr n = xmlDocGetRootElement(doc);
  xmlNsPtr ns;
  while (n) {
    if (n->type == XML_ELEMENT_NODE)
      for (ns = n->nsDef; ns; ns = ns->next)
        if (ns->prefix && !xmlXPathNsLookup(ctx, ns->prefix)) xmlXPathRegisterNs(ctx, ns->prefix, ns->href);
    if (n->type == XML_ELEMENT_NODE && n->children) {
      n = n->children;
      continue;
    }
    while (n && !n->next) {
      n = n->parent;
      if (n && n->type != XML_ELEMENT_NODE) n = NULL;
    }
    if (n) n = n->next;
  }
}

/* Push "<prefix>: <line>:<col>: <message>" or "<prefix>: <message>" with
 * the first letter of libxml2's message lower-cased. [-0,+1] */
static void push_err(lua_State *L, const char *prefix, const xerr *e, int with_pos) {
  char msg[sizeof e->msg];
  memcpy(msg, e->msg, sizeof msg);
  if (msg[0] >= 'A' && msg[0] <= 'Z' && msg[1] >= 'a' && msg[1] <= 'z') msg[0] = (char)(msg[0] - 'A' + 'a');
  if (with_pos && e->line > 0) lua_pushfstring(L, "%s: %d:%d: %s", prefix, e->line, e->col, msg);
  else lua_pushfstring(L, "%s: %s", prefix, msg);
}

/* nil, message, code. [-0,+3] */
int arazzo_xml_fail(lua_State *L, const char *prefix, const xerr *e, int with_pos, const char *code) {
  lua_pushnil(L);
  push_err(L, prefix, e, with_pos);
  lua_pushstring(L, code);
  return 3;
}

/* Compile expr into *out (C only, between arazzo_xml_capture and
 * arazzo_xml_restore); 0 on error. */
int arazzo_xml_compile(const char *expr, xmlXPathCompExprPtr *out, xerr *e) {
  xmlXPathContextPtr ctx = xmlXPathNewContext(NULL); /* gives the compiler its depth limit */
  if (!ctx) {
    arazzo_xml_set_err(e, "out of memory", 0, 0, 0);
    return 0;
  }
  *out = xmlXPathCtxtCompile(ctx, (const xmlChar *)expr);
  xmlXPathFreeContext(ctx);
  if (*out && !e->set) return 1;
  if (*out) xmlXPathFreeCompExpr(*out);
  *out = NULL;
  arazzo_xml_set_err(e, "invalid expression", 0, 0, -1);
  return 0;
}

/* Push "xpath: <msg>[ at offset N] in '<expr>'". [-0,+1] */
void arazzo_xml_push_compile_err(lua_State *L, const char *expr, const xerr *e) {
  size_t n = strlen(expr);
  int parts = 4;
  push_err(L, "xpath", e, 0);
  if (e->offset >= 0) {
    lua_pushfstring(L, " at offset %d", e->offset);
    parts++;
  }
  lua_pushliteral(L, " in '");
  lua_pushlstring(L, expr, n > 200 ? 200 : n);
  lua_pushstring(L, n > 200 ? "...'" : "'");
  lua_concat(L, parts);
}

/* Check the optional namespaces table at idx: string prefix -> string uri. */
static void check_ns(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "xpath: namespaces must map prefix strings to uri strings");
    lua_pop(L, 1);
  }
}

/* core.xpath(expr [, namespaces]) -> XPath | nil, "xpath: ...", "xpath".
 * Raises on argument types. [-0,+1|3] */
static int l_xpath(lua_State *L) {
  size_t n;
  const char *expr = luaL_checklstring(L, 1, &n);
  xpath_ud *x;
  xerr e;
  saved_handlers h;
  int ok;
  check_ns(L, 2);
  memset(&e, 0, sizeof e);
  if (strlen(expr) != n) arazzo_xml_set_err(&e, "expression contains NUL", 0, 0, -1);
  else if (n > MAX_EXPR) arazzo_xml_set_err(&e, "expression longer than 16384 bytes", 0, 0, -1);
  if (e.set) return arazzo_xml_fail(L, "xpath", &e, 0, "xpath");
  x = (xpath_ud *)lua_newuserdata(L, sizeof *x);
  x->comp = NULL;
  luaL_getmetatable(L, XPATH_MT);
  lua_setmetatable(L, -2);
  lua_createtable(L, 2, 0); /* uservalue: {expr, namespaces|nil} */
  lua_pushvalue(L, 1);
  lua_rawseti(L, -2, 1);
  if (!lua_isnoneornil(L, 2)) {
    lua_pushvalue(L, 2);
    lua_rawseti(L, -2, 2);
  }
  lua_setuservalue(L, -2);
  arazzo_xml_capture(&h, &e);
  ok = arazzo_xml_compile(expr, &x->comp, &e);
  arazzo_xml_restore(&h);
  if (!ok) {
    lua_pushnil(L);
    arazzo_xml_push_compile_err(L, expr, &e);
    lua_pushliteral(L, "xpath");
    return 3;
  }
  return 1;
}

static int l_xpath_gc(lua_State *L) {
  xpath_ud *x = (xpath_ud *)luaL_checkudata(L, 1, XPATH_MT);
  if (x->comp) xmlXPathFreeCompExpr(x->comp);
  x->comp = NULL;
  return 0;
}

static int l_xpath_tostring(lua_State *L) {
  luaL_checkudata(L, 1, XPATH_MT);
  lua_getuservalue(L, 1);
  lua_rawgeti(L, -1, 1);
  lua_pushfstring(L, XPATH_MT ": %s", lua_tostring(L, -1));
  return 1;
}

/* Register the explicit namespaces of the XPath at idx into ctx (they
 * override the document's). [-0,+0] */
static void register_user_ns(lua_State *L, int idx, xmlXPathContextPtr ctx) {
  lua_getuservalue(L, idx);
  lua_rawgeti(L, -1, 2);
  if (lua_istable(L, -1)) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      xmlXPathRegisterNs(ctx, (const xmlChar *)lua_tostring(L, -2), (const xmlChar *)lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 2);
}

/* Parse text and prepare g->ctx for evaluating the XPath at xidx: the
 * document's namespaces, then the XPath's own. Returns 0 with nil, msg,
 * "xml" pushed on a parse error. */
int arazzo_xml_prepare(lua_State *L, guard *g, int xidx, const char *text, size_t n) {
  xerr e;
  saved_handlers h;
  int ok;
  memset(&e, 0, sizeof e);
  arazzo_xml_capture(&h, &e);
  ok = parse_doc(g, text, n, &e);
  if (ok && !(g->ctx = xmlXPathNewContext(g->doc))) {
    arazzo_xml_set_err(&e, "out of memory", 0, 0, 0);
    ok = 0;
  }
  if (ok) {
    g->ctx->opLimit = OP_LIMIT;
    register_doc_ns(g->ctx, g->doc);
  }
  arazzo_xml_restore(&h);
  if (!ok) return arazzo_xml_fail(L, "xml", &e, 1, "xml"), 0;
  if (xidx) register_user_ns(L, xidx, g->ctx);
  return 1;
}

/* Evaluate comp in g->ctx into g->obj (C only, between arazzo_xml_capture
 * and arazzo_xml_restore). */
int arazzo_xml_run_eval(guard *g, xmlXPathCompExprPtr comp, xerr *e) {
  g->obj = xmlXPathCompiledEval(comp, g->ctx);
  if (g->obj && !e->set) return 1;
  arazzo_xml_set_err(e, "evaluation failed", 0, 0, -1);
  return 0;
}

/* nil, "xpath: <msg> in '<expr>'", "xpath" for an evaluation error. [-0,+3] */
int arazzo_xml_fail_eval_expr(lua_State *L, const char *expr, xerr *e) {
  e->offset = -1;
  lua_pushnil(L);
  arazzo_xml_push_compile_err(L, expr, e);
  lua_pushliteral(L, "xpath");
  return 3;
}

/* The same for the XPath userdata at xidx. [-0,+3] */
static int fail_eval(lua_State *L, int xidx, xerr *e) {
  lua_getuservalue(L, xidx);
  lua_rawgeti(L, -1, 1);
  return arazzo_xml_fail_eval_expr(L, lua_tostring(L, -1), e);
}

static void push_number(lua_State *L, double d) {
  if (d == floor(d) && fabs(d) < 9007199254740992.0) lua_pushinteger(L, (lua_Integer)d);
  else lua_pushnumber(L, d);
}

/* Push the node-set as an array of string values; 0 (nothing pushed) when
 * the strings exceed MAX_RESULT bytes or memory runs out. */
static int push_nodeset(lua_State *L, guard *g, xerr *e) {
  xmlNodeSetPtr ns = g->obj->nodesetval;
  int i, cnt = ns ? ns->nodeNr : 0;
  size_t total = 0;
  saved_handlers h;
  lua_createtable(L, cnt, 0);
  arazzo_mark_array(L, -1);
  for (i = 0; i < cnt; i++) {
    arazzo_xml_capture(&h, e);
    g->tmp = xmlXPathCastNodeToString(ns->nodeTab[i]);
    arazzo_xml_restore(&h);
    if (!g->tmp) arazzo_xml_set_err(e, "out of memory", 0, 0, -1);
    else if ((total += strlen((const char *)g->tmp)) > MAX_RESULT)
      arazzo_xml_set_err(e, "node-set strings exceed 64 MiB", 0, 0, -1);
    if (e->set) {
      lua_pop(L, 1);
      return 0;
    }
    lua_pushstring(L, (const char *)g->tmp);
    xmlFree(g->tmp);
    g->tmp = NULL;
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* Push g->obj as a Lua value; 0 with e filled when it cannot. */
static int push_result(lua_State *L, guard *g, xerr *e) {
  xmlXPathObjectPtr o = g->obj;
  switch (o->type) {
  case XPATH_NODESET:
    return push_nodeset(L, g, e);
  case XPATH_BOOLEAN:
    lua_pushboolean(L, o->boolval);
    return 1;
  case XPATH_NUMBER:
    push_number(L, o->floatval);
    return 1;
  case XPATH_STRING:
    lua_pushstring(L, o->stringval ? (const char *)o->stringval : "");
    return 1;
  default:
    arazzo_xml_set_err(e, "unsupported result type", 0, 0, -1);
    return 0;
  }
}

/* xp:eval(xml) -> array of strings | number | string | boolean, or nil,
 * msg, "xml"|"xpath". Raises on argument types. */
static int l_eval(lua_State *L) {
  xpath_ud *x = (xpath_ud *)luaL_checkudata(L, 1, XPATH_MT);
  size_t n;
  const char *text = luaL_checklstring(L, 2, &n);
  guard *g = arazzo_xml_new_guard(L);
  xerr e;
  saved_handlers h;
  int ok;
  if (!arazzo_xml_prepare(L, g, 1, text, n)) return arazzo_xml_guard_release(g), 3;
  memset(&e, 0, sizeof e);
  arazzo_xml_capture(&h, &e);
  ok = arazzo_xml_run_eval(g, x->comp, &e);
  arazzo_xml_restore(&h);
  if (ok) ok = push_result(L, g, &e);
  arazzo_xml_guard_release(g);
  return ok ? 1 : fail_eval(L, 1, &e);
}

/* xp:test(xml) -> boolean (XPath boolean() of the result), or nil, msg,
 * "xml"|"xpath". Raises on argument types. */
static int l_test(lua_State *L) {
  xpath_ud *x = (xpath_ud *)luaL_checkudata(L, 1, XPATH_MT);
  size_t n;
  const char *text = luaL_checklstring(L, 2, &n);
  guard *g = arazzo_xml_new_guard(L);
  xerr e;
  saved_handlers h;
  int r;
  if (!arazzo_xml_prepare(L, g, 1, text, n)) return arazzo_xml_guard_release(g), 3;
  memset(&e, 0, sizeof e);
  arazzo_xml_capture(&h, &e);
  r = xmlXPathCompiledEvalToBoolean(x->comp, g->ctx);
  arazzo_xml_restore(&h);
  arazzo_xml_guard_release(g);
  if (r < 0 || e.set) {
    arazzo_xml_set_err(&e, "evaluation failed", 0, 0, -1);
    return fail_eval(L, 1, &e);
  }
  lua_pushboolean(L, r);
  return 1;
}

static const luaL_Reg xpath_meta[] = {{"__gc", l_xpath_gc}, {"__tostring", l_xpath_tostring}, {NULL, NULL}};
static const luaL_Reg xpath_methods[] = {{"test", l_test}, {"eval", l_eval}, {NULL, NULL}};
static const luaL_Reg xml_funcs[] = {{"xpath", l_xpath}, {"xml_replace", arazzo_xml_replace}, {NULL, NULL}};

/* Register core.xpath / core.xml_replace and the XPath and guard
 * metatables; initialise libxml2 (idempotent). [-0,+0] */
void arazzo_xml_open(lua_State *L) {
  xmlInitParser();
  if (luaL_newmetatable(L, XPATH_MT)) {
    luaL_setfuncs(L, xpath_meta, 0);
    lua_pushliteral(L, XPATH_MT);
    lua_setfield(L, -2, "__name");
    lua_newtable(L);
    luaL_setfuncs(L, xpath_methods, 0);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, GUARD_MT)) {
    lua_pushcfunction(L, l_guard_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  luaL_setfuncs(L, xml_funcs, 0);
}
