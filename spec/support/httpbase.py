"""httpbase.py: the request-handler plumbing shared by the specs' loopback
servers (testserver.py, canned_server.py): HTTP/1.1 keep-alive without Nagle
stalls, no access log, every method routed to self.dispatch, and request
bodies read from Content-Length or chunked framing.
Licence: MIT (see LICENSE)."""
import socket
from http.server import BaseHTTPRequestHandler


class BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sys_version = ""

    def setup(self):
        super().setup()
        # Headers and body go out as separate writes: without TCP_NODELAY,
        # Nagle plus the client's delayed ACK adds ~40 ms per response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self.dispatch
        raise AttributeError(name)

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""
