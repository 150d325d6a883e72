"""stripe.py: Stripe's side of the sandbox: invoice operations, routes, auth, idempotency.
Licence: MIT (see LICENSE).
"""

import base64
import binascii
import hashlib
import hmac
import re

from .common import INT64_MAX, INT64_MIN, HttpError, stripe_error
from .form import (FINALIZE_PARAMS, INVOICE_PARAMS, ITEM_PARAMS, LIST_ITEM_PARAMS, check_params,
                   form_unescape, parse_form)
from .httpcore import Handler, media_type


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


class StripeHandler(Handler):
    """The Stripe listener: the routes in STRIPE_ROUTES, with secret-key auth."""
    service = "stripe"

    def _route(self, state, path, query, body):
        """Stripe reads the query string as form bytes."""
        return self._stripe(state, path, query.encode("latin-1"), body)

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
