"""__main__.py: the sandbox's command line: start both listeners and serve until stopped.
Licence: MIT (see LICENSE).
"""

import argparse
import os
import signal
import sys
import threading
import time

from .amberflo import AmberfloHandler
from .httpcore import Server
from .state import State
from .stripe import StripeHandler


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Local Amberflo ingest + Stripe invoicing sandbox "
                                 "(127.0.0.1 only). See examples/billing/SANDBOX.md.")
    ap.add_argument("--amberflo-port", type=int, default=18081, help="0 picks a free port")
    ap.add_argument("--stripe-port", type=int, default=18082, help="0 picks a free port")
    ap.add_argument("--amberflo-key", default=os.environ.get("SANDBOX_AMBERFLO_KEY",
                                                             "amb_sandbox_key"))
    ap.add_argument("--stripe-key", default=os.environ.get("SANDBOX_STRIPE_KEY",
                                                           "sk_test_sandbox"))
    ap.add_argument("--state-dir", help="write state.json here after every POST and at exit")
    ap.add_argument("--ready-file", help="write the base URLs here once both ports listen")
    ap.add_argument("--clock", type=int, help="fixed Unix time for created/date fields")
    ap.add_argument("--lifetime", type=float, help="exit by itself after this many seconds "
                    "(a safety net for tests that may die before they stop it)")
    ap.add_argument("--stripe-zero-paid", action="store_true",
                    help="finalizing an invoice whose amount_due is 0 marks it paid, as Stripe does")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not args.amberflo_key or not args.stripe_key:
        sys.stderr.write("sandbox: API keys must not be empty\n")
        return 2
    if args.state_dir:
        os.makedirs(args.state_dir, exist_ok=True)
    state = State(args.clock, args.stripe_zero_paid, args.state_dir)
    try:
        servers = [Server(args.amberflo_port, AmberfloHandler, state, args.amberflo_key),
                   Server(args.stripe_port, StripeHandler, state, args.stripe_key)]
    except OSError as e:
        sys.stderr.write("sandbox: cannot listen on 127.0.0.1: %s\n" % e)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    for s in servers:
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()
    ready = "AMBERFLO_URL=http://127.0.0.1:%d\nSTRIPE_URL=http://127.0.0.1:%d\nSANDBOX_PID=%d\n" % (
        servers[0].server_port, servers[1].server_port, os.getpid())
    with state.lock:
        state.dump()
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(ready)
        os.replace(args.ready_file + ".tmp", args.ready_file)
    sys.stdout.write(ready)
    sys.stdout.flush()
    deadline = time.monotonic() + args.lifetime if args.lifetime else None
    while not stop.wait(0.2):
        if deadline is not None and time.monotonic() >= deadline:
            sys.stderr.write("sandbox: lifetime of %g s is over\n" % args.lifetime)
            break
    for s in servers:
        s.shutdown()
        s.server_close()
    with state.lock:
        state.dump()
    sys.stderr.write("sandbox: stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
