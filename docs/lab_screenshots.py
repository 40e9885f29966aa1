"""Make docs/lab.png and docs/lab_expression.png: the live lab in headless Chromium.

    python docs/lab_screenshots.py [--out docs]

Needs chromium, chromedriver and selenium (the dev extra), as the browser tests do. The lab
trains the moons demo for a moment, traces the point with the least margin and steps
a few nodes into its backward pass; the expression lab shows tanh(x*w + b) at x=2, w=-3, b=6.88.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

import nn
from autograd import lab


def browser(width: int = 1300, height: int = 1150):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        raise SystemExit(
            "needs chromium and chromedriver (apt-get install chromium chromium-driver)"
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
    return webdriver.Chrome(service=Service(driver), options=options)


def wait(condition, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise TimeoutError("the page did not get there in time")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--seconds", type=float, default=0.3, help="training before the shot")
    args = parser.parse_args(argv)
    server = lab.serve("127.0.0.1", 0)
    driver = browser()
    try:
        driver.get(server.url)
        wait(lambda: driver.execute_script("return document.body.dataset.ready") == "yes")
        driver.find_element("id", "play").click()
        time.sleep(args.seconds)
        driver.find_element("id", "pause").click()
        (session,) = server.sessions.values()
        margins = nn.predict(session.model, session.X) * np.where(session.labels > 0, 1, -1)
        session.set_traced(int(np.argmin(margins)))  # the point the network finds hardest
        time.sleep(0.3)
        driver.find_element("id", "trace-start").click()  # the steps of its backward pass
        wait(lambda: driver.find_element("id", "trace-where").text.startswith("step 0"))
        for _ in range(6):
            driver.find_element("id", "trace-next").click()
        time.sleep(0.3)
        driver.save_screenshot(str(args.out / "lab.png"))
        driver.find_element("id", "tab-expression").click()
        wait(lambda: driver.find_element("id", "expr-value").text not in ("", "–"))
        for name, value in (("x", "2"), ("w", "-3"), ("b", "6.88")):
            box = driver.find_element("id", f"box-{name}")
            box.clear()
            box.send_keys(value + "\n")
            time.sleep(0.3)
        driver.find_element("id", "expr-next").click()
        driver.find_element("id", "expr-next").click()
        time.sleep(0.5)
        driver.save_screenshot(str(args.out / "lab_expression.png"))
    finally:
        driver.quit()
        server.stop()
    print(f"wrote {args.out / 'lab.png'} and {args.out / 'lab_expression.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
