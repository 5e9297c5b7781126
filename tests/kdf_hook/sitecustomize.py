"""Test suite only: lower the KDF floor in a subprocess the suite starts.

Python imports ``sitecustomize`` at start-up from the first folder on ``sys.path`` that has
one; ``tests/e2e_support.fast_kdf_env`` puts this folder on ``PYTHONPATH`` so that the real
``pc-client`` / ``mobile-stub`` / ``sync-server`` processes of the end-to-end tests may write
fast PFX files (``PC_CLIENT_PFX_ITERATIONS=1000``). Without this file on the path the same
environment variable is refused (``sync_client.kdf_floor``): the variable alone cannot weaken
anything.
"""

from sync_client.kdf_floor import _lower_floor_for_tests

# The suite's own counts are 1,000 and 2,048; 1 keeps the hook out of their way.
_lower_floor_for_tests(1)
