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


def headless_chromium(width: int, height: int):
    """A headless Debian Chromium driven by selenium (nothing downloads a browser), or the
    test skipped saying what is missing, failed instead where REQUIRE_BROWSER is set (CI)."""
    import shutil

    import pytest

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        webdriver = None
    found = (("chromium", chromium), ("chromedriver", driver_path), ("selenium", webdriver))
    missing = [what for what, there in found if not there]
    if missing:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER is set but {', '.join(missing)} is missing")
        pytest.skip(
            f"no headless browser here ({', '.join(missing)} missing): apt-get install "
            "chromium chromium-driver; pip install selenium"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver_path), options=options)
