"""Make docs/lab.png, docs/lab_step_through.png and docs/lab_expression.png: the live lab in
headless Chromium.

    python docs/lab_screenshots.py [--out docs]

Needs chromium, chromedriver and selenium (the dev extra), as the browser tests do. The lab
trains the moons demo for a moment, traces the point with the least margin and steps
a few nodes into its backward pass at layer grain (a box per layer, the first expanded to its
neurons); then the same point at neuron grain with its step-through and quiz open in the lab
(the static page, in its frame) and a question answered; the expression lab shows
tanh(x*w + b) at x=2, w=-3, b=6.88.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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


@contextmanager
def opened_lab(width: int = 1300, height: int = 1150) -> Iterator[tuple[Any, Any, Any]]:
    """A lab server on a free port of 127.0.0.1 and its page loaded in headless Chromium:
    (server, driver, the page's lab session); both stopped after."""
    server = lab.serve("127.0.0.1", 0)
    driver = browser(width, height)
    try:
        driver.get(server.url)
        wait(lambda: driver.execute_script("return document.body.dataset.ready") == "yes")
        (session,) = server.sessions.values()
        yield server, driver, session
    finally:
        driver.quit()
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--steps", type=int, default=60, help="training steps before the shot")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with opened_lab() as (_, driver, session):
        for _ in range(args.steps):  # (as play would, but a set number: a hard point's loss > 0)
            session.train_step()
        margins = nn.predict(session.model, session.X) * np.where(session.labels > 0, 1, -1)
        session.set_traced(int(np.argmin(margins)))  # the point the network finds hardest
        time.sleep(0.3)
        driver.find_element("id", "trace-start").click()  # the steps of its backward pass
        wait(lambda: driver.find_element("id", "trace-where").text.startswith("step 0"))
        for _ in range(3):
            driver.find_element("id", "trace-next").click()
        driver.find_element("css selector", "#trace-layers .layerbox button.expand").click()
        driver.execute_script("window.scrollTo(0, 0)")
        time.sleep(0.3)
        driver.save_screenshot(str(args.out / "lab.png"))
        step_through(driver, args.out / "lab_step_through.png")
        driver.execute_script("window.scrollTo(0, 0)")
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
    print(f"wrote {args.out / 'lab.png'}, lab_step_through.png and lab_expression.png")
    return 0


def step_through(driver, path: Path) -> None:
    """The traced point at neuron grain, its step-through and quiz open in the lab (the static
    page in its frame), the first question answered with the number the lab's trace sent."""
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", "trace-grain")).select_by_value("neuron")
    wait(lambda: driver.find_element("id", "trace-layers").get_attribute("hidden") is not None)
    wait(lambda: driver.find_element("id", "trace-where").text.startswith("step 0"))
    answer = driver.execute_script(
        "const e = lab.trace.steps[0].edges.find((e) => !e.constant); return String(e.grad_after)"
    )
    driver.find_element("id", "trace-page-open").click()
    driver.switch_to.frame(driver.find_element("id", "trace-page"))
    try:
        wait(lambda: driver.execute_script("return document.body.dataset.ready") == "yes", 20)
        driver.find_element("id", "quizmode").click()
        wait(lambda: bool(driver.find_elements("css selector", "#quiz > div")))
        question = driver.find_elements("css selector", "#quiz > div")[0]
        question.find_element("css selector", "input").send_keys(answer)
        question.find_element("xpath", ".//button[text()='check']").click()
    finally:
        driver.switch_to.default_content()
    box = driver.find_element("id", "trace-page-box")
    driver.execute_script("arguments[0].scrollIntoView()", box)
    time.sleep(0.8)
    driver.save_screenshot(str(path))


if __name__ == "__main__":
    sys.exit(main())
