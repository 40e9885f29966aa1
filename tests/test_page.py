"""The page that replays backprop, tested in a real browser: headless Chromium (Debian's
`chromium` with `chromium-driver`, through selenium; nothing downloads a browser) opens the file,
steps, answers the quiz and reads the numbers back against the engine's.

Without a browser these tests skip, saying why, unless REQUIRE_BROWSER is set (as `.ci/run`
sets it), where a missing browser is a failure.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys

import pytest

import autograd
from autograd import Value

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def neuron():
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.88, "b")
    out = (x * w + b).tanh()
    out.label = "o"
    return x, w, b, out


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        selenium = None
    else:
        selenium = webdriver
    missing = [
        what
        for what, there in (
            ("chromium", CHROMIUM),
            ("chromedriver", DRIVER),
            ("selenium", selenium),
        )
        if not there
    ]
    if missing:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER is set but {', '.join(missing)} is missing")
        pytest.skip(
            f"no headless browser here ({', '.join(missing)} missing): apt-get install "
            "chromium chromium-driver; pip install selenium"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,800"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def open_page(browser, path, fragment=""):
    browser.get(f"file://{path}{fragment}")
    browser.refresh()  # (a new fragment alone does not reload the page)
    return browser


def grads_shown(browser) -> dict[str, str]:
    rows = browser.find_elements("css selector", "#grads tbody tr")
    return {
        r.find_elements("css selector", "td")[0].text: r.find_elements("css selector", "td")[2].text
        for r in rows
    }


def test_the_finished_pass_shows_backwards_grads(browser, tmp_path):
    x, w, b, out = neuron()
    path = autograd.page(out).save(tmp_path / "neuron.html")
    out.backward()
    shown = grads_shown(open_page(browser, path, "#step=end"))
    for v in (x, w, b):
        assert shown[v.label] == autograd.show.show(v.grad)
    assert browser.find_element("id", "where").text.startswith("step 3 of 3")
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_step_forward_and_back_with_the_keys_and_open_at_a_step(browser, tmp_path):
    x, w, b, out = neuron()
    path = autograd.page(out).save(tmp_path / "neuron.html")
    open_page(browser, path, "#step=1")
    assert browser.find_element("id", "where").text == "step 1 of 3"
    assert grads_shown(browser)["x"] == "\u00b7"  # not reached yet
    body = browser.find_element("tag name", "body")
    body.send_keys("\ue014")  # right arrow
    body.send_keys("\ue014")
    assert browser.find_element("id", "where").text.startswith("step 3 of 3")
    assert browser.execute_script("return location.hash") == "#step=end"
    body.send_keys("\ue012")  # left arrow
    assert browser.find_element("id", "where").text == "step 2 of 3"
    assert "x.grad +=" in browser.find_element("id", "step").text  # the next step's arithmetic


def test_the_quiz_checks_an_answer_and_hints(browser, tmp_path):
    x, w, b, out = neuron()
    path = autograd.page(out).save(tmp_path / "neuron.html")
    open_page(browser, path, "#step=2&mode=quiz")
    inputs = browser.find_elements("css selector", "#quiz input")
    buttons = browser.find_elements("css selector", "#quiz button")
    assert len(inputs) == 2  # x and w receive gradient at step 3
    inputs[0].send_keys("0.501")  # the upstream gradient alone: forgot the local derivative
    buttons[0].click()
    assert "times the local derivative" in browser.find_element("id", "quiz").text
    out.backward()
    inputs[0].clear()
    inputs[0].send_keys(repr(x.grad))
    buttons[0].click()
    assert "right" in browser.find_element("id", "quiz").text
    assert browser.find_element("id", "score").text == "score: 1 of 2"


def test_nothing_leaves_the_page_and_hostile_labels_stay_text(browser, tmp_path):
    a = Value(1.5, "<img src=x onerror=alert(1)>")
    c = Value(2.0, "</script><script>alert(2)</script>")
    path = autograd.page((a * c).tanh()).save(tmp_path / "hostile.html")
    text = path.read_text()
    assert not re.search(
        r"(src|href)\s*=\s*[\"']?https?:|url\(\s*[\"']?https?:|import\s+[\"']https?:", text
    )
    open_page(browser, path, "#step=<script>&mode=alert(1)")
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    assert "<img src=x onerror=alert(1)>" in grads_shown(browser)
    assert browser.find_element("id", "where").text.startswith("before the pass")
    png = browser.get_screenshot_as_png()
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png))
    assert pixels.reshape(-1, pixels.shape[-1]).std(axis=0).max() > 0.05  # not blank


def test_the_command_line_writes_the_page(tmp_path):
    target = tmp_path / "neuron.html"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograd",
            "web",
            "tanh(x*w + b)",
            "x=2",
            "w=-3",
            "b=6.88",
            "-o",
            str(target),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and target.exists(), done.stderr
    assert '"steps"' in target.read_text() and len(target.read_bytes()) < 1_000_000


def test_a_300_node_pages_size_and_steps(browser, tmp_path):
    import time

    xs = [Value(0.1 * k, f"x{k}") for k in range(10)]
    v = xs[0]
    nodes = 0
    while nodes < 300:
        for x in xs[1:]:
            v = (v * x + 0.5).tanh()
            nodes += 4
    path = autograd.page(v).save(tmp_path / "big.html")
    assert path.stat().st_size < 1_000_000
    open_page(browser, path)
    start = time.perf_counter()
    body = browser.find_element("tag name", "body")
    for _ in range(20):
        body.send_keys("\ue014")
    assert browser.find_element("id", "where").text.startswith("step 20 of")
    body.send_keys("\ue010")  # End
    assert "(the finished pass)" in browser.find_element("id", "where").text
    assert time.perf_counter() - start < 60  # (a guard against a hang, not a speed test)


def test_the_classic_mistakes_replayed_beside_the_true_pass(browser, tmp_path):
    from selenium.webdriver.support.ui import Select

    from demos import mistakes

    x, y, root = mistakes.graph()  # the mistakes lesson's graph, where each bug shows
    path = autograd.page(root).save(tmp_path / "mistakes.html")
    open_page(browser, path, "#step=end")
    cells = lambda: {  # noqa: E731
        r.find_elements("css selector", "td")[0].text: r.find_elements("css selector", "td")[2]
        for r in browser.find_elements("css selector", "#grads tbody tr")
    }
    assert (cells()["x"].text, cells()["y"].text) == ("24.0", "-20.0")
    lesson = mistakes.run().figures
    for choice, number in (
        ("overwrite", "1. = instead of +="),
        ("recursive", "3. recursive, no topological order"),
    ):
        Select(browser.find_element("id", "pass")).select_by_value(choice)
        browser.find_element("tag name", "body").send_keys("\ue010")  # End
        shown = cells()
        dx, dy = float(shown["x"].text), float(shown["y"].text)
        assert lesson[number].startswith(f"dL/dx = {dx:g}, dL/dy = {dy:g}")  # the lesson's numbers
        assert shown["x"].get_attribute("class") == "wrong"  # marked where they part


def test_a_training_runs_page_steps_through_optimizer_steps(browser, tmp_path):

    import nn

    X, y = nn.data.xor()
    model = nn.MLP(2, [3, 1], activation="tanh", output_activation="sigmoid", seed=1)
    page = nn.training_page(model, X, y, "bce", nn.optim.SGD(model.parameters(), lr=0.5), 3, 1)
    path = page.save(tmp_path / "training.html")
    twin = nn.MLP(2, [3, 1], activation="tanh", output_activation="sigmoid", seed=1)  # by hand
    optimizer = nn.optim.SGD(twin.parameters(), lr=0.5)
    open_page(browser, path, "#step=end&frame=1")
    for k in range(1, 4):
        assert browser.find_element("id", "frame").text == f"optimizer step {k} of 3"
        table = browser.find_element("id", f"extra{k - 1}").find_elements("css selector", "tr")
        shown = {
            r.find_elements("css selector", "td")[0].text: float(
                r.find_elements("css selector", "td")[1].text
            )
            for r in table[1:]
        }
        for p in twin.parameters():
            assert shown[p.label] == pytest.approx(p.data, rel=1e-4, abs=1e-9)
        one = twin([Value(float(v), f"x{j + 1}") for j, v in enumerate(X[1])])
        sample_loss = nn.losses.binary_cross_entropy(one, Value(float(y[1]), "y"))
        sample_loss.backward()
        x1 = next(n for n in autograd.topological_order(sample_loss) if n.label == "x1")
        assert grads_shown(browser)["x1"] == autograd.show.show(x1.grad)  # the sample's own pass
        loss, _ = nn.build_loss(twin, X, y, nn.losses.binary_cross_entropy)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        browser.find_element("id", "nextframe").click()
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_a_training_pages_neurons_expand_to_every_parameter(browser, tmp_path):
    import nn

    X, y = nn.data.xor()
    model = nn.MLP(2, [2, 1], activation="tanh", output_activation="sigmoid", seed=0)
    path = nn.training_page(model, X, y, "bce", steps=2, sample=0).save(tmp_path / "t.html")
    open_page(browser, path, "#step=end")
    assert "L1.N1.w1" not in grads_shown(browser)  # folded into its neuron's box
    browser.find_element("id", "expand").click()
    shown = grads_shown(browser)
    assert "L1.N1.w1" in shown and shown["L1.N1.w1"] != "\u00b7"  # every parameter, with its grad
    assert browser.find_element("id", "full0").is_displayed()
    assert not browser.find_element("id", "frame0").is_displayed()


def test_the_page_in_a_notebook_and_its_edge_cases():
    import numpy as np

    x, w, b, out = neuron()
    shown = autograd.page(out)._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and "<script" not in shown  # isolated, escaped
    assert repr(autograd.page(out)).startswith("<backprop page of o:")
    assert '"steps": []' in autograd.page(Value(1.0, "x")).html  # a leaf: nothing to step
    with pytest.raises(ValueError, match="scalar graphs"):
        autograd.page((Value(np.array([1.0, 2.0])) * 2.0).sum())
    with pytest.raises(TypeError, match="needs a Value"):
        autograd.page(1.0)
    before = (x.grad, w.grad, b.grad)
    autograd.page(out)
    assert (x.grad, w.grad, b.grad) == before  # the recording leaves every grad as it was
