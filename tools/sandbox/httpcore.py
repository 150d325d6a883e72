"""httpcore.py: the HTTP/1.1 core both services share: request framing, dispatch, listeners.
Licence: MIT (see LICENSE).
"""

import json
import re
import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .common import MAX_BODY, HttpError, amberflo_error, stripe_error


def media_type(value):
    """'application/json; charset=utf-8' -> 'application/json' ('' when absent)."""
    return (value or "").split(";", 1)[0].strip().lower()


class Handler(BaseHTTPRequestHandler):
    """One request on either listener; subclasses set service to 'amberflo' or 'stripe'
    and implement _route."""
    protocol_version = "HTTP/1.1"
    server_version = "arazzo-sandbox/1"
    timeout = 60
    service = None
    log_lock = threading.Lock()

    def setup(self):
        """Headers and body go out in two writes; without TCP_NODELAY, Nagle's algorithm and
        the client's delayed ACK hold the body back for ~40 ms on every keep-alive response."""
        BaseHTTPRequestHandler.setup(self)
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

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
        return self._route(state, path, query, body)

    def _route(self, state, path, query, body):
        """The service's own routes (AmberfloHandler, StripeHandler); query is the raw query
        string. Returns (status, payload, headers) or raises HttpError."""
        raise NotImplementedError


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
