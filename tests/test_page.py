"""The page that replays backprop, tested in a real browser: headless Chromium (Debian's
`chromium` with `chromium-driver`, through selenium; nothing downloads a browser) opens the file,
steps, answers the quiz and reads the numbers back against the engine's.

Without a browser these tests skip, saying why, unless REQUIRE_BROWSER is set (as `.ci/run`
sets it), where a missing browser is a failure. The other page tests (`test_page_*.py`) import
the browser fixture and the helpers from here: one browser per test module.
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import zlib

import pytest
from conftest import headless_chromium

import autograd
from autograd import Value
from autograd.show import show

WIDE, NARROW = (1280, 800), (400, 850)


def neuron():
    x, w, b = Value(2.0, "x"), Value(-3.0, "w"), Value(6.88, "b")
    out = (x * w + b).tanh()
    out.label = "o"
    return x, w, b, out


@pytest.fixture(scope="module")
def browser():
    driver = headless_chromium(*WIDE)
    viewport(driver, *WIDE)
    yield driver
    driver.quit()


def viewport(browser, width: int, height: int) -> None:
    """The page's viewport, exactly (a window's size would include the browser's own frame)."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def open_page(browser, path, fragment=""):
    """Open the page and wait until its script has decoded the recording and drawn it."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"file://{path}{fragment}")
    browser.refresh()  # (a new fragment alone does not reload the page)
    WebDriverWait(browser, 20).until(
        lambda b: b.execute_script("return document.body.dataset.ready || ''")
    )
    assert browser.execute_script("return document.body.dataset.ready") == "yes"
    return browser


def severe(browser) -> list:
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def table(browser) -> dict[str, list[str]]:
    """The grads table: name -> [data, grad] as shown."""
    return browser.execute_script(
        "const out = {};"
        "for (const r of document.querySelectorAll('#grads tbody tr')) {"
        "  const c = r.querySelectorAll('td'); out[c[0].textContent] = [c[1].textContent,"
        "  c[2].textContent]; }"
        "return out;"
    )


def grads_shown(browser) -> dict[str, str]:
    return {name: cells[1] for name, cells in table(browser).items()}


def text(browser, element_id: str) -> str:
    return browser.execute_script(f"return document.getElementById('{element_id}').textContent")


def recording(page_text: str) -> dict:
    """The recording a page carries, decoded as its script decodes it."""
    found = re.search(r'<script type="application/octet-stream" id="recording">([^<]*)<', page_text)
    assert found, "no recording in the page"
    return json.loads(zlib.decompress(base64.b64decode(found[1])), parse_constant=_no_constant)


def _no_constant(name: str):
    raise AssertionError(f"bare {name} in the page's JSON")


def key(browser, name: str) -> None:
    from selenium.webdriver.common.keys import Keys

    browser.find_element("tag name", "body").send_keys(getattr(Keys, name))


def current(browser) -> list[str]:
    """The names of the highlighted (current) values of the drawing."""
    return browser.execute_script(
        "return [...document.querySelectorAll('#graph .node.current')]"
        ".map((g) => g.getAttribute('aria-label'))"
    )


def test_the_finished_pass_shows_backwards_grads(browser, tmp_path):
    x, w, b, out = neuron()
    path = autograd.page(out).save(tmp_path / "neuron.html")
    out.backward()
    shown = grads_shown(open_page(browser, path, "#step=end"))
    for v in (x, w, b):
        assert shown[v.label] == show(v.grad)
    assert text(browser, "where") == "after step 3 of 3: the finished pass"
    drawn = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#graph .node')].map((g) =>"
        " [g.getAttribute('aria-label'), g.querySelector('.grad').textContent]))"
    )
    assert drawn == {n.label or k: f"grad {show(n.grad)}" for k, n in _named(out).items()}
    assert not severe(browser)


def _named(root) -> dict:
    names = autograd.steps.node_names(root)
    return {names[n]: n for n in autograd.topological_order(root)}


def test_one_step_number_per_state_in_header_box_and_highlight(browser, tmp_path):
    x, w, b, out = neuron()
    path = autograd.page(out).save(tmp_path / "neuron.html")
    steps = list(out.backward_steps())
    names = autograd.steps.node_names(out)
    open_page(browser, path, "#step=1")
    for k, then in ((1, "ARROW_RIGHT"), (2, "ARROW_RIGHT"), (3, "ARROW_LEFT"), (2, "END")):
        # after step k: the header, the box and the highlight all say k
        assert text(browser, "where").startswith(f"after step {k} of 3")
        assert text(browser, "step").startswith(f"step {k}/3  {names[steps[k - 1].node]} =")
        assert current(browser) == [names[steps[k - 1].node]]
        assert browser.execute_script("return location.hash") == f"#step={'end' if k == 3 else k}"
        key(browser, then)
    assert text(browser, "where") == "after step 3 of 3: the finished pass"
    open_page(browser, path, "#step=1&mode=quiz")  # the quiz asks the next step: "now: step 2"
    assert text(browser, "where") == "now: step 2 of 3 (your turn)"
    assert text(browser, "step").startswith(f"step 2/3  {names[steps[1].node]} =")
    assert current(browser) == [names[steps[1].node]]
    assert grads_shown(browser)["x"] == "\u00b7"  # not reached yet
    open_page(browser, path)
    assert text(browser, "where") == "before step 1 of 3: o.grad = 1"


def test_nothing_leaves_the_page_and_hostile_labels_stay_text(browser, tmp_path):
    a = Value(1.5, "<img src=x onerror=alert(1)>")
    c = Value(2.0, "</script><script>alert(2)</script>")
    path = autograd.page((a * c).tanh()).save(tmp_path / "hostile.html")
    page_text = path.read_text()
    assert not re.search(
        r"(src|href)\s*=\s*[\"']?https?:|url\(\s*[\"']?https?:|import\s+[\"']https?:", page_text
    )
    assert '<meta name="viewport"' in page_text
    open_page(browser, path, "#step=<script>&mode=alert(1)")
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    assert "<img src=x onerror=alert(1)>" in grads_shown(browser)
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    assert text(browser, "where").startswith("before step 1")
    label = browser.execute_script("return document.querySelector('#graph svg').ariaLabel")
    assert label.startswith("the graph of ")  # what a screen reader says of the drawing
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
    data = recording(target.read_text())
    assert len(data["frames"][0]["steps"]) == 3 and len(target.read_bytes()) < 200_000


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
    for _ in range(20):
        key(browser, "ARROW_RIGHT")
    assert text(browser, "where").startswith("after step 20 of")
    key(browser, "END")
    assert "the finished pass" in text(browser, "where")
    v.backward()
    assert grads_shown(browser)["x1"] == show(xs[1].grad)
    assert time.perf_counter() - start < 60  # (a guard against a hang, not a speed test)


def test_the_classic_mistakes_replayed_beside_the_true_pass(browser, tmp_path):
    from selenium.webdriver.support.ui import Select

    from demos import mistakes

    x, y, root = mistakes.graph()  # the mistakes lesson's graph, where each bug shows
    path = autograd.page(root).save(tmp_path / "mistakes.html")
    open_page(browser, path, "#step=end")
    assert (grads_shown(browser)["x"], grads_shown(browser)["y"]) == ("24.0", "-20.0")
    lesson = mistakes.run().figures
    for choice, number in (
        ("overwrite", "1. = instead of +="),
        ("recursive", "3. recursive, no topological order"),
    ):
        Select(browser.find_element("id", "pass")).select_by_value(choice)
        key(browser, "END")
        shown = grads_shown(browser)
        dx, dy = float(shown["x"].split()[0]), float(shown["y"].split()[0])
        assert lesson[number].startswith(f"dL/dx = {dx:g}, dL/dy = {dy:g}")  # the lesson's numbers
        assert shown["x"].endswith("(engine: 24.0)")  # marked where they part
        assert browser.execute_script(
            "return document.querySelector('#grads tbody tr td:last-child.wrong') !== null"
        )
        assert browser.execute_script("return location.hash") == f"#step=end&pass={choice}"
    assert not severe(browser)


def test_a_training_runs_page_steps_through_optimizer_steps(browser, tmp_path):
    import nn

    X, y = nn.data.xor()
    model = nn.MLP(2, [3, 1], activation="tanh", output_activation="sigmoid", seed=1)
    page = nn.training_page(model, X, y, "bce", nn.optim.SGD(model.parameters(), lr=0.5), 3, 1)
    path = page.save(tmp_path / "training.html")
    twin = nn.MLP(2, [3, 1], activation="tanh", output_activation="sigmoid", seed=1)  # by hand
    optimizer = nn.optim.SGD(twin.parameters(), lr=0.5)
    open_page(browser, path, "#step=end&frame=1&sample=1&grain=neuron")
    for k in range(1, 4):
        assert (
            text(browser, "frame") == f"optimizer step {k} of the run's 3 (recorded step {k} of 3)"
        )
        rows = browser.execute_script(  # the parameter table, every layer opened
            "for (const d of document.querySelectorAll('#paramtable details')) {"
            "  d.open = true; d.dispatchEvent(new Event('toggle')); }"
            "return [...document.querySelectorAll('#paramtable tr')]"
            ".map((r) => [...r.children].map((c) => c.textContent))"
        )
        shown = {r[0]: float(r[1]) for r in rows if r[0] != "parameter"}
        numbers = [q for layer in twin.layers for n in layer.neurons for q in n.parameters()]
        for p in numbers:  # every number of the table, `L1.N1.w1` ...
            assert shown[p.label] == pytest.approx(p.data, rel=1e-4, abs=1e-9)
        one = twin([Value(float(v), f"x{j + 1}") for j, v in enumerate(X[1])])
        sample_loss = nn.losses.binary_cross_entropy(one, Value(float(y[1]), "y"))
        sample_loss.backward()
        order = autograd.topological_order(sample_loss)
        neuron = next(n for n in order if n.label == "L1.N1")
        assert grads_shown(browser)["L1.N1"] == show(neuron.grad)  # the sample's own pass
        assert grads_shown(browser)["x1"] == "constant"  # (as X is at layer grain)
        loss, _ = nn.build_loss(twin, X, y, nn.losses.binary_cross_entropy)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        browser.find_element("id", "nextframe").click()
    assert not severe(browser)


def test_a_training_pages_neurons_expand_to_every_parameter(browser, tmp_path):
    import nn

    X, y = nn.data.xor()
    model = nn.MLP(2, [2, 1], activation="tanh", output_activation="sigmoid", seed=0)
    path = nn.training_page(model, X, y, "bce", steps=2, sample=0).save(tmp_path / "t.html")
    open_page(browser, path, "#step=end")
    drawn = "return [...document.querySelectorAll('#graph .node')].map((g) => g.ariaLabel)"
    assert "L1" in browser.execute_script(drawn)  # a network's page opens at layer grain
    browser.find_element("id", "grainneuron").click()  # its neurons: each a box
    assert "L1.N1.w1" not in grads_shown(browser)  # folded into its neuron's box
    assert "L1.N1.w1" not in browser.execute_script(drawn)
    assert browser.execute_script(  # the box says what it folds
        "return [...document.querySelectorAll('#graph .params')].map((t) => t.textContent)"
    )
    browser.execute_script(  # a click on a neuron's box opens it into its weights
        "document.querySelector('#graph .node[aria-label=\"L1.N1\"]')"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true}))"
    )
    assert browser.find_element("id", "expand").is_selected()  # (the view of every parameter)
    shown = grads_shown(browser)
    assert "L1.N1.w1" in shown and shown["L1.N1.w1"] != "\u00b7"  # every parameter, with its grad
    assert "L1.N1.w1" in browser.execute_script(drawn)
    lit = "return [...document.querySelectorAll('#graph .opened')].map((g) => g.ariaLabel)"
    assert set(browser.execute_script(lit)) == {"L1.N1.w1", "L1.N1.w2", "L1.N1.b"}
    browser.find_element("id", "expand").click()  # the checkbox folds them again
    assert "L1.N1.w1" not in browser.execute_script(drawn)
    assert browser.find_element("id", "frame0").is_displayed()


def test_the_page_in_a_notebook_and_its_edge_cases():
    import numpy as np

    x, w, b, out = neuron()
    shown = autograd.page(out)._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and "<script" not in shown  # isolated, escaped
    assert repr(autograd.page(out)).startswith("<backprop page of o:")
    assert recording(autograd.page(Value(1.0, "x")).html)["frames"][0]["steps"] == []  # a leaf
    with pytest.raises(ValueError, match="scalar graphs"):
        autograd.page((Value(np.array([1.0, 2.0])) * 2.0).sum())
    with pytest.raises(TypeError, match="needs a Value"):
        autograd.page(1.0)
    before = (x.grad, w.grad, b.grad)
    autograd.page(out)
    assert (x.grad, w.grad, b.grad) == before  # the recording leaves every grad as it was


def test_a_leafs_page_opens_and_says_there_is_nothing_to_step(browser, tmp_path):
    path = autograd.page(Value(2.5, "x")).save(tmp_path / "leaf.html")
    open_page(browser, path)
    assert text(browser, "where").startswith("nothing to step: x is a leaf")
    assert grads_shown(browser) == {"x": "1.0"}
    assert not severe(browser)


def test_a_page_of_frames_steps_through_them_and_expands_its_folded_parameters(browser, tmp_path):
    """`frames_page` as a training page uses it (without `nn`): one pass per frame, the
    parameters folded into their neuron's box, a checkbox to draw every one of them."""
    page_module = sys.modules["autograd.page"]

    def neuron_at(w1: float):
        x = Value(0.5, "x1")
        w, b = Value(w1, "L1.N1.w1"), Value(0.1, "L1.N1.b")
        out = (x * w + b).tanh()
        out.label = "L1.N1"
        loss = (out - Value(1.0, "y")) ** 2
        loss.label = "loss"
        return loss, x

    frames = []
    for k, w1 in enumerate((0.3, -0.7, 1.1)):
        loss, _ = neuron_at(w1)
        folded = page_module.recording(loss, 2, mistakes=False, parameters=False)
        full = page_module.recording(loss, 2, mistakes=False)
        frames.append((folded, "", f"<p>frame {k + 1}: w1 = {w1}</p>", (full, "")))
    path = page_module.frames_page(frames, "three frames").save(tmp_path / "frames.html")
    open_page(browser, path, "#step=end&frame=2")
    drawn = "return [...document.querySelectorAll('#graph .node')].map((g) => g.ariaLabel)"
    for k, w1 in ((2, -0.7), (3, 1.1)):
        assert text(browser, "frame") == f"optimizer step {k} of 3"
        assert text(browser, f"extra{k - 1}") == f"frame {k}: w1 = {w1}"
        loss, x = neuron_at(w1)
        loss.backward()
        assert grads_shown(browser)["x1"] == show(x.grad)  # this frame's own pass
        assert "L1.N1.w1" not in browser.execute_script(drawn)  # folded
        folds = "return [...document.querySelectorAll('#graph .params')].map((t) => t.textContent)"
        assert browser.execute_script(folds) == ["+1 parameter"] * 2  # (x1 * w1) and (+ b)
        browser.find_element("id", "nextframe").click()
    browser.find_element("id", "expand").click()
    assert "L1.N1.w1" in browser.execute_script(drawn)
    assert grads_shown(browser)["L1.N1.w1"] != "\u00b7"
    browser.find_element("id", "prevframe").click()
    assert text(browser, "frame") == "optimizer step 2 of 3"
    assert "L1.N1.w1" in browser.execute_script(drawn)  # still every parameter
    assert browser.execute_script("return location.hash") == "#step=end&frame=2"
    assert not severe(browser)


def test_a_page_opens_on_the_paths_it_is_asked_for(browser, tmp_path):
    x, w, b, o = neuron()
    path = autograd.page(o, paths_of=w).save(tmp_path / "w.html")
    open_page(browser, path)
    assert text(browser, "paths").startswith("d o/d w:")
    named = autograd.page(o, paths_of="b").save(tmp_path / "b.html")
    assert text(open_page(browser, named), "paths").startswith("d o/d b:")
    default = autograd.page(o).save(tmp_path / "default.html")
    assert text(open_page(browser, default), "paths").startswith("d o/d x:")  # the first drawn
    with pytest.raises(ValueError, match="paths_of: 'nope' is not a value this page draws"):
        autograd.page(o, paths_of="nope")
