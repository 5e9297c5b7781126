"""``python -m mobile_stub``: the same as the ``mobile-stub`` command."""

import sys

from mobile_stub.cli import main

sys.exit(main())
