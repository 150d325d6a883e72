"""amberflo.py: Amberflo's side of the sandbox: strict JSON, meter records, POST /ingest.
Licence: MIT (see LICENSE).
"""

import hmac
import json
import math

from .common import INT64_MAX, MAX_RECORDS, amberflo_error
from .httpcore import Handler, media_type



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


class AmberfloHandler(Handler):
    """The Amberflo listener: POST /ingest with an X-API-KEY header."""
    service = "amberflo"

    def _route(self, state, path, query, body):
        """POST /ingest: check the key, the query and the Content-Type, then store the records."""
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
