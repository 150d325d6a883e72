#!/usr/bin/env python3
"""bench/wire_check.py: proves the floor sends the runner's bytes.

A one-shot HTTP/1.1 keep-alive server on 127.0.0.1 that answers with the
stub's canned bodies (taken from bench/nginx/nginx.conf.in, so the two cannot
drift) and records every request's raw bytes (request line, headers, body).
After 2*K requests it compares request i with request K+i byte for byte,
prints the verdict and exits: 0 when all K pairs are identical, 1 otherwise.
bench/run.sh sends one runner workflow run (K = 3 requests), then one floor
run.

    python3 bench/wire_check.py K PORT-FILE [NGINX-TEMPLATE]

The chosen port is written to PORT-FILE once listening. Licence: MIT.
"""
import difflib
import re
import socket
import sys


def canned(template):
    """{path: body} from the template's `location = PATH { ... return 200 '...'; }`."""
    text = open(template, encoding="utf-8").read()
    pat = re.compile(r"location = (\S+) \{.*?return 200 '([^']*)';", re.S)
    return {m.group(1): m.group(2).encode() for m in pat.finditer(text)}


def read_request(conn, buf):
    """One raw request from conn (buf: bytes already read). -> (raw, rest) or (None, b"")."""
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        if name.strip().lower() == b"transfer-encoding":
            raise SystemExit("wire_check: chunked request bodies are not expected")
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        rest += chunk
    return head + b"\r\n\r\n" + rest[:length], rest[length:]


def answer(conn, raw, bodies):
    path = raw.split(b" ", 2)[1].decode()
    body = bodies.get(path)
    status = b"200 OK" if body is not None else b"404 Not Found"
    body = body if body is not None else b'{"error":"not stubbed"}'
    conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\nConnection: keep-alive\r\n\r\n" + body)


def main():
    k, port_file = int(sys.argv[1]), sys.argv[2]
    bodies = canned(sys.argv[3] if len(sys.argv) > 3 else "bench/nginx/nginx.conf.in")
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(60)
    with open(port_file, "w", encoding="ascii") as f:
        f.write(str(srv.getsockname()[1]))
    seen = []
    while len(seen) < 2 * k:
        conn, _ = srv.accept()
        buf = b""
        with conn:
            while len(seen) < 2 * k:
                raw, buf = read_request(conn, buf)
                if raw is None:
                    break
                seen.append(raw)
                answer(conn, raw, bodies)
    bad = 0
    for i in range(k):
        a, b = seen[i], seen[k + i]
        if a != b:
            bad += 1
            a_l = a.decode("latin-1").splitlines()
            b_l = b.decode("latin-1").splitlines()
            print("wire_check: request %d differs:" % (i + 1))
            print("\n".join(difflib.unified_diff(a_l, b_l, "runner", "floor", lineterm="")))
    if bad:
        return 1
    print("wire_check: the floor's %d requests are byte-identical to the runner's (%d bytes)"
          % (k, sum(len(r) for r in seen[:k])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
