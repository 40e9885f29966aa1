"""Test settings shared by the whole suite.

Under CI (the CI environment variable set, as `.ci/run` runs) hypothesis is derandomized: the
same examples every run, so a submission's result does not depend on luck. Locally it explores
new random examples each run (and remembers failing ones in .hypothesis/).
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
