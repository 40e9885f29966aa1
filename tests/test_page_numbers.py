"""Every number the engine can hold shows on the page as the REPL prints it (inf, -inf, nan, -0.0,
huge, subnormal: never a bare Infinity or NaN, and the page never dies); user text that looks
like the page's own markers is never read as template; and a page's size and the work that
makes it grow linearly with its graph (the CLI's largest expressions included)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import test_page
from test_page import grads_shown, key, open_page, recording, severe, table, text

import autograd
from autograd import Value
from autograd.show import show

page_module = sys.modules["autograd.page"]

browser = test_page.browser  # (a fixture: one browser for this module)


def ieee_graphs():
    """Graphs whose data and grads are every kind of float the engine holds."""
    x, y = Value(0.0, "x"), Value(2.0, "y")
    yield "log(0) * y", (x.log() * y)  # -inf data, inf and -inf grads
    x, y = Value(0.0, "x"), Value(0.0, "y")
    yield "0 / 0", x / y  # nan everywhere
    x = Value(1000.0, "x")
    yield "exp(1000)", x.exp() * Value(-1.0, "k")  # inf data, -inf grad
    x = Value(1e300, "x")
    yield "1e300 squared", (x * x) * Value(1e-300, "t")  # inf, huge, tiny
    x = Value(5e-324, "tiny")
    yield "subnormal", x * Value(-0.0, "nz") + x * Value(0.5, "half")  # -0.0 and 5e-324
    x = Value(math.inf, "big")
    yield "inf - inf", x - x + Value(-math.inf, "neg")


@pytest.mark.parametrize("name, root", list(ieee_graphs()), ids=[n for n, _ in ieee_graphs()])
def test_ieee_numbers_show_as_the_repl_prints_them(browser, tmp_path, name, root):
    root.label = "out"
    path = autograd.page(root).save(tmp_path / "ieee.html")
    recorded = recording(path.read_text())  # (raises on a bare Infinity or NaN)
    assert recorded["frames"][0]["steps"]
    open_page(browser, path, "#step=end")
    root.backward()  # the engine's own numbers
    names = autograd.steps.node_names(root)
    shown = table(browser)
    for node in autograd.topological_order(root):
        if names[node] in shown:
            assert shown[names[node]] == [show(node.data), show(node.grad)], names[node]
    body = browser.execute_script("return document.body.innerText")
    assert "Infinity" not in body and "NaN" not in body and "undefined" not in body
    assert not severe(browser)
    key(browser, "HOME")  # and stepping through it, quiz and all, never dies
    browser.find_element("id", "quizmode").click()
    for _ in range(len(recorded["frames"][0]["steps"])):
        for line in browser.find_elements("css selector", "#quiz > div"):
            line.find_element("xpath", ".//button[text()='reveal']").click()
        browser.find_element("id", "next").click()
    assert "the finished pass" in text(browser, "where")
    assert not severe(browser)


def test_an_answer_of_inf_or_nan_is_read(browser, tmp_path):
    x, y = Value(0.0, "x"), Value(2.0, "y")
    out = x.log() * y  # step 1: v1.grad = 2.0, y.grad = -inf; step 2: x.grad = inf
    out.label = "out"
    path = autograd.page(out).save(tmp_path / "ieee.html")
    open_page(browser, path, "#step=1&mode=quiz")
    line = browser.find_element("css selector", "#quiz > div")
    line.find_element("css selector", "input").send_keys("inf")
    line.find_element("xpath", ".//button[text()='check']").click()
    assert line.find_element("css selector", ".said").text.startswith("right")


MARKERS = ["%SVG%", "%EXTRAS%", "%DATA%", "%SCRIPT%", "%STYLE%", "%TITLE%", "%FRAMES%"]


def test_labels_and_titles_like_the_pages_markers_stay_text(browser, tmp_path):
    leaves = [Value(float(k + 1), marker) for k, marker in enumerate(MARKERS)]
    out = leaves[0]
    for leaf in leaves[1:]:
        out = out * leaf
    out.label = "%DATA%%SCRIPT%"
    title = "x # %SVG% and %EXTRAS% </script>"
    page = autograd.page(out, title=title)
    assert page.html.count("<script") == 2  # the recording and the player, nothing inserted
    path = page.save(tmp_path / "markers.html")
    assert recording(page.html)["title"] == title
    open_page(browser, path, "#step=end")
    shown = grads_shown(browser)
    assert set(MARKERS) | {"%DATA%%SCRIPT%"} <= set(shown)
    assert text(browser, "title") == "backprop of " + title
    assert browser.title == "backprop: " + title
    assert not severe(browser)
    frames = page_module.frames_page(  # a caller's extra HTML with markers in it, too
        [(page_module.recording(out), "", "<p>%DATA% %SCRIPT% %FRAMES%</p>")], "%TITLE%"
    )
    assert "<p>%DATA% %SCRIPT% %FRAMES%</p>" in frames.html
    path = frames.save(tmp_path / "frames.html")
    open_page(browser, path)
    assert text(browser, "extra0") == "%DATA% %SCRIPT% %FRAMES%"
    assert not severe(browser)


def chain(factors: int) -> Value:
    """tanh(x)*x*...*x: x read at every depth, the CLI's worst case for a page."""
    x = Value(0.5, "x")
    out = x.tanh()
    for _ in range(factors - 1):
        out = out * x
    return out


def test_a_pages_size_and_work_grow_linearly_with_its_graph(monkeypatch):
    walked = []
    real = page_module.explain

    def counting(root, x, max_paths=12):
        walked.append(len(autograd.topological_order(root)))  # each explanation walks it all
        return real(root, x, max_paths=max_paths)

    monkeypatch.setattr(page_module, "explain", counting)
    sizes = {}
    for factors in (400, 800, 1600):
        walked.clear()
        root = chain(factors)
        nodes = len(autograd.topological_order(root))
        recorded = page_module.recording(root)
        assert sum(walked) <= page_module.EXPLAIN_BUDGET + nodes  # bounded, whatever the size
        assert len(recorded["steps"]) == factors
        sizes[nodes] = len(autograd.page(root).html)
    (n1, s1), (n2, s2), (n3, s3) = sizes.items()
    first, second = (s2 - s1) / (n2 - n1), (s3 - s2) / (n3 - n2)  # bytes per node added
    assert second < 1.2 * first  # at most linear: no node costs more in a larger graph
    assert first < 600


def test_the_command_line_writes_a_page_of_its_longest_expression(browser, tmp_path):
    expression = "tanh(x)" + "*x" * 749  # 750 factors, 1,505 characters: the CLI accepts it
    target = tmp_path / "long.html"
    done = subprocess.run(
        [sys.executable, "-m", "autograd", "web", expression, "x=0.99", "-o", str(target)],
        capture_output=True,
        text=True,
        timeout=300,  # (a guard against a hang, not a speed test)
    )
    assert done.returncode == 0, done.stderr
    assert target.stat().st_size < 1_000_000
    open_page(browser, target, "#step=end")
    assert text(browser, "where") == "after step 750 of 750: the finished pass"
    x = Value(0.99, "x")
    out = x.tanh()
    for _ in range(749):
        out = out * x
    out.backward()
    assert grads_shown(browser)["x"] == show(x.grad)
    assert not severe(browser)
