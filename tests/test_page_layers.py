"""A network's page at layer grain: one box per layer, each step's matrix rule as the
step-through prints it, and the finished pass's grads equal to backward()'s; the quiz asks
nothing at this grain (its answers would be matrices)."""

from __future__ import annotations

import numpy as np

import autograd
import nn
from autograd.show import show
from tests.test_page import browser, grads_shown, open_page, recording, severe  # noqa: F401


def layer_loss():
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    X = np.array([[0.5, -1.0], [2.0, 0.3]])
    loss = nn.hinge(model(X), np.array([1.0, -1.0])) + nn.losses.l2(model, 1e-3)
    loss.label = "loss"
    return model, loss


def test_a_layer_grain_page_replays_the_matrix_rules(browser, tmp_path):  # noqa: F811
    model, loss = layer_loss()
    nn_page = autograd.page(loss)
    data = recording(nn_page.html)["frames"][0]
    heads = [node["head"] for node in data["nodes"]]
    assert "L1 = tanh(X L1.W^T + L1.b)" in heads  # one box for the whole layer
    texts = [step["text"] for step in data["steps"]]
    assert any("L1.W.grad += S^T X   (3x2 = (2x3)^T 2x2)" in t for t in texts)
    assert all(step["edges"] == [] or all(isinstance(e["after"], float) for e in step["edges"])
               for step in data["steps"])  # fmt: skip
    assert not data["mistakes"]["overwrite"]  # the classic bugs' replays: scalar graphs only
    path = nn_page.save(tmp_path / "layers.html")
    open_page(browser, path, "#step=end")
    shown = grads_shown(browser)
    model.zero_grad()
    loss.backward()
    assert shown["L1.W"] == show(model.layers[0].W.grad)  # the pass's own numbers
    assert shown["L2.b"] == show(model.layers[1].b.grad)
    assert not severe(browser)
