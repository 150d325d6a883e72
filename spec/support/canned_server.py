#!/usr/bin/env python3
"""canned_server.py: loopback HTTP/1.1 server answering with canned responses
for the conformance specs (Python 3 stdlib only, 127.0.0.1, keep-alive).

Usage: canned_server.py --port-file PATH [--idle-exit SECONDS]

Binds 127.0.0.1 on a free port and writes the port number to PATH (atomically,
after listen(), so the server accepts when the file appears); this is the
protocol spec/support/server.lua expects. Every response carries
Content-Length. The server exits by itself after --idle-exit seconds
(default 300) without a request, so a spec run that dies before its
teardown cannot leave it behind for long.

Requests are addressed as /<source>/<path>: the spec maps each source
description's server to http://127.0.0.1:<port>/<source>, so <path> is the
operation path relative to the source's server URL.

Control endpoints (never counted, never matched against mocks):
  PUT /__mocks   body: JSON array of mocks; replaces the mock set and clears
                 the call log. Answers 204.
  GET /__calls   JSON {"count": n, "calls": [call, ...]} where call is
                 {"method", "source", "path", "query", "headers", "body",
                 "mock", "client_port"} (mock: index of the answering mock,
                 or null; client_port: the peer's port, which shows
                 connection reuse).

A mock is a JSON object:
  source   source name the mock applies to, or null for any source
  method   HTTP method (any case)
  path     path relative to the source's server; "{name}" segments match any
           one non-empty segment
  query    optional {name: [values]}: each name must be present with exactly
           these values (repeated, or one comma-separated value)
  body     optional JSON object: each member must equal the request body's
           member (JSON body, or form fields compared as strings)
  status   response status
  kind     "json" (body: the JSON value in "json"), "text" (body: "text"),
           or "none" (empty body)
  headers  optional {name: value} response headers
  rank     0 for a workflow's own mocks, 1 for the scenario's global ones

When several mocks match, the lowest rank wins, then a literal path over a
templated one, then the mock with more query/body constraints, then the first
in the list. A request no mock matches is answered 404 with a text body naming
the method, route and source; it still counts as a call.
"""
import json
import os
import sys
import threading
import time
from http.server import ThreadingHTTPServer

from httpbase import BaseHandler
from urllib.parse import parse_qs, unquote, urlsplit

STATE = {"mocks": [], "calls": [], "last": time.monotonic()}
LOCK = threading.Lock()


def split_path(path):
    """Path -> list of percent-decoded segments (empty segments dropped)."""
    return [unquote(s) for s in path.split("/") if s != ""]


def path_match(pattern, segments):
    """Return (matches, templated) for a mock path against request segments."""
    want = [s for s in pattern.split("/") if s != ""]
    if len(want) != len(segments):
        return False, False
    templated = False
    for w, s in zip(want, segments):
        if len(w) > 2 and w[0] == "{" and w[-1] == "}":
            templated = True
            if s == "":
                return False, templated
        elif w != s:
            return False, templated
    return True, templated


def as_text(v):
    """A JSON scalar as it appears in a query string or form field."""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def query_match(want, query):
    """Every wanted name present with exactly the wanted values."""
    for name, values in want.items():
        values = [as_text(v) for v in (values if isinstance(values, list) else [values])]
        got = query.get(name)
        if got is None:
            return False
        if got == values:
            continue
        if len(got) == 1 and got[0].split(",") == values:
            continue
        return False
    return True


def same(a, b):
    """Deep JSON equality; numbers by value, booleans never equal numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def body_match(want, raw, ctype):
    """Every wanted member equals the request body's member."""
    if "json" in ctype:
        try:
            got = json.loads(raw.decode("utf-8"))
        except ValueError:
            return False
        if not isinstance(got, dict):
            return False
        return all(k in got and same(v, got[k]) for k, v in want.items())
    if "x-www-form-urlencoded" in ctype:
        got = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        return all(got.get(k) == [as_text(v)] for k, v in want.items())
    return False


def choose(source, method, segments, query, raw, ctype):
    """Index of the best matching mock, or None."""
    best, best_key = None, None
    for i, m in enumerate(STATE["mocks"]):
        if m.get("source") not in (None, source):
            continue
        if str(m.get("method", "")).upper() != method:
            continue
        ok, templated = path_match(m.get("path", "/"), segments)
        if not ok:
            continue
        if m.get("query") is not None and not query_match(m["query"], query):
            continue
        if m.get("body") is not None and not body_match(m["body"], raw, ctype):
            continue
        constraints = len(m.get("query") or {}) + len(m.get("body") or {})
        key = (m.get("rank", 1), 1 if templated else 0, -constraints, i)
        if best_key is None or key < best_key:
            best, best_key = i, key
    return best


class Handler(BaseHandler):
    server_version = "arazzo-canned"

    def reply(self, status, body=b"", ctype=None, headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        if ctype and body:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def control(self, path, raw):
        if path == "/__mocks" and self.command == "PUT":
            try:
                mocks = json.loads(raw.decode("utf-8"))
            except ValueError as e:
                self.reply(400, ("bad mocks: %s" % e).encode(), "text/plain")
                return
            if not isinstance(mocks, list):
                self.reply(400, b"bad mocks: a JSON array is expected", "text/plain")
                return
            with LOCK:
                STATE["mocks"] = mocks
                STATE["calls"] = []
            self.reply(204)
        elif path == "/__calls" and self.command == "GET":
            with LOCK:
                doc = {"count": len(STATE["calls"]), "calls": STATE["calls"]}
            self.reply(200, json.dumps(doc).encode(), "application/json")
        else:
            self.reply(404, ("no control endpoint %s %s" % (self.command, path)).encode(), "text/plain")

    def dispatch(self):
        with LOCK:
            STATE["last"] = time.monotonic()
        raw = self.read_body()
        url = urlsplit(self.path)
        if url.path.startswith("/__"):
            self.control(url.path, raw)
            return
        segments = split_path(url.path)
        source = segments[0] if segments else ""
        rest = segments[1:]
        route = "/" + "/".join(rest)
        query = parse_qs(url.query, keep_blank_values=True)
        ctype = (self.headers.get("Content-Type") or "").lower()
        with LOCK:
            idx = choose(source, self.command, rest, query, raw, ctype)
            mock = STATE["mocks"][idx] if idx is not None else None
            STATE["calls"].append({
                "method": self.command, "source": source, "path": route, "query": url.query,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body": raw.decode("utf-8", "replace"), "mock": idx,
                "client_port": self.client_address[1],
            })
        if mock is None:
            msg = "canned_server: no mock for %s %s%s (source '%s')" % (
                self.command, route, "?" + url.query if url.query else "", source)
            self.reply(404, msg.encode(), "text/plain")
            return
        kind = mock.get("kind", "none")
        if kind == "json":
            body, ctype = json.dumps(mock.get("json")).encode(), "application/json"
        elif kind == "text":
            body, ctype = str(mock.get("text", "")).encode(), "text/plain"
        else:
            body, ctype = b"", None
        self.reply(int(mock.get("status", 200)), body, ctype, mock.get("headers"))


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def watchdog(idle):
    """Exit the process once no request has arrived for `idle` seconds."""
    while True:
        time.sleep(min(1.0, idle / 4))
        with LOCK:
            quiet = time.monotonic() - STATE["last"]
        if quiet > idle:
            os._exit(0)


def main(argv):
    port_file, idle = None, 300.0
    i = 0
    while i < len(argv):
        if argv[i] == "--port-file" and i + 1 < len(argv):
            port_file = argv[i + 1]
        elif argv[i] == "--idle-exit" and i + 1 < len(argv):
            idle = float(argv[i + 1])
        else:
            sys.exit("usage: canned_server.py --port-file PATH [--idle-exit SECONDS]")
        i += 2
    if not port_file:
        sys.exit("usage: canned_server.py --port-file PATH [--idle-exit SECONDS]")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=watchdog, args=(idle,), daemon=True).start()
    write_port(port_file, httpd.server_address[1])
    httpd.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
