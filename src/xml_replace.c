/* xml_replace.c: core.xml_replace, replacing the text of the nodes an XPath selects.
 * Licence: MIT (see LICENSE). */
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xmlsave.h>
#include <libxml/xpathInternals.h>

#include "xml_internal.h"

/* Offset of the first byte of s that is not valid UTF-8 encoding an XML
 * 1.0 Char, or -1. */
static long bad_xml_char(const unsigned char *s, size_t n) {
  size_t i = 0, len, k;
  unsigned long cp;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) {
      if (c < 0x20 && c != 0x9 && c != 0xA && c != 0xD) return (long)i;
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else return (long)i;
    if (n - i < len) return (long)i;
    for (k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return (long)i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
      return (long)i;
    i += len;
  }
  return -1;
}

/* Why the first node in ns cannot be replaced, or NULL when all can. */
static const char *unreplaceable(xmlNodeSetPtr ns) {
  int i;
  for (i = 0; i < ns->nodeNr; i++) {
    switch (ns->nodeTab[i]->type) {
    case XML_ELEMENT_NODE: case XML_ATTRIBUTE_NODE: case XML_TEXT_NODE: case XML_CDATA_SECTION_NODE:
      break;
    case XML_COMMENT_NODE: return "selected a comment (only elements, attributes and text can be replaced)";
    case XML_PI_NODE: return "selected a processing instruction (only elements, attributes and text can be replaced)";
    case XML_NAMESPACE_DECL: return "selected a namespace node (only elements, attributes and text can be replaced)";
    default: return "selected the document node (only elements, attributes and text can be replaced)";
    }
  }
  return NULL;
}

/* Replace the text of every node in ns with v (literal text, escaped on
 * output), last in document order first, so a replaced ancestor never
 * frees a node still to be visited. C only. */
static int replace_nodes(guard *g, xmlNodeSetPtr ns, const char *v, size_t vl, xerr *e) {
  int i;
  xmlNodePtr nd, t;
  xmlXPathNodeSetSort(ns);
  for (i = ns->nodeNr - 1; i >= 0; i--) {
    nd = ns->nodeTab[i];
    if (nd->type == XML_ELEMENT_NODE) {
      xmlNodeSetContent(nd, NULL);
      t = xmlNewDocTextLen(g->doc, (const xmlChar *)v, (int)vl);
      if (t && !xmlAddChild(nd, t)) xmlFreeNode(t), t = NULL;
      if (!t) break;
    } else if (nd->type == XML_ATTRIBUTE_NODE) {
      if (!xmlSetNsProp(nd->parent, ((xmlAttrPtr)nd)->ns, nd->name, (const xmlChar *)v)) break;
    } else {
      xmlNodeSetContentLen(nd, (const xmlChar *)v, (int)vl);
    }
  }
  /* Nodes freed above are still listed; freeing the set would read them
   * (it looks for namespace copies, which unreplaceable() excluded). */
  ns->nodeNr = 0;
  if (i < 0) return 1;
  arazzo_xml_set_err(e, "out of memory", 0, 0, -1);
  return 0;
}

/* Serialise g->doc without an XML declaration into g->buf, in the
 * document's encoding (UTF-8 when it declares none). C only. */
static int serialize(guard *g, xerr *e) {
  xmlSaveCtxtPtr s;
  const char *enc = g->doc->encoding ? (const char *)g->doc->encoding : "UTF-8";
  if (!(g->buf = xmlBufferCreate()) || !(s = xmlSaveToBuffer(g->buf, enc, XML_SAVE_NO_DECL))) {
    arazzo_xml_set_err(e, "out of memory", 0, 0, 0);
    return 0;
  }
  if (xmlSaveDoc(s, g->doc) < 0) arazzo_xml_set_err(e, "cannot serialise the document", 0, 0, 0);
  if (xmlSaveClose(s) < 0) arazzo_xml_set_err(e, "cannot serialise the document", 0, 0, 0);
  return !e->set;
}

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Length of the input's UTF-8 BOM, XML declaration and the whitespace
 * after it (copied verbatim into the output), or 0 without a declaration. */
static size_t decl_len(const char *s, size_t n) {
  size_t i = (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
  if (n - i < 6 || memcmp(s + i, "<?xml", 5) != 0 || !is_space(s[i + 5])) return 0;
  for (i += 5; i + 1 < n && !(s[i] == '?' && s[i + 1] == '>'); i++) {
  }
  if (i + 1 >= n) return 0;
  for (i += 2; i < n && is_space(s[i]); i++) {
  }
  return i;
}

/* nil, "xml_replace: xpath '<expr>' <what>", "xml". [-0,+3] */
static int fail_replace(lua_State *L, const char *expr, const char *what) {
  lua_pushnil(L);
  lua_pushfstring(L, "xml_replace: xpath '%s' %s", expr, what);
  lua_pushliteral(L, "xml");
  return 3;
}

/* Compile or fetch the XPath at argument 2 into *comp. Returns 0 with
 * nil, msg, "xpath" pushed when a string does not compile. */
static int replace_xpath(lua_State *L, guard *g, const char **expr, xmlXPathCompExprPtr *comp) {
  xerr e;
  saved_handlers h;
  int ok;
  if (lua_type(L, 2) != LUA_TSTRING) {
    *comp = ((xpath_ud *)luaL_checkudata(L, 2, XPATH_MT))->comp;
    lua_getuservalue(L, 2);
    lua_rawgeti(L, -1, 1);
    *expr = lua_tostring(L, -1); /* kept alive by the XPath's uservalue */
    lua_pop(L, 2);
    return 1;
  }
  *expr = lua_tostring(L, 2);
  memset(&e, 0, sizeof e);
  if (strlen(*expr) != lua_rawlen(L, 2)) arazzo_xml_set_err(&e, "expression contains NUL", 0, 0, -1);
  else if (lua_rawlen(L, 2) > MAX_EXPR)
    arazzo_xml_set_err(&e, "expression longer than 16384 bytes", 0, 0, -1);
  if (e.set) return arazzo_xml_fail(L, "xpath", &e, 0, "xpath"), 0;
  arazzo_xml_capture(&h, &e);
  ok = arazzo_xml_compile(*expr, &g->comp, &e);
  arazzo_xml_restore(&h);
  if (!ok) {
    lua_pushnil(L);
    arazzo_xml_push_compile_err(L, *expr, &e);
    lua_pushliteral(L, "xpath");
    return 0;
  }
  *comp = g->comp;
  return 1;
}

/* Evaluate, check and replace (C only); returns 0 with e filled or with
 * *what set to the reason the selection cannot be replaced. */
static int do_replace(guard *g, xmlXPathCompExprPtr comp, const char *v, size_t vl, xerr *e,
                      const char **what) {
  xmlNodeSetPtr ns;
  saved_handlers h;
  int ok = 0;
  const char *bad;
  arazzo_xml_capture(&h, e);
  if (!arazzo_xml_run_eval(g, comp, e)) goto done;
  ns = g->obj->nodesetval;
  if (g->obj->type != XPATH_NODESET) *what = "does not select nodes";
  else if (!ns || ns->nodeNr == 0) *what = "selected no node";
  else if ((bad = unreplaceable(ns)) != NULL) *what = bad;
  else ok = replace_nodes(g, ns, v, vl, e) && serialize(g, e);
done:
  arazzo_xml_restore(&h);
  return ok;
}

/* core.xml_replace(xml, xpath, value) -> new xml text where every node
 * the XPath (string or compiled) selects has its text (element, text,
 * CDATA) or value (attribute) replaced by value; or nil, msg,
 * "xml"|"xpath" (no match, unparsable XML, bad expression, bad value).
 * Raises on argument types. */
int arazzo_xml_replace(lua_State *L) {
  size_t n, vl, len;
  const char *text = luaL_checklstring(L, 1, &n), *v = luaL_checklstring(L, 3, &vl), *expr, *what = NULL;
  const char *out;
  char where[96];
  xmlXPathCompExprPtr comp;
  guard *g;
  xerr e;
  long bad = bad_xml_char((const unsigned char *)v, vl);
  if (lua_type(L, 2) != LUA_TSTRING) luaL_checkudata(L, 2, XPATH_MT);
  if (bad >= 0) {
    snprintf(where, sizeof where, "xml_replace: value is not valid XML text (byte %ld)", bad + 1);
    lua_pushnil(L);
    lua_pushstring(L, where);
    lua_pushliteral(L, "xml");
    return 3;
  }
  g = arazzo_xml_new_guard(L);
  if (!replace_xpath(L, g, &expr, &comp)) return arazzo_xml_guard_release(g), 3;
  if (!arazzo_xml_prepare(L, g, lua_type(L, 2) == LUA_TSTRING ? 0 : 2, text, n))
    return arazzo_xml_guard_release(g), 3;
  memset(&e, 0, sizeof e);
  if (!do_replace(g, comp, v, vl, &e, &what)) {
    int r = what ? fail_replace(L, expr, what) : arazzo_xml_fail_eval_expr(L, expr, &e);
    arazzo_xml_guard_release(g);
    return r;
  }
  out = (const char *)xmlBufferContent(g->buf);
  len = (size_t)xmlBufferLength(g->buf);
  if (len && out[len - 1] == '\n' && !(n && text[n - 1] == '\n')) len--;
  lua_pushlstring(L, text, decl_len(text, n));
  lua_pushlstring(L, out, len);
  lua_concat(L, 2);
  arazzo_xml_guard_release(g);
  return 1;
}
