"""A network's page at layer grain: one box per layer, each step's matrix rule as the
step-through prints it, and the finished pass's grads equal to backward()'s. For one sample the
quiz asks one entry of each W.grad and b.grad, the neuron grain's product inside the matrix
rule (W.grad[j][i] += S[0][j] X[0][i]), checked here against the neuron grain's own weight and
a NumPy forward; for a batch (an entry is a sum over samples) it asks nothing."""

from __future__ import annotations

import numpy as np
import pytest

import autograd
import nn
from autograd.show import show
from tests.test_page import browser, grads_shown, open_page, recording, severe, text  # noqa: F401


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
    assert not any("entry" in e for step in data["steps"] for e in step["edges"])  # a batch


ALPHA = 1e-3


def one_sample():
    """MLP(2, [3, 1]) of tanh at layer grain on one sample, hinge + L2: each W and b gets the
    penalty's share first, then the layer's."""
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    x = np.array([[0.5, -1.0]])
    loss = nn.hinge(model(x), np.array([1.0])) + nn.losses.l2(model, ALPHA)
    return model, x, loss


def test_one_samples_quiz_asks_an_entry_of_each_W_grad_and_b_grad():
    model, x, loss = one_sample()
    data = recording(autograd.page(loss).html)["frames"][0]
    asked = {e["name"]: e for step in data["steps"] for e in step["edges"] if "entry" in e}
    assert sorted(asked) == ["L1.W", "L1.b", "L2.W", "L2.b"]
    # the numbers by NumPy, from the weights: S = G * act'(z) for each layer
    (W1, W2), (b1, b2) = model.weight_arrays(), model.bias_arrays()
    z1 = x @ W1.T + b1
    a1 = np.tanh(z1)
    s2 = a1 @ W2.T + b2
    G2 = np.where(1.0 - s2 > 0, -1.0, 0.0)  # hinge with y = 1, one sample
    S1 = (G2 @ W2) * (1.0 - a1**2)
    expect = {"L2": (G2, a1, W2), "L1": (S1, x, W1)}
    # the neuron grain's gradients of the same sample, weight by weight
    neuron_loss = nn.hinge([model([0.5, -1.0])], np.array([1.0])) + nn.losses.l2(model, ALPHA)
    model.zero_grad()
    neuron_loss.backward()
    for layer, (S, X, W) in expect.items():
        q = asked[f"{layer}.W"]
        j, i = (int(k) for k in q["entry"].strip("[]").split("]["))
        shares = np.abs(S[0][:, None] * X[0][None, :])
        assert shares[j, i] == shares.max()  # the entry with the largest share
        assert np.isclose(q["upstream"], S[0, j], rtol=1e-12, atol=0)
        assert q["local"] == X[0, i]
        assert np.isclose(q["before"], 2 * ALPHA * W[j, i], rtol=1e-12, atol=0)  # L2's share
        assert np.isclose(q["after"], q["before"] + S[0, j] * X[0, i], rtol=1e-12, atol=0)
        assert q["neuron"] == f"{layer}.N{j + 1}.w{i + 1}"
        weight = model.layers[int(layer[1]) - 1].neurons[j].w[i]
        assert weight.label == q["neuron"] and weight.grad == pytest.approx(q["after"], 1e-12)
        b = asked[f"{layer}.b"]
        k = int(b["entry"].strip("[]"))
        assert b["local"] == 1.0 and np.isclose(b["upstream"], S[0, k], rtol=1e-12, atol=0)
        assert b["neuron"] == f"{layer}.N{k + 1}.b"
    assert asked["L1.W"]["grad"] != asked["L1.W"]["upstream"]  # tanh's slope is in S


def test_the_layer_quiz_in_the_browser_nudges_a_forgotten_slope(browser, tmp_path):  # noqa: F811
    model, x, loss = one_sample()
    data = recording(autograd.page(loss).html)["frames"][0]
    k, step = next((k, s) for k, s in enumerate(data["steps"]) if s["head"].startswith("step 6"))
    q = next(e for e in step["edges"] if e["name"] == "L1.W")
    path = autograd.page(loss).save(tmp_path / "one.html")
    open_page(browser, path, f"#step={k}&mode=quiz")
    assert text(browser, "where").startswith(f"now: step {k + 1} of")
    line = browser.find_element("css selector", f"#quiz input[data-parent='{q['parent']}']")
    question = line.find_element("xpath", "./../..")
    assert f"L1.W.grad{q['entry']} ({q['neuron']}.grad at neuron grain) =" in question.text
    line.send_keys(repr(q["before"] + q["grad"] * q["local"]))  # G, not S: the slope forgotten
    question.find_element("xpath", ".//button[text()='check']").click()
    said = question.find_element("css selector", ".said").text
    assert said.startswith("not quite: S is L1.grad times the activation's slope"), said
    b = next(e for e in step["edges"] if e["name"] == "L1.b")
    box = browser.find_element("css selector", f"#quiz input[data-parent='{b['parent']}']")
    box.send_keys(repr(-(b["before"] + b["upstream"])))  # the right product, its sign flipped
    asked = box.find_element("xpath", "./../..")
    asked.find_element("xpath", ".//button[text()='check']").click()
    said = asked.find_element("css selector", ".said").text
    assert said == f"not quite: a sign is off: check the signs of {b['upstreamName']}", said
    line.clear()
    line.send_keys(repr(q["after"]))
    question.find_element("xpath", ".//button[text()='check']").click()
    said = question.find_element("css selector", ".said").text
    assert said.startswith("right (the first answer counts") and q["explain"] in said, said
    # the layer's own output for its input: a nudge of its own
    k2, step2 = next((k, s) for k, s in enumerate(data["steps"]) if s["head"].startswith("step 5"))
    w2 = next(e for e in step2["edges"] if e["name"] == "L2.W")
    open_page(browser, path, f"#step={k2}&mode=quiz")
    box = browser.find_element("css selector", f"#quiz input[data-parent='{w2['parent']}']")
    box.send_keys(repr(w2["before"] + w2["upstream"] * w2["output"]))
    box.find_element("xpath", "./../..//button[text()='check']").click()
    said = box.find_element("xpath", "./../..").find_element("css selector", ".said").text
    wanted = f"use {w2['localName']}, the input this weight multiplies, not L2's own output"
    assert said == "not quite: " + wanted
    # a step that passes on only matrices or to constants asks nothing, and says so
    k3 = next(k for k, s in enumerate(data["steps"]) if s["head"].startswith("step 4"))
    open_page(browser, path, f"#step={k3}&mode=quiz")
    assert text(browser, "quiz") == "(nothing to answer at this step: press next)"
    assert text(browser, "step") == data["steps"][k3]["text"]
    assert not severe(browser)


def test_the_layer_quiz_shows_no_answer_before_it_is_given(browser, tmp_path):  # noqa: F811
    from tests.test_page_quiz import document, holds

    model, x, loss = one_sample()
    data = recording(autograd.page(loss).html)["frames"][0]
    path = autograd.page(loss).save(tmp_path / "one.html")
    for k, step in enumerate(data["steps"]):
        asked = [e for e in step["edges"] if "entry" in e]
        if not asked:
            continue
        open_page(browser, path, f"#step={k}&mode=quiz")
        given = {e["shown"][key] for e in asked for key in ("before", "upstream", "grad")}
        answers = {e["shown"]["after"] for e in asked} - given  # (b's is S's own entry)
        assert answers and not holds(document(browser), answers), step["head"]


def test_a_wide_layers_question_gives_its_numbers_and_a_dead_unit_shows_its_slope():
    model = nn.MLP(2, [8, 8, 1], activation="tanh", seed=2)
    x = np.array([[0.7, -0.3]])
    loss = nn.mse(model(x), np.array([[0.5]])) + nn.losses.l2(model, 1e-2)
    data = recording(autograd.page(loss).html)["frames"][0]
    asked = {e["name"]: e for step in data["steps"] for e in step["edges"] if "entry" in e}
    assert sorted(asked) == ["L1.W", "L1.b", "L2.W", "L2.b", "L3.W", "L3.b"]
    # the numbers an entry is made of are given (a matrix shows only its first entries)
    model.zero_grad()
    loss.backward()
    L1 = np.tanh(x @ model.layers[0].W.data.T + model.layers[0].b.data)
    L2 = np.tanh(L1 @ model.layers[1].W.data.T + model.layers[1].b.data)
    q = asked["L2.W"]
    j, i = (int(k) for k in q["entry"].strip("[]").split("]["))
    assert q["given"] == (
        f"L2.grad[0][{j}] = {show(q['grad'])}, L2[0][{j}] = {show(L2[0, j])} "
        "(tanh: slope 1 - a^2), "
        f"L1[0][{i}] = {show(L1[0, i])}, L2.W.grad[{j}][{i}] before this step = "
        f"{show(2e-2 * model.layers[1].W.data[j, i])}"
    )
    assert np.isclose(q["upstream"], q["grad"] * (1 - L2[0, j] ** 2), rtol=1e-12, atol=0)
    b = asked["L3.b"]
    assert b["given"] == f"L3.grad[0][0] = {show(b['grad'])}, L3[0][0] = " + (
        f"{show(float(model(x).data[0, 0]))} (linear: slope 1), L3.b.grad[0] before this step = "
        f"{show(2e-2 * model.layers[2].b.data[0])}"
    )
    # a dead layer: every weight -1 on positive inputs, so relu's slope is 0 at both neurons;
    # the question is then the entry where forgetting the slope would add the most
    dead = nn.MLP(2, [2, 1], activation="relu", seed=0)
    W = dead.layers[0].W.data.copy()
    W[:] = -1.0
    dead.layers[0].W.data = W
    loss = nn.mse(dead(np.array([[1.0, 2.0]])), np.array([[1.0]]))
    data = recording(autograd.page(loss).html)["frames"][0]
    q = next(e for step in data["steps"] for e in step["edges"] if e["name"] == "L1.W")
    assert q["upstream"] == 0.0 and q["after"] == q["before"]  # nothing passes a dead relu
    assert q["grad"] * q["local"] != 0.0  # ... but G X would, if the slope were forgotten
    assert q["local"] == 2.0 and q["entry"].endswith("[1]")  # the largest |G x|: x = 2
