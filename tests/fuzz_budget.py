"""How much the fuzz tests try: one place for every ``hypothesis`` budget in the suite.

Two profiles, chosen once by the environment:

- ``ci`` (``CI=true``): derandomized, so a CI run tries the same examples every time and a red
  build stays red on a re-run; no example database (CI machines throw it away).
- ``default`` (a developer's run): random examples, so each run looks somewhere new; the same
  small budget, so the suite stays fast. A failure prints ``@reproduce_failure(...)`` to
  replay it (there is no example database: nothing is written into the checkout).

Either way there is no per-example deadline (a shared 2-core machine makes timings noise, and
a slow example is not a bug here) and the budget is bounded: ``FAST`` for pure parsers,
``SERVER`` for properties that send requests to the real app in process. A deeper local hunt:
``HYPOTHESIS_PROFILE=deep`` (thousands of examples; not for CI).

Modules import ``FAST``/``SERVER`` and decorate with them (``@FAST``), so the count is visible
where the property is.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    database=None,  # no .hypothesis/ in the checkout; a failure prints its reproduce blob
    print_blob=True,
)
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
)
settings.register_profile("deep", max_examples=5000, deadline=None)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci" if IN_CI else "default")
settings.load_profile(PROFILE)
DEEP = PROFILE == "deep"

# Built after the profile is loaded, so they inherit it (derandomize, deadline) and set only
# the count. Properties of pure functions are cheap: more examples.
FAST = settings(max_examples=2000 if DEEP else 150)
# Properties that send requests to the app in process (a few milliseconds each): fewer. The
# app and its database are a function-scoped fixture shared by a property's examples on
# purpose: each example asserts that nothing changed, which is what makes sharing sound.
SERVER = settings(
    max_examples=500 if DEEP else 30,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Schemathesis: per operation and generation mode (two modes, ~24 operations, two sessions).
SCHEMA = settings(
    max_examples=300 if DEEP else 6,
    suppress_health_check=list(HealthCheck),  # a fixture shared on purpose; filtered strategies
)
