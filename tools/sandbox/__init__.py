"""sandbox: a local stand-in for Amberflo ingest and Stripe invoicing, for tests and demos.

Two HTTP/1.1 listeners on 127.0.0.1 in one process share one in-memory state. Standard library
only (Debian's python3). Run it as `python3 tools/sandbox.py` (or `python3 -m sandbox` from
tools/). What is simulated and every simplification: examples/billing/SANDBOX.md.

Modules: common (limits, error responses), amberflo (strict JSON, meter records, /ingest),
form (Stripe's form bodies and parameter kinds), stripe (invoice operations, auth,
idempotency), state (the shared state), httpcore (request framing, listeners), __main__ (CLI).
Licence: MIT (see LICENSE).
"""
