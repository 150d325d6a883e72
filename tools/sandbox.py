#!/usr/bin/env python3
"""sandbox.py: a local stand-in for Amberflo ingest and Stripe invoicing, for tests and demos.

Two HTTP/1.1 listeners on 127.0.0.1 in one process share one in-memory state. Standard library
only (Debian's python3). What is simulated and every simplification: examples/billing/SANDBOX.md.
Licence: MIT (see LICENSE).
"""

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import math
import os
import re
import signal
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20            # bytes accepted in one request body
MAX_RECORDS = 10000           # meter records in one ingest request
MAX_FORM_PAIRS = 1000         # key=value pairs in one form body
MAX_KEY_DEPTH = 5             # name plus bracket groups: a[b][c][d][e]
MAX_LOG = 1000                # request records kept in the state
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
DOC = "https://stripe.com/docs/error-codes/"


class HttpError(Exception):
    """A finished error response: status, JSON payload, and whether an idempotency key may
    remember it (Stripe saves only requests that got past parameter validation)."""

    def __init__(self, status, payload, save=False, headers=None):
        Exception.__init__(self, status)
        self.status, self.payload, self.save = status, payload, save
        self.headers = headers or {}


def stripe_error(status, message, code=None, param=None, etype="invalid_request_error", save=False,
                 headers=None):
    """Build an HttpError carrying Stripe's error object."""
    err = {}
    if code:
        err["code"], err["doc_url"] = code, DOC + code.replace("_", "-")
    err["message"] = message
    if param is not None:
        err["param"] = param
    err["type"] = etype
    return HttpError(status, {"error": err}, save, headers)


def amberflo_error(status, message, code):
    """Build an HttpError carrying Amberflo's ErrorResponse (message, code)."""
    return HttpError(status, {"message": message, "code": code})


# ---------------------------------------------------------------- Amberflo: strict JSON ----

class RawNumber:
    """A JSON number with its source text, so 1717459200000.0 and 1.7e12 stay non-integers."""
    __slots__ = ("text", "is_int")

    def __init__(self, text, is_int):
        self.text, self.is_int = text, is_int

    def value(self):
        return int(self.text) if self.is_int else float(self.text)


def _no_constant(name):
    raise ValueError("%s is not valid JSON" % name)


def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise ValueError("duplicate object key '%s'" % k)
        obj[k] = v
    return obj


def parse_json_strict(raw):
    """Decode a UTF-8 JSON body keeping numbers as RawNumber; raise ValueError with position."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError("body is not valid UTF-8 (byte %d)" % e.start)
    try:
        return json.loads(text, parse_int=lambda s: RawNumber(s, True),
                          parse_float=lambda s: RawNumber(s, False),
                          parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise ValueError("invalid JSON at line %d column %d: %s" % (e.lineno, e.colno, e.msg))
    except RecursionError:
        raise ValueError("body: JSON nested too deeply")


AMBERFLO_FIELDS = ("customerId", "meterApiName", "meterValue", "meterTimeInMillis",
                   "uniqueId", "dimensions")


def _describe(v):
    if isinstance(v, RawNumber):
        return v.text
    if isinstance(v, bool):
        return "a boolean"
    return {str: "a string", dict: "an object", list: "an array",
            type(None): "null"}.get(type(v), type(v).__name__)


def check_meter_record(where, rec):
    """Validate one meter record; return it with plain numbers or raise ValueError."""
    if not isinstance(rec, dict):
        raise ValueError("%s: must be an object, got %s" % (where, _describe(rec)))
    for k in rec:
        if k not in AMBERFLO_FIELDS:
            raise ValueError("%s.%s: unknown field" % (where, k))
    for k in AMBERFLO_FIELDS[:4]:
        if k not in rec:
            raise ValueError("%s.%s: required field is missing" % (where, k))
    out = {}
    for k in ("customerId", "meterApiName", "uniqueId"):
        if k in rec:
            if not isinstance(rec[k], str) or rec[k] == "":
                raise ValueError("%s.%s: must be a non-empty string, got %s"
                                 % (where, k, _describe(rec[k])))
            out[k] = rec[k]
    v = rec["meterValue"]
    if not isinstance(v, RawNumber) or not math.isfinite(float(v.text)):
        raise ValueError("%s.meterValue: must be a finite number, got %s" % (where, _describe(v)))
    out["meterValue"] = v.value()
    t = rec["meterTimeInMillis"]
    if not isinstance(t, RawNumber) or not t.is_int:
        raise ValueError("%s.meterTimeInMillis: must be an exact integer (milliseconds since "
                         "the epoch, no fraction or exponent), got %s" % (where, _describe(t)))
    if len(t.text) > 20 or not 0 <= t.value() <= INT64_MAX:
        raise ValueError("%s.meterTimeInMillis: out of range, got %s" % (where, t.text))
    out["meterTimeInMillis"] = t.value()
    if "dimensions" in rec:
        dims = rec["dimensions"]
        if not isinstance(dims, dict):
            raise ValueError("%s.dimensions: must be an object, got %s" % (where, _describe(dims)))
        for dk, dv in dims.items():
            if not isinstance(dv, str):
                raise ValueError("%s.dimensions.%s: must be a string, got %s"
                                 % (where, dk, _describe(dv)))
        out["dimensions"] = dict(dims)
    return out


def parse_meter_records(raw):
    """Body bytes -> list of validated records (a single object counts as one record)."""
    doc = parse_json_strict(raw)
    if isinstance(doc, dict):
        return [check_meter_record("body", doc)]
    if not isinstance(doc, list):
        raise ValueError("body: must be a meter record object or an array of them, got %s"
                         % _describe(doc))
    if not doc:
        raise ValueError("body: the array holds no meter records")
    if len(doc) > MAX_RECORDS:
        raise ValueError("body: more than %d meter records" % MAX_RECORDS)
    return [check_meter_record("body[%d]" % i, r) for i, r in enumerate(doc)]


# ------------------------------------------------------------ Stripe: strict form bodies ----

_BAD_PCT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_PCT = re.compile(rb"%([0-9A-Fa-f]{2})")
_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_SUB = re.compile(r"\[([^\[\]]*)\]")


def form_unescape(raw):
    """application/x-www-form-urlencoded component -> str; ValueError on a bad escape."""
    if _BAD_PCT.search(raw):
        raise ValueError("malformed percent-escape")
    out = _PCT.sub(lambda m: bytes([int(m.group(1), 16)]), raw.replace(b"+", b" "))
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("percent-escapes do not decode to UTF-8")


def _form_insert(tree, path, value, key):
    """Store value at path (name, sub, ...) in the nested tree; '' appends to a list."""
    node = tree
    for i, seg in enumerate(path):
        last = i == len(path) - 1
        if seg == "":
            if not isinstance(node, list) or not last:
                raise stripe_error(400, "Invalid array: '%s'" % key, param=path[0])
            node.append(value)
            return
        if not isinstance(node, dict):
            raise stripe_error(400, "Invalid parameter '%s': it mixes array and object forms"
                               % key, param=path[0])
        if last:
            if seg in node:
                raise stripe_error(400, "Parameter '%s' was given more than once" % key,
                                   param=path[0])
            node[seg] = value
            return
        child = node.get(seg)
        if child is None:
            child = node[seg] = [] if path[i + 1] == "" else {}
        elif isinstance(child, str):
            raise stripe_error(400, "Invalid parameter '%s': '%s' is already a single value"
                               % (key, "".join(path[:1] + ["[%s]" % s for s in path[1:i + 1]])),
                               param=path[0])
        node = child


def parse_form(raw):
    """Form body or query bytes -> ordered nested dict (str leaves); raise HttpError 400."""
    tree = {}
    pairs = [p for p in raw.split(b"&") if p]
    if len(pairs) > MAX_FORM_PAIRS:
        raise stripe_error(400, "Too many parameters (more than %d)" % MAX_FORM_PAIRS)
    for pair in pairs:
        if b"=" not in pair:
            raise stripe_error(400, "Invalid form encoding: '%s' has no '='"
                               % pair[:40].decode("latin-1"))
        rk, rv = pair.split(b"=", 1)
        try:
            key, value = form_unescape(rk), form_unescape(rv)
        except ValueError as e:
            raise stripe_error(400, "Invalid form encoding in '%s': %s"
                               % (rk[:40].decode("latin-1"), e))
        m = _KEY.fullmatch(key)
        if not m:
            raise stripe_error(400, "Invalid parameter name: '%s'" % key)
        path = [m.group(1)] + _SUB.findall(m.group(2))
        if len(path) > MAX_KEY_DEPTH:
            raise stripe_error(400, "Parameter '%s' is nested too deeply" % key, param=path[0])
        _form_insert(tree, path, value, key)
    return tree


def _empty_error(name):
    return stripe_error(400, "You passed an empty string for '%s'. We assume empty values are an "
                        "attempt to unset a parameter; however '%s' cannot be unset. You should "
                        "remove '%s' from your request or supply a non-empty value."
                        % (name, name, name), "parameter_invalid_empty", name)


def coerce_param(name, kind, raw):
    """Convert one form value to its declared kind (Stripe's rules); raise HttpError 400."""
    ktype = kind[0]
    if ktype == "metadata":
        return coerce_metadata(name, raw)
    if not isinstance(raw, str):
        raise stripe_error(400, "Invalid %s: '%s' must be a single value, not a hash or array"
                           % (ktype, name), param=name)
    if raw == "":
        if ktype == "string" and kind[1]:
            return None                      # an unsettable string: "" means null
        raise _empty_error(name)
    if ktype == "integer":
        if (not re.fullmatch(r"-?[0-9]{1,20}", raw)
                or not INT64_MIN <= int(raw) <= INT64_MAX):
            raise stripe_error(400, "Invalid integer: %s" % raw, "parameter_invalid_integer", name)
        value = int(raw)
        if not kind[1] <= value <= kind[2]:
            raise stripe_error(400, "Invalid %s: must be between %d and %d"
                               % (name, kind[1], kind[2]), param=name)
        return value
    if ktype == "boolean":
        if raw not in ("true", "false"):
            raise stripe_error(400, "Invalid boolean: %s" % raw, param=name)
        return raw == "true"
    if ktype == "enum":
        if raw not in kind[1]:
            raise stripe_error(400, "Invalid %s: must be one of %s" % (name, ", ".join(kind[1])),
                               param=name)
        return raw
    if ktype == "currency":
        if not re.fullmatch(r"[A-Za-z]{3}", raw):
            raise stripe_error(400, "Invalid currency: %s" % raw, param=name)
        return raw.lower()
    if len(raw) > kind[2]:
        raise stripe_error(400, "Invalid %s: must be at most %d characters" % (name, kind[2]),
                           param=name)
    return raw


def coerce_metadata(name, raw):
    """metadata[k]=v -> dict of strings (Stripe's limits); "" unsets everything."""
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise stripe_error(400, "Invalid hash: '%s' must be given as %s[key]=value" % (name, name),
                           param=name)
    if len(raw) > 50:
        raise stripe_error(400, "Invalid %s: at most 50 keys" % name, param=name)
    out = {}
    for k, v in raw.items():
        if not isinstance(v, str):
            raise stripe_error(400, "Invalid %s[%s]: metadata values must be strings"
                               % (name, k), param="%s[%s]" % (name, k))
        if k == "" or len(k) > 40 or len(v) > 500:
            raise stripe_error(400, "Invalid %s[%s]: keys must be 1-40 characters and values at "
                               "most 500" % (name, k), param="%s[%s]" % (name, k))
        if v != "":
            out[k] = v
    return out


# kinds: ("string", unsettable, max length), ("integer", min, max), ("boolean",),
# ("enum", values), ("currency",), ("metadata",)
ID = ("string", False, 5000)
AMOUNT = ("integer", INT64_MIN, INT64_MAX)
INVOICE_PARAMS = {
    "customer": ID, "currency": ("currency",), "auto_advance": ("boolean",),
    "collection_method": ("enum", ("charge_automatically", "send_invoice")),
    "days_until_due": ("integer", 0, 3650), "description": ("string", True, 1500),
    "metadata": ("metadata",), "pending_invoice_items_behavior": ("enum", ("exclude", "include")),
}
ITEM_PARAMS = {
    "customer": ID, "amount": AMOUNT, "unit_amount": AMOUNT, "quantity": ("integer", 0, 1000000000),
    "currency": ("currency",), "invoice": ID, "description": ("string", True, 5000),
    "metadata": ("metadata",),
}
FINALIZE_PARAMS = {"auto_advance": ("boolean",)}
LIST_ITEM_PARAMS = {"invoice": ID, "customer": ID, "pending": ("boolean",),
                    "limit": ("integer", 1, 100)}


def check_params(tree, spec, required=()):
    """Validate a parsed form against spec: unknown first, then kinds, then missing."""
    for name in tree:
        if name not in spec:
            raise stripe_error(400, "Received unknown parameter: %s" % name,
                               "parameter_unknown", name)
    out = {}
    for name, kind in spec.items():
        if name in tree:
            out[name] = coerce_param(name, kind, tree[name])
    for name in required:
        if name not in out:
            raise stripe_error(400, "Missing required param: %s." % name, "parameter_missing", name)
    return out


# ------------------------------------------------------------------------ shared state ----

class State:
    """Everything both listeners see. Callers hold self.lock around every request, so requests
    are applied one at a time in arrival order and ids are deterministic."""

    def __init__(self, clock=None, zero_paid=False, state_dir=None):
        self.lock = threading.RLock()
        self.clock, self.zero_paid, self.state_dir = clock, zero_paid, state_dir
        self.reset()

    def reset(self):
        self.events, self.unique_ids, self.duplicates, self.ingests = [], set(), 0, 0
        self.invoices, self.items, self.idem, self.requests = {}, {}, {}, []
        self.counters = {}

    def now(self):
        return self.clock if self.clock is not None else int(time.time())

    def next_id(self, prefix, fmt="%s_sbx_%04d"):
        n = self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return fmt % (prefix, n)

    def log(self, service, method, path, status):
        if not path.startswith("/__sandbox/"):
            self.requests.append({"service": service, "method": method, "path": path,
                                  "status": status})
            del self.requests[:-MAX_LOG]

    def render_item(self, it):
        return dict(it)

    def render_line(self, it):
        return {"id": "il_" + it["id"][3:], "object": "line_item", "amount": it["amount"],
                "currency": it["currency"], "description": it["description"],
                "discountable": True, "invoice_item": it["id"], "livemode": False,
                "metadata": dict(it["metadata"]), "period": dict(it["period"]),
                "proration": False, "quantity": it["quantity"], "type": "invoiceitem",
                "unit_amount_excluding_tax": it["unit_amount_decimal"]}

    def render_invoice(self, inv):
        """Invoice record -> Stripe's invoice object, totals computed from its items."""
        items = [self.items[i] for i in inv["items"]]
        total = sum(it["amount"] for it in items)
        due = max(total, 0)
        paid = due if inv["status"] == "paid" else 0
        out = {"id": inv["id"], "object": "invoice", "amount_due": due, "amount_paid": paid,
               "amount_remaining": due - paid}
        for k in ("attempt_count", "attempted", "auto_advance", "collection_method", "created",
                  "currency", "customer", "days_until_due", "description", "due_date"):
            out[k] = inv[k]
        out["lines"] = {"object": "list", "data": [self.render_line(it) for it in items],
                        "has_more": False, "total_count": len(items),
                        "url": "/v1/invoices/%s/lines" % inv["id"]}
        out.update({"livemode": False, "metadata": dict(inv["metadata"]),
                    "number": inv["number"], "paid": inv["status"] == "paid",
                    "period_end": inv["created"], "period_start": inv["created"],
                    "starting_balance": 0, "status": inv["status"],
                    "status_transitions": dict(inv["status_transitions"]),
                    "subtotal": total, "total": total})
        return out

    def snapshot(self):
        return {
            "amberflo": {"ingest_requests": self.ingests, "duplicates": self.duplicates,
                         "events": [dict(e) for e in self.events]},
            "stripe": {"invoices": [self.render_invoice(i) for i in self.invoices.values()],
                       "invoiceitems": [self.render_item(i) for i in self.items.values()],
                       "idempotency_keys": [{"key": k, "method": r["method"], "path": r["path"],
                                             "status": r["status"]}
                                            for k, r in self.idem.items()]},
            "requests": [dict(r) for r in self.requests],
        }

    def dump(self):
        """Write state.json into --state-dir (atomically) when one was given."""
        if not self.state_dir:
            return
        path = os.path.join(self.state_dir, "state.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(self.snapshot(), f, indent=2, ensure_ascii=False)
            f.write("\n")
        os.replace(path + ".tmp", path)


# --------------------------------------------------------------- Amberflo operations ----

def amberflo_ingest(state, records):
    """Store validated records; a uniqueId already seen is counted, not stored again."""
    state.ingests += 1
    for rec in records:
        uid = rec.get("uniqueId")
        if uid is not None and uid in state.unique_ids:
            state.duplicates += 1
            continue
        if uid is not None:
            state.unique_ids.add(uid)
        state.events.append(rec)
    return 200, "OK"


# ----------------------------------------------------------------- Stripe operations ----

def no_such_invoice(ident, param, status):
    return stripe_error(status, "No such invoice: '%s'" % ident, "resource_missing", param,
                        save=True)


def not_editable(message, param=None):
    return stripe_error(400, message, "invoice_not_editable", param, save=True)


def stripe_create_invoice(state, form, _ident):
    """POST /v1/invoices: a draft invoice, optionally taking the customer's pending items."""
    p = check_params(form, INVOICE_PARAMS, ("customer",))
    method = p.get("collection_method", "charge_automatically")
    if method == "send_invoice" and "days_until_due" not in p:
        raise stripe_error(400, "Missing required param: days_until_due.", "parameter_missing",
                           "days_until_due")
    if method != "send_invoice" and "days_until_due" in p:
        raise stripe_error(400, "Invalid days_until_due: only allowed when collection_method "
                           "is send_invoice", param="days_until_due")
    now = state.now()
    inv = {"id": state.next_id("in"), "attempt_count": 0, "attempted": False,
           "auto_advance": p.get("auto_advance", False), "collection_method": method,
           "created": now, "currency": p.get("currency", "usd"), "customer": p["customer"],
           "days_until_due": p.get("days_until_due"), "description": p.get("description"),
           "due_date": None, "metadata": p.get("metadata", {}), "number": None,
           "status": "draft", "items": [],
           "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None,
                                  "paid_at": None, "voided_at": None}}
    if p.get("pending_invoice_items_behavior", "exclude") == "include":
        for it in state.items.values():
            if (it["invoice"] is None and it["customer"] == inv["customer"]
                    and it["currency"] == inv["currency"]):
                it["invoice"] = inv["id"]
                inv["items"].append(it["id"])
    state.invoices[inv["id"]] = inv
    return 200, state.render_invoice(inv)


def _item_amount(p):
    """amount, or unit_amount x quantity (quantity defaults to 1); Stripe-style errors."""
    if "amount" in p and "unit_amount" in p:
        raise stripe_error(400, "You may only specify one of these parameters: amount, "
                           "unit_amount.", "parameters_exclusive", "amount")
    if "amount" in p:
        if "quantity" in p:
            raise stripe_error(400, "You may only specify one of these parameters: amount, "
                               "quantity.", "parameters_exclusive", "quantity")
        return p["amount"], p["amount"], 1
    if "unit_amount" not in p:
        raise stripe_error(400, "Missing required param: amount.", "parameter_missing", "amount")
    qty = p.get("quantity", 1)
    amount = p["unit_amount"] * qty
    if not INT64_MIN <= amount <= INT64_MAX:
        raise stripe_error(400, "Invalid unit_amount: unit_amount x quantity is too large",
                           param="unit_amount")
    return amount, p["unit_amount"], qty


def stripe_create_item(state, form, _ident):
    """POST /v1/invoiceitems: attach to a draft invoice, or leave pending for the customer."""
    p = check_params(form, ITEM_PARAMS, ("customer", "currency"))
    amount, unit, qty = _item_amount(p)
    inv = None
    if "invoice" in p:
        inv = state.invoices.get(p["invoice"])
        if inv is None:
            raise no_such_invoice(p["invoice"], "invoice", 400)
        if inv["status"] != "draft":
            raise not_editable("You can only add invoice items to draft invoices; invoice '%s' "
                               "is %s." % (inv["id"], inv["status"]), "invoice")
        if inv["customer"] != p["customer"]:
            raise stripe_error(400, "The invoice item's customer (%s) must match the customer of "
                               "invoice '%s' (%s)." % (p["customer"], inv["id"], inv["customer"]),
                               param="customer", save=True)
        if inv["currency"] != p["currency"]:
            raise stripe_error(400, "The invoice item's currency (%s) must match the currency of "
                               "invoice '%s' (%s)." % (p["currency"], inv["id"], inv["currency"]),
                               param="currency", save=True)
        total = sum(state.items[i]["amount"] for i in inv["items"]) + amount
        if not INT64_MIN <= total <= INT64_MAX:
            raise stripe_error(400, "Invalid amount: the invoice total would be too large",
                               param="amount", save=True)
    now = state.now()
    it = {"id": state.next_id("ii"), "object": "invoiceitem", "amount": amount,
          "currency": p["currency"], "customer": p["customer"], "date": now,
          "description": p.get("description"), "discountable": True,
          "invoice": inv["id"] if inv else None, "livemode": False,
          "metadata": p.get("metadata", {}), "period": {"end": now, "start": now},
          "proration": False, "quantity": qty, "unit_amount": unit,
          "unit_amount_decimal": str(unit)}
    state.items[it["id"]] = it
    if inv is not None:
        inv["items"].append(it["id"])
    return 200, state.render_item(it)


def stripe_finalize(state, form, ident):
    """POST /v1/invoices/{id}/finalize: draft -> open (or paid with --stripe-zero-paid)."""
    p = check_params(form, FINALIZE_PARAMS)
    inv = state.invoices.get(ident)
    if inv is None:
        raise no_such_invoice(ident, "id", 404)
    if inv["status"] != "draft":
        raise not_editable("This invoice is already finalized, you can't re-finalize a "
                           "non-draft invoice.")
    now = state.now()
    inv["status"], inv["number"] = "open", state.next_id("SBX", "%s-%04d")
    inv["status_transitions"]["finalized_at"] = now
    if "auto_advance" in p:
        inv["auto_advance"] = p["auto_advance"]
    if inv["collection_method"] == "send_invoice":
        inv["due_date"] = now + 86400 * inv["days_until_due"]
    if state.zero_paid and state.render_invoice(inv)["amount_due"] == 0:
        inv["status"] = "paid"
        inv["status_transitions"]["paid_at"] = now
    return 200, state.render_invoice(inv)


def stripe_get_invoice(state, query, ident):
    """GET /v1/invoices/{id}."""
    check_params(query, {})
    inv = state.invoices.get(ident)
    if inv is None:
        raise no_such_invoice(ident, "id", 404)
    return 200, state.render_invoice(inv)


def stripe_list_items(state, query, _ident):
    """GET /v1/invoiceitems: newest first, filtered by invoice, customer, pending."""
    p = check_params(query, LIST_ITEM_PARAMS)
    if "invoice" in p and p["invoice"] not in state.invoices:
        raise no_such_invoice(p["invoice"], "invoice", 400)
    found = [it for it in reversed(list(state.items.values()))
             if p.get("invoice", it["invoice"]) == it["invoice"]
             and p.get("customer", it["customer"]) == it["customer"]
             and ("pending" not in p or p["pending"] == (it["invoice"] is None))]
    limit = p.get("limit", 10)
    return 200, {"object": "list", "data": [state.render_item(it) for it in found[:limit]],
                 "has_more": len(found) > limit, "url": "/v1/invoiceitems"}


STRIPE_ROUTES = (
    ("POST", ("v1", "invoices"), stripe_create_invoice),
    ("POST", ("v1", "invoiceitems"), stripe_create_item),
    ("GET", ("v1", "invoiceitems"), stripe_list_items),
    ("GET", ("v1", "invoices", "*"), stripe_get_invoice),
    ("POST", ("v1", "invoices", "*", "finalize"), stripe_finalize),
)


def stripe_route(method, path):
    """Find the operation for method+path; returns (function, decoded id) or (None, None)."""
    segs = path.split("/")[1:]
    for m, pattern, fn in STRIPE_ROUTES:
        if m != method or len(pattern) != len(segs):
            continue
        ident = None
        for want, got in zip(pattern, segs):
            if want == "*":
                if got == "":
                    break
                try:
                    ident = form_unescape(got.replace("+", "%2B").encode("latin-1"))
                except ValueError:
                    break
            elif want != got:
                break
        else:
            return fn, ident
    return None, None


# ------------------------------------------------------------------------------ HTTP ----

def media_type(value):
    """'application/json; charset=utf-8' -> 'application/json' ('' when absent)."""
    return (value or "").split(";", 1)[0].strip().lower()


def redact(key):
    """Show a rejected key the way Stripe does: known prefix, stars, last four characters."""
    m = re.match(r"^((?:sk|rk|pk)_(?:test|live)_)(.*)$", key, re.S)
    prefix, rest = (m.group(1), m.group(2)) if m else ("", key)
    if len(rest) < 8:
        return prefix + "*" * len(rest)
    return prefix + "*" * (len(rest) - 4) + rest[-4:]


def basic_candidates(cred):
    """Keys an 'Authorization: Basic' credential may carry: the raw text (Stripe accepts
    'Basic <key>') and the user name of base64('<key>:<ignored password>')."""
    out = [cred]
    try:
        user = base64.b64decode(cred, validate=True).decode("latin-1").partition(":")[0]
        out.append(user)
    except (binascii.Error, ValueError):
        pass
    return out


class Handler(BaseHTTPRequestHandler):
    """One request on either listener; subclasses set service to 'amberflo' or 'stripe'."""
    protocol_version = "HTTP/1.1"
    server_version = "arazzo-sandbox/1"
    timeout = 60
    service = None
    log_lock = threading.Lock()

    def log_message(self, fmt, *args):
        """Silence http.server's own access log; _handle writes one line per request."""

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def fail(self, status, message, code):
        """A service-shaped error for problems found before routing."""
        if self.service == "amberflo":
            return amberflo_error(status, message, code)
        return stripe_error(status, message, etype="api_error" if status >= 500
                            else "invalid_request_error")

    def _handle(self):
        state = self.server.state
        path, _, query = self.path.partition("?")
        status, payload, headers = 500, None, {}
        self.request_id = None
        try:
            body = self._read_body()
            with state.lock:
                try:
                    status, payload, headers = self._dispatch(state, path, query, body)
                finally:
                    if self.command == "POST":
                        state.dump()
        except HttpError as e:
            status, payload, headers = e.status, e.payload, e.headers
        except Exception:  # a sandbox bug: report it, keep serving
            traceback.print_exc()
            e = self.fail(500, "internal sandbox error", "INTERNAL")
            status, payload = e.status, e.payload
        with state.lock:
            state.log(self.service, self.command, path, status)
        with self.log_lock:
            sys.stderr.write("sandbox %s %s %s %d\n" % (self.service, self.command, path, status))
            sys.stderr.flush()
        self._send(status, payload, headers)

    def _read_body(self):
        """The request body (Content-Length or chunked). A body over MAX_BODY is drained (up to
        8 x MAX_BODY, so the client still reads the 413) or else the connection is closed."""
        if self.headers.get("Transfer-Encoding") is not None:
            return self._read_chunked()
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return b""
        if len(set(lengths)) != 1 or not re.fullmatch(r"[0-9]{1,12}", lengths[0].strip()):
            self.close_connection = True
            raise self.fail(400, "invalid Content-Length header", "BAD_REQUEST")
        n = int(lengths[0])
        if n > MAX_BODY:
            if n > 8 * MAX_BODY:
                self.close_connection = True
            else:
                while n > 0 and self.rfile.read(min(n, 65536)):
                    n -= 65536
            raise self.fail(413, "request body is larger than %d bytes" % MAX_BODY,
                            "PAYLOAD_TOO_LARGE")
        data = self.rfile.read(n)
        if len(data) != n:
            self.close_connection = True
            raise self.fail(400, "request body is shorter than its Content-Length", "BAD_REQUEST")
        return data

    def _read_chunked(self):
        """Decode Transfer-Encoding: chunked; malformed framing closes the connection."""
        if self.headers.get("Transfer-Encoding").strip().lower() != "chunked":
            self.close_connection = True
            raise self.fail(400, "unsupported Transfer-Encoding", "BAD_REQUEST")
        parts, total = [], 0
        while True:
            line = self.rfile.readline(1024)
            m = re.fullmatch(rb"([0-9A-Fa-f]{1,8})(?:;[^\r\n]*)?\r\n", line)
            if not m:
                self.close_connection = True
                raise self.fail(400, "malformed chunked body", "BAD_REQUEST")
            size = int(m.group(1), 16)
            total += size
            if total > MAX_BODY:
                self.close_connection = True
                raise self.fail(413, "request body is larger than %d bytes" % MAX_BODY,
                                "PAYLOAD_TOO_LARGE")
            if size == 0:
                break
            parts.append(self.rfile.read(size))
            if len(parts[-1]) != size or self.rfile.readline(3) != b"\r\n":
                self.close_connection = True
                raise self.fail(400, "malformed chunked body", "BAD_REQUEST")
        while True:  # trailer section
            line = self.rfile.readline(8192)
            if line in (b"\r\n", b"\n", b""):
                break
        return b"".join(parts)

    def _send(self, status, payload, headers):
        indent = None if self.service == "amberflo" else 2
        data = json.dumps(payload, indent=indent, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.request_id:
            self.send_header("Request-Id", self.request_id)
        for k, v in headers.items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _dispatch(self, state, path, query, body):
        """Route to the sandbox control endpoints or the service; returns (status, payload,
        headers) or raises HttpError."""
        if path == "/__sandbox/state" and self.command == "GET":
            return 200, state.snapshot(), {}
        if path == "/__sandbox/reset" and self.command == "POST":
            state.reset()
            return 200, {"reset": True}, {}
        if self.service == "amberflo":
            return self._amberflo(state, path, query, body)
        return self._stripe(state, path, query.encode("latin-1"), body)

    def _amberflo(self, state, path, query, body):
        if path != "/ingest" or self.command != "POST":
            raise amberflo_error(404, "no route for %s %s" % (self.command, path), "NOT_FOUND")
        keys = self.headers.get_all("X-API-KEY") or []
        if not keys:
            raise amberflo_error(401, "missing X-API-KEY header", "UNAUTHORIZED")
        if len(keys) != 1 or not hmac.compare_digest(keys[0].encode("latin-1"),
                                                     self.server.key.encode("utf-8")):
            raise amberflo_error(401, "invalid API key", "UNAUTHORIZED")
        if query:
            raise amberflo_error(400, "/ingest takes no query parameters", "BAD_REQUEST")
        ctype = media_type(self.headers.get("Content-Type"))
        if ctype != "application/json":
            raise amberflo_error(400, "Content-Type must be application/json, got %s"
                                 % (ctype or "none"), "BAD_REQUEST")
        try:
            records = parse_meter_records(body)
        except ValueError as e:
            raise amberflo_error(400, str(e), "BAD_REQUEST")
        status, payload = amberflo_ingest(state, records)
        return status, payload, {}

    def _stripe_auth(self):
        """Accept 'Bearer <key>', 'Basic <key>' or Basic base64('<key>:'); raise 401."""
        def unauthorized(message):
            return stripe_error(401, message,
                                headers={"WWW-Authenticate": 'Basic realm="Stripe"'})
        vals = self.headers.get_all("Authorization") or []
        if not vals:
            raise unauthorized("You did not provide an API key. You need to provide your API key "
                               "in the Authorization header, using Bearer auth (e.g. "
                               "'Authorization: Bearer YOUR_SECRET_KEY').")
        scheme, _, cred = vals[0].strip().partition(" ")
        cred = cred.strip()
        if len(vals) != 1 or scheme.lower() not in ("bearer", "basic") or not cred:
            raise unauthorized("Invalid Authorization header: use 'Bearer <secret key>' or Basic "
                               "auth with the secret key as the user name.")
        cands = [cred] if scheme.lower() == "bearer" else basic_candidates(cred)
        want = self.server.key.encode("utf-8")
        if not any(hmac.compare_digest(c.encode("latin-1"), want) for c in cands):
            raise unauthorized("Invalid API Key provided: %s" % redact(cands[-1]))

    def _stripe(self, state, path, query, body):
        self.request_id = state.next_id("req")
        self._stripe_auth()
        fn, ident = stripe_route(self.command, path)
        if fn is None:
            raise stripe_error(404, "Unrecognized request URL (%s: %s). Please see "
                               "https://stripe.com/docs or we can help at "
                               "https://support.stripe.com/." % (self.command, path))
        if self.command == "GET":
            if body:
                raise stripe_error(400, "A GET request cannot carry a body; send parameters in "
                                   "the query string")
            status, payload = fn(state, parse_form(query), ident)
            return status, payload, {}
        if query:
            raise stripe_error(400, "Send POST parameters in the request body, not in the query "
                               "string")
        ctype = media_type(self.headers.get("Content-Type"))
        if body and ctype != "application/x-www-form-urlencoded":
            raise stripe_error(400, "Invalid request: unsupported Content-Type %s. Send "
                               "application/x-www-form-urlencoded." % (ctype or "(none)"))
        return self._idempotent(state, path, body, lambda: fn(state, parse_form(body), ident))

    def _idempotent(self, state, path, body, run):
        """Run a POST once per Idempotency-Key: the same method, path and body bytes replay the
        saved response; different ones are an idempotency_error."""
        keys = self.headers.get_all("Idempotency-Key") or []
        if not keys:
            status, payload = run()
            return status, payload, {}
        key = keys[0]
        if len(keys) != 1 or not 1 <= len(key) <= 255:
            raise stripe_error(400, "Invalid Idempotency-Key: send one key of 1 to 255 "
                               "characters", etype="idempotency_error")
        fp = hashlib.sha256(("%s %s\n" % (self.command, path)).encode("latin-1") + body)
        rec = state.idem.get(key)
        if rec is not None:
            if rec["fingerprint"] != fp.hexdigest():
                raise stripe_error(400, "Keys for idempotent requests can only be used with the "
                                   "same parameters they were first used with. Try using a key "
                                   "other than '%s' if you meant to execute a different request."
                                   % key, etype="idempotency_error")
            return rec["status"], rec["payload"], {"Idempotency-Key": key,
                                                   "Idempotent-Replayed": "true",
                                                   "Original-Request": rec["request_id"]}

        def save(status, payload):
            state.idem[key] = {"fingerprint": fp.hexdigest(), "method": self.command,
                               "path": path, "status": status, "payload": payload,
                               "request_id": self.request_id}
        try:
            status, payload = run()
        except HttpError as e:
            if e.save:
                save(e.status, e.payload)
            raise
        save(status, payload)
        return status, payload, {"Idempotency-Key": key}


class Server(ThreadingHTTPServer):
    """A loopback listener that carries the shared state and its service's secret key."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port, handler, state, key):
        self.state, self.key = state, key
        ThreadingHTTPServer.__init__(self, ("127.0.0.1", port), handler)

    def server_bind(self):
        # skip HTTPServer's getfqdn() lookup: it can stall on hosts without DNS
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name, self.server_port = self.server_address[:2]


class AmberfloHandler(Handler):
    service = "amberflo"


class StripeHandler(Handler):
    service = "stripe"


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Local Amberflo ingest + Stripe invoicing sandbox "
                                 "(127.0.0.1 only). See examples/billing/SANDBOX.md.")
    ap.add_argument("--amberflo-port", type=int, default=18081, help="0 picks a free port")
    ap.add_argument("--stripe-port", type=int, default=18082, help="0 picks a free port")
    ap.add_argument("--amberflo-key", default=os.environ.get("SANDBOX_AMBERFLO_KEY",
                                                             "amb_sandbox_key"))
    ap.add_argument("--stripe-key", default=os.environ.get("SANDBOX_STRIPE_KEY",
                                                           "sk_test_sandbox"))
    ap.add_argument("--state-dir", help="write state.json here after every POST and at exit")
    ap.add_argument("--ready-file", help="write the base URLs here once both ports listen")
    ap.add_argument("--clock", type=int, help="fixed Unix time for created/date fields")
    ap.add_argument("--lifetime", type=float, help="exit by itself after this many seconds "
                    "(a safety net for tests that may die before they stop it)")
    ap.add_argument("--stripe-zero-paid", action="store_true",
                    help="finalizing an invoice whose amount_due is 0 marks it paid, as Stripe does")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not args.amberflo_key or not args.stripe_key:
        sys.stderr.write("sandbox: API keys must not be empty\n")
        return 2
    if args.state_dir:
        os.makedirs(args.state_dir, exist_ok=True)
    state = State(args.clock, args.stripe_zero_paid, args.state_dir)
    try:
        servers = [Server(args.amberflo_port, AmberfloHandler, state, args.amberflo_key),
                   Server(args.stripe_port, StripeHandler, state, args.stripe_key)]
    except OSError as e:
        sys.stderr.write("sandbox: cannot listen on 127.0.0.1: %s\n" % e)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    for s in servers:
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()
    ready = "AMBERFLO_URL=http://127.0.0.1:%d\nSTRIPE_URL=http://127.0.0.1:%d\nSANDBOX_PID=%d\n" % (
        servers[0].server_port, servers[1].server_port, os.getpid())
    with state.lock:
        state.dump()
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(ready)
        os.replace(args.ready_file + ".tmp", args.ready_file)
    sys.stdout.write(ready)
    sys.stdout.flush()
    deadline = time.monotonic() + args.lifetime if args.lifetime else None
    while not stop.wait(0.2):
        if deadline is not None and time.monotonic() >= deadline:
            sys.stderr.write("sandbox: lifetime of %g s is over\n" % args.lifetime)
            break
    for s in servers:
        s.shutdown()
        s.server_close()
    with state.lock:
        state.dump()
    sys.stderr.write("sandbox: stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
