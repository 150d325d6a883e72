#!/usr/bin/env python3
"""fileserver.py: serve one directory read-only on 127.0.0.1 for specs.

Usage: fileserver.py --port-file F --root DIR
Binds port 0, writes the chosen port to F after listen(), serves GET/HEAD
of files under DIR (HTTP/1.1, Content-Length always), 404 for the rest.
Licence: MIT (see LICENSE)."""
import argparse
import functools
import http.server
import os


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--root", required=True)
    args = ap.parse_args()
    handler = functools.partial(Handler, directory=os.path.abspath(args.root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
