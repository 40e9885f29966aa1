"""Constants and the layer rules' symbols on the page.

An edge into a constant (`requires_grad` False: a network's data X and targets y, a labelled
`Value(c, requires_grad=False)`) carries no derivative: the engine passes a constant nothing, so
the number it recorded there (0.0 for mse's targets, the rule S W for a layer's X) would read as
a gradient the pass never computed; the step-through says "a constant, no gradient to track",
and no step lights the constant or its edge as receiving a share (the true pass and the quiz
alike). A layer's rule is written with S = that layer's grad (times its activation's slope), as
the step-through writes it, never with a G the page does not define."""

from __future__ import annotations

import re

import numpy as np
import pytest

import autograd
import nn
from autograd import Value
from tests.test_page import browser, open_page, recording, severe, text  # noqa: F401


def network_loss():
    """The teacher's page: tanh then linear, mse against a constant target, one sample."""
    model = nn.MLP(2, [2, 1], activation="tanh", seed=0)
    return nn.mse(model(np.array([[1.0, -2.0]])), np.array([0.5]))


def scalar_with_constants():
    """A labelled constant c (drawn, with its edge) and the unlabelled 2.0 of 2 * x."""
    x, c = Value(3.0, "x"), Value(2.0, "c", requires_grad=False)
    out = (c * x + 2 * x).tanh()
    out.label = "out"
    return out


GRAPHS = {"network": network_loss, "scalar": scalar_with_constants}


def constant_edges(data: dict) -> list[int]:
    """The indices (in drawing order) of the edges out of a constant."""
    constants = {n["id"] for n in data["nodes"] if not n["tracked"]}
    assert constants, "the graph draws no constant"
    return [k for k, e in enumerate(data["edges"]) if e["from"] in constants]


@pytest.mark.parametrize("graph", GRAPHS)
def test_an_edge_into_a_constant_carries_no_derivative(graph):
    data = recording(autograd.page(GRAPHS[graph]()).html)["frames"][0]
    for k in constant_edges(data):
        assert data["edges"][k]["local"] == "", data["edges"][k]  # no number, no rule
    tracked = [e for k, e in enumerate(data["edges"]) if k not in constant_edges(data)]
    assert all(e["local"] for e in tracked)  # every other edge keeps its derivative
    constants = {n["id"] for n in data["nodes"] if not n["tracked"]}
    for step in data["steps"]:  # what a step changed: never a constant's grad
        assert not constants & set(step["grads"]), step["text"]
        assert not constants & {e["parent"] for e in step["edges"]}


STATE = """
const edges = [...document.querySelectorAll('#graph g.edge')];
return {
  hot: edges.map((g, k) => g.classList.contains('hot') ? k : -1).filter((k) => k >= 0),
  grey: edges.map((g, k) => g.classList.contains('constant') ? k : -1).filter((k) => k >= 0),
  reading: [...document.querySelectorAll('#graph .node.reading')]
    .map((g) => g.getAttribute('aria-label')),
  labels: [...document.querySelectorAll('#graph text.label')].map((t) => t.textContent),
};
"""


@pytest.mark.parametrize("graph", GRAPHS)
def test_no_step_lights_a_constant_or_its_edge(browser, tmp_path, graph):  # noqa: F811
    page = autograd.page(GRAPHS[graph]())
    data = recording(page.html)["frames"][0]
    path = page.save(tmp_path / f"{graph}.html")
    quiet = set(constant_edges(data))
    constants = {n["name"] for n in data["nodes"] if not n["tracked"]}
    names = {n["id"]: n["name"] for n in data["nodes"]}
    last = len(data["steps"])
    for k in range(1, last + 1):  # after step k; the quiz asking step k
        for fragment in (f"#step={k}", f"#step={k - 1}&mode=quiz"):
            open_page(browser, path, fragment)
            state = browser.execute_script(STATE)
            assert state["hot"], fragment  # the step lights its edges ...
            assert not quiet & set(state["hot"]), (fragment, text(browser, "step"))
            assert not constants & set(state["reading"]), fragment  # ... never a constant's
            if "mode=quiz" not in fragment:  # the step's text says why: a constant
                node = data["steps"][k - 1]["node"]
                read = {names[data["edges"][j]["from"]] for j in quiet}
                read &= {names[e["from"]] for e in data["edges"] if e["to"] == node}
                for name in read:
                    assert f"({name}: a constant, no gradient to track)" in text(browser, "step")
    # drawn: a label on every edge but those out of a constant, which are grey
    assert len(state["labels"]) == len(data["edges"]) - len(quiet)
    assert set(state["grey"]) == quiet
    assert not severe(browser)


def undefined_g(words: str) -> bool:
    """True where the symbol G is used in a text that does not say what it is: a clause of its
    own, `, G = L2.grad` (not `S = G = S W`, which only says S is G)."""
    used = re.search(r"(?<![\w.])G\b", words)
    return bool(used) and not re.search(r"(?:^|[,;(])\s*G = ", words, re.MULTILINE)


def test_a_layer_pages_rules_define_what_they_use(browser, tmp_path):  # noqa: F811
    loss = network_loss()
    printed = [str(step) for step in loss.backward_steps()]  # as the REPL prints them
    page = autograd.page(loss)
    data = recording(page.html)["frames"][0]
    for step, said in zip(data["steps"], printed):
        assert step["text"].startswith(said)  # the step-through's text, then the where line
        assert not undefined_g(step["text"]), step["text"]
        defined = re.search(r"\n  (S = .*?) = \d", said)  # the step's own "S = L1.grad ..."
        if defined:
            where = step["text"].split("\n  where ", 1)[1]
            assert defined[1] in where, (defined[1], where)
    wheres = "\n".join(s["text"].split("\n  where ", 1)[-1] for s in data["steps"])
    assert "S = L2.grad" in wheres  # the linear layer: S is its grad
    assert "S = L1.grad * tanh'(Z)" in wheres
    for paths in data["paths"].values():
        assert not undefined_g(paths), paths
    names = {n["name"]: n["id"] for n in data["nodes"]}
    deepest = data["paths"][names["L1.W"]]
    assert "(S L2.W, S = L2.grad) * (S^T X, S = L1.grad * tanh'(Z))" in deepest
    # in the browser: the step's text and the paths panel as shown
    open_page(browser, page.save(tmp_path / "layers.html"), "#step=2")
    assert "S = L2.grad" in text(browser, "step")
    assert not undefined_g(text(browser, "step"))
    browser.execute_script(
        "document.querySelector('#graph .node[aria-label=\"L1.W\"]')"
        ".dispatchEvent(new MouseEvent('click', {bubbles: true}))"
    )
    shown = text(browser, "paths")
    assert shown.startswith("d v1/d L1.W:")  # (the loss is unlabelled: v1)
    assert not undefined_g(shown), shown
    assert not severe(browser)
