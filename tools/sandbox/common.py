"""common.py: the sandbox's limits and the error responses of both services.
Licence: MIT (see LICENSE).
"""

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
