#!/usr/bin/env python3
"""sandbox.py: start the local Amberflo + Stripe sandbox (the package tools/sandbox/).

`python3 tools/sandbox.py [options]` runs the package's command line (see sandbox/__main__.py
and examples/billing/SANDBOX.md); scripts/sandbox.sh starts it this way. No bytecode is written
into the source tree.
Licence: MIT (see LICENSE).
"""

import os
import sys

if __name__ == "__main__":
    sys.dont_write_bytecode = True
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from sandbox.__main__ import main
    sys.exit(main())
