#!/usr/bin/env python3
"""testserver.py: loopback HTTP/1.1 test server for the arazzo specs (stdlib only).

Usage: testserver.py --port-file PATH [--tls CERT KEY] [--blackhole]

Binds 127.0.0.1 on a free port, then writes the port number to PATH
(atomically, after listen(), so the server already accepts when the file
appears). Keep-alive HTTP/1.1; every response carries Content-Length.

Endpoints (any method unless noted):
  /echo              JSON: method, target, path, query, headers [[name, value], ...],
                     body (UTF-8, invalid bytes replaced), body_len, client_port
  /raw               the request body back, same Content-Type
  /status/<n>        empty response with status n
  /slow?ms=N         sleeps N ms, then 200 "slow"
  /big?bytes=N       N bytes of "x"
  /gzip?bytes=N      N zero bytes, gzip-encoded (Content-Encoding: gzip);
                     without bytes= a small gzip-encoded text
  /redirect?to=URL&status=S   redirect (default 302) to URL
  /redirect?n=K      a chain of K redirects ending at /echo
                     (both forms: &ms=N sleeps N ms before answering)
  /headers           repeated X-Multi headers and two Set-Cookie headers
  /retry-after?value=V  429 with Retry-After: V
  /early             a 103 Early Hints interim response, then 200
  /conns             number of currently open client connections
  /many-headers?n=N  N response headers X-H<i> of 1000 bytes each
  /set-headers?A=1&B=2&A=3  200 "s" with exactly those response headers, in
                     that order (repeats included), and no Content-Type
  /folded            raw response with an obs-fold continuation line and an empty header
  /truncated         promises 10 body bytes, sends 5, closes the connection
  /hangup            closes the connection without answering

--blackhole: listen with a backlog of 0 and never accept; the accept queue
is filled at start so further connection attempts time out.
"""
import gzip
import json
import os
import socket
import ssl
import sys
import threading
import time
from http.server import ThreadingHTTPServer

from httpbase import BaseHandler
from urllib.parse import parse_qs, parse_qsl, urlsplit

OPEN = {"n": 0}
OPEN_LOCK = threading.Lock()


class Handler(BaseHandler):
    server_version = "arazzo-testserver"

    def setup(self):
        super().setup()
        with OPEN_LOCK:
            OPEN["n"] += 1

    def finish(self):
        try:
            super().finish()
        finally:
            with OPEN_LOCK:
                OPEN["n"] -= 1

    def reply(self, status, body=b"", ctype="text/plain", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def dispatch(self):
        body = self.read_body()
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        path = url.path
        if path == "/echo":
            doc = {
                "method": self.command,
                "target": self.path,
                "path": path,
                "query": q,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body": body.decode("utf-8", "replace"),
                "body_len": len(body),
                "client_port": self.client_address[1],
            }
            self.reply(200, json.dumps(doc).encode(), "application/json")
        elif path == "/raw":
            self.reply(200, body, self.headers.get("Content-Type") or "application/octet-stream")
        elif path.startswith("/status/"):
            self.reply(int(path[8:]), b"", None)
        elif path == "/slow":
            time.sleep(int(q.get("ms", "1000")) / 1000.0)
            self.reply(200, b"slow")
        elif path == "/big":
            self.reply(200, b"x" * int(q.get("bytes", "0")))
        elif path == "/gzip":
            raw = (b"\0" * int(q["bytes"])) if "bytes" in q else b"hello, gzip world\n" * 4
            self.reply(200, gzip.compress(raw), "text/plain", [("Content-Encoding", "gzip")])
        elif path == "/redirect":
            time.sleep(int(q.get("ms", "0")) / 1000.0)
            if "n" in q:
                n = int(q["n"])
                to = "/echo" if n <= 1 else "/redirect?n=%d" % (n - 1)
            else:
                to = q.get("to", "/echo")
            self.reply(int(q.get("status", "302")), b"", None,
                       [("Location", to), ("X-Redirect", "yes")])
        elif path == "/headers":
            self.reply(200, b"h", "text/plain", [
                ("X-Multi", "a"), ("Set-Cookie", "a=1; Path=/"), ("X-Multi", "b"),
                ("Set-Cookie", "b=2"), ("X-Spaced", "  padded value  ")])
        elif path == "/retry-after":
            self.reply(429, b"", None, [("Retry-After", q.get("value", "1"))])
        elif path == "/early":
            self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
            self.reply(200, b"final")
        elif path == "/many-headers":
            n = int(q.get("n", "1"))
            self.reply(200, b"m", "text/plain", [("X-H%d" % i, "v" * 1000) for i in range(n)])
        elif path == "/set-headers":
            self.reply(200, b"s", None, parse_qsl(url.query, keep_blank_values=True))
        elif path == "/folded":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Fold: first\r\n   second\r\n\tthird\r\n"
                             b"X-Empty:\r\nX-Fold: again\r\nContent-Length: 2\r\n\r\nok")
        elif path == "/truncated":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello")
            self.close_connection = True
        elif path == "/hangup":
            self.close_connection = True
        elif path == "/conns":
            with OPEN_LOCK:
                n = OPEN["n"]
            self.reply(200, str(n).encode())
        else:
            self.reply(404, b"not found")


def write_port(path, port):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, path)


def blackhole(port_file):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(0)
    port = s.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(c)
    time.sleep(0.2)
    write_port(port_file, port)
    while True:
        time.sleep(3600)


def main(argv):
    port_file, tls, hole = None, None, False
    i = 0
    while i < len(argv):
        if argv[i] == "--port-file":
            port_file = argv[i + 1]
            i += 2
        elif argv[i] == "--tls":
            tls = (argv[i + 1], argv[i + 2])
            i += 3
        elif argv[i] == "--blackhole":
            hole = True
            i += 1
        else:
            sys.exit("testserver.py: unknown argument %r" % argv[i])
    if not port_file:
        sys.exit("testserver.py: --port-file is required")
    if hole:
        blackhole(port_file)
        return
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls[0], tls[1])
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    write_port(port_file, httpd.server_address[1])
    httpd.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
