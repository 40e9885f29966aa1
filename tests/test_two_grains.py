"""One engine at two grains: a layer is one node, a neuron is one node, and both are run by the
core's one loop (`Value.backward` calling `chain_rule` at each node).

Oracles: the neuron grain (every number a Value, the engine's scalar rules), the textbook NumPy
network with hand-written backprop (`nn.reference`), and central differences of a NumPy forward
pass written here.
"""

from __future__ import annotations

import ast
import math
import pathlib
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
import autograd.value as core
import nn
from autograd import Value

ROOT = pathlib.Path(__file__).resolve().parents[1]
ACTS = ["linear", "relu", "tanh", "sigmoid"]


def spy_on_chain_rule(monkeypatch) -> list:
    """Record every node the core's `chain_rule` runs at (and still run it)."""
    seen: list = []
    real = core.chain_rule

    def spy(node, shown=None):
        seen.append(node)
        real(node, shown)

    monkeypatch.setattr(core, "chain_rule", spy)
    return seen


def test_the_cores_chain_rule_runs_at_every_node_of_a_batched_fit_step(monkeypatch):
    X, y = nn.data.moons(40, noise=0.1, seed=1)
    model = nn.MLP(2, [8, 8, 1], seed=1)
    loss, _ = nn.build_loss(model, X, nn.data.to_signed(y), nn.hinge, l2=1e-4)
    order = autograd.graph.backward_order(loss)
    assert [n.op for n in order if "layer" in n.op] == ["layer", "relu(layer)", "relu(layer)"]
    seen = spy_on_chain_rule(monkeypatch)
    loss.backward()
    assert seen == order  # every node, each once, in backward's order
    # and nn.fit's step is that same loop
    seen.clear()
    nn.fit(model, X, nn.data.to_signed(y), loss="hinge", epochs=1, l2=1e-4, progress=False)
    assert len(seen) == len(order)


def test_the_cores_chain_rule_runs_at_every_node_of_one_samples_graph(monkeypatch):
    model = nn.MLP(2, [4, 1], seed=0)
    out = model([1.0, -2.0])
    assert out.op == "linear" and len(out.parents) == 4 * 2 + 1  # neuron grain: w.., x.., b
    seen = spy_on_chain_rule(monkeypatch)
    out.backward()
    assert seen == autograd.graph.backward_order(out) and len(seen) == 5  # 4 + 1 neurons


def _defines_a_backward_loop(tree: ast.AST) -> bool:
    """Does this module add to a `.grad` inside a loop (a backward loop of its own)?"""
    for loop in ast.walk(tree):
        if isinstance(loop, ast.For | ast.While):
            for node in ast.walk(loop):
                if (
                    isinstance(node, ast.AugAssign)
                    and isinstance(node.target, ast.Attribute)
                    and node.target.attr == "grad"
                ):
                    return True
    return False


def test_no_other_module_of_the_project_holds_a_backward_loop():
    files = [p for folder in ("autograd", "nn", "demos") for p in (ROOT / folder).rglob("*.py")]
    holders = [
        str(p.relative_to(ROOT))
        for p in files
        if _defines_a_backward_loop(ast.parse(p.read_text()))
    ]
    # demos/mistakes.py writes the classic wrong loops on purpose (`=` for `+=`, no order), to
    # replay them beside the engine's; it is a lesson, not an engine
    assert holders == ["autograd/value.py", "demos/mistakes.py"]
    assert not (ROOT / "autograd" / "fast").exists()


# -- layer grain = neuron grain = the NumPy reference = central differences -----------------


def numpy_loss(weights, biases, acts, X, y, loss):
    """The same network and loss, forward only, in NumPy (for central differences)."""
    A = X
    for W, b, act in zip(weights, biases, acts):
        Z = A @ W.T + b
        A = {"linear": Z, "relu": np.maximum(Z, 0), "tanh": np.tanh(Z)}.get(act)
        if A is None:
            A = 1 / (1 + np.exp(-Z))
    if loss == "mse":
        return float(np.mean((A - y) ** 2))
    if loss == "hinge":
        return float(np.mean(np.maximum(1 - y * A, 0)))
    Z = A - A.max(axis=1, keepdims=True)  # cross-entropy of logits A, targets y (ints)
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    nin=st.integers(1, 4),
    acts=st.data(),
    loss=st.sampled_from(["mse", "hinge", "cross_entropy"]),
    batch=st.integers(1, 7),
    seed=st.integers(0, 2**31 - 1),
)
def test_layer_grain_equals_neuron_grain_equals_central_differences(
    sizes, nin, acts, loss, batch, seed
):
    rng = np.random.default_rng(seed)
    if loss == "cross_entropy" and sizes[-1] < 2:
        sizes = [*sizes[:-1], 2]
    activations = acts.draw(
        st.lists(st.sampled_from(ACTS), min_size=len(sizes), max_size=len(sizes))
    )
    model = nn.MLP(nin, sizes, activation=activations, seed=seed % 1000)
    for layer in model.layers:
        layer.b.data = rng.uniform(-0.5, 0.5, size=layer.nout)
    X = rng.normal(size=(batch, nin))
    if loss == "cross_entropy":
        y = rng.integers(0, sizes[-1], size=batch)
    else:
        y = rng.choice([-1.0, 1.0], size=(batch, sizes[-1]))
    fn, _ = nn.losses.get_loss(loss)
    grads = {}
    for grain in ("layer", "neuron"):
        model.zero_grad()
        value, _ = nn.build_loss(model, X, y, fn, 1e-3, grain=grain)
        value.backward()
        grads[grain] = (value.data, model.gradient_vector())
    assert grads["layer"][0] == pytest.approx(grads["neuron"][0], rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(grads["layer"][1], grads["neuron"][1], rtol=1e-10, atol=1e-13)

    flat = model.parameter_vector()
    shapes = [(layer.W.data.shape, layer.b.data.shape) for layer in model.layers]

    def f(vector):
        weights, biases, start = [], [], 0
        for wshape, bshape in shapes:
            weights.append(vector[start : start + math.prod(wshape)].reshape(wshape))
            start += math.prod(wshape)
            biases.append(vector[start : start + bshape[0]])
            start += bshape[0]
        penalty = 1e-3 * float(vector @ vector)
        return numpy_loss(weights, biases, activations, X, y, loss) + penalty

    h = 1e-6
    numeric = np.array([(f(flat + h * e) - f(flat - h * e)) / (2 * h) for e in np.eye(flat.size)])
    kinks = "relu" in activations or loss == "hinge"  # a difference may straddle a kink
    if not kinks:
        np.testing.assert_allclose(grads["layer"][1], numeric, rtol=1e-5, atol=1e-7)


SPECIALS = [0.0, -0.0, 1e308, -1e308, math.inf, -math.inf, math.nan, 5e-324]


@pytest.mark.parametrize("activation", ACTS)
def test_ieee_specials_give_the_same_numbers_at_both_grains(activation):
    rng = np.random.default_rng(3)
    model = nn.MLP(2, [3, 2], activation=activation, seed=2)
    X = np.array([[a, b] for a in SPECIALS for b in (1.0, -2.0)])
    layer_out = model(X)
    layer_out.sum().backward()
    layer_grads = model.gradient_vector()
    model.zero_grad()
    neuron_out = model(X, grain="neuron")
    autograd.sum(neuron_out).sum().backward()
    neuron_data = np.column_stack([o.data for o in neuron_out])
    np.testing.assert_array_equal(np.isnan(layer_out.data), np.isnan(neuron_data))
    finite = np.isfinite(layer_out.data)
    np.testing.assert_allclose(layer_out.data[finite], neuron_data[finite], rtol=1e-12)
    neuron_grads = model.gradient_vector()
    assert np.array_equal(np.isnan(layer_grads), np.isnan(neuron_grads))
    both = np.isfinite(layer_grads) & np.isfinite(neuron_grads)
    np.testing.assert_allclose(layer_grads[both], neuron_grads[both], rtol=1e-9)
    assert rng is not None


def test_one_storage_two_views():
    model = nn.MLP(3, [2, 1], activation="tanh", seed=4)
    layer = model.layers[0]
    w = layer.neurons[1].w[2]
    assert w.data == layer.W.data[1, 2] and w.label == "L1.N2.w3"
    model([0.5, -1.0, 2.0]).backward()  # neuron grain writes into the layer's arrays
    assert w.grad == layer.W.grad[1, 2] != 0.0
    grad_one_sample = layer.W.grad.copy()
    model.zero_grad()
    model(np.array([[0.5, -1.0, 2.0]])).sum().backward()  # layer grain
    np.testing.assert_allclose(layer.W.grad, grad_one_sample, rtol=1e-14)
    w.data = 7.0  # a view writes the layer's matrix
    assert layer.W.data[1, 2] == 7.0


def test_a_graph_keeps_the_weights_it_read():
    model = nn.MLP(2, [3, 1], activation="tanh", seed=5)
    X = np.array([[0.3, -0.1], [1.0, 2.0]])
    loss = model(X).sum()
    before = np.array(model.layers[1].W.data)
    opt = nn.optim.SGD(model.parameters(), lr=0.5)
    loss.backward()
    opt.step()  # new arrays for the parameters
    model.layers[0].neurons[0].w[0].data = 9.0  # and an entry set by hand
    model.zero_grad()
    loss.backward()  # the old graph: still the weights it read
    A1 = model(X)  # (a new graph reads the new weights)
    assert not np.array_equal(A1.data, loss.parents[0].data)
    x_share = loss.parents[0].local_grads[0]  # L2's rule for its input reads the old W
    assert np.array_equal(x_share.shares.W, before)


def test_a_request_for_the_inputs_gradient_is_explicit():
    model = nn.MLP(2, [3, 1], seed=6)
    X = np.array([[0.3, -0.1], [1.0, 2.0]])
    out = model(X)
    assert not out.parents[0].parents[0].requires_grad  # the data: a constant, no dX
    out.sum().backward()
    assert out.parents[0].parents[0].grad == 0.0
    Xv = Value(X, "X")  # asked for: d out/d X
    model(Xv).sum().backward()
    expected = np.zeros_like(X)
    for s in range(2):
        model.zero_grad()
        xs = [Value(float(v), f"x{i}") for i, v in enumerate(X[s])]
        model(xs).backward()
        expected[s] = [x.grad for x in xs]
    np.testing.assert_allclose(Xv.grad, expected, rtol=1e-12)


def test_modes_belong_to_the_thread_that_entered_them():
    x = Value(2.0, "x")
    inside, outside = threading.Event(), threading.Event()
    results = {}

    def other():
        inside.wait(5)
        y = x * x + x  # another thread, while the first is inside no_grad()
        y.backward()
        results["grad"], results["recorded"] = x.grad, bool(y.parents)
        outside.set()

    thread = threading.Thread(target=other)
    thread.start()
    with autograd.no_grad():
        assert not (x * x).parents
        inside.set()
        outside.wait(5)
    thread.join(5)
    assert results == {"grad": 5.0, "recorded": True}


def test_a_layer_node_expands_into_its_neurons_as_a_view_of_the_same_numbers():
    from autograd.layers import neurons

    model = nn.MLP(2, [3, 1], activation="tanh", seed=8)
    X = np.array([[0.5, -1.0], [2.0, 0.3], [-0.7, 0.1]])
    out = model(X)
    out.sum().backward()  # d sum/d L1 for every sample
    L1 = out.parents[0]
    for s, row in enumerate(X):
        expanded = neurons(L1, s)
        assert [n.label for n in expanded] == ["L1.N1", "L1.N2", "L1.N3"]
        assert [n.data for n in expanded] == L1.data[s].tolist()  # the very numbers
        # the neuron grain, computed afresh for that sample, gives the same numbers
        hidden = model.layers[0](list(row))
        top = model.layers[1](hidden)[0]
        top.backward()
        np.testing.assert_allclose([n.data for n in expanded], [h.data for h in hidden], rtol=1e-14)
        np.testing.assert_allclose([n.grad for n in expanded], [h.grad for h in hidden], rtol=1e-14)
    with pytest.raises(IndexError):
        neurons(L1, 3)


def test_the_tools_show_a_layer_grain_pass():
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    X = np.array([[0.5, -1.0], [2.0, 0.3]])
    loss = nn.hinge(model(X), np.array([1.0, -1.0]))
    loss.label = "loss"
    steps = [str(step) for step in loss.backward_steps()]
    last = steps[-1]  # the first layer: S, then each parent's share with its shapes
    assert "L1 = tanh(X L1.W^T + L1.b)" in last
    assert "S = L1.grad * tanh'(Z) = 2x3 [[" in last
    assert "L1.W.grad += S^T X   (3x2 = (2x3)^T 2x2)" in last
    assert "(X: a constant, no gradient to track)" in last
    W = model.layers[0].W
    shown = last.split("-> L1.W.grad = ")[1].split("\n")[0]
    assert shown == autograd.show.show(W.grad)  # the pass's own numbers
    explanation = autograd.explain(loss, W)
    assert explanation.path_count == 1
    model.zero_grad()
    loss.backward()
    np.testing.assert_array_equal(explanation.total, W.grad)
    assert "total: d loss/d L1.W = 3x2" in str(explanation)
    source = autograd.draw(loss).source
    assert "tanh(layer)" in source and "L1.W" in source and "3x2" in source


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
def test_the_step_through_leaves_backwards_bits_at_layer_grain(activation):
    """Stepping through a layer-grain pass runs the same `chain_rule` on the same nodes: every
    gradient it leaves is backward()'s, bit for bit (a share of -0.0: tests/test_steps.py)."""
    model = nn.MLP(3, [5, 4, 1], activation=activation, seed=3)
    X = np.random.default_rng(3).standard_normal((6, 3))
    X[0, 0] = 0.0  # (a relu at exactly 0 somewhere)
    loss = nn.mse(model(X), np.linspace(-1.0, 1.0, 6))
    loss.backward()
    expected = [np.array(p.grad, copy=True) for p in model.parameters()]
    model.zero_grad()
    steps = list(loss.backward_steps())
    assert len(steps) == 4  # three layers and the loss
    for p, want in zip(model.parameters(), expected, strict=True):
        assert p.grad.tobytes() == want.tobytes(), p.label
