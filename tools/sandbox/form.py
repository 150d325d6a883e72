"""form.py: Stripe's strict form bodies: parsing, parameter kinds and their coercion.
Licence: MIT (see LICENSE).
"""

import re

from .common import INT64_MAX, INT64_MIN, MAX_FORM_PAIRS, MAX_KEY_DEPTH, stripe_error


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
