"""Regenerate the page's screenshots under docs/ from a fresh page, in headless Chromium.

    python docs/screenshots.py            # writes docs/page.png, page_quiz.png, page_moons*.png

docs/page.png is the README's neuron page (`web "tanh(x*w + b)" x=2 w=-3 b=6.88`) after step 2
of 3 at 1280x800; docs/page_quiz.png the same page in the quiz, a first wrong answer and its
nudge on screen; docs/page_moons.png the moons demo's training page (`python -m demos moons`)
at its third recorded optimizer step, at layer grain, and docs/page_moons_neurons.png the same
step with its first layer opened into its neurons, and docs/page_moons_quiz.png that step's
quiz at layer grain (one entry of L2.W.grad and of L2.b.grad), a first guess nudged. Needs
Chromium and its driver (Debian: chromium chromium-driver) and selenium (the dev extra); the
pages are written by the commands a student runs, so the pictures show what they get.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
EXPRESSION = ["tanh(x*w + b)", "x=2", "w=-3", "b=6.88"]
SIZE = (1280, 800)


def browser():
    """Headless Chromium at exactly SIZE (the viewport, not the window with its frame)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        sys.exit(
            "screenshots need chromium and chromedriver (apt-get install chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(flag)
    session = webdriver.Chrome(service=Service(driver), options=options)
    width, height = SIZE
    session.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    return session


def open_page(session, path: Path, fragment: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    session.get(f"file://{path}{fragment}")
    session.refresh()
    WebDriverWait(session, 20).until(
        lambda s: s.execute_script("return document.body.dataset.ready") == "yes"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "neuron.html"
        subprocess.run(
            [sys.executable, "-m", "autograd", "web", *EXPRESSION, "-o", str(page)],
            check=True,
            capture_output=True,
        )
        session = browser()
        try:
            open_page(session, page, "#step=2")
            session.save_screenshot(str(DOCS / "page.png"))
            open_page(session, page, "#step=2&mode=quiz")
            first = session.find_element("css selector", "#quiz > div")
            first.find_element("css selector", "input").send_keys("0.501")  # forgot dv1/dx
            first.find_element("xpath", ".//button[text()='check']").click()
            session.save_screenshot(str(DOCS / "page_quiz.png"))
            subprocess.run(
                [sys.executable, "-m", "demos", "moons", "--out", str(Path(folder) / "moons")],
                check=True,
                capture_output=True,
            )
            moons = Path(folder) / "moons" / "backprop.html"
            open_page(session, moons, "#step=end&frame=3")
            session.save_screenshot(str(DOCS / "page_moons.png"))
            session.execute_script(  # a click on the first layer's box: its neurons
                "document.querySelector('#graph .node[aria-label=L1]')"
                ".dispatchEvent(new MouseEvent('click', {bubbles: true}))"
            )
            session.save_screenshot(str(DOCS / "page_moons_neurons.png"))
            open_page(session, moons, "#step=2&frame=3&mode=quiz")  # your turn: L2's step
            first = session.find_element("css selector", "#quiz > div")
            first.find_element("css selector", "input").send_keys("0")  # a first guess
            first.find_element("xpath", ".//button[text()='check']").click()
            session.save_screenshot(str(DOCS / "page_moons_quiz.png"))
        finally:
            session.quit()
    shots = ("page.png", "page_quiz.png", "page_moons.png", "page_moons_neurons.png")
    for name in (*shots, "page_moons_quiz.png"):
        print(f"wrote {DOCS / name}")


if __name__ == "__main__":
    main()
