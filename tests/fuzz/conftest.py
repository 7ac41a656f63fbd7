"""Hypothesis profiles for the fuzz tests.

``ci`` (the default) is small and derandomized, so a CI run is bounded and
repeatable; ``long`` is for a run by hand::

    HYPOTHESIS_PROFILE=long python -m pytest tests/fuzz -p no:xdist -s

``dev`` is random and middle-sized, for finding new cases while working.
"""

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=40, derandomize=True, **_COMMON)
settings.register_profile("dev", max_examples=300, **_COMMON)
settings.register_profile("long", max_examples=5000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
